package charset

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

// The examples of RFC 2152 section "Examples", with the encoded words and
// bodies mailers write.
func TestUTF7Decode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"rfc2152 A≢Α.", "A+ImIDkQ.", "A≢Α."},
		{"rfc2152 Hi Mom", "Hi Mom -+Jjo--!", "Hi Mom -☺-!"},
		{"rfc2152 日本語", "+ZeVnLIqe-", "日本語"},
		{"rfc2152 Item 3 is £1", "Item 3 is +AKM-1.", "Item 3 is £1."},
		{"encoded word text", "Heinz M+APw-ller", "Heinz Müller"},
		{"run ended by space", "M+APw ller", "Mü ller"},
		{"plus minus", "1 +- 1 = 2", "1 + 1 = 2"},
		{"lone plus stands for itself", "a + b", "a + b"},
		{"plus at end", "a+", "a+"},
		{"surrogate pair", "+2D3eAA-", "\U0001F600"},
		{"unpaired high surrogate", "+2D0-x", "\uFFFDx"},
		{"unpaired low surrogate", "+3gA-", "\uFFFD"},
		{"cut code unit", "+AKM", "£"},
		{"cut code unit with bits left", "+AKMA-", "£\uFFFD"},
		{"8-bit byte", "caf\xe9", "caf\uFFFD"},
		{"ascii", "plain text, no shift.", "plain text, no shift."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Decode("UTF-7", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Decode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// One byte at a time through a reader gives the same.
			r, err := NewReader("utf-7", iotestOneByte(strings.NewReader(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("streamed %q = %q, want %q", tt.in, b, tt.want)
			}
		})
	}
}

func TestUTF7Encode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"A≢Α.", "A+ImIDkQ-."},
		{"日本語", "+ZeVnLIqe-"},
		{"Hi Mom -☺-!", "Hi Mom -+Jjo--!"},
		{"1+1", "1+-1"},
		{"a\\b~", "a+AFw-b+AH4-"},
		{"\U0001F600", "+2D3eAA-"},
		{"", ""},
	}
	for _, tt := range tests {
		got, _, err := transform.String(UTF7.NewEncoder(), tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("encode %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUTF7Names(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"utf-7", "UTF-7", "utf7", "unicode-1-1-utf-7", "csUnicode11UTF7"} {
		if e, err := Lookup(n); err != nil || e != UTF7 {
			t.Errorf("Lookup(%q) = %v, %v", n, e, err)
		}
	}
}

// FuzzUTF7 round-trips valid UTF-8 through the encoder and the decoder, and
// checks that decoding any input gives valid UTF-8 whatever the chunking.
func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"Heinz Müller", "A≢Α.", "+", "+-", "a+b", "日本語 text", "\U0001F600x", "\\~+AKM-", "+2D0-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec, _, err := transform.String(UTF7.NewDecoder(), s)
		if err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		if !utf8.ValidString(dec) {
			t.Fatalf("decode %q = %q, not UTF-8", s, dec)
		}
		r := transform.NewReader(iotestOneByte(strings.NewReader(s)), UTF7.NewDecoder())
		b, err := io.ReadAll(r)
		if err != nil || string(b) != dec {
			t.Fatalf("streamed decode %q = %q, %v; want %q", s, b, err, dec)
		}
		if !utf8.ValidString(s) {
			return
		}
		enc, _, err := transform.String(UTF7.NewEncoder(), s)
		if err != nil {
			t.Fatalf("encode %q: %v", s, err)
		}
		for i := 0; i < len(enc); i++ {
			if enc[i] >= 0x80 {
				t.Fatalf("encode %q = %q: not 7-bit", s, enc)
			}
		}
		back, _, err := transform.String(UTF7.NewDecoder(), enc)
		if err != nil {
			t.Fatal(err)
		}
		if back != s {
			t.Fatalf("round trip %q -> %q -> %q", s, enc, back)
		}
	})
}

