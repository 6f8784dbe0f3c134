package message

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{
		"From: a@example.com\r\nSubject: hi\r\n\r\nbody",
		"From x Mon\nA: 1\n b\n\nbody",
		"\xef\xbb\xbfA: 1\n\n",
		"To: Mary\n__\n <m@x>\nSubject: s\n\n",
		"A: 1\njunk\n\nbody",
		" lead\nA: 1\n\n",
		"A: 1\r\r\n\r\n",
		"From  : x\n\n",
		"A:",
		"\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, opts := range []*ReadOptions{nil, {Mode: Strict}, {MaxHeaderBytes: 64, MaxFields: 3, MaxLineLength: 20}} {
			m, err := ReadMessage(bytes.NewReader(in), opts)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %v is not an *Error", err)
				}
				continue
			}
			body, err := io.ReadAll(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			var fields strings.Builder
			for _, fl := range m.Header.All() {
				fields.WriteString(fl.Raw())
				if strings.ContainsAny(fl.Value(), "\n") {
					t.Fatalf("unfolded value holds LF: %q", fl.Value())
				}
				if !validFieldName(fl.Name()) {
					t.Fatalf("invalid field name %q", fl.Name())
				}
			}
			if got := m.Header.Preamble() + fields.String() + m.Header.sep + string(body); got != string(in) {
				t.Fatalf("pieces do not add up to the input:\n got %q\nwant %q", got, in)
			}
			var out bytes.Buffer
			if _, err := m.Header.WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.String(), fields.String()) {
				t.Fatalf("WriteTo changed the raw fields")
			}
			// What was written reads back to the same fields.
			m2, err := ReadMessage(&out, nil)
			if err != nil {
				t.Fatalf("rereading written header: %v", err)
			}
			if m2.Header.Len() != m.Header.Len() {
				t.Fatalf("reread %d fields, want %d", m2.Header.Len(), m.Header.Len())
			}
		}
	})
}

func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{
		"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
		`"Giant; \"Big\" Box" <sysservices@example.net>`,
		"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
		"Undisclosed recipients:;",
		"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
		"<@route1,@route2:a@b>",
		`"a"."b"@[192.0.2.1]`,
		"=?utf-8?q?J=C3=B6rg?= <j@x>",
		"Jörg <jörg@bücher.example>",
		"a@b c@d, Big Bug bb@bug.com, x <y",
		"(((((a@b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		strict := AddressParser{Mode: Strict, MaxAddresses: 50}
		list, err := strict.ParseList(in)
		if err == nil && len(list) > 0 {
			out := FormatAddressList(list)
			again, err := strict.ParseList(out)
			if err != nil {
				t.Fatalf("formatted list %q does not parse: %v", out, err)
			}
			if !reflect.DeepEqual(again, list) {
				t.Fatalf("round trip of %q via %q:\n got %+v\nwant %+v", in, out, again, list)
			}
		}
		var lenient AddressParser
		lenient.MaxAddresses = 50
		if l, err := lenient.ParseList(in); err == nil {
			for _, a := range Mailboxes(l) {
				if !utf8.ValidString(a.Name) {
					t.Fatalf("lenient name is not UTF-8: %q", a.Name)
				}
			}
		}
		if a, err := ParseAddress(in); err == nil {
			b, err := ParseAddress(a.String())
			if err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("ParseAddress round trip of %q via %q: %+v, %v", in, a.String(), b, err)
			}
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"Fri, 21 Nov 1997 09:55:06 -0600",
		"Fri, 21 Nov 1997 09(comment):   55  :  06 -0600",
		"21 Nov 97 09:55 GMT",
		"Tue Jul  1 10:52:37 CEST 2003",
		"2003-07-01T10:52:37+02:00",
		"Tue, 1 Jul 2003 10:52:37.25 GMT+0200",
		"Tue, 029 Apr 2019 23:34:45 -0800 (PST)",
		"31 Apr 1997 09:55:06 Q",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDate(in)
		if err != nil {
			return
		}
		s := FormatDate(d)
		again, err := ParseDate(s)
		if err != nil {
			t.Fatalf("formatted date %q does not parse: %v", s, err)
		}
		if !again.Equal(d.Truncate(time.Second)) || FormatDate(again) != s {
			t.Fatalf("round trip of %q via %q = %v", in, s, again)
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{
		"=?utf-8?q?caf=C3=A9?= =?utf-8?b?w6k=?=",
		"=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=",
		"=?x-nope?q?=E9?= =?utf-8?q?x?=",
		"a =?utf-8?q?x",
		"Jörg",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var d WordDecoder
		d.DecodeHeader(in)
		if !utf8.ValidString(in) {
			return
		}
		enc := EncodeWord(in)
		back, err := d.DecodeHeader(enc)
		if err != nil || back != in {
			t.Fatalf("EncodeWord round trip of %q via %q = %q, %v", in, enc, back, err)
		}
	})
}

func FuzzParseMessageIDList(f *testing.F) {
	for _, s := range []string{
		"<a@b> <c@d>\r\n <e@f>",
		`Your message of "Mon" <a@b>`,
		"<1234   @   local(blah)  .machine .example>",
		"<a@b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ParseMessageIDList(in)
		id, err := ParseMessageID(in)
		if err != nil {
			return
		}
		again, err := ParseMessageID(FormatMessageID(id))
		if err != nil || again != id {
			t.Fatalf("round trip of %q: %q, %v", id, again, err)
		}
	})
}

// FuzzFormatField checks that any value added to a header is written in
// lines of at most 998 octets and reads back strictly as the same text,
// apart from the spaces a split of a very long word inserts.
func FuzzFormatField(f *testing.F) {
	f.Add("Subject", "hello world")
	f.Add("X", strings.Repeat("word ", 300))
	f.Add("X", strings.Repeat("x", 2000))
	f.Add("X", "a\r\nBcc: b")
	f.Add("X", strings.Repeat("\x80", 3000))
	f.Add("X", "a"+strings.Repeat(" ", 2000)+"b")
	f.Fuzz(func(t *testing.T, name, value string) {
		if !validFieldName(name) || len(name) > 200 {
			return
		}
		var h Header
		h.Add(name, value)
		var out bytes.Buffer
		if _, err := h.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\r\n\r\n"), "\r\n") {
			if len(line) > MaxRFCLineLength {
				t.Fatalf("line of %d octets", len(line))
			}
		}
		m, err := ReadMessage(&out, &ReadOptions{Mode: Lenient})
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		if m.Header.Len() != 1 {
			t.Fatalf("%d fields read back from %q", m.Header.Len(), h.Field(0).Raw())
		}
		want := strings.ReplaceAll(trimWSP(sanitizeValue(value)), " ", "")
		got := strings.ReplaceAll(m.Header.Field(0).Value(), " ", "")
		if got != want {
			t.Fatalf("value %q read back as %q", value, m.Header.Field(0).Value())
		}
		for _, line := range strings.Split(h.Field(0).Raw(), "\r\n") {
			if line != "" && strings.Trim(line, " \t") == "" {
				t.Fatalf("white-space-only line in %q", h.Field(0).Raw())
			}
		}
	})
}
