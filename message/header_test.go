package message

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoundTrip reads every corpus message and writes its header back: the
// bytes must be those read, from the first field to the blank line. It also
// checks that nothing is lost: preamble, fields, blank line and body
// together are the input.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	files := append(corpusFiles(t, "messages"), corpusFiles(t, "dsn")...)
	n := 0
	for _, name := range files {
		raw, err := os.ReadFile(filepath.Join("../testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		msgs := [][]byte{raw}
		if strings.HasSuffix(name, ".mbox.txt") {
			msgs = splitMbox(raw)
		}
		for _, msg := range msgs {
			for _, mode := range []Mode{Lenient, Strict} {
				m, err := ReadMessage(bytes.NewReader(msg), &ReadOptions{Mode: mode})
				if err != nil {
					if mode == Strict {
						continue // broken messages are for lenient mode
					}
					t.Fatalf("%s: %v", name, err)
				}
				body, err := io.ReadAll(m.Body)
				if err != nil {
					t.Fatal(err)
				}
				var fields []byte
				for _, f := range m.Header.All() {
					fields = append(fields, f.Raw()...)
				}
				whole := string(m.Header.Preamble()) + string(fields) + m.Header.sep + string(body)
				if whole != string(msg) {
					t.Errorf("%s (%v): preamble+fields+blank line+body is not the input", name, mode)
				}
				want := fields
				if len(want) > 0 && want[len(want)-1] != '\n' {
					want = append(want, "\r\n"...) // ended at end of input
				}
				if m.Header.sep != "" {
					want = append(want, m.Header.sep...)
				} else {
					want = append(want, "\r\n"...)
				}
				if !bytes.HasPrefix(msg[len(m.Header.Preamble()):], fields) {
					t.Errorf("%s: raw fields are not the input bytes", name)
				}
				var out bytes.Buffer
				if _, err := m.Header.WriteTo(&out); err != nil {
					t.Fatalf("%s: WriteTo: %v", name, err)
				}
				if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("%s (%v): round trip differs\n got: %q\nwant: %q", name, mode, trunc(out.Bytes()), trunc(want))
				}
				n++
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d headers round-tripped", n)
	}
}

func trunc(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

func TestHeaderEdit(t *testing.T) {
	t.Parallel()
	m, err := ReadMessage(strings.NewReader("Received: a\nSubject: old\nX-A: 1\nsubject: dup\nX-B: 2\n\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &m.Header
	if got := h.Values("SUBJECT"); len(got) != 2 || got[0] != "old" || got[1] != "dup" {
		t.Errorf("Values = %q", got)
	}
	h.Set("Subject", "new")
	h.Prepend("Received", "b")
	h.Add("X-C", "3")
	h.Del("x-a")
	want := "Received: b\r\nReceived: a\nSubject: new\r\nX-B: 2\nX-C: 3\r\n\n"
	if got := h.String(); got != want {
		t.Errorf("after edits:\n got %q\nwant %q", got, want)
	}
	if h.Has("X-A") || !h.Has("x-b") || h.Get("missing") != "" {
		t.Errorf("Has/Get wrong")
	}
	c := h.Clone()
	c.Set("Subject", "clone")
	if h.Get("Subject") != "new" || c.Get("Subject") != "clone" {
		t.Errorf("Clone shares fields")
	}
	var names []string
	for i, f := range h.All() {
		if h.Field(i).Name() != f.Name() {
			t.Errorf("Field(%d) differs from All", i)
		}
		names = append(names, f.Name())
		if i == 1 {
			break
		}
	}
	if strings.Join(names, ",") != "Received,Received" {
		t.Errorf("All with break = %v", names)
	}
	if h.Len() != 5 {
		t.Errorf("Len = %d", h.Len())
	}
}

func TestHeaderNew(t *testing.T) {
	t.Parallel()
	var h Header
	h.Add("From", "a@example.com")
	h.Add("Subject", "line\r\nBcc: injected\x00")
	want := "From: a@example.com\r\nSubject: line  Bcc: injected\r\n\r\n"
	if got := h.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var spaces Header
	// Trailing white space after a long word must not make a line of its own.
	var trailing Header
	trailing.Add("X", strings.Repeat("w", 990)+strings.Repeat(" ", 50))
	checkLines(t, trailing.Field(0).Raw())
	// Runs over 100 become one space; a run of exactly 100 stays.
	spaces.Add("X", "a"+strings.Repeat(" ", 2000)+"b\r\n\r\n"+strings.Repeat("\t", 96)+"c"+strings.Repeat(" ", 1500))
	checkLines(t, spaces.Field(0).Raw())
	if got, want := spaces.Get("X"), "a b    "+strings.Repeat("\t", 96)+"c"; got != want {
		t.Errorf("white space runs: got %q, want %q", got, want)
	}
	for _, name := range []string{"Bad Name", "", "a:b", strings.Repeat("n", 998)} {
		var bad Header
		bad.Add(name, "x")
		if _, err := bad.WriteTo(io.Discard); !errors.Is(err, ErrInvalidField) {
			t.Errorf("name %.20q: err = %v", name, err)
		}
	}
	var bad Header
	bad.Add("Bad Name", "x")
	var buf bytes.Buffer
	n, err := bad.WriteTo(&buf)
	if !errors.Is(err, ErrInvalidField) || n != 0 || buf.Len() != 0 {
		t.Errorf("invalid name: n=%d err=%v", n, err)
	}
	if bad.String() != "" {
		t.Errorf("String of invalid header = %q", bad.String())
	}
}

func TestFold(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40)
	tests := []struct {
		name, field, value string
		want               string
	}{
		{"short", "Subject", "hello", "Subject: hello\r\n"},
		{"empty", "X-Empty", "", "X-Empty:\r\n"},
		{"leading space dropped", "X", " v", "X: v\r\n"},
		{"trailing space dropped", "X", "v \t", "X: v\r\n"},
		{"fold at 78", "Subject", strings.TrimSpace(long),
			"Subject: word word word word word word word word word word word word word word\r\n" +
				" word word word word word word word word word word word word word word word\r\n" +
				" word word word word word word word word word word word\r\n"},
		{"long word stays whole under 998", "X", strings.Repeat("a", 100) + " b",
			"X: " + strings.Repeat("a", 100) + "\r\n b\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Header
			h.Add(tt.field, tt.value)
			got := h.Field(0).Raw()
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			checkLines(t, got)
			// Reading it back gives the value (white space collapsed at
			// folds is kept: folding only inserts CRLF).
			m, err := ReadMessage(strings.NewReader(got+"\r\n"), &ReadOptions{Mode: Strict})
			if err != nil {
				t.Fatal(err)
			}
			if v := m.Header.Get(tt.field); v != strings.TrimSpace(tt.value) {
				t.Errorf("read back %q, want %q", v, strings.TrimSpace(tt.value))
			}
		})
	}
}

// TestFoldNoWhiteSpace checks the 998 limit on a value without white space:
// it is split, and the split inserts a space when unfolded.
func TestFoldNoWhiteSpace(t *testing.T) {
	t.Parallel()
	v := strings.Repeat("é", 1500) // 3000 bytes, no white space
	var h Header
	h.Add("X-Long", v)
	raw := h.Field(0).Raw()
	checkLines(t, raw)
	m, err := ReadMessage(strings.NewReader(raw+"\r\n"), &ReadOptions{Mode: Strict})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(m.Header.Get("X-Long"), " ", "")
	if got != v {
		t.Errorf("content changed beyond the inserted spaces")
	}
}

// TestFoldInvalidUTF8 pins the splitting of a long run of bytes that are
// not UTF-8, which must neither loop nor exceed 998 octets.
func TestFoldInvalidUTF8(t *testing.T) {
	t.Parallel()
	for _, v := range []string{strings.Repeat("\x80", 3000), strings.Repeat("a", 996) + strings.Repeat("\x80", 10), strings.Repeat("\xff", 1000)} {
		var h Header
		h.Add("X", v)
		checkLines(t, h.Field(0).Raw())
		got := strings.ReplaceAll(h.Field(0).Value(), " ", "")
		if got != v {
			t.Errorf("content changed")
		}
	}
}

func checkLines(t *testing.T, raw string) {
	t.Helper()
	if !strings.HasSuffix(raw, "\r\n") {
		t.Errorf("no CRLF at end: %q", raw)
	}
	for _, line := range strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n") {
		if len(line) > MaxRFCLineLength {
			t.Errorf("line of %d octets", len(line))
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("bare CR or LF in %q", line)
		}
		if strings.TrimLeft(line, " \t") == "" {
			t.Errorf("white-space-only line in %q", raw)
		}
	}
}

func TestFieldAccessors(t *testing.T) {
	t.Parallel()
	m, err := ReadMessage(strings.NewReader("Subject  : =?utf-8?q?caf=C3=A9?=\r\n =?utf-8?q?_au_lait?=\r\n\r\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := m.Header.Field(0)
	if f.Name() != "Subject" {
		t.Errorf("Name = %q", f.Name())
	}
	if f.RawValue() != " =?utf-8?q?caf=C3=A9?=\r\n =?utf-8?q?_au_lait?=" {
		t.Errorf("RawValue = %q", f.RawValue())
	}
	if f.Value() != "=?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=" {
		t.Errorf("Value = %q", f.Value())
	}
	if s, err := f.Text(); err != nil || s != "café au lait" {
		t.Errorf("Text = %q, %v", s, err)
	}
	if s, err := m.Header.Text("subject"); err != nil || s != "café au lait" {
		t.Errorf("Header.Text = %q, %v", s, err)
	}
	if s, err := m.Header.Text("missing"); err != nil || s != "" {
		t.Errorf("Header.Text(missing) = %q, %v", s, err)
	}
}

func TestHeaderCharsetReader(t *testing.T) {
	t.Parallel()
	upper := func(cs string, r io.Reader) (io.Reader, error) {
		b, err := io.ReadAll(r)
		return strings.NewReader(cs + ":" + strings.ToUpper(string(b))), err
	}
	in := "Subject: =?x-test?q?abc?=\r\nFrom: =?x-test?q?joe?= <j@x>\r\n\r\n"
	m, err := ReadMessage(strings.NewReader(in), &ReadOptions{CharsetReader: upper})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := m.Header.Text("Subject"); err != nil || s != "x-test:ABC" {
		t.Errorf("Text = %q, %v", s, err)
	}
	if l, err := m.Header.AddressList("From"); err != nil || len(l) != 1 || l[0].Name != "x-test:JOE" {
		t.Errorf("AddressList = %+v, %v", l, err)
	}
	if s, _ := m.Header.Clone().Text("Subject"); s != "x-test:ABC" {
		t.Errorf("Clone lost the charset reader: %q", s)
	}
	// Without it, the unknown charset's 7-bit bytes are read as ASCII.
	m, _ = ReadMessage(strings.NewReader(in), nil)
	if s, err := m.Header.Text("Subject"); err != nil || s != "abc" {
		t.Errorf("default Text = %q, %v", s, err)
	}
}

// TestRaw8bit checks the undeclared-charset rule on header values: valid
// UTF-8 stays, other bytes are windows-1252, whether the value is
// unstructured text or an address's display name, and next to encoded
// words.
func TestRaw8bit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, field, want string
	}{
		{"latin-1 subject", "Subject: Formation Ver\xe3o\r\n", "Formation Verão"},
		{"utf-8 subject stays", "Subject: Formação Verão\r\n", "Formação Verão"},
		{"windows-1252 quotes", "Subject: \x93Hello\x94 \x80 5\r\n", "\u201cHello\u201d € 5"},
		{"mixed with an encoded word", "Subject: =?utf-7?Q?Heinz_M+APw-ller?= gr\xfc\xdft\r\n", "Heinz Müller grüßt"},
		{"display name", "From: Andr\xe9 Pr\xe9vost <a@example.org>\r\n", "André Prévost <a@example.org>"},
		{"utf-8 display name", "From: André <a@example.org>\r\n", "André <a@example.org>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _, err := ReadHeader(strings.NewReader(tt.field+"\r\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			name := h.Field(0).Name()
			var got string
			if name == "From" {
				list, err := h.AddressList(name)
				if err != nil || len(list) != 1 {
					t.Fatalf("AddressList: %v, %v", list, err)
				}
				mb := Mailboxes(list)[0]
				got = mb.Name + " <" + mb.Addr + ">"
			} else {
				got, err = h.Text(name)
				if err != nil {
					t.Fatal(err)
				}
				if ft, _ := h.Field(0).Text(); ft != got {
					t.Errorf("Field.Text = %q, Header.Text = %q", ft, got)
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
