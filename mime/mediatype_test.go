package mime

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseMediaType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    MediaType
		wantErr bool
	}{
		{"plain", "text/plain", MediaType{Type: "text", Subtype: "plain"}, false},
		{"case and params", `Text/HTML; Charset="UTF-8"`, MediaType{"text", "html", Params{{Name: "charset", Value: "UTF-8"}}}, false},
		{"spaces and comments", ` text / plain (comment) ; charset = us-ascii (Plain text)`, MediaType{"text", "plain", Params{{Name: "charset", Value: "us-ascii"}}}, false},
		{"quoted escapes", `application/x; name="a \"b\" \\c"`, MediaType{"application", "x", Params{{Name: "name", Value: `a "b" \c`}}}, false},
		{"windows path kept", `application/x; name="C:\dir\file.txt"`, MediaType{"application", "x", Params{{Name: "name", Value: `C:\dir\file.txt`}}}, false},
		{"unquoted specials", `multipart/mixed; boundary=----=_Part_0_1.2`, MediaType{"multipart", "mixed", Params{{Name: "boundary", Value: "----=_Part_0_1.2"}}}, false},
		{"unquoted spaces", `application/pdf; name=My File.pdf`, MediaType{"application", "pdf", Params{{Name: "name", Value: "My File.pdf"}}}, false},
		{"missing semicolon", "text/plain charset=utf-8 format=flowed", MediaType{"text", "plain", Params{{Name: "charset", Value: "utf-8"}, {Name: "format", Value: "flowed"}}}, false},
		{"stray semicolons", "text/plain;;; charset=utf-8;", MediaType{"text", "plain", Params{{Name: "charset", Value: "utf-8"}}}, false},
		{"unterminated quote", `text/plain; name="abc`, MediaType{"text", "plain", Params{{Name: "name", Value: "abc"}}}, false},
		{"duplicate first wins", "text/plain; charset=utf-8; charset=latin1", MediaType{"text", "plain", Params{{Name: "charset", Value: "utf-8"}}}, false},
		{"junk parameter skipped", "text/plain; foo; charset=utf-8", MediaType{"text", "plain", Params{{Name: "charset", Value: "utf-8"}}}, false},
		{"rfc2231 extended", `application/x; name*=utf-8'en'%E2%82%AC%20rates.txt`, MediaType{"application", "x", Params{{Name: "name", Value: "€ rates.txt", Charset: "utf-8", Language: "en"}}}, false},
		{"rfc2231 continuations", `message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"`,
			MediaType{"message", "external-body", Params{{Name: "access-type", Value: "URL"}, {Name: "url", Value: "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}}}, false},
		{"rfc2231 mixed sections", `application/x; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
			MediaType{"application", "x", Params{{Name: "title", Value: "This is even more ***fun*** isn't it!", Charset: "us-ascii", Language: "en"}}}, false},
		{"rfc2231 out of order", `application/x; name*1="b.txt"; name*0="a"`, MediaType{"application", "x", Params{{Name: "name", Value: "ab.txt"}}}, false},
		{"rfc2231 gap stops", `application/x; name*0="a"; name*2="c"`, MediaType{"application", "x", Params{{Name: "name", Value: "a"}}}, false},
		{"rfc2231 wins over plain", `application/x; name="fallback.txt"; name*=utf-8''%C3%A9.txt`, MediaType{"application", "x", Params{{Name: "name", Value: "é.txt", Charset: "utf-8"}}}, false},
		{"rfc2231 latin1", `application/x; name*=iso-8859-1''%E9t%E9.txt`, MediaType{"application", "x", Params{{Name: "name", Value: "été.txt", Charset: "iso-8859-1"}}}, false},
		{"rfc2231 other charset kept raw", `application/x; name*=koi8-r''%F0%D2`, MediaType{"application", "x", Params{{Name: "name", Value: "\xf0\xd2", Charset: "koi8-r", Raw: true}}}, false},
		{"rfc2231 bad percent kept", `application/x; name*=utf-8''100%zz`, MediaType{"application", "x", Params{{Name: "name", Value: "100%zz", Charset: "utf-8"}}}, false},
		{"missing subtype", "text; charset=utf-8", MediaType{"text", "", Params{{Name: "charset", Value: "utf-8"}}}, true},
		{"no slash", `application-x-gzip; name="a.gz"`, MediaType{"application-x-gzip", "", Params{{Name: "name", Value: "a.gz"}}}, true},
		{"folded", "multipart/mixed;\r\n\tboundary=\"=_a\r\n b\"; name=My\r\n File.doc\r\n", MediaType{"multipart", "mixed", Params{{Name: "boundary", Value: "=_a b"}, {Name: "name", Value: "My File.doc"}}}, false},
		{"empty", "", MediaType{}, true},
		{"empty subtype", "text/; a=b", MediaType{"text", "", Params{{Name: "a", Value: "b"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMediaType(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrSyntax) {
				t.Errorf("err = %v, not ErrSyntax", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseDisposition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		typ      string
		filename string
		wantErr  bool
	}{
		{`attachment; filename="report.pdf"`, "attachment", "report.pdf", false},
		{`INLINE; FILENAME=a.png; size=12`, "inline", "a.png", false},
		{`attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`, "attachment", "日本.txt", false},
		{`; filename="x"`, "", "x", true},
	}
	for _, tt := range tests {
		d, err := ParseDisposition(tt.in)
		if (err != nil) != tt.wantErr || d.Type != tt.typ || d.Params.Get("filename") != tt.filename {
			t.Errorf("ParseDisposition(%q) = %q %q, %v", tt.in, d.Type, d.Params.Get("filename"), err)
		}
	}
}

func TestFormatMediaTypeRoundTrip(t *testing.T) {
	t.Parallel()
	long := "a very long file name that goes on and on, well past one header line, so that it has to be split.txt"
	tests := []MediaType{
		{Type: "text", Subtype: "plain", Params: Params{{Name: "charset", Value: "utf-8"}}},
		{Type: "multipart", Subtype: "mixed", Params: Params{{Name: "boundary", Value: "=_abc/def"}}},
		{Type: "application", Subtype: "pdf", Params: Params{{Name: "name", Value: `quote " and \ backslash`}}},
		{Type: "application", Subtype: "pdf", Params: Params{{Name: "name", Value: "Übersicht €.pdf"}}},
		{Type: "application", Subtype: "pdf", Params: Params{{Name: "name", Value: "日本語のとても長いファイル名を持つ添付ファイルのテストです、分割が必要です.pdf"}}},
		{Type: "application", Subtype: "pdf", Params: Params{{Name: "name", Value: long}}},
		{Type: "application", Subtype: "pdf", Params: Params{{Name: "name", Value: "percent%and*star'quote"}}},
		{Type: "attachment", Params: Params{{Name: "filename", Value: ""}}},
	}
	for _, mt := range tests {
		s := FormatMediaType(mt)
		var got MediaType
		var err error
		if mt.Subtype == "" {
			got, err = ParseDisposition(s)
		} else {
			got, err = ParseMediaType(s)
		}
		if err != nil {
			t.Errorf("parse %q: %v", s, err)
			continue
		}
		if got.Essence() != mt.Essence() || len(got.Params) != len(mt.Params) {
			t.Errorf("%q: got %#v", s, got)
			continue
		}
		for i, p := range mt.Params {
			if got.Params[i].Name != p.Name || got.Params[i].Value != p.Value {
				t.Errorf("%q: param %d = %q=%q, want %q=%q", s, i, got.Params[i].Name, got.Params[i].Value, p.Name, p.Value)
			}
		}
		for _, line := range splitLines(s) {
			if len(line) > 998 {
				t.Errorf("%q: line longer than 998", s)
			}
		}
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
