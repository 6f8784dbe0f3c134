package mime

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func FuzzParseMediaType(f *testing.F) {
	for _, s := range []string{
		"text/plain; charset=utf-8",
		`multipart/mixed; boundary="=_abc"; x*0*=utf-8''%E2%82; x*1*=%AC`,
		`application/x; name*=iso-8859-1'fr'%E9t%E9; name="a"; name*0="b"`,
		"text (c) / plain (c) ; a = b (c) ; c=\"d\\\"e\"",
		"text/plain charset=utf-8 format=flowed",
		`attachment; filename="C:\dir\a.txt"`,
		"a/b; c*99999999999999999999=x; d*-1=y; e**=z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mt, err := ParseMediaType(s)
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("error %v is not ErrSyntax", err)
		}
		if len(mt.Params) > maxParams {
			t.Fatalf("%d params", len(mt.Params))
		}
		if err == nil && isToken(mt.Type) && isToken(mt.Subtype) {
			// What is formatted parses back to the same values.
			again, err := ParseMediaType(FormatMediaType(mt))
			if err != nil {
				t.Fatalf("reparse of %q: %v", FormatMediaType(mt), err)
			}
			if again.Essence() != mt.Essence() || len(again.Params) != len(mt.Params) {
				t.Fatalf("round trip %q -> %q", s, FormatMediaType(mt))
			}
			for i := range mt.Params {
				if mt.Params[i].Raw {
					continue
				}
				if again.Params[i].Value != mt.Params[i].Value {
					t.Fatalf("param %q: %q -> %q", mt.Params[i].Name, mt.Params[i].Value, again.Params[i].Value)
				}
			}
		}
		ParseDisposition(s)
	})
}

// FuzzReader walks arbitrary input with small limits, through a reader
// that returns one byte at a time, and reads every body three ways.
func FuzzReader(f *testing.F) {
	seeds := []string{
		"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b\nContent-Type: message/rfc822\n\nSubject: x\n\ninner\n--b--\nepi\n",
		"Content-Type: multipart/alternative; boundary=\"a b\"\r\n\r\n--a b \r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--a b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nh=C3=A9llo=\r\n--a b--",
		nestingBomb(40),
		"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nx\n--d\nContent-Type: text/plain\n\n--d--",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 a\n#86)C\n`\nend\n--b--\n",
	}
	for _, name := range []string{"simple-multipart.eml", "multipart-digest.txt", "epilogue.txt", "empty-multipart.txt"} {
		if b, err := os.ReadFile("../testdata/messages/mimekit/messages/" + name); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opts := &ReaderOptions{Limits: Limits{MaxDepth: 8, MaxParts: 64, MaxHeaderBytes: 4096, MaxPreambleBytes: 256}}
		rd := NewReader(iotest.OneByteReader(strings.NewReader(s)), opts)
		total := 0
		for i := 0; ; i++ {
			p, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T %v is not *Error", err, err)
				}
				if _, err2 := rd.Next(); err2 == nil {
					t.Fatal("error was not sticky")
				}
				break
			}
			if p.Depth > 8 || i > 64 {
				t.Fatalf("limits exceeded: depth %d, part %d", p.Depth, i)
			}
			if len(p.Preamble) > 256 || len(p.Epilogue) > 256 {
				t.Fatal("preamble or epilogue over the limit")
			}
			p.Header()
			p.Filename()
			p.Kind()
			var body io.Reader
			switch i % 3 {
			case 0:
				body, _ = p.Body()
			case 1:
				body, _ = p.Text()
			default:
				body = p.Raw()
			}
			n, err := io.Copy(io.Discard, body)
			if err != nil {
				t.Fatalf("reading part %q: %v", p.Path, err)
			}
			total += int(n)
		}
		if total > 4*len(s)+16 {
			t.Fatalf("decoded %d bytes from %d", total, len(s))
		}
		// Downgrade never fails on what the reader accepts, except for
		// addresses that need SMTPUTF8, and its output is 7bit.
		var out bytes.Buffer
		if err := Downgrade(&out, strings.NewReader(s), opts); err == nil {
			for _, c := range out.Bytes() {
				if c >= 0x80 || c == 0 {
					t.Fatalf("downgrade left byte %#x", c)
				}
			}
		}
	})
}