// iotestOneByte reads one byte per call, to cross every state boundary.
func iotestOneByte(r io.Reader) io.Reader { return &oneByte{r} }

type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestUndeclared(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"ascii", "plain", "plain"},
		{"valid utf-8 stays", "Müller 日本", "Müller 日本"},
		{"latin-1", "M\xfcller", "Müller"},
		{"windows-1252 punctuation", "\x93quoted\x94 \x80 \x96", "\u201cquoted\u201d € \u2013"},
		{"mixed utf-8 and latin-1", "caf\xc3\xa9 and caf\xe9", "café and café"},
		{"truncated utf-8 sequence", "\xc3", "Ã"},
		{"literal U+FFFD stays", "\uFFFD", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DecodeUndeclared(tt.in); got != tt.want {
				t.Errorf("DecodeUndeclared(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotestOneByte(strings.NewReader(tt.in))} {
				b, err := io.ReadAll(NewUndeclaredReader(r))
				if err != nil || string(b) != tt.want {
					t.Errorf("reader %q = %q, %v; want %q", tt.in, b, err, tt.want)
				}
			}
			for size := 1; size <= 9; size++ {
				b, err := readInChunks(NewUndeclaredReader(iotestOneByte(strings.NewReader(tt.in))), size)
				if err != nil || string(b) != tt.want {
					t.Errorf("reader %q in %d-byte reads = %q, %v; want %q", tt.in, size, b, err, tt.want)
				}
			}
		})
	}
	// A long body crosses the reader's buffers.
	long := bytes.Repeat([]byte("abc\xe9\xc3\xa9 "), 5000)
	b, err := io.ReadAll(NewUndeclaredReader(bytes.NewReader(long)))
	if err != nil || string(b) != strings.Repeat("abcéé ", 5000) {
		t.Errorf("long body: %v, %d bytes", err, len(b))
	}
}

// readInChunks reads r to the end with a buffer of size bytes.
func readInChunks(r io.Reader, size int) ([]byte, error) {
	var out []byte
	buf := make([]byte, size)
	for range 100000 {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, io.ErrNoProgress
}

func TestUTF8Reader(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"Müller 日本 \U0001F600", "Müller 日本 \U0001F600"},
		{"caf\xe9", "caf\uFFFD"},
		{"\xf0\x9f\x98", "\uFFFD\uFFFD\uFFFD"},
		{"a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		for size := 1; size <= 9; size++ {
			b, err := readInChunks(NewUTF8Reader(iotestOneByte(strings.NewReader(tt.in))), size)
			if err != nil || string(b) != tt.want {
				t.Errorf("NewUTF8Reader(%q) in %d-byte reads = %q, %v; want %q", tt.in, size, b, err, tt.want)
			}
		}
		b, err := io.ReadAll(NewUTF8Reader(strings.NewReader(tt.in)))
		if err != nil || string(b) != tt.want {
			t.Errorf("NewUTF8Reader(%q) = %q, %v; want %q", tt.in, b, err, tt.want)
		}
	}
}

// FuzzUndeclared checks the two forms of the undeclared-charset rule
// against each other, whatever the chunking: the result is valid UTF-8,
// and valid UTF-8 input comes back unchanged.
func FuzzUndeclared(f *testing.F) {
	for _, s := range []string{"Müller", "M\xfcller", "\xc3", "\xf0\x9f\x98\x80x", "\x93q\x94"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, size int) {
		want := DecodeUndeclared(s)
		if !utf8.ValidString(want) || utf8.ValidString(s) && want != s {
			t.Fatalf("DecodeUndeclared(%q) = %q", s, want)
		}
		size = 1 + (size&0xff)%64
		got, err := readInChunks(NewUndeclaredReader(iotestOneByte(strings.NewReader(s))), size)
		if err != nil || string(got) != want {
			t.Fatalf("reader(%q, %d) = %q, %v; want %q", s, size, got, err, want)
		}
	})
}
