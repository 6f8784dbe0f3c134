package spf

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // canonical form
	}{
		{"empty", "v=spf1", "v=spf1"},
		{"upper version", "V=SPF1 -ALL", "v=spf1 -all"},
		{"spaces", "v=spf1   a   -all   ", "v=spf1 a -all"},
		{"qualifiers", "v=spf1 +a -mx ~ptr ?all", "v=spf1 a -mx ~ptr ?all"},
		{"a cidr", "v=spf1 a/24 a//64 a/24//64 a:example.com/28", "v=spf1 a/24 a//64 a/24//64 a:example.com/28"},
		{"mx cidr zero", "v=spf1 mx/0//0", "v=spf1 mx/0//0"},
		{"ip4", "v=spf1 ip4:192.0.2.1 ip4:192.0.2.7/24", "v=spf1 ip4:192.0.2.1 ip4:192.0.2.0/24"},
		{"ip6", "v=spf1 ip6:2001:DB8::1 ip6:2001:db8::/32", "v=spf1 ip6:2001:db8::1 ip6:2001:db8::/32"},
		{"ip6 mapped", "v=spf1 ip6:::ffff:1.2.3.4", "v=spf1 ip6:::ffff:1.2.3.4"},
		{"include exists", "v=spf1 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d}", "v=spf1 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d}"},
		{"modifiers", "v=spf1 -all exp=explain._spf.%{d} redirect=_spf.example.com", "v=spf1 -all redirect=_spf.example.com exp=explain._spf.%{d}"},
		{"unknown modifier", "v=spf1 foo.bar-_baz=%{l}x ?all", "v=spf1 ?all foo.bar-_baz=%{l}x"},
		{"ending in macro", "v=spf1 a:%{d}", "v=spf1 a:%{d}"},
		{"ending in escape", "v=spf1 a:foo%%", "v=spf1 a:foo%%"},
		{"trailing dot", "v=spf1 a:example.com.", "v=spf1 a:example.com."},
		{"hyphen toplabel", "v=spf1 a:x.1-2", "v=spf1 a:x.1-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord(tt.in)
			if err != nil {
				t.Fatalf("ParseRecord(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			r2, err := ParseRecord(r.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", r.String(), err)
			}
			if !reflect.DeepEqual(r, r2) {
				t.Errorf("round trip differs:\n%#v\n%#v", r, r2)
			}
		})
	}
}

func TestParseRecordFields(t *testing.T) {
	r, err := ParseRecord("v=spf1 ~mx:mail.example.com/24//48 ip4:192.0.2.0/24 -all exp=x.example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []Directive{
		{Qualifier: QualifierSoftFail, Kind: KindMX, DomainSpec: "mail.example.com", IP4Bits: 24, IP6Bits: 48},
		{Qualifier: QualifierPass, Kind: KindIP4, Network: netip.MustParsePrefix("192.0.2.0/24"), IP4Bits: 32, IP6Bits: 128},
		{Qualifier: QualifierFail, Kind: KindAll, IP4Bits: 32, IP6Bits: 128},
	}
	if len(r.Directives) != len(want) {
		t.Fatalf("%d directives, want %d", len(r.Directives), len(want))
	}
	for i, w := range want {
		d := r.Directives[i]
		if d.Qualifier != w.Qualifier || d.Kind != w.Kind || d.DomainSpec != w.DomainSpec ||
			d.Network != w.Network || d.IP4Bits != w.IP4Bits || d.IP6Bits != w.IP6Bits {
			t.Errorf("directive %d = %+v, want %+v", i, d, w)
		}
	}
	if r.Explanation != "x.example.com" || r.Redirect != "" {
		t.Errorf("exp %q redirect %q", r.Explanation, r.Redirect)
	}
}

func TestParseRecordErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not spf", "v=spf10 -all"},
		{"no version", "-all"},
		{"unknown mechanism", "v=spf1 foo -all"},
		{"mechanism with colon", "v=spf1 foo:bar"},
		{"all with arg", "v=spf1 all:x"},
		{"include without domain", "v=spf1 include"},
		{"include empty", "v=spf1 include:"},
		{"exists empty", "v=spf1 exists:"},
		{"ptr empty", "v=spf1 ptr:"},
		{"a empty", "v=spf1 a:"},
		{"bad toplabel", "v=spf1 a:example.123"},
		{"single label", "v=spf1 a:museum"},
		{"single label dot", "v=spf1 a:museum."},
		{"ip address as domain", "v=spf1 a:192.0.2.1"},
		{"cidr too long", "v=spf1 a/33"},
		{"cidr6 too long", "v=spf1 a//129"},
		{"cidr leading zero", "v=spf1 a/032"},
		{"cidr empty", "v=spf1 a/"},
		{"cidr garbage", "v=spf1 a/2x"},
		{"ip4 bad", "v=spf1 ip4:1.2.3"},
		{"ip4 leading zero", "v=spf1 ip4:1.2.3.04"},
		{"ip4 v6 address", "v=spf1 ip4:::1"},
		{"ip6 v4 address", "v=spf1 ip6:1.2.3.4"},
		{"ip4 cidr", "v=spf1 ip4:1.2.3.4/33"},
		{"ip6 cidr", "v=spf1 ip6:::1/129"},
		{"ip6 zone", "v=spf1 ip6:fe80::1%eth0"},
		{"ip4 no network", "v=spf1 ip4"},
		{"two redirects", "v=spf1 redirect=a.example.com redirect=b.example.com"},
		{"two exps", "v=spf1 exp=a.example.com exp=b.example.com"},
		{"empty redirect", "v=spf1 redirect="},
		{"empty exp", "v=spf1 exp="},
		{"bad macro letter", "v=spf1 a:%{x}.example.com"},
		{"exp-only macro letter", "v=spf1 a:%{c}.example.com"},
		{"zero digit", "v=spf1 a:%{d0}.example.com"},
		{"bad delimiter", "v=spf1 a:%{d;}.example.com"},
		{"unterminated macro", "v=spf1 a:%{d.example.com"},
		{"lone percent", "v=spf1 a:100%.example.com"},
		{"percent at end", "v=spf1 a:example.com%"},
		{"bad unknown modifier", "v=spf1 foo=%{q}"},
		{"control char", "v=spf1 -all\x00"},
		{"tab separator", "v=spf1\t-all"},
		{"non-ascii", "v=spf1 a:\xef\xbb\xbfexample.com -all"},
		{"qualifier only", "v=spf1 -"},
		{"double qualifier", "v=spf1 --all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord(tt.in)
			if err == nil {
				t.Fatalf("ParseRecord(%q) = %s, want error", tt.in, r)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not match ErrSyntax", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not *Error", err)
			}
		})
	}
}

func TestIsRecord(t *testing.T) {
	for in, want := range map[string]bool{
		"v=spf1":          true,
		"v=spf1 -all":     true,
		"V=Spf1 a":        true,
		"v=spf1\t-all":    false,
		"v=spf10":         false,
		"v=spf2.0/pra":    false,
		" v=spf1":         false,
		"google-site-ver": false,
		"":                false,
	} {
		if got := IsRecord(in); got != want {
			t.Errorf("IsRecord(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestStatusString(t *testing.T) {
	for s := None; s <= PermError; s++ {
		got, ok := ParseStatus(s.String())
		if !ok || got != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if Status(200).String() != "invalid" {
		t.Errorf("Status(200).String() = %q", Status(200).String())
	}
	if _, ok := ParseStatus("unknown"); ok {
		t.Error("ParseStatus(unknown) ok")
	}
	if Pass.String() != "pass" || SoftFail.String() != "softfail" || TempError.String() != "temperror" {
		t.Error("status names")
	}
}

func TestErrorText(t *testing.T) {
	_, err := ParseRecord("v=spf1 a:\"x\x01.example.com")
	if err == nil {
		t.Fatal("no error")
	}
	want := `spf: syntax error in term "a:\x22x\x01.example.com": octet outside printable ASCII`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
