package pop3

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits of the wire format.
const (
	// MaxCommandLength is the longest command line, CRLF included, that
	// RFC 2449 section 4 lets a client send: 255 octets.
	MaxCommandLength = 255
	// MaxArgLength is the longest argument of a command, RFC 2449
	// section 4: 40 octets (AUTH responses and PASS are exempt in practice;
	// this package applies it to keyword-like arguments only).
	MaxArgLength = 40
	// MaxResponseLength is the longest response line, CRLF included, of
	// RFC 2449 section 4: 512 octets.
	MaxResponseLength = 512
	// MaxUIDLength is the longest unique-id of RFC 1939 section 7.
	MaxUIDLength = 70
)

// Command is one parsed command line.
type Command struct {
	// Verb is the keyword in upper case, such as "RETR".
	Verb string
	// Args are the arguments separated by single spaces. PASS keeps its
	// whole argument, spaces included, as one element.
	Args []string
}

// ParseCommand parses a command line without its CRLF: a keyword of 3 or 4
// printable ASCII characters (matched without regard to case), then
// arguments separated by one space each (RFC 1939 section 3). The argument
// of PASS is taken as it is, because a password may contain spaces (RFC
// 1939 section 7). Errors match ErrSyntax.
func ParseCommand(line string) (Command, error) {
	verb, rest, hasArgs := strings.Cut(line, " ")
	if len(verb) < 3 || len(verb) > 4 {
		return Command{}, fmt.Errorf("%w: bad keyword", ErrSyntax)
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if c <= ' ' || c > '~' {
			return Command{}, fmt.Errorf("%w: bad keyword", ErrSyntax)
		}
	}
	cmd := Command{Verb: strings.ToUpper(verb)}
	if !hasArgs {
		return cmd, nil
	}
	if strings.ContainsAny(rest, "\r\n\x00") {
		return Command{}, fmt.Errorf("%w: control character in arguments", ErrSyntax)
	}
	if cmd.Verb == "PASS" {
		cmd.Args = []string{rest}
		return cmd, nil
	}
	cmd.Args = strings.Split(rest, " ")
	for _, a := range cmd.Args {
		if a == "" {
			return Command{}, fmt.Errorf("%w: empty argument", ErrSyntax)
		}
	}
	return cmd, nil
}

// Response is one status line of a server.
type Response struct {
	// OK is true for "+OK" and false for "-ERR".
	OK bool
	// Code is the RFC 2449 response code in brackets, if any.
	Code ResponseCode
	// Text is the rest of the line.
	Text string
}

// String formats the response as a status line without CRLF.
func (r Response) String() string {
	s := "-ERR"
	if r.OK {
		s = "+OK"
	}
	if r.Code != "" {
		s += " [" + string(r.Code) + "]"
	}
	if r.Text != "" {
		s += " " + r.Text
	}
	return s
}

// ParseResponse parses a status line without its CRLF: "+OK" or "-ERR",
// optionally followed by a space, an RFC 2449 response code in brackets and
// text. The status indicator is matched exactly, as RFC 1939 section 3
// requires upper case. A code is only recognised right after the status
// and must be made of the characters RFC 2449 section 8 allows
// (printable ASCII except brackets). Errors match ErrProtocol.
func ParseResponse(line string) (Response, error) {
	var r Response
	var rest string
	switch {
	case strings.HasPrefix(line, "+OK"):
		r.OK, rest = true, line[3:]
	case strings.HasPrefix(line, "-ERR"):
		rest = line[4:]
	default:
		return Response{}, fmt.Errorf("%w: status is neither +OK nor -ERR", ErrProtocol)
	}
	if rest == "" {
		return r, nil
	}
	if rest[0] != ' ' {
		return Response{}, fmt.Errorf("%w: no space after status", ErrProtocol)
	}
	rest = rest[1:]
	if strings.HasPrefix(rest, "[") {
		if end := strings.IndexByte(rest, ']'); end > 1 && validCode(rest[1:end]) {
			r.Code = ResponseCode(rest[1:end])
			rest = strings.TrimPrefix(rest[end+1:], " ")
		}
	}
	r.Text = rest
	return r, nil
}

// validCode reports whether s is a response code: atoms of printable ASCII
// other than brackets and space, separated by "/".
func validCode(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '[' || c == ']' {
			return false
		}
	}
	return s[0] != '/' && s[len(s)-1] != '/' && !strings.Contains(s, "//")
}

// ValidUID reports whether s is a unique-id RFC 1939 section 7 allows: 1 to
// 70 characters in the range 0x21 to 0x7E.
func ValidUID(s string) bool {
	if len(s) == 0 || len(s) > MaxUIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// parseNumber parses a message number or line count: decimal digits only,
// no sign, at most 9 digits so it always fits an int.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
