package message

import (
	"strings"
	"time"
)

// maxDateLen bounds the input [ParseDate] looks at; real dates with
// comments are well under it.
const maxDateLen = 256

// noZoneName names the location of times whose zone says nothing about
// local time: "-0000" and the obsolete military zones (RFC 5322 sections 3.3
// and 4.3). Its offset is zero and [FormatDate] writes it back as "-0000".
const noZoneName = "-0000"

func noZone() *time.Location { return time.FixedZone(noZoneName, 0) }

// ParseDate parses an RFC 5322 date-time (section 3.3) such as
// "Fri, 21 Nov 1997 09:55:06 -0600". It accepts the obsolete syntax of
// section 4.3 (comments and folding anywhere, two- and three-digit years,
// zone names such as "EST" and military zones) and the variants real mail
// carries: a missing comma or day name, full day and month names, a
// one-digit hour, a day with a leading zero too many, missing seconds, fractional seconds, "UTC", "Z" and
// "GMT+0200"-style zones, a missing zone (taken as -0000), dates written
// 21-Nov-1997, asctime's "Fri Nov 21 09:55:06 1997" and ISO 8601's
// "1997-11-21T09:55:06Z". Day names are not checked against the date, and
// text after the zone (such as "PDT" after "-0700") is ignored.
//
// A zone of "-0000" or a military letter gives a time whose location is
// named "-0000" with offset zero; [FormatDate] writes it back as "-0000".
// Values out of range (31 April, hour 24, zone +9960) are an [*Error]
// wrapping [ErrSyntax].
func ParseDate(s string) (time.Time, error) {
	if len(s) > maxDateLen {
		return time.Time{}, &Error{Op: "parse date", Err: ErrTooLong, Offset: maxDateLen}
	}
	toks, err := dateTokens(s)
	if err != nil {
		return time.Time{}, err
	}
	d := dateParser{toks: toks}
	return d.parse()
}

// FormatDate formats t as an RFC 5322 date-time,
// "Mon, 02 Jan 2006 15:04:05 -0700", or with "-0000" for a time from
// [ParseDate] whose zone carried no information.
func FormatDate(t time.Time) string {
	if _, off := t.Zone(); off == 0 && t.Location().String() == noZoneName {
		return t.Format("Mon, 02 Jan 2006 15:04:05") + " -0000"
	}
	return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
}

// Date parses the first Date field with [ParseDate]. A missing field is an
// [*Error] wrapping [ErrSyntax].
func (h *Header) Date() (time.Time, error) {
	f, ok := h.Lookup("Date")
	if !ok {
		return time.Time{}, &Error{Op: "parse date", Err: ErrSyntax, Offset: -1, Msg: "no Date field"}
	}
	return ParseDate(f.Value())
}

type dateToken struct {
	kind byte // 'a' letters, 'n' digits, or the punctuation byte itself
	text string
	off  int
}

// dateTokens splits s into letter runs, digit runs and punctuation,
// dropping white space and comments.
func dateTokens(s string) ([]dateToken, error) {
	toks := make([]dateToken, 0, 16)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			j := i
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			if j >= len(s) {
				return nil, syntaxError("parse date", i, "unterminated comment")
			}
			i = j + 1
		case isAlpha(c):
			j := i
			for j < len(s) && isAlpha(s[j]) {
				j++
			}
			toks = append(toks, dateToken{'a', s[i:j], i})
			i = j
		case isDigit(c):
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			toks = append(toks, dateToken{'n', s[i:j], i})
			i = j
		default:
			toks = append(toks, dateToken{c, s[i : i+1], i})
			i++
		}
	}
	return toks, nil
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

type dateParser struct {
	toks []dateToken
	i    int
}

func (d *dateParser) peek() dateToken {
	if d.i < len(d.toks) {
		return d.toks[d.i]
	}
	return dateToken{}
}

func (d *dateParser) fail(msg string) (time.Time, error) {
	off := -1
	if d.i < len(d.toks) {
		off = d.toks[d.i].off
	}
	return time.Time{}, syntaxError("parse date", off, msg)
}

func (d *dateParser) accept(kind byte) bool {
	if d.peek().kind == kind {
		d.i++
		return true
	}
	return false
}

