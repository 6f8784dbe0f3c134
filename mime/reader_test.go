package mime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// walkString walks msg and returns one line per entity: path, type and,
// for leaves, the decoded body.
func walkString(t *testing.T, msg string, opts *ReaderOptions) ([]string, error) {
	t.Helper()
	rd := NewReader(iotest.HalfReader(strings.NewReader(msg)), opts)
	var out []string
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		line := fmt.Sprintf("%s %s", p.Path, p.MediaType.Essence())
		if !p.IsContainer() {
			b, err := p.Body()
			if err != nil {
				return out, err
			}
			body, err := io.ReadAll(b)
			if err != nil {
				return out, err
			}
			line += fmt.Sprintf(" %q", body)
		}
		out = append(out, line)
	}
}

func TestReaderStructure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  string
		want []string
	}{
		{
			name: "single part",
			msg:  "Subject: x\r\n\r\nhello\r\n",
			want: []string{" text/plain \"hello\\r\\n\""},
		},
		{
			name: "no body",
			msg:  "Subject: x\r\n",
			want: []string{" text/plain \"\""},
		},
		{
			name: "nested with preamble, padding and epilogue",
			msg: "Content-Type: multipart/mixed; boundary=outer\n\npreamble\n--outer  \n" +
				"Content-Type: text/plain\n\none\n--outer\nContent-Type: multipart/alternative; boundary=\"in ner\"\n\n" +
				"--in ner\nContent-Type: text/plain\n\ntwo\n--in ner\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+dGhyZWU8L2I+\n--in ner--\ninner epilogue\n--outer--\t\nepilogue\n",
			want: []string{
				" multipart/mixed",
				"1 text/plain \"one\"",
				"2 multipart/alternative",
				"2.1 text/plain \"two\"",
				"2.2 text/html \"<b>three</b>\"",
			},
		},
		{
			name: "boundary lookalikes are content",
			msg:  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bx\r\n-- b\r\n--b-\r\nx--b\r\n--b--\r\n",
			want: []string{" multipart/mixed", "1 text/plain \"--bx\\r\\n-- b\\r\\n--b-\\r\\nx--b\""},
		},
		{
			name: "missing close delimiter",
			msg:  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nlast part\r\n",
			want: []string{" multipart/mixed", "1 text/plain \"last part\""},
		},
		{
			name: "inner multipart ended by outer delimiter",
			msg: "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\ninner\n" +
				"--o\n\nsecond\n--o--\n",
			want: []string{" multipart/mixed", "1 multipart/alternative", "1.1 text/plain \"inner\"", "2 text/plain \"second\""},
		},
		{
			name: "message/rfc822 entered",
			msg: "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nSubject: inner\n" +
				"Content-Type: multipart/alternative; boundary=c\n\n--c\n\ninner text\n--c--\n--b--\n",
			want: []string{" multipart/mixed", "1 message/rfc822", "1.1 multipart/alternative", "1.1.1 text/plain \"inner text\""},
		},
		{
			name: "message/global entered",
			msg:  "Content-Type: message/global\n\nSubject: caf\xc3\xa9\n\nbody\n",
			want: []string{" message/global", "1 text/plain \"body\\n\""},
		},
		{
			name: "digest defaults to message/rfc822",
			msg:  "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nfirst\n--d--\n",
			want: []string{" multipart/digest", "1 message/rfc822", "1.1 text/plain \"first\""},
		},
		{
			name: "multipart without boundary is a leaf",
			msg:  "Content-Type: multipart/mixed\n\n--x\nbody\n",
			want: []string{" multipart/mixed \"--x\\nbody\\n\""},
		},
		{
			name: "header without separator",
			msg:  "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nthis is body\n--b--\n",
			want: []string{" multipart/mixed", "1 text/plain \"this is body\""},
		},
		{
			name: "invalid content type defaults to text/plain",
			msg:  "Content-Type: garbage\n\nx",
			want: []string{" text/plain \"x\""},
		},
		{
			name: "quoted-printable part",
			msg:  "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nau lait\n--b--\n",
			want: []string{" multipart/mixed", "1 text/plain \"café au lait\""},
		},
		{
			name: "empty parts between delimiters",
			msg:  "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n",
			want: []string{" multipart/mixed", "1 text/plain \"\"", "2 text/plain \"x\""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := walkString(t, tt.msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestReaderPreambleEpilogueDefects(t *testing.T) {
	t.Parallel()
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\nThis is a MIME message.\r\n--b\r\n\r\nx\r\n--b--\r\nthe end\r\n"
	rd := NewReader(strings.NewReader(msg), nil)
	root, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if string(root.Preamble) != "This is a MIME message." {
		t.Errorf("preamble %q", root.Preamble)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
	if string(root.Epilogue) != "the end\r\n" {
		t.Errorf("epilogue %q", root.Epilogue)
	}

	rd = NewReader(strings.NewReader("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n"), nil)
	root, _ = rd.Next()
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
	}
	if len(root.Defects) != 1 || root.Defects[0] != DefectCloseBoundaryNotFound {
		t.Errorf("defects %v", root.Defects)
	}
}

func TestReaderStrict(t *testing.T) {
	t.Parallel()
	bad := []string{
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n",
		"Content-Type: multipart/mixed; boundary=b\n\nno delimiter at all\n",
		"Content-Type: text/plain\nbad header line\n\nx",
		"Content-Type: multipart/mixed\n\nx",
		"Content-Type: text\n\nx",
		"Content-Transfer-Encoding: base64\n\nbad*base64",
		"Content-Transfer-Encoding: quoted-printable\n\nbad =escape",
	}
	for _, msg := range bad {
		_, err := walkString(t, msg, &ReaderOptions{Strict: true})
		if err == nil {
			t.Errorf("strict mode accepted %q", msg)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %T is not *Error", msg, err)
		}
	}
	if _, err := walkString(t, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n", &ReaderOptions{Strict: true}); err != nil {
		t.Errorf("strict mode refused a valid message: %v", err)
	}
}

// nestingBomb returns a message with n nested multiparts.
func nestingBomb(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
	}
	b.WriteString("\nleaf\n")
	return b.String()
}

func TestReaderLimits(t *testing.T) {
	t.Parallel()
	t.Run("deep multipart nesting", func(t *testing.T) {
		t.Parallel()
		_, err := walkString(t, nestingBomb(100000), nil)
		if !errors.Is(err, ErrTooDeep) {
			t.Fatalf("got %v, want ErrTooDeep", err)
		}
	})
	t.Run("deep message nesting", func(t *testing.T) {
		t.Parallel()
		msg := strings.Repeat("Content-Type: message/rfc822\n\n", 100000) + "x"
		if _, err := walkString(t, msg, nil); !errors.Is(err, ErrTooDeep) {
			t.Fatalf("got %v, want ErrTooDeep", err)
		}
	})
	t.Run("depth limit overridable", func(t *testing.T) {
		t.Parallel()
		if _, err := walkString(t, nestingBomb(10), &ReaderOptions{Limits: Limits{MaxDepth: 5}}); !errors.Is(err, ErrTooDeep) {
			t.Fatalf("got %v, want ErrTooDeep", err)
		}
		if _, err := walkString(t, nestingBomb(10), nil); err != nil {
			t.Fatalf("default limit refused 10 levels: %v", err)
		}
	})
	t.Run("too many parts", func(t *testing.T) {
		t.Parallel()
		msg := "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n\nx\n", 200) + "--b--\n"
		if _, err := walkString(t, msg, &ReaderOptions{Limits: Limits{MaxParts: 100}}); !errors.Is(err, ErrTooManyParts) {
			t.Fatalf("got %v, want ErrTooManyParts", err)
		}
		if _, err := walkString(t, msg, nil); err != nil {
			t.Fatalf("default limit refused 201 parts: %v", err)
		}
	})
	t.Run("part header too large", func(t *testing.T) {
		t.Parallel()
		msg := "Content-Type: multipart/mixed; boundary=b\n\n--b\n" + strings.Repeat("X-Long: "+strings.Repeat("y", 70)+"\n", 2000) + "\nx\n--b--\n"
		if _, err := walkString(t, msg, &ReaderOptions{Limits: Limits{MaxHeaderBytes: 64 << 10}}); !errors.Is(err, ErrHeaderTooLarge) {
			t.Fatalf("got %v, want ErrHeaderTooLarge", err)
		}
	})
	t.Run("too many header fields", func(t *testing.T) {
		t.Parallel()
		msg := strings.Repeat("X-A: b\n", 100) + "\nx"
		if _, err := walkString(t, msg, &ReaderOptions{Limits: Limits{MaxHeaderFields: 50}}); !errors.Is(err, ErrHeaderTooLarge) {
			t.Fatalf("got %v, want ErrHeaderTooLarge", err)
		}
	})
}

// TestStackOverflowMessage reads MimeKit's stack-overflow.txt: a 135 KB
// To field of 2,700 encoded words that overflowed the stack of recursive
// parsers. Herald's reader does not recurse: with the default limits the
// message is read, quickly; with a 64 KiB header limit it is refused with
// a typed error.
func TestStackOverflowMessage(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../testdata/messages/mimekit/messages/stack-overflow.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := walkString(t, string(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != ` text/plain "\nMessage Body\n"` {
		t.Errorf("got %q", got)
	}
	rd := NewReader(strings.NewReader(string(b)), nil)
	p, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Header().Values("To")); n != 1 {
		t.Errorf("%d To fields", n)
	}
	// The field that overflowed recursive parsers: one mailbox, then
	// 2,700 malformed encoded words whose ':' reads as the start of a
	// group. Lenient parsing returns the mailbox and one entry without an
	// address, in linear time and constant stack.
	to, err := p.Header().AddressList("To")
	if err != nil {
		t.Fatalf("To: %v", err)
	}
	if len(to) != 2 || to[0].Addr != "test@test.com" || to[1].Addr != "" {
		t.Errorf("To: %d entries, first %+v", len(to), to[0])
	}
	_, err = walkString(t, string(b), &ReaderOptions{Limits: Limits{MaxHeaderBytes: 64 << 10}})
	if !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("got %v, want ErrHeaderTooLarge", err)
	}
}

func TestPartBodyAfterNext(t *testing.T) {
	t.Parallel()
	rd := NewReader(strings.NewReader("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n--b--\n"), nil)
	rd.Next()
	p1, _ := rd.Next()
	body, _ := p1.Body()
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(body); !errors.Is(err, ErrClosed) {
		t.Errorf("reading a passed part gave %v, want ErrClosed", err)
	}
}

func TestPartTextAndFilename(t *testing.T) {
	t.Parallel()
	msg := "Content-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n" +
		"--b\nContent-Type: text/plain; charset=x-martian\n\nraw \xff bytes\n" +
		"--b\nContent-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n" +
		"--b\nContent-Type: application/pdf; name=\"=?utf-8?B?w5xiZXJzaWNodC5wZGY=?=\"\n\nx\n" +
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=iso-8859-1''%E9t%E9.txt\n\nx\n" +
		"--b\nContent-Type: image/png\nContent-Disposition: inline; filename*0*=koi8-r''%F0%D2; filename*1=.png\n\nx\n" +
		"--b--\n"
	rd := NewReader(strings.NewReader(msg), nil)
	rd.Next()
	type want struct {
		text, filename string
		charsetErr     bool
		kind           Kind
	}
	wants := []want{
		{text: "café", kind: KindText},
		// An unknown charset: the undeclared-charset rule, with the error.
		{text: "raw ÿ bytes", charsetErr: true, kind: KindText},
		{text: "Привет", kind: KindText},
		{text: "x", filename: "Übersicht.pdf", kind: KindAttachment},
		{text: "x", filename: "été.txt", kind: KindAttachment},
		{text: "x", filename: "Пр.png", kind: KindInline},
	}
	for i, w := range wants {
		p, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Text()
		var ce *CharsetError
		if w.charsetErr != errors.As(err, &ce) {
			t.Errorf("part %d: Text error %v", i+1, err)
		}
		if w.charsetErr && !errors.Is(err, ErrUnknownCharset) {
			t.Errorf("part %d: %v is not ErrUnknownCharset", i+1, err)
		}
		b, _ := io.ReadAll(r)
		if string(b) != w.text {
			t.Errorf("part %d: text %q, want %q", i+1, b, w.text)
		}
		if got := p.Filename(); got != w.filename {
			t.Errorf("part %d: filename %q, want %q", i+1, got, w.filename)
		}
		if got := p.Kind(); got != w.kind {
			t.Errorf("part %d: kind %v, want %v", i+1, got, w.kind)
		}
	}
}

func TestCharsetReaderOption(t *testing.T) {
	t.Parallel()
	called := ""
	opts := &ReaderOptions{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
		called = cs
		if cs == "x-upper" {
			b, err := io.ReadAll(r)
			return strings.NewReader(strings.ToUpper(string(b))), err
		}
		return nil, errors.New("unknown")
	}}
	rd := NewReader(strings.NewReader("Content-Type: text/plain; charset=X-Upper\n\nhello"), opts)
	p, _ := rd.Next()
	r, err := p.Text()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	if string(b) != "HELLO" || called != "x-upper" {
		t.Errorf("got %q via %q", b, called)
	}
}

// TestTextUndeclared checks the undeclared-charset rule on bodies and file
// names: without a charset, with US-ASCII or with an unknown one, valid
// UTF-8 stays and other bytes are windows-1252; a body labelled UTF-8 with
// invalid bytes gets U+FFFD; UTF-7 bodies decode.
func TestTextUndeclared(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, body, want, filename string
	}{
		{"text without charset, latin-1", "Content-Type: text/plain", "M\xfcller \x80", "Müller €", ""},
		{"text without charset, utf-8", "Content-Type: text/plain", "Müller 日本", "Müller 日本", ""},
		{"no content-type, 8bit", "Content-Transfer-Encoding: 8bit", "caf\xe9", "café", ""},
		{"us-ascii label on 8-bit", "Content-Type: text/plain; charset=us-ascii", "\x93hi\x94", "\u201chi\u201d", ""},
		{"quoted-printable without charset", "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable", "caf=E9 caf=C3=A9", "café café", ""},
		{"utf-8 label with a bad byte", "Content-Type: text/plain; charset=utf-8", "caf\xe9", "caf\uFFFD", ""},
		{"utf-7 body", "Content-Type: text/plain; charset=UTF-7", "Heinz M+APw-ller +- 1", "Heinz Müller + 1", ""},
		{"raw 8-bit file name", "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"r\xe9sum\xe9.pdf\"", "x", "x", "résumé.pdf"},
		{"raw utf-8 file name", "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"résumé.pdf\"", "x", "x", "résumé.pdf"},
		{"utf-7 encoded word file name", "Content-Type: application/pdf; name=\"=?utf-7?Q?M+APw-ller.pdf?=\"", "x", "x", "Müller.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewReader(strings.NewReader(tt.header+"\n\n"+tt.body), nil).Next()
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Text()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("text %q, want %q", b, tt.want)
			}
			if got := p.Filename(); got != tt.filename {
				t.Errorf("filename %q, want %q", got, tt.filename)
			}
		})
	}
}

// TestReaderByteOrderMark checks that a UTF-8 byte order mark before the
// header is skipped, as package message skips it, so that the header (and
// the structure it gives) is read; in strict mode it is not a header.
func TestReaderByteOrderMark(t *testing.T) {
	msg := "\xEF\xBB\xBFContent-Type: multipart/mixed; boundary=b\r\nSubject: hi\r\n\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n"
	rd := NewReader(strings.NewReader(msg), nil)
	var got []string
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Path+" "+p.MediaType.String())
		if p.Path == "" {
			if s := p.Header().Get("Subject"); s != "hi" {
				t.Errorf("Subject = %q", s)
			}
		}
	}
	want := []string{" multipart/mixed; boundary=b", "1 text/plain", "2 text/html"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("parts = %q, want %q", got, want)
	}
	p, err := NewReader(strings.NewReader(msg), &ReaderOptions{Strict: true}).Next()
	if err == nil && p.MediaType.IsMultipart() {
		t.Errorf("strict mode read the header after a byte order mark: %v", p.MediaType)
	}
}
