package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

func TestReadLine(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3000)
	tests := []struct {
		name     string
		in       string
		max      int
		want     []string
		wantCRLF []bool
		wantErr  []error
	}{
		{name: "crlf", in: "EHLO a\r\nQUIT\r\n", max: 100, want: []string{"EHLO a", "QUIT"}, wantCRLF: []bool{true, true}, wantErr: []error{nil, nil}},
		{name: "bare lf", in: "NOOP\n", max: 100, want: []string{"NOOP"}, wantCRLF: []bool{false}, wantErr: []error{nil}},
		{name: "exact max", in: "12345\r\n", max: 5, want: []string{"12345"}, wantCRLF: []bool{true}, wantErr: []error{nil}},
		{name: "over max", in: "123456\r\nNOOP\r\n", max: 5, want: []string{"", "NOOP"}, wantCRLF: []bool{true, true}, wantErr: []error{ErrLineTooLong, nil}},
		{name: "huge line resyncs", in: long + "\r\nQUIT\r\n", max: 512, want: []string{"", "QUIT"}, wantCRLF: []bool{false, true}, wantErr: []error{ErrLineTooLong, nil}},
		{name: "huge line beyond large buffer", in: strings.Repeat("y", 3*LargeSize) + "\r\nQUIT\r\n", max: 40000, want: []string{"", "QUIT"}, wantCRLF: []bool{false, true}, wantErr: []error{ErrLineTooLong, nil}},
		{name: "long within max", in: long + "\r\n", max: 4000, want: []string{long}, wantCRLF: []bool{true}, wantErr: []error{nil}},
		{name: "eof mid line", in: "QUI", max: 100, want: []string{"QUI"}, wantCRLF: []bool{false}, wantErr: []error{io.ErrUnexpectedEOF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
			} {
				r := NewReader(wrap(strings.NewReader(tt.in)), &sync.Pool{})
				for i := range tt.want {
					line, crlf, err := r.ReadLine(tt.max)
					if !errors.Is(err, tt.wantErr[i]) || string(line) != tt.want[i] || (err == nil && crlf != tt.wantCRLF[i]) {
						t.Fatalf("line %d: got %q crlf=%v err=%v; want %q crlf=%v err=%v", i, line, crlf, err, tt.want[i], tt.wantCRLF[i], tt.wantErr[i])
					}
				}
				if _, _, err := r.ReadLine(tt.max); err != io.EOF && tt.wantErr[len(tt.wantErr)-1] == nil {
					t.Fatalf("after last line: err = %v, want EOF", err)
				}
			}
		})
	}
}

func TestReadLineBufio(t *testing.T) {
	t.Parallel()
	br := bufio.NewReaderSize(strings.NewReader("250-a\r\n"+strings.Repeat("z", 5000)+"\r\n250 b\n"), 16)
	line, crlf, err := ReadLineBufio(br, 100)
	if string(line) != "250-a" || !crlf || err != nil {
		t.Fatalf("got %q %v %v", line, crlf, err)
	}
	if _, _, err = ReadLineBufio(br, 100); err != ErrLineTooLong {
		t.Fatalf("long line: err = %v", err)
	}
	line, crlf, err = ReadLineBufio(br, 100)
	if string(line) != "250 b" || crlf || err != nil {
		t.Fatalf("got %q %v %v", line, crlf, err)
	}
}

func TestReaderShrink(t *testing.T) {
	t.Parallel()
	pool := &sync.Pool{}
	r := NewReader(strings.NewReader(strings.Repeat("a", 5000)+"\r\nNEXT\r\n"), pool)
	if _, _, err := r.ReadLine(10000); err != nil {
		t.Fatal(err)
	}
	if r.large == nil {
		t.Fatal("long line did not grow the buffer")
	}
	r.Shrink()
	if r.large != nil || len(r.buf) != SmallSize {
		t.Fatal("Shrink kept the large buffer")
	}
	line, _, err := r.ReadLine(100)
	if string(line) != "NEXT" || err != nil {
		t.Fatalf("after shrink: %q %v", line, err)
	}
}

