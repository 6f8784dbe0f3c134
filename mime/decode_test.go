package mime

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// readAllWays decodes in with e through several reader shapes (one byte at
// a time, half reads, small and large buffers) and checks they agree.
func readAllWays(t *testing.T, e Encoding, in string) string {
	t.Helper()
	shapes := []struct {
		name string
		wrap func(io.Reader) io.Reader
		buf  int
	}{
		{"whole", func(r io.Reader) io.Reader { return r }, 32 << 10},
		{"onebyte", iotest.OneByteReader, 32 << 10},
		{"half", iotest.HalfReader, 7},
		{"tiny", func(r io.Reader) io.Reader { return r }, 1},
	}
	var first string
	for i, s := range shapes {
		d, err := NewDecoder(e, s.wrap(strings.NewReader(in)))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		buf := make([]byte, s.buf)
		for {
			n, err := d.Read(buf)
			out.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if i == 0 {
			first = out.String()
		} else if out.String() != first {
			t.Errorf("%s reader gives %d bytes %.60q, whole gives %d bytes %.60q", s.name, out.Len(), out.String(), len(first), first)
		}
	}
	return first
}

func TestBase64Decoder(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"clean", "SGVsbG8sIHdvcmxkIQ==\r\n", "Hello, world!"},
		{"lines", "SGVs\r\nbG8s\nIHdv\r\ncmxk\r\nIQ==", "Hello, world!"},
		{"whitespace inside", "SGV sbG8\t sIHd vcmxkIQ = =", "Hello, world!"},
		{"missing padding", "SGVsbG8sIHdvcmxkIQ", "Hello, world!"},
		{"missing one pad", "SGVsbG8sIHdvcmxkIQ=", "Hello, world!"},
		{"invalid characters skipped", "SGVs*bG8s!IHdv~cmxkIQ==", "Hello, world!"},
		{"stops after padding", "SGk=\r\nthis is a signature, not base64\r\n", "Hi"},
		{"lone pad ignored", "S=Gk=", "Hi"},
		{"single leftover char dropped", "SGkhA", "Hi!"},
		{"empty", "", ""},
		{"only junk", "!!!\r\n", ""},
		{"transport padding", "SGVsbG8=   \r\n", "Hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := readAllWays(t, EncodingBase64, tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQuotedPrintableDecoder(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "hello\r\nworld\r\n", "hello\r\nworld\r\n"},
		{"escapes", "caf=C3=A9 =3D 1", "café = 1"},
		{"lower case hex", "caf=c3=a9", "café"},
		{"soft break", "long li=\r\nne\r\n", "long line\r\n"},
		{"soft break lf", "long li=\nne", "long line"},
		{"soft break with padding", "long li=  \r\nne", "long line"},
		{"trailing space removed", "text   \r\nmore\t\r\n", "text\r\nmore\r\n"},
		{"encoded trailing space kept", "text=20\r\n", "text \r\n"},
		{"bad escape kept", "100=% and =ZZ and =", "100=% and =ZZ and "},
		{"escape at end", "a=4", "a=4"},
		{"equals equals", "tw==\r\nx", "tw=x"},
		{"8bit passes", "caf\xc3\xa9", "caf\xc3\xa9"},
		{"no final newline", "abc", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := readAllWays(t, EncodingQuotedPrintable, tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQuotedPrintableLongLine(t *testing.T) {
	t.Parallel()
	// A line far longer than the carry buffer, with escapes across the
	// piece boundaries.
	var in, want strings.Builder
	for i := 0; i < 5000; i++ {
		in.WriteString("ab=3D")
		want.WriteString("ab=")
	}
	in.WriteString("   \r\nend")
	want.WriteString("\r\nend")
	if got := readAllWays(t, EncodingQuotedPrintable, in.String()); got != want.String() {
		t.Errorf("long line decoded wrong (%d bytes, want %d)", len(got), want.Len())
	}
}

func TestUUDecoder(t *testing.T) {
	t.Parallel()
	in := "preamble text\nbegin 644 hello.txt\n" + `.2&5L;&\L('=O<FQD(0H` + "`" + `` + "\n`\nend\ntrailer\n"
	if got := readAllWays(t, EncodingUUEncode, in); got != "Hello, world!\n" {
		t.Errorf("got %q", got)
	}
}

func TestParseEncoding(t *testing.T) {
	t.Parallel()
	tests := map[string]Encoding{
		"":                         Encoding7Bit,
		" Base64 ":                 EncodingBase64,
		"Quoted-Printable":         EncodingQuotedPrintable,
		"8bit (comment)":           Encoding8Bit,
		`"base64"`:                 EncodingBase64,
		"x-uue":                    EncodingUUEncode,
		"uuencode":                 EncodingUUEncode,
		"x-gzip":                   Encoding("x-gzip"),
		"7bit; charset=iso-8859-1": Encoding7Bit,
	}
	for in, want := range tests {
		if got := ParseEncoding(in); got != want {
			t.Errorf("ParseEncoding(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := NewDecoder("x-gzip", strings.NewReader("")); err == nil {
		t.Error("NewDecoder(x-gzip) gave no error")
	}
}

func TestEncoderRoundTrip(t *testing.T) {
	t.Parallel()
	bin := make([]byte, 10000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	text := strings.Repeat("Grüße, naïve café = 100% — ", 40) + "trailing space \r\nline\r\n.\r\nFrom here\r\n"
	tests := []struct {
		e    Encoding
		data []byte
	}{
		{EncodingBase64, bin},
		{EncodingBase64, []byte("x")},
		{EncodingBase64, nil},
		{EncodingQuotedPrintable, []byte(text)},
		{Encoding7Bit, []byte("plain\r\ntext\r\n")},
	}
	for _, tt := range tests {
		var enc bytes.Buffer
		w, err := NewEncoder(tt.e, &enc)
		if err != nil {
			t.Fatal(err)
		}
		// Write in odd pieces.
		for p := tt.data; len(p) > 0; {
			n := min(len(p), 37)
			if _, err := w.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(enc.String(), "\r\n") {
			if len(line) > 76 {
				t.Errorf("%s: line of %d characters", tt.e, len(line))
			}
			if strings.Contains(line, "\n") {
				t.Errorf("%s: bare LF in output", tt.e)
			}
		}
		got := readAllWays(t, tt.e, enc.String())
		if got != string(tt.data) {
			t.Errorf("%s: round trip differs: %q", tt.e, got[:min(len(got), 80)])
		}
	}
}

func TestChooseEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		text bool
		want Encoding
	}{
		{"plain ascii\r\n", true, Encoding7Bit},
		{"plain ascii\n", true, Encoding7Bit},
		{"plain ascii\n", false, EncodingBase64},
		{"caf\xc3\xa9 au lait", true, EncodingQuotedPrintable},
		{"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", true, EncodingBase64},
		{strings.Repeat("x", 999), true, EncodingQuotedPrintable},
		{"bare\rcr", true, EncodingQuotedPrintable},
		{"nul\x00", false, EncodingBase64},
	}
	for _, tt := range tests {
		if got := ChooseEncoding([]byte(tt.in), tt.text); got != tt.want {
			t.Errorf("ChooseEncoding(%q, %v) = %s, want %s", tt.in, tt.text, got, tt.want)
		}
	}
}

func TestPlainlyUUEncodedPart(t *testing.T) {
	t.Parallel()
	uu := "begin 644 hello.txt\n" + `.2&5L;&\L('=O<FQD(0H` + "`" + "\n`\nend\n"
	msg := "Content-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: application/octet-stream\n\n" + uu +
		"--b\nContent-Type: application/octet-stream\n\nbeginning of something\n" +
		"--b\nContent-Type: text/plain\n\n" + uu +
		"--b--\n"
	got, err := walkString(t, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		" multipart/mixed",
		`1 application/octet-stream "Hello, world!\n"`,
		`2 application/octet-stream "beginning of something"`,
		"3 text/plain " + strconv.Quote(strings.TrimSuffix(uu, "\n")),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
