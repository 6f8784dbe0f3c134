package smtp

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/heraldmail/herald/internal/wire"
)

// Reply is one complete SMTP reply, possibly of several lines
// (RFC 5321 section 4.2.1).
type Reply struct {
	Code ReplyCode
	// Enhanced is the RFC 3463 code that starts the text of the first
	// line, or zero when there is none (or when it disagrees with the
	// class of Code).
	Enhanced EnhancedCode
	// Lines holds the text of each line, without the code, separator and
	// enhanced code. A reply has at least one line, possibly empty.
	Lines []string
}

// Limits applied by ReadReply. RFC 5321 section 4.5.3.1.5 sets 512 octets
// per reply line; real servers send longer EHLO and error lines, so the
// defaults are generous but bounded.
const (
	DefaultMaxReplyLineLength = 2048
	DefaultMaxReplyLines      = 128
)

// ReplyReader reads replies with limits. The zero value uses
// DefaultMaxReplyLineLength and DefaultMaxReplyLines.
type ReplyReader struct {
	MaxLineLength int
	MaxLines      int
}

// ReadReply reads one reply with the default limits.
func ReadReply(r *bufio.Reader) (*Reply, error) {
	return ReplyReader{}.Read(r)
}

// Read reads one complete reply from r. Malformed lines, a code that
// changes between lines, and replies over the limits fail with an error
// that wraps ErrMalformedReply or ErrLineTooLong. A line ending in bare LF is
// accepted, as in the wild.
func (rr ReplyReader) Read(r *bufio.Reader) (*Reply, error) {
	maxLine := rr.MaxLineLength
	if maxLine <= 0 {
		maxLine = DefaultMaxReplyLineLength
	}
	maxLines := rr.MaxLines
	if maxLines <= 0 {
		maxLines = DefaultMaxReplyLines
	}
	reply := &Reply{}
	for {
		b, _, err := wire.ReadLineBufio(r, maxLine)
		if err != nil {
			return nil, err
		}
		code, last, text, err := ParseReplyLine(string(b))
		if err != nil {
			return nil, err
		}
		if len(reply.Lines) == 0 {
			reply.Code = code
		} else if code != reply.Code {
			return nil, fmt.Errorf("%w: code changed from %d to %d", ErrMalformedReply, reply.Code, code)
		}
		if len(reply.Lines) == maxLines {
			return nil, fmt.Errorf("%w: more than %d lines", ErrMalformedReply, maxLines)
		}
		reply.Lines = append(reply.Lines, text)
		if last {
			break
		}
	}
	reply.splitEnhanced()
	return reply, nil
}

// splitEnhanced moves a leading enhanced code out of the text. It is taken
// from the first line and removed from every line that repeats it.
func (r *Reply) splitEnhanced() {
	code, rest, ok := cutEnhanced(r.Lines[0])
	if !ok || code.Class() != r.Code.Class() {
		return
	}
	r.Enhanced = code
	r.Lines[0] = rest
	for i := 1; i < len(r.Lines); i++ {
		if c, rest, ok := cutEnhanced(r.Lines[i]); ok && c == code {
			r.Lines[i] = rest
		}
	}
}

func cutEnhanced(s string) (EnhancedCode, string, bool) {
	word, rest, _ := strings.Cut(s, " ")
	code, err := ParseEnhancedCode(word)
	if err != nil {
		return 0, s, false
	}
	return code, rest, true
}

// ParseReplyLine splits one reply line (without CRLF) into its code, whether
// it is the last line (separator " " or none) or a continuation ("-"), and
// its text (RFC 5321 section 4.2.1).
func ParseReplyLine(line string) (code ReplyCode, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: short line %q", ErrMalformedReply, truncate(line))
	}
	n, err := strconv.Atoi(line[:3])
	if err != nil || line[0] < '0' || !ReplyCode(n).Valid() {
		return 0, false, "", fmt.Errorf("%w: bad code in %q", ErrMalformedReply, truncate(line))
	}
	code = ReplyCode(n)
	if len(line) == 3 {
		return code, true, "", nil
	}
	switch line[3] {
	case ' ':
		return code, true, line[4:], nil
	case '-':
		return code, false, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("%w: bad separator in %q", ErrMalformedReply, truncate(line))
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Err returns nil for a positive reply, and the reply as an *Error for a
// 4yz or 5yz one, its lines joined with "\n".
func (r *Reply) Err() error {
	if r.Code.Class() < 4 {
		return nil
	}
	return &Error{Code: r.Code, Enhanced: r.Enhanced, Message: strings.Join(r.Lines, "\n")}
}

// String formats the reply as it goes on the wire, every line ending in
// CRLF and every line carrying the enhanced code when there is one.
func (r *Reply) String() string {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	var b []byte
	for i, l := range lines {
		b = appendReplyLine(b, r.Code, r.Enhanced, i == len(lines)-1, l)
	}
	return string(b)
}

// AppendReply appends a complete reply to b. text is split at "\n" into
// lines; each line is prefixed with the enhanced code when enh is set. CR
// and LF never reach the output except as line endings.
func AppendReply(b []byte, code ReplyCode, enh EnhancedCode, text string) []byte {
	for {
		line, rest, more := strings.Cut(text, "\n")
		b = appendReplyLine(b, code, enh, !more, line)
		if !more {
			return b
		}
		text = rest
	}
}

func appendReplyLine(b []byte, code ReplyCode, enh EnhancedCode, last bool, text string) []byte {
	b = strconv.AppendInt(b, int64(code), 10)
	if last {
		b = append(b, ' ')
	} else {
		b = append(b, '-')
	}
	if enh != 0 {
		b = enh.appendTo(b)
		if text != "" {
			b = append(b, ' ')
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}
