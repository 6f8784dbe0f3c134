package sieve

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/message"
)

// dateParts are the date-part names of RFC 5260 section 4.2.
var dateParts = map[string]bool{
	"year": true, "month": true, "day": true, "date": true, "julian": true,
	"hour": true, "minute": true, "second": true, "time": true,
	"iso8601": true, "std11": true, "zone": true, "weekday": true,
}

type dateTest struct {
	m        matcher
	current  bool
	index    index
	zone     *time.Location // :zone, nil for the local zone
	original bool           // :originalzone
	header   str
	part     str
	keys     []str
}

func (c *compiler) dateTest(rt *rawTest) (test, *Error) {
	if err := c.need("date", rt.pos, "test", rt.name); err != nil {
		return nil, err
	}
	spec := tagSet(comparatorTags, matchTags, map[string]tagSpec{"zone": {arg: tagString, group: "zone"}})
	if rt.name == "date" {
		spec = tagSet(spec, indexTags, map[string]tagSpec{"originalzone": {group: "zone"}})
	}
	tags, args, err := c.split("test", rt.name, rt.args, spec)
	if err != nil {
		return nil, err
	}
	t := &dateTest{current: rt.name == "currentdate"}
	if t.current {
		err = positional("test", rt.name, rt.pos, args, argTag, argStrings)
	} else {
		err = positional("test", rt.name, rt.pos, args, argTag, argTag, argStrings)
	}
	if err != nil {
		return nil, err
	}
	if !t.current {
		t.header = c.str(args[0], 0)
		args = args[1:]
	}
	t.part = c.str(args[0], 0)
	if !t.part.v && !dateParts[strings.ToLower(t.part.s)] {
		return nil, errAt(args[0].pos, ErrSyntax, "unknown date part %q", t.part.s)
	}
	t.keys = c.strs(args[1])
	if z, ok := tags["zone"]; ok {
		loc, ok := parseZone(z.arg.strs[0])
		if !ok {
			return nil, errAt(z.arg.pos, ErrSyntax, "invalid time zone %q", z.arg.strs[0])
		}
		t.zone = loc
	}
	_, t.original = tags["originalzone"]
	if t.index, err = c.index(tags); err != nil {
		return nil, err
	}
	t.m, err = c.matcher(tags)
	return t, err
}

// parseZone reads a zone of the form +hhmm or -hhmm.
func parseZone(s string) (*time.Location, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return nil, false
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[3:5])
	if err1 != nil || err2 != nil || h > 23 || m > 59 || strings.ContainsAny(s[1:], "+-") {
		return nil, false
	}
	off := (h*60 + m) * 60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone(s, off), true
}

func (t *dateTest) eval(st *state) (bool, error) {
	part, err := st.expand(t.part)
	if err != nil {
		return false, err
	}
	keys, err := st.expandList(t.keys)
	if err != nil {
		return false, err
	}
	var dates []time.Time
	if t.current {
		dates = []time.Time{st.now}
	} else {
		name, err := st.expand(t.header)
		if err != nil {
			return false, err
		}
		for _, f := range t.index.pick(st.fields(name)) {
			v := f.Value()
			// RFC 5260 section 4.1: for fields such as Received the
			// date follows the last semicolon.
			if i := strings.LastIndexByte(v, ';'); i >= 0 {
				v = v[i+1:]
			}
			d, err := message.ParseDate(strings.TrimSpace(v))
			if err != nil {
				continue
			}
			dates = append(dates, d)
		}
	}
	var values []string
	for _, d := range dates {
		switch {
		case t.zone != nil:
			d = d.In(t.zone)
		case t.original && !t.current:
		default:
			d = d.In(st.loc)
		}
		v, ok := datePart(d, strings.ToLower(part))
		if ok {
			values = append(values, v)
		}
	}
	return st.matchValues(t.m, values, keys)
}

// datePart formats one date part (RFC 5260 section 4.2).
func datePart(d time.Time, part string) (string, bool) {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", d.Year()), true
	case "month":
		return fmt.Sprintf("%02d", int(d.Month())), true
	case "day":
		return fmt.Sprintf("%02d", d.Day()), true
	case "date":
		return d.Format("2006-01-02"), true
	case "julian":
		// The Modified Julian Day: days since 1858-11-17 in the date's
		// own calendar day.
		y, m, day := d.Date()
		civil := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
		epoch := time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)
		return strconv.FormatInt(int64(civil.Sub(epoch).Hours()/24), 10), true
	case "hour":
		return fmt.Sprintf("%02d", d.Hour()), true
	case "minute":
		return fmt.Sprintf("%02d", d.Minute()), true
	case "second":
		return fmt.Sprintf("%02d", d.Second()), true
	case "time":
		return d.Format("15:04:05"), true
	case "iso8601":
		return d.Format("2006-01-02T15:04:05-07:00"), true
	case "std11":
		return d.Format("Mon, 02 Jan 2006 15:04:05 -0700"), true
	case "zone":
		return d.Format("-0700"), true
	case "weekday":
		return strconv.Itoa(int(d.Weekday())), true
	}
	return "", false
}