// dotCases are shared by the reader test and the smuggling test.
var dotCases = []struct {
	name    string
	in      string
	want    string // decoded data
	rest    string // what is left on the wire after the terminator
	wantErr error
}{
	{name: "simple", in: "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", want: "Subject: x\r\n\r\nbody\r\n", rest: "QUIT\r\n"},
	{name: "empty", in: ".\r\n", want: "", rest: ""},
	{name: "stuffed", in: "..hidden\r\n...\r\n.\r\n", want: ".hidden\r\n..\r\n"},
	{name: "dot inside line", in: "a.\r\nb . c\r\n.\r\n", want: "a.\r\nb . c\r\n"},
	{name: "empty lines", in: "\r\n\r\n.\r\n", want: "\r\n\r\n"},
	{name: "eof before end", in: "abc\r\n", wantErr: io.ErrUnexpectedEOF},
	{name: "eof after dot", in: "abc\r\n.", wantErr: io.ErrUnexpectedEOF},
	{name: "eof after dot cr", in: "abc\r\n.\r", wantErr: io.ErrUnexpectedEOF},
	// SMTP smuggling variants: none may end the data.
	{name: "lf dot lf", in: "a\n.\nMAIL FROM:<x>\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "cr dot cr", in: "a\r.\rMAIL FROM:<x>\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "lf dot crlf", in: "a\n.\r\nMAIL FROM:<x>\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "crlf dot lf", in: "a\r\n.\nMAIL FROM:<x>\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "cr dot crlf", in: "a\r.\r\nMAIL FROM:<x>\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "crlf dot cr", in: "a\r\n.\rMAIL FROM:<x>\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "lf dot cr lf", in: "a\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "crlf dot cr cr lf", in: "a\r\n.\r\r\nMAIL\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "bare lf line", in: "a\nb\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "bare cr in line", in: "a\rb\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "cr cr lf", in: "a\r\r\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "empty bare lf", in: "\n.\r\n", wantErr: ErrBareLineEnding},
	{name: "null byte kept", in: "a\x00b\r\n.\r\n", want: "a\x00b\r\n"},
}

func TestDotReader(t *testing.T) {
	t.Parallel()
	for _, tt := range dotCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.HalfReader,
			} {
				r := NewReader(wrap(strings.NewReader(tt.in)), nil)
				d := NewDotReader(r, -1)
				got, err := io.ReadAll(d)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v (data %q)", err, tt.wantErr, got)
					}
					if d.Done() {
						t.Fatal("Done after an error")
					}
					continue
				}
				if err != nil || string(got) != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				rest, _ := io.ReadAll(r)
				if string(rest) != tt.rest {
					t.Fatalf("left on the wire %q, want %q", rest, tt.rest)
				}
			}
		})
	}
}

