package message

import (
	"encoding/base64"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/heraldmail/herald/internal/charset"
)

// maxEncodedWordLen bounds one encoded word. RFC 2047 section 2 allows 75
// characters; real mail writes longer ones, so the bound is generous.
const maxEncodedWordLen = 4096

// WordDecoder decodes RFC 2047 encoded words ("=?charset?Q?...?="). The zero
// value is ready to use and converts every charset that golang.org/x/text
// knows. A WordDecoder holds no state and is safe for concurrent use.
type WordDecoder struct {
	// CharsetReader, if set, converts text in a charset other than UTF-8
	// and US-ASCII to UTF-8 instead of the built-in lookup. It is the same
	// hook as net/mail's WordDecoder.CharsetReader.
	CharsetReader func(charset string, input io.Reader) (io.Reader, error)
}

// Decode decodes a single encoded word. It returns an [*Error] wrapping
// [ErrSyntax] if word is not one, or [ErrUnknownCharset].
func (d *WordDecoder) Decode(word string) (string, error) {
	cs, raw, ok := parseEncodedWord(word)
	if !ok {
		return "", syntaxError("decode word", 0, "not an RFC 2047 encoded word")
	}
	return d.convert(cs, raw)
}

// DecodeHeader decodes every encoded word in unstructured text (RFC 2047
// section 5 (1)), such as a Subject. A word in an unknown charset whose
// bytes are all 7-bit is decoded as ASCII. White space between two adjacent
// encoded words is dropped, and the bytes of adjacent words in the same
// charset are joined before conversion, so a character split across words
// survives. Encoded words glued to other text are decoded too, as most mail
// readers do. A word that cannot be decoded is kept as written, and the
// first error is returned along with the text.
func (d *WordDecoder) DecodeHeader(s string) (string, error) {
	if !strings.Contains(s, "=?") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	var firstErr error
	// The pending run: adjacent words in one charset, their decoded bytes
	// and their span in s, kept as written if they cannot be converted.
	var pendCS string
	var pend []byte
	runStart, runEnd := 0, 0
	flush := func() bool { // reports whether the run decoded
		if pendCS == "" {
			return true
		}
		out, err := d.convert(pendCS, pend)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			out = s[runStart:runEnd]
		}
		b.WriteString(out)
		pendCS, pend = "", pend[:0]
		return err == nil
	}
	pos := 0 // s[:pos] is done or pending
	for pos < len(s) {
		i := strings.Index(s[pos:], "=?")
		if i < 0 {
			break
		}
		i += pos
		n, cs, raw, ok := findEncodedWord(s[i:])
		if !ok {
			// Not a word: copy through "=?" and go on.
			flush()
			b.WriteString(s[pos : i+2])
			pos = i + 2
			continue
		}
		before := s[pos:i]
		if pendCS != "" && isAllWSP(before) && strings.EqualFold(cs, pendCS) {
			runEnd = i + n // white space inside one run is dropped
		} else {
			if pendCS != "" && isAllWSP(before) {
				before = "" // between two encoded words
			}
			if !flush() {
				before = s[pos:i] // the previous words stay as written
			}
			b.WriteString(before)
			pendCS, runStart, runEnd = cs, i, i+n
		}
		pend = append(pend, raw...)
		pos = i + n
	}
	flush()
	b.WriteString(s[pos:])
	return b.String(), firstErr
}

func isAllWSP(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWSP(s[i]) && s[i] != '\r' && s[i] != '\n' {
			return false
		}
	}
	return true
}

// findEncodedWord parses the encoded word at the start of s and returns its
// length, charset and decoded bytes.
func findEncodedWord(s string) (n int, cs string, raw []byte, ok bool) {
	// =?charset?X?text?= within maxEncodedWordLen, so that searching
	// stays linear in the input.
	if len(s) > maxEncodedWordLen {
		s = s[:maxEncodedWordLen]
	}
	q1 := strings.IndexByte(s[2:], '?')
	if q1 < 0 {
		return 0, "", nil, false
	}
	q1 += 2
	if q1+2 >= len(s) || s[q1+2] != '?' {
		return 0, "", nil, false
	}
	end := strings.Index(s[q1+3:], "?=")
	if end < 0 {
		return 0, "", nil, false
	}
	n = q1 + 3 + end + 2
	if n > maxEncodedWordLen {
		return 0, "", nil, false
	}
	cs, raw, ok = parseEncodedWord(s[:n])
	return n, cs, raw, ok
}

// parseEncodedWord decodes one complete encoded word to charset bytes.
func parseEncodedWord(w string) (cs string, raw []byte, ok bool) {
	if len(w) < 8 || len(w) > maxEncodedWordLen || !strings.HasPrefix(w, "=?") || !strings.HasSuffix(w, "?=") {
		return "", nil, false
	}
	inner := w[2 : len(w)-2]
	q1 := strings.IndexByte(inner, '?')
	if q1 <= 0 || q1+2 >= len(inner) || inner[q1+2] != '?' {
		return "", nil, false
	}
	cs = inner[:q1]
	if i := strings.IndexByte(cs, '*'); i >= 0 {
		cs = cs[:i] // RFC 2231 section 5 language suffix
	}
	if cs == "" || strings.ContainsAny(cs, " \t\r\n()<>@,;:\"/[]?.=") {
		return "", nil, false
	}
	text := inner[q1+3:]
	if strings.ContainsAny(text, " \t\r\n") {
		return "", nil, false
	}
	switch inner[q1+1] {
	case 'B', 'b':
		raw, ok = decodeB(text)
	case 'Q', 'q':
		raw, ok = decodeQ(text), true
	}
	return cs, raw, ok
}

