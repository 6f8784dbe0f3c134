package imap

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/heraldmail/herald/message"
)

// maxSubjectBytes bounds the subject text the base subject extraction
// looks at; a longer subject is cut (on a character boundary) before it.
const maxSubjectBytes = 8 << 10

// BaseSubject returns the base subject of a Subject field value as RFC 5256
// section 2.1 defines it, for SORT SUBJECT and THREAD: encoded words
// decoded to UTF-8, white space collapsed, and the "Re:", "Fw:", "Fwd:"
// leaders (with the "[blob]"s before them), "(fwd)" trailers and
// "[fwd: ...]" wrappers removed. reply reports whether anything of a reply
// or forward was removed (a leader, a "(fwd)" trailer or a "[fwd: ...]"
// wrapper), which THREAD=REFERENCES uses when it groups by subject. The
// result keeps its case.
func BaseSubject(raw string) (base string, reply bool) {
	if len(raw) > maxSubjectBytes {
		raw = cutUTF8(raw, maxSubjectBytes)
	}
	s, _ := (&message.WordDecoder{}).DecodeHeader(raw)
	// (1) Tabs and line breaks become spaces, runs of spaces one space.
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || c == ' ' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(c)
	}
	s = b.String()
	for {
		// (2) Trailers: "(fwd)" and white space.
		for {
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
			} else if n := len(s); n >= 5 && strings.EqualFold(s[n-5:], "(fwd)") {
				s = s[:n-5]
				reply = true
			} else {
				break
			}
		}
		// (3), (4) and (5): leaders and blobs.
		for {
			if n, refwd := subjLeader(s); n > 0 {
				s = s[n:]
				reply = reply || refwd
				continue
			}
			if n := subjBlob(s); n > 0 && strings.Trim(s[n:], " ") != "" {
				s = s[n:]
				continue
			}
			break
		}
		// (6) "[fwd:" ... "]" around the whole.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			reply = true
			continue
		}
		return s, reply
	}
}

// subjBlob returns the length of the subj-blob at the start of s: "["
// *BLOBCHAR "]" *WSP, where BLOBCHAR is any character but "[" and "]";
// 0 if there is none.
func subjBlob(s string) int {
	if len(s) == 0 || s[0] != '[' {
		return 0
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0
	}
	n := end + 2
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// subjLeader returns the length of the subj-leader at the start of s, and
// whether it is a reply or forward one: a space, or *subj-blob
// subj-refwd where subj-refwd is ("re" / "fw" / "fwd") *WSP [subj-blob]
// ":".
func subjLeader(s string) (int, bool) {
	if len(s) > 0 && s[0] == ' ' {
		return 1, false
	}
	i := 0
	for {
		n := subjBlob(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	if n := subjRefwd(s[i:]); n > 0 {
		return i + n, true
	}
	return 0, false
}

func subjRefwd(s string) int {
	var i int
	switch {
	case len(s) >= 3 && strings.EqualFold(s[:3], "fwd"):
		i = 3
	case len(s) >= 2 && (strings.EqualFold(s[:2], "fw") || strings.EqualFold(s[:2], "re")):
		i = 2
	default:
		return 0
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == ':' {
		return i + 1
	}
	if n := subjBlob(s[i:]); n > 0 && i+n < len(s) && s[i+n] == ':' {
		return i + n + 1
	}
	return 0
}

// cutUTF8 cuts s to at most n bytes, not inside a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// unicodeCasemap returns the form of s that the i;unicode-casemap
// comparator of RFC 5051 compares octet by octet: every character
// title-cased, then fully decomposed (NFKD). On ASCII it is the
// i;ascii-casemap of RFC 4790 that RFC 5256 names; beyond it, it is the
// comparator of RFC 5255 (I18NLEVEL=1), as Dovecot sorts.
func unicodeCasemap(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	return norm.NFKD.String(strings.Map(unicode.ToTitle, s))
}
