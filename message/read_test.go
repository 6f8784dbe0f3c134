package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type wantField struct{ name, value string }

func TestReadMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		opts     *ReadOptions
		want     []wantField
		body     string
		preamble string
		wantErr  error
	}{
		{
			name: "crlf",
			in:   "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
			want: []wantField{{"From", "a@example.com"}, {"Subject", "hi"}},
			body: "body\r\n",
		},
		{
			name: "bare lf",
			in:   "From: a@example.com\nSubject: hi\n\nbody\n",
			want: []wantField{{"From", "a@example.com"}, {"Subject", "hi"}},
			body: "body\n",
		},
		{
			name: "folded",
			in:   "Subject: a\r\n  long\r\n\tsubject\r\n\r\n",
			want: []wantField{{"Subject", "a  long\tsubject"}},
		},
		{
			name: "mixed endings",
			in:   "A: 1\nB: 2\r\n c\n\r\nx",
			want: []wantField{{"A", "1"}, {"B", "2 c"}},
			body: "x",
		},
		{
			name: "duplicates kept in order",
			in:   "Received: 1\nX: a\nReceived: 2\n\n",
			want: []wantField{{"Received", "1"}, {"X", "a"}, {"Received", "2"}},
		},
		{
			name:     "mbox from line",
			in:       "From sender@example.com Mon Jan  1 00:00:00 2024\nTo: b@example.com\n\n",
			want:     []wantField{{"To", "b@example.com"}},
			preamble: "From sender@example.com Mon Jan  1 00:00:00 2024\n",
		},
		{
			name: "obsolete space before colon is a field, not mbox",
			in:   "From  : John <j@example.com>\nSubject\t: x\n\n",
			want: []wantField{{"From", "John <j@example.com>"}, {"Subject", "x"}},
		},
		{
			name: "empty value",
			in:   "X-Empty:\nX-Space: \n\n",
			want: []wantField{{"X-Empty", ""}, {"X-Space", ""}},
		},
		{
			name: "no body, eof after header",
			in:   "A: 1\nB: 2",
			want: []wantField{{"A", "1"}, {"B", "2"}},
		},
		{
			name: "empty input",
			in:   "",
		},
		{
			name: "empty header",
			in:   "\r\nbody",
			body: "body",
		},
		{
			name: "utf-8 value (RFC 6532)",
			in:   "Subject: caf\xc3\xa9\n\n",
			want: []wantField{{"Subject", "café"}},
		},
		{
			name: "whitespace-only continuation is folding",
			in:   "A: 1\n \n b\n\n",
			want: []wantField{{"A", "1  b"}},
		},
		{
			name: "lenient: junk line joined to previous field when fields follow",
			in:   "To: Mary\n__\n <m@example.net>\nSubject: x\n\nbody",
			want: []wantField{{"To", "Mary __ <m@example.net>"}, {"Subject", "x"}},
			body: "body",
		},
		{
			name: "lenient: junk line without following field starts the body",
			in:   "From: a@b\nSubject: x\nno separating line here\nmore\n",
			want: []wantField{{"From", "a@b"}, {"Subject", "x"}},
			body: "no separating line here\nmore\n",
		},
		{
			name: "lenient: junk then blank line starts the body",
			in:   "From: a@b\njunk\n\nbody\n",
			want: []wantField{{"From", "a@b"}},
			body: "junk\n\nbody\n",
		},
		{
			name: "lenient: no header at all",
			in:   "--boundary\nContent-Type: text/plain\n\nx",
			body: "--boundary\nContent-Type: text/plain\n\nx",
		},
		{
			name: "lenient: plain text is all body",
			in:   "Hello there\n\tindented\n\nbye",
			body: "Hello there\n\tindented\n\nbye",
		},
		{
			name:     "lenient: byte order mark",
			in:       "\xef\xbb\xbfFrom: a@b\n\n",
			want:     []wantField{{"From", "a@b"}},
			preamble: "\xef\xbb\xbf",
		},
		{
			name: "lenient: invalid name joined to previous field",
			in:   "A: 1\nbad name: 2\nC: 3\n\n",
			want: []wantField{{"A", "1 bad name: 2"}, {"C", "3"}},
		},
		{
			name:    "strict: junk line",
			in:      "From: a@b\njunk\nX: y\n\n",
			opts:    &ReadOptions{Mode: Strict},
			wantErr: ErrMalformedHeader,
		},
		{
			name:    "strict: leading continuation",
			in:      " x\nA: b\n\n",
			opts:    &ReadOptions{Mode: Strict},
			wantErr: ErrMalformedHeader,
		},
		{
			name:    "strict: bare CR",
			in:      "A: b\rc\n\n",
			opts:    &ReadOptions{Mode: Strict},
			wantErr: ErrMalformedHeader,
		},
		{
			name:    "strict: NUL",
			in:      "A: b\x00\n\n",
			opts:    &ReadOptions{Mode: Strict},
			wantErr: ErrMalformedHeader,
		},
		{
			name:    "strict: latin-1 byte",
			in:      "Subject: caf\xe9\n\n",
			opts:    &ReadOptions{Mode: Strict},
			wantErr: ErrMalformedHeader,
		},
		{
			name: "lenient: latin-1 byte kept",
			in:   "Subject: caf\xe9\n\n",
			want: []wantField{{"Subject", "caf\xe9"}},
		},
		{
			name: "strict: utf-8 (RFC 6532)",
			in:   "Subject: caf\xc3\xa9\n\n",
			opts: &ReadOptions{Mode: Strict},
			want: []wantField{{"Subject", "café"}},
		},
		{
			name:    "strict: 999 octet line",
			in:      "A: " + strings.Repeat("x", 996) + "\n\n",
			opts:    &ReadOptions{Mode: Strict},
			wantErr: ErrLineTooLong,
		},
		{
			name: "strict: 998 octet line",
			in:   "A: " + strings.Repeat("x", 995) + "\r\n\r\n",
			opts: &ReadOptions{Mode: Strict},
			want: []wantField{{"A", strings.Repeat("x", 995)}},
		},
		{
			name: "strict: good header with mbox line",
			in:   "From a@b Mon\nA: 1\n\n",
			opts: &ReadOptions{Mode: Strict},
			want: []wantField{{"A", "1"}}, preamble: "From a@b Mon\n",
		},
		{
			name:    "line too long",
			in:      "A: " + strings.Repeat("x", 100) + "\n\n",
			opts:    &ReadOptions{MaxLineLength: 50},
			wantErr: ErrLineTooLong,
		},
		{
			name:    "unterminated line too long",
			in:      "A: " + strings.Repeat("x", 100),
			opts:    &ReadOptions{MaxLineLength: 50},
			wantErr: ErrLineTooLong,
		},
		{
			name:    "header too large",
			in:      strings.Repeat("A: 1\n", 100) + "\n",
			opts:    &ReadOptions{MaxHeaderBytes: 256},
			wantErr: ErrHeaderTooLarge,
		},
		{
			name: "header exactly at limit",
			in:   strings.Repeat("A: 1\n", 10) + "\nbody",
			opts: &ReadOptions{MaxHeaderBytes: 50},
			want: []wantField{{"A", "1"}, {"A", "1"}, {"A", "1"}, {"A", "1"}, {"A", "1"}, {"A", "1"}, {"A", "1"}, {"A", "1"}, {"A", "1"}, {"A", "1"}},
			body: "body",
		},
		{
			name:    "header too large, ended by end of input",
			in:      "A: " + strings.Repeat("x", 48),
			opts:    &ReadOptions{MaxHeaderBytes: 50},
			wantErr: ErrHeaderTooLarge,
		},
		{
			name: "header at limit, ended by end of input",
			in:   "A: " + strings.Repeat("x", 47),
			opts: &ReadOptions{MaxHeaderBytes: 50},
			want: []wantField{{"A", strings.Repeat("x", 47)}},
		},
		{
			name:    "too many fields",
			in:      strings.Repeat("A: 1\n", 12) + "\n",
			opts:    &ReadOptions{MaxFields: 10},
			wantErr: ErrTooManyFields,
		},
		{
			name:    "too many fields with preamble slack",
			in:      "From x\n" + strings.Repeat("A: 1\n", 11) + "\n",
			opts:    &ReadOptions{MaxFields: 10},
			wantErr: ErrTooManyFields,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Read through a one-byte reader too, to exercise refills.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				m, err := ReadMessage(r, tt.opts)
				if tt.wantErr != nil {
					var me *Error
					if !errors.Is(err, tt.wantErr) || !errors.As(err, &me) {
						t.Fatalf("err = %v, want *Error wrapping %v", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				var got []wantField
				for _, f := range m.Header.All() {
					got = append(got, wantField{f.Name(), f.Value()})
				}
				if len(got) != len(tt.want) {
					t.Fatalf("fields = %q, want %q", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("field %d = %q, want %q", i, got[i], tt.want[i])
					}
				}
				if p := m.Header.Preamble(); p != tt.preamble {
					t.Errorf("preamble = %q, want %q", p, tt.preamble)
				}
				body, err := io.ReadAll(m.Body)
				if err != nil {
					t.Fatal(err)
				}
				if string(body) != tt.body {
					t.Errorf("body = %q, want %q", body, tt.body)
				}
			}
		})
	}
}

