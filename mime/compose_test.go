package mime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/message"
)

// composeSample builds a message with every kind of part.
func composeSample(t testing.TB) (*Message, map[string][]byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	pdf := make([]byte, 100<<10)
	for i := range pdf {
		pdf[i] = byte(rng.UintN(256))
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), pdf[:3000]...)
	csv := []byte(strings.Repeat("name,city\nJörg,Köln\nAnne,Paris\n", 50))
	var m Message
	m.Header.Add("From", "Jörg Müller <joerg@example.com>")
	m.Header.Add("To", "Anne <anne@example.org>, bob@example.net")
	m.Header.Add("Subject", "Grüße — the quarterly report is ready")
	m.Header.Add("Message-ID", "<1234@example.com>")
	m.Text = "Hello Anne,\n\nthe report is attached. Grüße,\nJörg\n" + strings.Repeat("x", 1200) + "\n"
	m.HTML = `<p>Hello Anne,</p><p><img src="cid:logo@example.com"> the report is attached.</p>`
	m.Inline = []Attachment{{Filename: "logo.png", ContentType: "image/png", ContentID: "logo@example.com", Body: bytes.NewReader(png)}}
	m.Attachments = []Attachment{
		{Filename: "Quartalsübersicht 2026 – sehr ausführlicher Bericht mit langem Namen.pdf", ContentType: "application/pdf", Body: bytes.NewReader(pdf)},
		{Filename: "cities.csv", ContentType: "text/csv; charset=utf-8", Body: bytes.NewReader(csv)},
		{Filename: "notes.txt", ContentType: "text/plain", Body: strings.NewReader("short note\r\n")},
	}
	want := map[string][]byte{
		"1.1":   []byte(toCRLF(m.Text)),
		"1.2.1": []byte(m.HTML),
		"1.2.2": png,
		"2":     pdf,
		"3":     []byte(toCRLF(string(csv))),
		"4":     []byte("short note\r\n"),
	}
	return &m, want
}

type composedPart struct {
	path, typ, filename, cid string
	enc                      Encoding
	body                     []byte
}

func parseComposed(t testing.TB, raw []byte) []composedPart {
	t.Helper()
	rd := NewReader(bytes.NewReader(raw), &ReaderOptions{Strict: true})
	var out []composedPart
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		cp := composedPart{path: p.Path, typ: p.MediaType.Essence(), filename: p.Filename(), enc: p.Encoding, cid: p.Header().Get("Content-ID")}
		if !p.IsContainer() {
			b, err := p.Body()
			if err != nil {
				t.Fatal(err)
			}
			if cp.body, err = io.ReadAll(b); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, cp)
	}
}

func TestComposeRoundTrip(t *testing.T) {
	t.Parallel()
	m, want := composeSample(t)
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	raw := buf.Bytes()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d has %d octets", i+1, len(line))
		}
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			t.Errorf("line %d has a bare line break", i+1)
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %.60q", i+1, line)
			}
		}
	}
	parts := parseComposed(t, raw)
	types := []string{}
	for _, p := range parts {
		types = append(types, p.path+"="+p.typ)
	}
	wantTypes := "=multipart/mixed 1=multipart/alternative 1.1=text/plain 1.2=multipart/related 1.2.1=text/html 1.2.2=image/png 2=application/pdf 3=text/csv 4=text/plain"
	if got := strings.Join(types, " "); got != wantTypes {
		t.Fatalf("structure\n%s\nwant\n%s", got, wantTypes)
	}
	for _, p := range parts {
		if w, ok := want[p.path]; ok && !bytes.Equal(p.body, w) {
			t.Errorf("part %s (%s, %s): %d bytes differ from the %d composed", p.path, p.typ, p.enc, len(p.body), len(w))
		}
	}
	byPath := map[string]composedPart{}
	for _, p := range parts {
		byPath[p.path] = p
	}
	if got := byPath["2"].filename; got != m.Attachments[0].Filename {
		t.Errorf("filename %q", got)
	}
	if got := byPath["1.2.2"].cid; got != "<logo@example.com>" {
		t.Errorf("Content-ID %q", got)
	}
	encs := map[string]Encoding{"1.1": EncodingQuotedPrintable, "1.2.1": Encoding7Bit, "1.2.2": EncodingBase64, "2": EncodingBase64, "3": EncodingQuotedPrintable, "4": Encoding7Bit}
	for path, e := range encs {
		if byPath[path].enc != e {
			t.Errorf("part %s encoded %s, want %s", path, byPath[path].enc, e)
		}
	}
	// The header decodes back to what was set.
	rd := NewReader(bytes.NewReader(raw), nil)
	top, _ := rd.Next()
	var dec message.WordDecoder
	subj, err := dec.DecodeHeader(top.Header().Get("Subject"))
	if err != nil || subj != "Grüße — the quarterly report is ready" {
		t.Errorf("Subject %q, %v", subj, err)
	}
	from, err := top.Header().AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Jörg Müller" {
		t.Errorf("From %v, %v", from, err)
	}
}

