package greylist_test

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldmail/herald/greylist"
)

func TestNormalizeSender(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"null sender", "", ""},
		{"plain", "alice@example.org", "alice@example.org"},
		{"case", "Alice@Example.ORG", "alice@example.org"},
		{"trailing dot", "alice@example.org.", "alice@example.org"},
		{"extension", "alice+news@example.org", "alice@example.org"},
		{"extension with numbers", "alice+4711-22@example.org", "alice@example.org"},
		{"VERP numbers", "bounce-4711-22@lists.example.org", "bounce-#-#@lists.example.org"},
		{"number alone", "12345@example.org", "#@example.org"},
		{"dotted numbers", "a.1.2.b@example.org", "a.#.#.b@example.org"},
		{"number in word kept", "user2@example.org", "user2@example.org"},
		{"number before word kept", "2user@example.org", "2user@example.org"},
		{"underscore is a word char", "list_123@example.org", "list_123@example.org"},
		{"number next to UTF-8 kept", "é42@example.org", "é42@example.org"},
		{"domain numbers kept", "a-1@mx1.123.example.org", "a-#@mx1.123.example.org"},
		{"BATV prvs", "prvs=1234abcdef=alice@example.org", "alice@example.org"},
		{"BATV prvs upper", "PRVS=1234ABCDEF=Alice@Example.org", "alice@example.org"},
		{"BATV msprvs1", "msprvs1=19123abcde=bounces-123@example.org", "bounces-#@example.org"},
		{"BATV Barracuda", "btv1==0a1b2c3d4e5==alice@example.org", "alice@example.org"},
		{"prvs without user kept", "prvs=1234abcdef@example.org", "prvs=1234abcdef@example.org"},
		{"prvs empty user kept", "prvs=1234abcdef=@example.org", "prvs=1234abcdef=@example.org"},
		{"SRS0", "SRS0=HHH1=TT=orig.example=alice@forwarder.example", "srs0=#=#=orig.example=alice@forwarder.example"},
		{"SRS0 short kept", "SRS0=abc@forwarder.example", "srs0=abc@forwarder.example"},
		{"quoted local part with at", `"a@b"@example.org`, `"a@b"@example.org`},
		{"no at", "Postmaster", "postmaster"},
		{"only numbers and plus", "123+456@example.org", "#@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := greylist.NormalizeSender(tt.in); got != tt.want {
				t.Errorf("NormalizeSender(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeRecipient(t *testing.T) {
	for in, want := range map[string]string{
		"Bob@Example.NET":       "bob@example.net",
		"bob+box@example.net.":  "bob+box@example.net",
		"POSTMASTER":            "postmaster",
		"user+4711@example.net": "user+4711@example.net",
	} {
		if got := greylist.NormalizeRecipient(in); got != want {
			t.Errorf("NormalizeRecipient(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClientNetwork(t *testing.T) {
	tests := []struct {
		addr         string
		bits4, bits6 int
		want         string
	}{
		{"192.0.2.77", 24, 64, "192.0.2.0/24"},
		{"::ffff:192.0.2.77", 24, 64, "192.0.2.0/24"},
		{"2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64"},
		{"fe80::1%eth0", 24, 64, "fe80::/64"},
		{"192.0.2.77", 32, 128, "192.0.2.77/32"},
		{"2001:db8::1", 32, 128, "2001:db8::1/128"},
		{"192.0.2.77", 40, 200, "192.0.2.77/32"},
		{"192.0.2.77", -1, 64, "0.0.0.0/0"},
		{"198.51.100.200", 16, 48, "198.51.0.0/16"},
	}
	for _, tt := range tests {
		got := greylist.ClientNetwork(netip.MustParseAddr(tt.addr), tt.bits4, tt.bits6)
		if got.String() != tt.want {
			t.Errorf("ClientNetwork(%s, %d, %d) = %v, want %s", tt.addr, tt.bits4, tt.bits6, got, tt.want)
		}
	}
}

func FuzzNormalizeSender(f *testing.F) {
	for _, s := range []string{"", "a@b", "prvs=1234abcdef=alice@example.org", "btv1==x==y@z", "SRS0=a=b=c=d@e",
		"bounce-1-2-3@x", "1@2", "@", "a+@", "+", "é1@x", "msprvs1==@", "srs0===@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := greylist.NormalizeSender(s)
		if greylist.NormalizeSender(got) != got {
			t.Errorf("not idempotent: %q -> %q -> %q", s, got, greylist.NormalizeSender(got))
		}
		if len(got) > len(s)+len("srs0=#=#=")+utf8.UTFMax*len(s) {
			t.Errorf("grew from %d to %d bytes", len(s), len(got))
		}
		if strings.ContainsRune(s, '@') != strings.ContainsRune(got, '@') {
			t.Errorf("%q -> %q changed whether there is an @", s, got)
		}
	})
}
