package imaputf7

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, utf8, utf7 string
	}{
		{"empty", "", ""},
		{"ascii", "INBOX.Sent Items", "INBOX.Sent Items"},
		{"ampersand", "Tom & Jerry", "Tom &- Jerry"},
		{"rfc3501 example", "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"latin", "Entwürfe", "Entw&APw-rfe"},
		{"accents", "Répertoire", "R&AOk-pertoire"},
		{"only encoded", "日本語", "&ZeVnLIqe-"},
		{"astral", "😀", "&2D3eAA-"},
		{"control char", "a\tb", "a&AAk-b"},
		{"del", "a\x7fb", "a&AH8-b"},
		{"amp next to encoded", "é&", "&AOk-&-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.utf8)
			if err != nil || got != tt.utf7 {
				t.Errorf("Encode(%q) = %q, %v; want %q", tt.utf8, got, err, tt.utf7)
			}
			back, err := Decode(tt.utf7)
			if err != nil || back != tt.utf8 {
				t.Errorf("Decode(%q) = %q, %v; want %q", tt.utf7, back, err, tt.utf8)
			}
		})
	}
}

func TestEncodeInvalid(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"\xff", "a\x00b", "ab\xc3", "\xed\xa0\x80"} {
		if got, err := Encode(in); !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("Encode(%q) = %q, %v; want ErrInvalidUTF8", in, got, err)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"bare amp", "a&b"},
		{"unterminated", "&AOk"},
		{"eight bit", "caf\xc3\xa9"},
		{"control", "a\tb"},
		{"bad alphabet", "&AO/-"},
		{"encoded ascii", "&AGE-"},
		{"encoded nul", "&AAA-"},
		{"nonzero padding", "&AOl-"},
		{"partial unit", "&AOkA-"},
		{"leftover 6 bits", "&AOkAA-"},
		{"lone high surrogate", "&2D0-"},
		{"lone low surrogate", "&3gA-"},
		{"high then bmp", "&2D0A6Q-"},
		{"adjacent runs", "&AOk-&AOk-"},
		{"padding char", "&AOk=-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Decode(tt.in); !errors.Is(err, ErrSyntax) {
				t.Errorf("Decode(%q) = %q, %v; want ErrSyntax", tt.in, got, err)
			}
		})
	}
}

// FuzzDecode checks that Decode never panics, that what it accepts is valid
// UTF-8 and encodes back to the same bytes (one encoding per name), and
// that Encode's output always decodes to its input.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "INBOX", "&-", "&U,BTFw-/&ZeVnLIqe-", "&2D3eAA-", "&AOk-&-", "&AGE-", "&2D0-", "a&b", "\xff", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := Decode(s); err == nil {
			if !utf8.ValidString(d) {
				t.Fatalf("Decode(%q) = %q, not UTF-8", s, d)
			}
			e, err := Encode(d)
			if err != nil || e != s {
				t.Fatalf("Encode(Decode(%q)) = %q, %v", s, e, err)
			}
		}
		if e, err := Encode(s); err == nil {
			d, err := Decode(e)
			if err != nil || d != s {
				t.Fatalf("Decode(Encode(%q)) = %q, %v (encoded %q)", s, d, err, e)
			}
		} else if utf8.ValidString(s) && !containsNUL(s) {
			t.Fatalf("Encode(%q) failed on valid input: %v", s, err)
		}
	})
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
