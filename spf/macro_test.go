package spf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// rfcEnv is the environment of the examples in RFC 7208 section 7.4.
func rfcEnv(ip string) *macroEnv {
	return &macroEnv{
		sender:       "strong-bad@email.example.com",
		local:        "strong-bad",
		senderDomain: "email.example.com",
		domain:       "email.example.com",
		ip:           netip.MustParseAddr(ip),
		helo:         "mx.example.org",
		receiver:     "rx.example.net",
		now:          time.Unix(1234567890, 0),
		validated:    func() string { return "mx.example.com" },
	}
}

func expandString(t *testing.T, s string, mode macroMode, env *macroEnv) string {
	t.Helper()
	m, err := parseMacroString(s, mode)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	out, err := m.expand(env)
	if err != nil {
		t.Fatalf("expand %q: %v", s, err)
	}
	return out
}

func TestMacroRFCExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{"%{s}", "strong-bad@email.example.com"},
		{"%{o}", "email.example.com"},
		{"%{d}", "email.example.com"},
		{"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},
		{"%{d2}", "example.com"},
		{"%{d1}", "com"},
		{"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},
		{"%{l}", "strong-bad"},
		{"%{l-}", "strong.bad"},
		{"%{lr}", "strong-bad"},
		{"%{lr-}", "bad.strong"},
		{"%{l1r-}", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
	}
	env := rfcEnv("192.0.2.3")
	for _, tt := range tests {
		if got := expandString(t, tt.in, modeDomain, env); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The IPv6 example; nibbles come out upper case (see dottedIP), and
	// DNS compares names without regard to case.
	env6 := rfcEnv("2001:db8::cb01")
	got := expandString(t, "%{ir}.%{v}._spf.%{d2}", modeDomain, env6)
	want := "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
	if !strings.EqualFold(got, want) {
		t.Errorf("IPv6 example = %q, want %q", got, want)
	}
}

func TestMacroLetters(t *testing.T) {
	env := rfcEnv("192.0.2.3")
	env.local = "a b/c"
	tests := []struct {
		in   string
		mode macroMode
		want string
	}{
		{"%{h}", modeDomain, "mx.example.org"},
		{"%{p}", modeDomain, "mx.example.com"},
		{"%{v}", modeDomain, "in-addr"},
		{"%{i}", modeDomain, "192.0.2.3"},
		{"%{c}", modeExplain, "192.0.2.3"},
		{"%{r}", modeExplain, "rx.example.net"},
		{"%{t}", modeExplain, "1234567890"},
		{"%{L}", modeDomain, "a%20b%2Fc"},
		{"%{S}", modeDomain, "strong-bad%40email.example.com"},
		{"%{D2R}", modeDomain, "example.email"},
		{"%%%_%-", modeDomain, "% %20"},
		{"a %{d1} b", modeExplain, "a com b"},
		{"%{d999999999999999999999}", modeDomain, "email.example.com"},
		{"%{l/}", modeDomain, "a b.c"},
		{"%{d.-+,/_=}", modeDomain, "email.example.com"},
	}
	for _, tt := range tests {
		if got := expandString(t, tt.in, tt.mode, env); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.in, got, tt.want)
		}
	}

	env6 := rfcEnv("2001:db8::cb01")
	env6.receiver = ""
	env6.validated = nil
	for in, want := range map[string]string{
		"%{c}": "2001:db8::cb01",
		"%{v}": "ip6",
		"%{r}": "unknown",
		"%{p}": "unknown",
		"%{i}": "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1",
	} {
		if got := expandString(t, in, modeExplain, env6); got != want {
			t.Errorf("IPv6 %s = %q, want %q", in, got, want)
		}
	}
}

func TestMacroEmptyParts(t *testing.T) {
	env := rfcEnv("192.0.2.3")
	env.local = "a--b-"
	if got := expandString(t, "%{l-}", modeDomain, env); got != "a..b." {
		t.Errorf("%%{l-} = %q", got)
	}
	if got := expandString(t, "%{l2-}", modeDomain, env); got != "b." {
		t.Errorf("%%{l2-} = %q", got)
	}
}

func TestMacroErrors(t *testing.T) {
	tests := []struct {
		in   string
		mode macroMode
	}{
		{"%", modeDomain},
		{"%{", modeDomain},
		{"%{}", modeDomain},
		{"%{d", modeDomain},
		{"%{x}", modeExplain},
		{"%{c}", modeDomain},
		{"%{r}", modeDomain},
		{"%{t}", modeDomain},
		{"%{d0}", modeDomain},
		{"%{dr2}", modeDomain},
		{"%{d!}", modeDomain},
		{"%a", modeDomain},
		{"a b", modeDomain},
		{"a\tb", modeExplain},
		{"\x80", modeExplain},
	}
	for _, tt := range tests {
		_, err := parseMacroString(tt.in, tt.mode)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("parse %q: error %v, want ErrSyntax", tt.in, err)
		}
	}
}

func TestMacroExpansionBound(t *testing.T) {
	env := rfcEnv("192.0.2.3")
	env.sender = strings.Repeat("x", 1000)
	m, err := parseMacroString(strings.Repeat("%{s}", 20), modeDomain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.expand(env); !errors.Is(err, ErrSyntax) {
		t.Errorf("expanding 20 kB: error %v, want ErrSyntax", err)
	}
}

func TestTruncateDomain(t *testing.T) {
	label := strings.Repeat("a", 60)
	long := strings.Repeat(label+".", 5) + "example.com"
	got := truncateDomain(long)
	if len(got) > 253 || !strings.HasSuffix(got, ".example.com") || strings.HasPrefix(got, ".") {
		t.Errorf("truncateDomain: %q (%d)", got, len(got))
	}
	if want := strings.Repeat(label+".", 3) + "example.com"; got != want {
		t.Errorf("truncateDomain = %q, want %q", got, want)
	}
	if got := truncateDomain(strings.Repeat("b", 300)); got != "" {
		t.Errorf("one long label: %q", got)
	}
}
