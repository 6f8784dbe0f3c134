package dkim

import "strings"

// A tag is one tag-spec of a tag-list (RFC 6376 section 3.2): its name
// and its value with the surrounding folding white space removed. Inner
// white space is kept; the tags that allow it (b=, bh=, p=, h=, z=) remove
// it themselves.
type tag struct {
	name, value string
}

// maxTags bounds the tag-specs of one tag-list. A signature has at most 14
// tags that mean something; a key record 7.
const maxTags = 64

// parseTagList splits a tag-list. Tag names are ALPHA *ALNUMPUNC and must
// not repeat; a value is any run of VALCHAR and folding white space without
// ";". A final ";" and white space around everything are allowed; an
// empty tag-spec between two semicolons is not.
func parseTagList(s string) ([]tag, error) {
	tags := make([]tag, 0, 16)
	for len(s) > 0 {
		var spec string
		i := strings.IndexByte(s, ';')
		if i < 0 {
			spec, s = s, ""
		} else {
			spec, s = s[:i], s[i+1:]
		}
		if trimFWS(spec) == "" {
			if i < 0 || trimFWS(s) == "" {
				break // trailing ";" and white space
			}
			return nil, errorf(ErrSyntax, "", "empty tag-spec")
		}
		eq := strings.IndexByte(spec, '=')
		if eq < 0 {
			return nil, errorf(ErrSyntax, "", "tag-spec without \"=\": "+quote(trimFWS(spec)))
		}
		name := trimFWS(spec[:eq])
		if !isTagName(name) {
			return nil, errorf(ErrSyntax, "", "invalid tag name "+quote(name))
		}
		value := trimFWS(spec[eq+1:])
		for j := 0; j < len(value); j++ {
			c := value[j]
			if c < 0x21 && !isFWS(c) || c == 0x7f {
				return nil, errorf(ErrSyntax, name, "control character in value")
			}
		}
		for _, t := range tags {
			if t.name == name {
				return nil, errorf(ErrSyntax, name, "tag repeated")
			}
		}
		if len(tags) == maxTags {
			return nil, errorf(ErrSyntax, "", "too many tags")
		}
		tags = append(tags, tag{name, value})
	}
	return tags, nil
}

func isFWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimFWS(s string) string {
	i, j := 0, len(s)
	for i < j && isFWS(s[i]) {
		i++
	}
	for j > i && isFWS(s[j-1]) {
		j--
	}
	return s[i:j]
}

// isTagName reports whether s is ALPHA *ALNUMPUNC.
func isTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigit(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// removeFWS returns s without any white space, as base64 values and h=
// lists are read.
func removeFWS(s string) string {
	i := 0
	for i < len(s) && !isFWS(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	// Copy the runs between the white space, as a folded value has few.
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		b.WriteString(s[:i])
		for i < len(s) && isFWS(s[i]) {
			i++
		}
		s = s[i:]
		i = 0
		for i < len(s) && !isFWS(s[i]) {
			i++
		}
	}
	return b.String()
}

// equalFold reports whether the ASCII strings a and b are equal without
// regard to ASCII case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