func TestDotReaderLimit(t *testing.T) {
	t.Parallel()
	in := "0123456789\r\n0123456789\r\n.\r\nQUIT\r\n"
	r := NewReader(iotest.OneByteReader(strings.NewReader(in)), nil)
	d := NewDotReader(r, 15)
	got, err := io.ReadAll(d)
	if !errors.Is(err, ErrMessageTooLarge) || int64(len(got)) > 15 {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if err := d.Drain(); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	line, _, err := r.ReadLine(100)
	if string(line) != "QUIT" || err != nil {
		t.Fatalf("after drain: %q %v", line, err)
	}
}

func TestDotWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pieces  []string
		want    string
		wantErr error
	}{
		{name: "simple", pieces: []string{"a\r\nb\r\n"}, want: "a\r\nb\r\n.\r\n"},
		{name: "no final crlf", pieces: []string{"a"}, want: "a\r\n.\r\n"},
		{name: "empty", pieces: nil, want: ".\r\n"},
		{name: "stuffing", pieces: []string{".a\r\n", ".", "\r\n..\r\n"}, want: "..a\r\n..\r\n...\r\n.\r\n"},
		{name: "cr split", pieces: []string{"a\r", "\n.b\r\n"}, want: "a\r\n..b\r\n.\r\n"},
		{name: "trailing cr", pieces: []string{"a\r"}, want: "a\r\n.\r\n"},
		{name: "bare lf", pieces: []string{"a\nb"}, wantErr: ErrBareLineEnding},
		{name: "bare cr", pieces: []string{"a\rb"}, wantErr: ErrBareLineEnding},
		{name: "lf after split", pieces: []string{"a", "\n"}, wantErr: ErrBareLineEnding},
		{name: "cr then text", pieces: []string{"a\r", "b"}, wantErr: ErrBareLineEnding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewDotWriter(&buf)
			var err error
			for _, p := range tt.pieces {
				if _, err = w.Write([]byte(p)); err != nil {
					break
				}
			}
			if err == nil {
				err = w.Close()
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || buf.String() != tt.want {
				t.Fatalf("got %q, %v; want %q", buf.String(), err, tt.want)
			}
		})
	}
}

func FuzzDotReader(f *testing.F) {
	for _, tt := range dotCases {
		f.Add([]byte(tt.in), int64(-1))
	}
	f.Add([]byte("abc\r\n.\r\n"), int64(2))
	f.Fuzz(func(t *testing.T, in []byte, max int64) {
		r := NewReader(iotest.HalfReader(bytes.NewReader(in)), nil)
		d := NewDotReader(r, max)
		got, err := io.ReadAll(d)
		if max >= 0 && int64(len(got)) > max {
			t.Fatalf("read %d bytes over limit %d", len(got), max)
		}
		// Differential check against a plain line-by-line decoder.
		want, wantN, wantErr := refDotDecode(in)
		switch {
		case errors.Is(err, ErrMessageTooLarge):
			if wantErr == nil && int64(len(want)) <= max {
				t.Fatalf("too large at limit %d, but the data is %d bytes", max, len(want))
			}
			return
		case err != nil:
			if !errors.Is(err, wantErr) {
				t.Fatalf("error %v, reference decoder says %v", err, wantErr)
			}
			return
		case wantErr != nil || !bytes.Equal(got, want):
			t.Fatalf("decoded %q, reference decoder %q, %v", got, want, wantErr)
		}
		if n := len(in) - r.Buffered() - remaining(r); n != wantN {
			t.Fatalf("consumed %d bytes, reference decoder %d", n, wantN)
		}
		// Clean data: the consumed input ends with a real CRLF "." CRLF
		// (or is just "." CRLF), and the decoded data survives another
		// encode/decode round unchanged.
		consumed := in[:wantN]
		if !bytes.HasSuffix(consumed, []byte("\r\n.\r\n")) && string(consumed) != ".\r\n" {
			t.Fatalf("data ended at %q", consumed)
		}
		var buf bytes.Buffer
		w := NewDotWriter(&buf)
		if _, err := w.Write(got); err != nil {
			t.Fatalf("decoded data %q has bad line endings: %v", got, err)
		}
		w.Close()
		again, err := io.ReadAll(NewDotReader(NewReader(&buf, nil), -1))
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("re-encoded %q decodes to %q, %v", got, again, err)
		}
	})
}

// refDotDecode is the obvious line-by-line decoder: every line must end
// in CRLF with no other CR, a leading dot is removed, and the line "."
// ends the data. It returns the data, the bytes consumed, and
// ErrBareLineEnding or io.ErrUnexpectedEOF.
func refDotDecode(in []byte) ([]byte, int, error) {
	out := []byte{}
	for i := 0; ; {
		j := bytes.IndexByte(in[i:], '\n')
		if j < 0 {
			rest := in[i:]
			if k := bytes.IndexByte(rest, '\r'); k >= 0 && k < len(rest)-1 {
				return nil, 0, ErrBareLineEnding
			}
			return nil, 0, io.ErrUnexpectedEOF
		}
		line := in[i : i+j+1]
		if j == 0 || line[j-1] != '\r' || bytes.IndexByte(line[:j-1], '\r') >= 0 {
			return nil, 0, ErrBareLineEnding
		}
		i += j + 1
		body := line[:j-1]
		if len(body) > 0 && body[0] == '.' {
			if len(body) == 1 {
				return out, i, nil
			}
			body = body[1:]
		}
		out = append(append(out, body...), '\r', '\n')
	}
}