func (d *dateParser) parse() (time.Time, error) {
	if len(d.toks) == 0 {
		return d.fail("empty date")
	}
	// ISO 8601: 1997-11-21T09:55:06Z
	if t := d.peek(); t.kind == 'n' && len(t.text) == 4 && len(d.toks) > 1 && d.toks[1].kind == '-' {
		return d.parseISO()
	}
	if t := d.peek(); t.kind == 'a' && dayName(t.text) {
		d.i++
		d.accept(',')
	}
	var day, month, year int
	var ok bool
	if m, isMonth := monthNumber(d.peek().text); d.peek().kind == 'a' && isMonth {
		// asctime: Mon D hh:mm:ss YYYY [zone], or Mon D YYYY hh:mm:ss
		d.i++
		month = m
		if day, ok = d.number(1, 2); !ok {
			return d.fail("expected a day")
		}
		d.accept(',')
		if d.i+1 < len(d.toks) && d.toks[d.i+1].kind == ':' {
			hh, mm, ss, nsec, err := d.parseTime()
			if err != nil {
				return time.Time{}, err
			}
			year = -1 // after the time, before or after a zone
			if t := d.peek(); t.kind == 'n' && len(t.text) == 4 {
				year, _ = d.year()
			}
			return d.finish(year, month, day, hh, mm, ss, nsec)
		}
		if year, ok = d.year(); !ok {
			return d.fail("expected a year")
		}
	} else {
		if day, ok = d.number(1, 3); !ok { // "029" occurs
			return d.fail("expected a day")
		}
		sep := d.accept('-') || d.accept('/')
		t := d.peek()
		if month, ok = monthNumber(t.text); t.kind != 'a' || !ok {
			return d.fail("expected a month name")
		}
		d.i++
		if sep {
			d.accept('-')
			d.accept('/')
		}
		d.accept(',')
		if year, ok = d.year(); !ok {
			return d.fail("expected a year")
		}
	}
	d.accept(',')
	hh, mm, ss, nsec, err := d.parseTime()
	if err != nil {
		return time.Time{}, err
	}
	return d.finish(year, month, day, hh, mm, ss, nsec)
}

