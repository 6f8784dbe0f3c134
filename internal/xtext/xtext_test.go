package xtext

import (
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "empty", in: "", want: ""},
		{name: "plain", in: "rfc822;joe@example.org", want: "rfc822;joe@example.org"},
		{name: "plus", in: "a+2Bb", want: "a+b"},
		{name: "equals", in: "a+3Db", want: "a=b"},
		{name: "space", in: "+20", want: " "},
		{name: "lower hex", in: "+2b", want: "+"},
		{name: "utf8 bytes", in: "+C3+A9", want: "é"},
		{name: "rfc3461 example", in: "QQ3+2Bbs+3D", want: "QQ3+bs="},
		{name: "raw equals", in: "a=b", wantErr: true},
		{name: "raw space", in: "a b", wantErr: true},
		{name: "truncated", in: "ab+2", wantErr: true},
		{name: "lone plus", in: "+", wantErr: true},
		{name: "bad hex", in: "+G0", wantErr: true},
		{name: "control", in: "a\x01", wantErr: true},
		{name: "del", in: "\x7f", wantErr: true},
		{name: "eight bit", in: "\xc3\xa9", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("Decode(%q) = %q, %v; want ErrSyntax", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Decode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"joe@example.org", "joe@example.org"},
		{"a+b=c", "a+2Bb+3Dc"},
		{"a b", "a+20b"},
		{"é", "+C3+A9"},
		{"\x00\x7f", "+00+7F"},
	}
	for _, tt := range tests {
		if got := Encode(tt.in); got != tt.want {
			t.Errorf("Encode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "abc", "+2B", "+", "+zz", "a=b", "+C3+A9x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Decode(s)
		if err != nil {
			if Valid(s) {
				t.Fatalf("Valid(%q) but Decode failed", s)
			}
			// Any string round-trips through Encode.
			if back, err := Decode(Encode(s)); err != nil || back != s {
				t.Fatalf("Decode(Encode(%q)) = %q, %v", s, back, err)
			}
			return
		}
		if back, err := Decode(Encode(d)); err != nil || back != d {
			t.Fatalf("round trip of %q: %q, %v", d, back, err)
		}
		if len(d) > len(s) {
			t.Fatalf("decoded %q longer than input %q", d, s)
		}
	})
}