// remaining counts bytes the Reader has not yet pulled from its source.
func remaining(r *Reader) int {
	n, _ := io.Copy(io.Discard, r.rd)
	return int(n)
}

func FuzzDotWriter(f *testing.F) {
	f.Add([]byte("a\r\n.b\r\n"))
	f.Add([]byte(".\r\n"))
	f.Add([]byte("x\ny"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		w := NewDotWriter(&buf)
		if _, err := w.Write(in); err != nil {
			return
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		d := NewDotReader(NewReader(&buf, nil), -1)
		got, err := io.ReadAll(d)
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.Bytes(), err)
		}
		want := in
		if len(in) > 0 && !bytes.HasSuffix(in, []byte("\r\n")) {
			if in[len(in)-1] == '\r' {
				want = append(bytes.Clone(in), '\n')
			} else {
				want = append(bytes.Clone(in), '\r', '\n')
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round trip %q -> %q", in, got)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("EHLO x\r\nQUIT\r\n"), 10)
	f.Add([]byte(strings.Repeat("a", 2000)+"\nb\n"), 100)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		r := NewReader(iotest.HalfReader(bytes.NewReader(in)), nil)
		for range len(in) + 1 {
			line, _, err := r.ReadLine(max)
			if len(line) > max && err == nil {
				t.Fatalf("line of %d bytes over max %d", len(line), max)
			}
			if err != nil && err != ErrLineTooLong {
				return
			}
		}
		t.Fatal("ReadLine made no progress")
	})
}

// BenchmarkDotReader decodes a 4 KiB message of 78-byte lines, as
// smtp-source sends them, into io.Discard.
func BenchmarkDotReader(b *testing.B) {
	var msg bytes.Buffer
	for msg.Len() < 4096 {
		msg.WriteString(strings.Repeat("La de da de da ", 6)[:76] + "\r\n")
	}
	msg.WriteString("..stuffed\r\n.\r\n")
	in := msg.Bytes()
	src := bytes.NewReader(in)
	pool := &sync.Pool{}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for range b.N {
		src.Reset(in)
		r := NewReader(src, pool)
		if _, err := io.Copy(io.Discard, NewDotReader(r, -1)); err != nil {
			b.Fatal(err)
		}
		r.Release()
	}
}

// validateEndingsReference is validateEndings written as the plain byte
// loop of its definition, to check the vectorised version against.
func validateEndingsReference(p []byte, prevCR bool) error {
	if len(p) > 0 && prevCR && p[0] != '\n' {
		return ErrBareLineEnding // the CR before p needs its LF first
	}
	for i, c := range p {
		switch c {
		case '\r':
			if i+1 < len(p) && p[i+1] != '\n' {
				return ErrBareLineEnding
			}
		case '\n':
			if (i == 0 && !prevCR) || (i > 0 && p[i-1] != '\r') {
				return ErrBareLineEnding
			}
		}
	}
	return nil
}

func FuzzValidateEndings(f *testing.F) {
	for _, s := range []string{"", "a\r\nb\r\n", "\n", "\r", "a\rb", "a\nb", "\r\r\n", "\r\n\n", "x\r\n\r"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, p []byte, prevCR bool) {
		got, want := validateEndings(p, prevCR), validateEndingsReference(p, prevCR)
		if got != want {
			t.Fatalf("validateEndings(%q, %v) = %v, reference says %v", p, prevCR, got, want)
		}
	})
}