// TestReadStreamsBody checks that the body is not read ahead beyond one
// chunk: a reader that fails after the header still yields the header.
func TestReadStreamsBody(t *testing.T) {
	t.Parallel()
	hdr := "Subject: x\r\n\r\n"
	body := strings.Repeat("b", 1<<20)
	r := io.MultiReader(strings.NewReader(hdr), strings.NewReader(body), iotest.ErrReader(errors.New("later")))
	m, err := ReadMessage(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("subject"); got != "x" {
		t.Errorf("Subject = %q", got)
	}
	var dst bytes.Buffer
	n, err := io.Copy(&dst, m.Body)
	if err == nil || err.Error() != "later" {
		t.Errorf("copy error = %v, want the reader's error", err)
	}
	if n != int64(len(body)) || dst.String() != body {
		t.Errorf("body length = %d, want %d", n, len(body))
	}
}

func TestReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := ReadMessage(io.MultiReader(strings.NewReader("A: 1\n"), iotest.ErrReader(boom)), nil)
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the reader's error", err)
	}
	_, _, err = ReadHeader(strings.NewReader("junk\nA: 1\n\n"), &ReadOptions{Mode: Strict})
	var me *Error
	if !errors.As(err, &me) || me.Line != 1 || !errors.Is(err, ErrMalformedHeader) {
		t.Fatalf("err = %#v", err)
	}
	if got := me.Error(); got != "message: read header: line 1: malformed header: line is not a header field" {
		t.Errorf("Error() = %q", got)
	}
}

