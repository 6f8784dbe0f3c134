package imap

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
)

// Summary is what FETCH derives from parsing a whole message: its
// ENVELOPE, BODY and BODYSTRUCTURE as they are sent on the wire, and its
// size. [Summarize] computes it. A Mailbox that keeps the summaries of its
// messages ([MailboxSummaries]), in memory or in a cache file, saves FETCH
// from reading messages for these items. A Summary is immutable and safe
// for concurrent use.
type Summary struct {
	size int64
	// Wire forms for a session without UTF8=ACCEPT ([0]) and with it
	// ([1]); [1] is nil where both are the same.
	env, body, bs [2][]byte
}

// Size is the number of bytes Summarize read: the message's RFC822.SIZE.
func (s *Summary) Size() int64 { return s.size }

func (s *Summary) pick(v [2][]byte, utf8OK bool) []byte {
	if utf8OK && v[1] != nil {
		return v[1]
	}
	return v[0]
}

// Summarize reads a message from r to its end and returns its Summary. It
// holds the headers of the message's entities in memory (each at most
// 256 KiB), never the bodies.
func Summarize(r io.Reader) (*Summary, error) {
	root, size, err := scanStructure(r)
	if err != nil {
		return nil, err
	}
	s := &Summary{size: size}
	both := func(f func(b []byte, utf8OK bool) []byte) [2][]byte {
		// Without a non-ASCII byte in the UTF-8 form, no string needs
		// 8-bit handling: the other form is the same.
		u := f(nil, true)
		if isASCII(string(u)) {
			return [2][]byte{u, nil}
		}
		a := f(nil, false)
		if string(a) == string(u) {
			u = nil
		}
		return [2][]byte{a, u}
	}
	s.env = both(func(b []byte, u bool) []byte { return appendEnvelope(b, root.header, u) })
	s.body = both(func(b []byte, u bool) []byte { return appendBodyStructure(b, root, false, u) })
	s.bs = both(func(b []byte, u bool) []byte { return appendBodyStructure(b, root, true, u) })
	// One allocation of the exact size holds all forms.
	arena := make([]byte, 0, s.EncodedLen())
	for _, v := range []*[2][]byte{&s.env, &s.body, &s.bs} {
		for i, w := range v {
			if w != nil {
				arena = append(arena, w...)
				v[i] = arena[len(arena)-len(w) : len(arena) : len(arena)]
			}
		}
	}
	return s, nil
}

// EncodedLen is about the length of what MarshalBinary returns, and of the
// memory s holds.
func (s *Summary) EncodedLen() int64 {
	n := int64(8)
	for _, v := range [][2][]byte{s.env, s.body, s.bs} {
		n += int64(len(v[0]) + len(v[1]) + 4)
	}
	return n
}

// summaryVersion is the first byte of a marshalled Summary.
// Version 2: ENVELOPE as written (Dovecot's form); a cache of version 1
// is read again from the messages.
const summaryVersion = 2

// maxSummaryBytes bounds a Summary read by UnmarshalBinary.
const maxSummaryBytes = 64 << 20

// MarshalBinary encodes s for a cache, in a form UnmarshalBinary reads
// back.
func (s *Summary) MarshalBinary() ([]byte, error) {
	n := 1 + binary.MaxVarintLen64
	for _, v := range [][2][]byte{s.env, s.body, s.bs} {
		n += 2*binary.MaxVarintLen64 + len(v[0]) + len(v[1])
	}
	b := make([]byte, 0, n)
	b = append(b, summaryVersion)
	b = binary.AppendUvarint(b, uint64(s.size))
	for _, v := range [][2][]byte{s.env, s.body, s.bs} {
		for _, w := range v {
			b = binary.AppendUvarint(b, uint64(len(w)))
			b = append(b, w...)
		}
	}
	return b, nil
}

// errBadSummary is returned by UnmarshalBinary for data it did not write.
var errBadSummary = errors.New("imap: invalid summary encoding")

// UnmarshalBinary decodes what MarshalBinary wrote. It checks that each
// wire form is a well-formed parenthesised IMAP list, so that damaged
// data gives an error rather than a broken response; data is not kept.
func (s *Summary) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != summaryVersion || len(data) > maxSummaryBytes {
		return errBadSummary
	}
	buf := append([]byte(nil), data[1:]...)
	size, k := binary.Uvarint(buf)
	if k <= 0 || size > 1<<62 {
		return errBadSummary
	}
	buf = buf[k:]
	var out Summary
	out.size = int64(size)
	for _, v := range []*[2][]byte{&out.env, &out.body, &out.bs} {
		for i := range v {
			n, k := binary.Uvarint(buf)
			if k <= 0 || n > uint64(len(buf)-k) {
				return errBadSummary
			}
			w := buf[k : k+int(n) : k+int(n)]
			buf = buf[k+int(n):]
			if n == 0 {
				if i == 0 {
					return errBadSummary
				}
				continue
			}
			if !validWireList(w, i == 1) {
				return errBadSummary
			}
			v[i] = w
		}
	}
	if len(buf) != 0 {
		return errBadSummary
	}
	*s = out
	return nil
}

// validWireList reports whether b is one parenthesised list of NIL,
// numbers, atoms, quoted strings and literals, as ENVELOPE and
// BODYSTRUCTURE are sent; utf8OK allows 8-bit bytes in quoted strings.
func validWireList(b []byte, utf8OK bool) bool {
	depth := 0
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '(':
			depth++
			if depth > 2*maxStructDepth+16 {
				return false
			}
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return false
			}
			i++
			if depth == 0 && i != len(b) {
				return false
			}
		case c == ' ':
			i++
		case c == '"':
			i++
			for {
				if i >= len(b) {
					return false
				}
				c := b[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' {
					if i+1 >= len(b) || b[i+1] != '"' && b[i+1] != '\\' {
						return false
					}
					i += 2
					continue
				}
				if c == '\r' || c == '\n' || c == 0 || c >= 0x80 && !utf8OK {
					return false
				}
				i++
			}
		case c == '{':
			j := i + 1
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			n, err := strconv.ParseInt(string(b[i+1:j]), 10, 64)
			if err != nil || j+3 > len(b) || string(b[j:j+3]) != "}\r\n" || n > int64(len(b)-j-3) {
				return false
			}
			i = j + 3 + int(n)
		case isAtomChar(c) || c == '\\':
			i++
		default:
			return false
		}
		if depth == 0 && i < len(b) {
			return false
		}
	}
	return depth == 0 && len(b) > 0 && b[0] == '('
}

// MailboxSummaries is implemented by a Mailbox that keeps the [Summary] of
// its messages, so that FETCH of ENVELOPE, BODY and BODYSTRUCTURE (with
// FLAGS, INTERNALDATE, RFC822.SIZE and UID) reads no message file once the
// summaries are known.
type MailboxSummaries interface {
	// Summaries calls fn for the messages of uids in order, with the
	// message's Summary or the error that prevented it (one wrapping
	// ErrNoSuchMessage for a message expunged or unreadable, which
	// FETCH reports with NO [EXPUNGEISSUED] and skips). An error from
	// fn ends the call and is returned. fn is called from the
	// goroutine that called Summaries.
	Summaries(ctx context.Context, uids []UID, fn func(i int, s *Summary, err error) error) error
}
