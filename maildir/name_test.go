package maildir

import (
	"errors"
	"testing"
)

func TestParseName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     Name
		flags    Flags
		wantErr  bool
	}{
		{"plain", "1700000000.M1P2Q3.host", Name{Base: "1700000000.M1P2Q3.host", Size: -1, VSize: -1}, "", false},
		{"sizes and flags", "1.M1P2.h,S=120,W=124:2,SF", Name{Base: "1.M1P2.h,S=120,W=124", Info: "2,SF", Size: 120, VSize: 124}, "FS", false},
		{"keywords kept", "x:2,Sba", Name{Base: "x", Info: "2,Sba", Size: -1, VSize: -1}, "Sab", false},
		{"unknown letters", "x:2,ZS", Name{Base: "x", Info: "2,ZS", Size: -1, VSize: -1}, "SZ", false},
		{"empty info", "x:", Name{Base: "x", Size: -1, VSize: -1, colon: true}, "", false},
		{"experimental info", "x:1,foo", Name{Base: "x", Info: "1,foo", Size: -1, VSize: -1}, "", false},
		{"bad size ignored", "x,S=abc,S=-1:2,", Name{Base: "x,S=abc,S=-1", Info: "2,", Size: -1, VSize: -1}, "", false},
		{"empty", "", Name{}, "", true},
		{"dot file", ".hidden", Name{}, "", true},
		{"slash", "a/b", Name{}, "", true},
		{"empty base", ":2,S", Name{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseName(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidName) {
					t.Fatalf("ParseName(%q) = %+v, %v; want ErrInvalidName", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseName(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if f := got.Flags(); f != tt.flags {
				t.Errorf("Flags() = %q, want %q", f, tt.flags)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	if got := MakeFlags("TSSaFb/:"); got != "FSTab" {
		t.Errorf("MakeFlags = %q", got)
	}
	f := MakeFlags("FS")
	if got := f.Union("RS"); got != "FRS" {
		t.Errorf("Union = %q", got)
	}
	if got := f.Minus("S"); got != "F" {
		t.Errorf("Minus = %q", got)
	}
	if !f.Has(FlagSeen) || f.Has(FlagDraft) || !f.Has("SF") || f.Has("SD") || FlagSeen.Union(FlagFlagged) != "FS" {
		t.Errorf("Has wrong for %q", f)
	}
	sys, kw := MakeFlags("SZab").split()
	if sys != "SZ" || kw != "ab" {
		t.Errorf("split = %q %q", sys, kw)
	}
}

func TestArrivalOrder(t *testing.T) {
	t.Parallel()
	bases := []string{"20.M5P1Q1.h", "10.M900000P1Q2.h", "10.M20P1Q3.h", "zzz", "10.M20P1Q1.h"}
	sortByArrival(bases)
	want := []string{"zzz", "10.M20P1Q1.h", "10.M20P1Q3.h", "10.M900000P1Q2.h", "20.M5P1Q1.h"}
	for i := range want {
		if bases[i] != want[i] {
			t.Fatalf("sorted = %q, want %q", bases, want)
		}
	}
}

func TestSafeHost(t *testing.T) {
	t.Parallel()
	if got := safeHost("a/b:c,d"); got != `a\057b\072c\054d` {
		t.Errorf("safeHost = %q", got)
	}
}

// FuzzParseName checks that file-name parsing never panics and that a
// parsed name formats back to itself.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"1.M1P2Q3.h,S=12,W=13:2,FS", "x:2,", "x:1,abc", ",S=", "a,S=99999999999999999999", ":", "x:2,\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		if n.String() != s {
			t.Fatalf("String() = %q, want %q", n.String(), s)
		}
		fl := n.Flags()
		if MakeFlags(string(fl)) != fl {
			t.Fatalf("Flags() %q not canonical", fl)
		}
		if n.Size < -1 || n.VSize < -1 {
			t.Fatalf("negative size %d %d", n.Size, n.VSize)
		}
	})
}