func TestReadHeaderFromBufio(t *testing.T) {
	t.Parallel()
	br := bufio.NewReaderSize(strings.NewReader("Content-Type: text/plain\n\npart body"+strings.Repeat("x", 10000)), 16)
	h, body, err := ReadHeader(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("content-type") != "text/plain" {
		t.Errorf("Content-Type = %q", h.Get("content-type"))
	}
	b, _ := io.ReadAll(body)
	if string(b) != "part body"+strings.Repeat("x", 10000) {
		t.Errorf("body = %q", b)
	}
}

// TestHugeLimits checks that limits near the int range do not overflow.
func TestHugeLimits(t *testing.T) {
	t.Parallel()
	const huge = int(^uint(0) >> 1)
	m, err := ReadMessage(strings.NewReader("A: 1\n\nbody"), &ReadOptions{MaxHeaderBytes: huge, MaxFields: huge, MaxLineLength: huge})
	if err != nil || m.Header.Get("A") != "1" {
		t.Fatalf("huge limits: %v", err)
	}
}

// TestReadDoesNotWaitForBody checks that ReadMessage returns as soon as the
// header has arrived, without waiting for body bytes the peer has not sent.
func TestReadDoesNotWaitForBody(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("Subject: streamed\r\n\r\n"))
		// The body comes only after the header has been parsed.
	}()
	m, err := ReadMessage(pr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Subject") != "streamed" {
		t.Fatalf("Subject = %q", m.Header.Get("Subject"))
	}
	go func() {
		pw.Write([]byte("late body"))
		pw.Close()
	}()
	b, err := io.ReadAll(m.Body)
	if err != nil || string(b) != "late body" {
		t.Errorf("body = %q, %v", b, err)
	}
}
