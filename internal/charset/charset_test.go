package charset

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		charset string
		in      string
		want    string
		wantErr error
	}{
		{"utf-8", "UTF-8", "h\xc3\xa9", "hé", nil},
		{"utf8 alias", "utf8", "h\xc3\xa9", "hé", nil},
		{"quoted and spaced", ` "utf-8" `, "x", "x", nil},
		{"latin1", "ISO-8859-1", "h\xe9", "hé", nil},
		{"latin1 alias", "latin1", "\xe9", "é", nil},
		{"underscore", "iso8859_15", "\xa4", "€", nil},
		{"windows-1252", "windows-1252", "\x80", "€", nil},
		{"us-ascii with 8 bit", "us-ascii", "\xe9", "é", nil},
		{"koi8-r", "KOI8-R", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет", nil},
		{"iso-8859-2", "iso-8859-2", "\xb1", "ą", nil},
		{"shift_jis", "Shift_JIS", "\x82\xa0", "あ", nil},
		{"cp932", "cp932", "\x82\xa0", "あ", nil},
		{"iso-2022-jp", "ISO-2022-JP", "\x1b$B$\"\x1b(B", "あ", nil},
		{"euc-kr", "ks_c_5601-1987", "\xb0\xa1", "가", nil},
		{"gb2312", "gb2312", "\xc4\xe3", "你", nil},
		{"big5", "big5", "\xa4\xa4", "中", nil},
		{"ibm850", "IBM850", "\x82", "é", nil},
		{"unknown", "x-no-such-charset", "x", "", ErrUnknown},
		{"empty", "", "x", "", ErrUnknown},
		{"too long", strings.Repeat("a", 100), "x", "", ErrUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.charset, []byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode(%q) error = %v, want %v", tt.charset, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Decode(%q, %q) = %q, want %q", tt.charset, tt.in, got, tt.want)
			}
		})
	}
}

func TestNewReader(t *testing.T) {
	t.Parallel()
	r, err := NewReader("iso-8859-15", strings.NewReader("caf\xe9 \xa4"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "café €" {
		t.Errorf("got %q", b)
	}
	if _, err := NewReader("nope", strings.NewReader("")); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown charset: err = %v", err)
	}
}

func TestIsUTF8(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"UTF-8": true, "us-ascii": true, "utf8": true, "latin1": false, "": false} {
		if got := IsUTF8(name); got != want {
			t.Errorf("IsUTF8(%q) = %v, want %v", name, got, want)
		}
	}
}