func TestComposeTextOnly(t *testing.T) {
	t.Parallel()
	m := Message{Text: "just text\n"}
	m.Header.Add("Subject", "plain")
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	want := "Subject: plain\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\njust text\r\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
}

func TestMultipartWriterBoundaryInContent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	mw := NewMultipartWriter(&buf, "abc")
	w, err := mw.CreatePart(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "safe text -"); err != nil {
		t.Fatal(err)
	}
	// The boundary split across two writes is caught too.
	if _, err := io.WriteString(w, "-abc"); !errors.Is(err, ErrBoundaryInContent) {
		t.Fatalf("got %v, want ErrBoundaryInContent", err)
	}
	if err := mw.Close(); !errors.Is(err, ErrBoundaryInContent) {
		t.Errorf("Close after a failed part: %v", err)
	}
}

func TestMultipartWriterFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	mw := NewMultipartWriter(&buf, "b")
	if err := mw.WritePreamble("This is a MIME message."); err != nil {
		t.Fatal(err)
	}
	var h message.Header
	h.Add("Content-Type", "text/plain")
	w, _ := mw.CreatePart(&h)
	io.WriteString(w, "one")
	w, _ = mw.CreatePart(nil)
	io.WriteString(w, "two\r\n")
	mw.Close()
	want := "This is a MIME message.\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo\r\n\r\n--b--\r\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
	if _, err := mw.CreatePart(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("CreatePart after Close: %v", err)
	}
	if b := NewBoundary(); len(b) > 70 || !strings.HasPrefix(b, "=_") || b == NewBoundary() {
		t.Errorf("NewBoundary %q", b)
	}
}

// pythonTree is the script that prints a message's MIME tree the way
// treeLines does, with CPython's email package (default policy).
const pythonTree = `
import email, email.policy, hashlib, sys
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
def walk(part, path):
    fn = part.get_filename() or ''
    if part.is_multipart():
        print(path, part.get_content_type(), fn, '-', '-', sep='|')
        for i, p in enumerate(part.iter_parts()):
            walk(p, (path + '.' if path else '') + str(i + 1))
    else:
        body = part.get_payload(decode=True) or b''
        print(path, part.get_content_type(), fn, len(body), hashlib.sha256(body).hexdigest()[:16], sep='|')
walk(msg, '')
`

func treeLines(parts []composedPart) string {
	var b strings.Builder
	for _, p := range parts {
		if strings.HasPrefix(p.typ, "multipart/") {
			fmt.Fprintf(&b, "%s|%s|%s|-|-\n", p.path, p.typ, p.filename)
			continue
		}
		body := p.body
		if strings.HasPrefix(p.typ, "text/") {
			// CPython hands text payloads over with LF line breaks.
			body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
		}
		sum := sha256.Sum256(body)
		fmt.Fprintf(&b, "%s|%s|%s|%d|%s\n", p.path, p.typ, p.filename, len(body), hex.EncodeToString(sum[:])[:16])
	}
	return b.String()
}

// TestComposeInteropPython checks that CPython's email package parses what
// Herald composes into the same tree, file names and decoded bytes.
func TestComposeInteropPython(t *testing.T) {
	t.Parallel()
	py := peertest.LookPath(t, "python3")
	m, _ := composeSample(t)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "composed.eml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", pythonTree, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := treeLines(parseComposed(t, buf.Bytes()))
	if string(out) != want {
		t.Errorf("python sees\n%s\nHerald composed\n%s", out, want)
	}
}