func decodeB(text string) ([]byte, bool) {
	t := strings.TrimRight(text, "=")
	b, err := base64.RawStdEncoding.DecodeString(t)
	if err != nil {
		return nil, false
	}
	return b, true
}

// decodeQ decodes the Q encoding; a malformed escape is kept as written.
func decodeQ(text string) []byte {
	b := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '_':
			b = append(b, ' ')
		case c == '=' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
			b = append(b, unhex(text[i+1])<<4|unhex(text[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// convert turns charset bytes into UTF-8.
func (d *WordDecoder) convert(cs string, raw []byte) (string, error) {
	if charset.IsUTF8(cs) && utf8.Valid(raw) {
		return string(raw), nil
	}
	if d != nil && d.CharsetReader != nil && !charset.IsUTF8(cs) {
		r, err := d.CharsetReader(strings.ToLower(cs), strings.NewReader(string(raw)))
		if err != nil {
			return "", &Error{Op: "decode word", Err: ErrUnknownCharset, Offset: -1, Msg: quoteForError(cs) + ": " + err.Error()}
		}
		out, err := io.ReadAll(io.LimitReader(r, int64(len(raw))*4+16))
		if err != nil {
			return "", &Error{Op: "decode word", Err: ErrSyntax, Offset: -1, Msg: err.Error()}
		}
		return string(out), nil
	}
	out, err := charset.Decode(cs, raw)
	if err != nil {
		if isASCII(raw) {
			// "=?NONE?B?VEVTVA=?=": whatever the label meant, 7-bit
			// text reads the same in every ASCII-based charset.
			return string(raw), nil
		}
		return "", &Error{Op: "decode word", Err: ErrUnknownCharset, Offset: -1, Msg: quoteForError(cs)}
	}
	return out, nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// maxWordLen is the RFC 2047 section 2 limit of an encoded word.
const maxWordLen = 75

// EncodeWord returns s unchanged if it is printable US-ASCII text that a
// reader would not mistake for an encoded word, and otherwise as UTF-8
// encoded words of at most 75 characters separated by spaces (RFC 2047),
// using the Q encoding, which keeps mostly-ASCII text readable, unless B is
// clearly shorter. Characters are never
// split across words. Use it for unstructured fields such as Subject;
// [Address.String] encodes display names itself.
func EncodeWord(s string) string {
	if !needsEncoding(s) {
		return s
	}
	return encodeWords(s, false)
}

func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c > '~' {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

// encodeWords encodes s in UTF-8 words. phrase restricts the Q encoding to
// the characters RFC 2047 section 5 (3) allows in a phrase.
func encodeWords(s string, phrase bool) string {
	qLen, bLen := 0, base64.StdEncoding.EncodedLen(len(s))
	for i := 0; i < len(s); i++ {
		if qSafe(s[i], phrase) {
			qLen++
		} else {
			qLen += 3
		}
	}
	// Q keeps mostly-ASCII text readable; B wins when clearly shorter.
	useB := bLen+bLen/4 < qLen
	const prefix, suffix = "=?utf-8?q?", "?="
	room := maxWordLen - len(prefix) - len(suffix)
	var b strings.Builder
	for len(s) > 0 {
		// Take as many whole runes as fit in one word.
		n, size := 0, 0
		for n < len(s) {
			r, rl := utf8.DecodeRuneInString(s[n:])
			if r == utf8.RuneError && rl == 1 {
				rl = 1
			}
			var add int
			if useB {
				add = base64.StdEncoding.EncodedLen(n+rl) - size
			} else {
				for k := n; k < n+rl; k++ {
					if qSafe(s[k], phrase) {
						add++
					} else {
						add += 3
					}
				}
			}
			if size+add > room && n > 0 {
				break
			}
			size += add
			n += rl
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if useB {
			b.WriteString("=?utf-8?b?")
			b.WriteString(base64.StdEncoding.EncodeToString([]byte(s[:n])))
		} else {
			b.WriteString(prefix)
			for k := 0; k < n; k++ {
				c := s[k]
				switch {
				case c == ' ':
					b.WriteByte('_')
				case qSafe(c, phrase):
					b.WriteByte(c)
				default:
					b.WriteByte('=')
					b.WriteByte("0123456789ABCDEF"[c>>4])
					b.WriteByte("0123456789ABCDEF"[c&15])
				}
			}
		}
		b.WriteString(suffix)
		s = s[n:]
	}
	return b.String()
}

// qSafe reports whether c can stand for itself in a Q-encoded word; space
// is written as "_".
func qSafe(c byte, phrase bool) bool {
	switch {
	case c == ' ':
		return true
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '!' || c == '*' || c == '+' || c == '-' || c == '/':
		return true
	}
	if phrase {
		return false
	}
	return c > ' ' && c <= '~' && c != '=' && c != '?' && c != '_' && c != '(' && c != ')' && c != '"'
}