// FuzzDecoders decodes arbitrary input in one piece and byte by byte and
// requires the same result; valid base64 must decode as the standard
// library decodes it.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{"aGVsbG8=\r\n", "a GVs\tbG8", "aGk=junk", "caf=C3=A9 =\r\nx", "=3", "tw==\r\n", "a=  \r\n", strings.Repeat("=3D", 2000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range []Encoding{EncodingBase64, EncodingQuotedPrintable, EncodingUUEncode} {
			d1, _ := NewDecoder(e, strings.NewReader(s))
			whole, err := io.ReadAll(d1)
			if err != nil {
				t.Fatal(err)
			}
			d2, _ := NewDecoder(e, iotest.OneByteReader(strings.NewReader(s)))
			var piecewise bytes.Buffer
			buf := make([]byte, 3)
			for {
				n, err := d2.Read(buf)
				piecewise.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(whole, piecewise.Bytes()) {
				t.Fatalf("%s: whole %q, piecewise %q", e, whole, piecewise.Bytes())
			}
			if len(whole) > len(s) {
				t.Fatalf("%s: %d bytes out of %d", e, len(whole), len(s))
			}
		}
		if want, err := base64.StdEncoding.DecodeString(s); err == nil {
			d, _ := NewDecoder(EncodingBase64, strings.NewReader(s))
			got, _ := io.ReadAll(d)
			if !bytes.Equal(got, want) {
				t.Fatalf("valid base64 %q: got %q, want %q", s, got, want)
			}
		}
	})
}

// TestFuzzFinds pins what the fuzz targets found, in readable form (the
// inputs are also under testdata/fuzz).
func TestFuzzFinds(t *testing.T) {
	t.Parallel()
	// A comment ending in a backslash ran the parser past the input.
	if _, err := ParseMediaType(`(\`); !errors.Is(err, ErrSyntax) {
		t.Errorf("ParseMediaType(`(\\`) = %v", err)
	}
	// "*=x" left a parameter without a name.
	if mt, _ := ParseMediaType("a/b *=0"); len(mt.Params) != 0 {
		t.Errorf("nameless parameter kept: %v", mt.Params)
	}
	// Downgrade left 8-bit bytes and NUL from boundaries, header fields
	// and preambles.
	for _, msg := range []string{
		"Content-TYpe:multipArt/0 BoundArY=\xe9",
		"Content-TYpe:multipArt/0 BoundArY=\x00",
		"0:\x000",
		"Content-TYpe:multipArt/0 BoundArY=0\n\xe9",
	} {
		var out bytes.Buffer
		if err := Downgrade(&out, strings.NewReader(msg), nil); err != nil {
			t.Errorf("Downgrade(%q): %v", msg, err)
			continue
		}
		for _, c := range out.Bytes() {
			if c >= 0x80 || c == 0 {
				t.Errorf("Downgrade(%q) left %#x: %q", msg, c, out.String())
				break
			}
		}
	}
}

// FuzzReaderBuffer requires the same parts whatever the size of the
// scanner's buffer: the minimum for an input that says it is short (a
// *strings.Reader, an *io.SectionReader) or the full size for one that
// does not.
func FuzzReaderBuffer(f *testing.F) {
	f.Add("Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\nContent-Type: message/rfc822\n\nSubject: x\n\ninner\n--b--\nepi\n")
	f.Add("Content-Type: multipart/mixed; boundary=\"" + strings.Repeat("b", 990) + "\"\n\n--" + strings.Repeat("b", 990) + "\n\nx\n--" + strings.Repeat("b", 990) + "--\n")
	for _, name := range []string{"simple-multipart.eml", "multipart-digest.txt", "epilogue.txt"} {
		if b, err := os.ReadFile("../testdata/messages/mimekit/messages/" + name); err == nil {
			f.Add(string(b))
		}
	}
	parts := func(r io.Reader) string {
		var out strings.Builder
		rd := NewReader(r, nil)
		for {
			p, err := rd.Next()
			if err != nil {
				fmt.Fprintf(&out, "end %v\n", err)
				return out.String()
			}
			raw, err := io.ReadAll(p.Raw())
			fmt.Fprintf(&out, "%s %s %q %q %q %v\n", p.Path, p.MediaType, raw, p.Preamble, p.Epilogue, err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain := parts(struct{ io.Reader }{strings.NewReader(s)})
		if got := parts(strings.NewReader(s)); got != plain {
			t.Fatalf("strings.Reader:\n%s\nplain reader:\n%s", got, plain)
		}
		if got := parts(io.NewSectionReader(strings.NewReader(s), 0, int64(len(s)))); got != plain {
			t.Fatalf("io.SectionReader:\n%s\nplain reader:\n%s", got, plain)
		}
	})
}
