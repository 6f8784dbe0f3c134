package message

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		wantErr        error
	}{
		{"plain", "hello world", "hello world", nil},
		{"q", "=?utf-8?q?caf=C3=A9?=", "café", nil},
		{"b", "=?UTF-8?B?Y2Fmw6k=?=", "café", nil},
		{"b without padding", "=?UTF-8?B?Y2Fmw6k?=", "café", nil},
		{"underscore is space", "=?utf-8?q?a_b?=", "a b", nil},
		{"adjacent words join", "=?utf-8?q?a?= =?utf-8?q?b?=", "ab", nil},
		{"folded words join", "=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab", nil},
		{"text between kept", "=?utf-8?q?a?= and =?utf-8?q?b?=", "a and b", nil},
		{"split utf-8 sequence", "=?utf-8?b?w6k=?= =?utf-8?b?w6k=?= =?utf-8?q?=C3?= =?utf-8?q?=A9?=", "ééé", nil},
		{"rfc 2047 section 8", "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)", nil},
		{"latin-1", "=?iso-8859-1?q?Andr=E9?=", "André", nil},
		{"iso-8859-15", "=?iso-8859-15?q?=A4?=", "€", nil},
		{"koi8-r", "=?koi8-r?b?8NLJ18XU?=", "Привет", nil},
		{"iso-2022-jp", "=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは", nil},
		{"shift_jis", "=?shift_jis?b?grGC8YLJgr+CzQ==?=", "こんにちは", nil},
		{"gb2312", "=?gb2312?b?xOO6ww==?=", "你好", nil},
		{"big5", "=?big5?b?pKSk5Q==?=", "中文", nil},
		{"euc-kr", "=?euc-kr?b?sKGzqrTZtvM=?=", "가나다라", nil},
		{"windows-1251", "=?windows-1251?q?=CF=F0=E8=E2=E5=F2?=", "Привет", nil},
		{"utf-7 q", "=?utf-7?Q?Heinz_M+APw-ller?=", "Heinz Müller", nil},
		{"utf-7 b", "=?UTF-7?B?SGVpbnogTStBUHctbGxlcg==?=", "Heinz Müller", nil},
		{"utf-7 adjacent words", "=?utf-7?q?+ZeU-?= =?utf-7?q?+Zyw-?=", "日本", nil},
		{"language suffix", "=?utf-8*en?q?hi?=", "hi", nil},
		{"glued to text", "foo=?utf-8?q?x?=bar", "fooxbar", nil},
		{"unknown charset kept", "=?x-nope?q?ab=E9?= tail", "=?x-nope?q?ab=E9?= tail", ErrUnknownCharset},
		{"unknown charset, ascii bytes", "=?NONE?B?VEVTVA=?=", "TEST", nil},
		{"unknown then known charset", "=?x-nope?q?=E9?= =?utf-8?q?x?=", "=?x-nope?q?=E9?= x", ErrUnknownCharset},
		{"malformed kept", "=?utf-8?x?abc?=", "=?utf-8?x?abc?=", nil},
		{"not closed", "=?utf-8?q?abc", "=?utf-8?q?abc", nil},
		{"bad base64 kept", "=?utf-8?b?!!!?=", "=?utf-8?b?!!!?=", nil},
		{"bad q escape kept", "=?utf-8?q?a=ZZ?=", "a=ZZ", nil},
		{"lone marker", "a =? b", "a =? b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d WordDecoder
			got, err := d.DecodeHeader(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeHeader(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DecodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWordDecoderDecode(t *testing.T) {
	t.Parallel()
	var d WordDecoder
	if s, err := d.Decode("=?utf-8?q?x?="); err != nil || s != "x" {
		t.Errorf("Decode = %q, %v", s, err)
	}
	if _, err := d.Decode("x"); !errors.Is(err, ErrSyntax) {
		t.Errorf("Decode(not a word) err = %v", err)
	}
	custom := WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
		if cs != "x-upper" {
			return nil, errors.New("unsupported")
		}
		b, _ := io.ReadAll(r)
		return strings.NewReader(strings.ToUpper(string(b))), nil
	}}
	if s, err := custom.Decode("=?X-Upper?q?abc?="); err != nil || s != "ABC" {
		t.Errorf("custom Decode = %q, %v", s, err)
	}
	if _, err := custom.Decode("=?latin1?q?abc?="); !errors.Is(err, ErrUnknownCharset) {
		t.Errorf("custom Decode of unsupported charset: %v", err)
	}
	if s, err := custom.Decode("=?utf-8?q?abc?="); err != nil || s != "abc" {
		t.Errorf("custom Decode of utf-8 = %q, %v", s, err)
	}
}

func TestEncodeWord(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"café", "=?utf-8?q?caf=C3=A9?="},
		{"日本語", "=?utf-8?b?5pel5pys6Kqe?="},
		{"=?looks encoded?=", "=?utf-8?q?=3D=3Flooks_encoded=3F=3D?="},
		{"tab\tok", "tab\tok"},
		{"line\nbreak", "=?utf-8?q?line=0Abreak?="},
	}
	var d WordDecoder
	for _, tt := range tests {
		got := EncodeWord(tt.in)
		if got != tt.want {
			t.Errorf("EncodeWord(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := d.DecodeHeader(got)
		if err != nil || back != tt.in {
			t.Errorf("decode of %q = %q, %v", got, back, err)
		}
	}
}

// TestEncodeWordLong checks the 75-character limit and that characters are
// never split between words.
func TestEncodeWordLong(t *testing.T) {
	t.Parallel()
	var d WordDecoder
	for _, in := range []string{strings.Repeat("é", 100), strings.Repeat("a€", 60) + " x", strings.Repeat("日本", 70), "\xff\xfe invalid utf-8"} {
		got := EncodeWord(in)
		for _, w := range strings.Fields(got) {
			if len(w) > 75 {
				t.Errorf("word of %d characters: %q", len(w), w)
			}
			cs, raw, ok := parseEncodedWord(w)
			if !ok || cs != "utf-8" {
				t.Fatalf("bad word %q", w)
			}
			if utf8.ValidString(in) && !utf8.Valid(raw) {
				t.Errorf("word %q splits a character", w)
			}
		}
		back, err := d.DecodeHeader(got)
		if utf8.ValidString(in) && (err != nil || back != in) {
			t.Errorf("round trip of %q = %q, %v", in, back, err)
		}
	}
}