// finish reads the zone and builds the time.
func (d *dateParser) finish(year, month, day, hh, mm, ss, nsec int) (time.Time, error) {
	loc, err := d.parseZone()
	if err != nil {
		return time.Time{}, err
	}
	// asctime puts the year after the time, possibly after the zone.
	if year < 0 {
		y, ok := d.year()
		if !ok {
			return d.fail("expected a year")
		}
		year = y
	}
	// Text after the zone, such as "PDT" after "-0700", is ignored.
	if day < 1 || day > daysIn(time.Month(month), year) {
		return d.fail("day out of range")
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, nsec, loc)
	return t, nil
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// number reads a decimal of minLen to maxLen digits.
func (d *dateParser) number(minLen, maxLen int) (int, bool) {
	t := d.peek()
	if t.kind != 'n' || len(t.text) < minLen || len(t.text) > maxLen {
		return 0, false
	}
	d.i++
	n := 0
	for i := 0; i < len(t.text); i++ {
		n = n*10 + int(t.text[i]-'0')
	}
	return n, true
}

// year reads a year: four or more digits, or the obsolete two and three
// digit forms of RFC 5322 section 4.3.
func (d *dateParser) year() (int, bool) {
	t := d.peek()
	y, ok := d.number(2, 4)
	if !ok {
		return 0, false
	}
	switch len(t.text) {
	case 2:
		if y < 50 {
			return 2000 + y, true
		}
		return 1900 + y, true
	case 3:
		return 1900 + y, true
	}
	return y, true
}

// parseTime reads hh:mm[:ss[.frac]].
func (d *dateParser) parseTime() (hh, mm, ss, nsec int, err error) {
	var ok bool
	if hh, ok = d.number(1, 2); !ok || hh > 23 {
		_, err = d.fail("expected an hour")
		return
	}
	if !d.accept(':') {
		_, err = d.fail("expected \":\"")
		return
	}
	if mm, ok = d.number(1, 2); !ok || mm > 59 {
		_, err = d.fail("expected minutes")
		return
	}
	if d.accept(':') {
		if ss, ok = d.number(1, 2); !ok || ss > 60 {
			_, err = d.fail("expected seconds")
			return
		}
		if ss == 60 {
			ss = 59 // leap second: time.Time has none
		}
		if d.peek().kind == '.' && d.i+1 < len(d.toks) && d.toks[d.i+1].kind == 'n' {
			frac := d.toks[d.i+1].text
			d.i += 2
			for i := 0; i < 9; i++ {
				nsec *= 10
				if i < len(frac) {
					nsec += int(frac[i] - '0')
				}
			}
		}
	}
	return
}

// parseZone reads a numeric zone, a zone name, "GMT+hhmm" or nothing.
func (d *dateParser) parseZone() (*time.Location, error) {
	t := d.peek()
	switch t.kind {
	case 0:
		return noZone(), nil
	case '+', '-':
		d.i++
		return d.numericZone(t.kind == '-')
	case 'a':
		d.i++
		name := strings.ToUpper(t.text)
		if (name == "GMT" || name == "UTC" || name == "UT") && (d.peek().kind == '+' || d.peek().kind == '-') {
			neg := d.peek().kind == '-'
			d.i++
			return d.numericZone(neg)
		}
		if off, ok := zoneOffset(name); ok {
			if off == 0 {
				return time.UTC, nil
			}
			return time.FixedZone("", off*3600), nil
		}
		if len(name) == 1 && name != "J" {
			return noZone(), nil // military zone (RFC 5322 section 4.3)
		}
		return noZone(), nil // unknown zone name: no information
	case 'n':
		if len(t.text) == 4 { // a zone without its sign
			return d.numericZone(false)
		}
	}
	_, err := d.fail("invalid zone")
	return nil, err
}

func (d *dateParser) numericZone(neg bool) (*time.Location, error) {
	t := d.peek()
	var hh, mm int
	switch {
	case t.kind == 'n' && len(t.text) == 4:
		hh = int(t.text[0]-'0')*10 + int(t.text[1]-'0')
		mm = int(t.text[2]-'0')*10 + int(t.text[3]-'0')
		d.i++
	case t.kind == 'n' && len(t.text) <= 2:
		// "+1" or "+01:00"
		hh, _ = d.number(1, 2)
		if d.accept(':') {
			var ok bool
			if mm, ok = d.number(2, 2); !ok {
				_, err := d.fail("invalid zone")
				return nil, err
			}
		}
	default:
		_, err := d.fail("invalid zone")
		return nil, err
	}
	if hh > 99 || mm > 59 {
		_, err := d.fail("zone out of range")
		return nil, err
	}
	off := hh*3600 + mm*60
	if neg {
		if off == 0 {
			return noZone(), nil
		}
		off = -off
	}
	if off == 0 {
		return time.UTC, nil
	}
	return time.FixedZone("", off), nil
}

func (d *dateParser) parseISO() (time.Time, error) {
	year, _ := d.number(4, 4)
	d.accept('-')
	month, ok := d.number(1, 2)
	if !ok || !d.accept('-') {
		return d.fail("invalid ISO 8601 date")
	}
	// "21T09" lexes as digits then letters: split the T off.
	day, ok := d.number(1, 2)
	if !ok {
		return d.fail("invalid ISO 8601 date")
	}
	if t := d.peek(); t.kind == 'a' && (t.text == "T" || t.text == "t") {
		d.i++
	}
	if month < 1 || month > 12 {
		return d.fail("month out of range")
	}
	hh, mm, ss, nsec, err := d.parseTime()
	if err != nil {
		return time.Time{}, err
	}
	return d.finish(year, month, day, hh, mm, ss, nsec)
}

// zoneOffset returns the offset in hours of the obsolete zones of RFC 5322
// section 4.3 and the usual spellings of UTC.
func zoneOffset(name string) (int, bool) {
	switch name {
	case "UT", "GMT", "UTC", "Z":
		return 0, true
	case "EST", "CDT":
		return -5, true
	case "EDT":
		return -4, true
	case "CST", "MDT":
		return -6, true
	case "MST", "PDT":
		return -7, true
	case "PST":
		return -8, true
	}
	return 0, false
}

func dayName(s string) bool {
	if len(s) < 3 {
		return false
	}
	for _, d := range [...]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		if len(s) <= len(d) && strings.EqualFold(s, d[:len(s)]) {
			return true
		}
	}
	return false
}

func monthNumber(s string) (int, bool) {
	if len(s) < 3 {
		return 0, false
	}
	for i, m := range [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"} {
		if len(s) <= len(m) && strings.EqualFold(s, m[:len(s)]) {
			return i + 1, true
		}
	}
	return 0, false
}
