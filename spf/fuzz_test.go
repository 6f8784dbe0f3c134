package spf

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseRecord checks that ParseRecord never panics, fails only with
// ErrSyntax, and that an accepted record survives String and reparsing.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=spf1",
		"v=spf1 -all",
		"v=spf1 a mx ptr -all",
		"v=spf1 +a:mail.example.com/24//64 ~mx:%{d}/28 ?ptr:example.com -all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::ffff:1.2.3.4 -all",
		"v=spf1 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d} -all",
		"v=spf1 redirect=_spf.example.com exp=explain.%{d}",
		"v=spf1 foo=bar a.b-c_d=%{l}%%%_%- ?all",
		"v=spf1 a:%{d999}.%{S}.%{IR}.example.com",
		"v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all",
		"v=spf1 a/0//0 mx/32//128",
		"v=spf1 a:foo.com//64/24",
		"v=spf1 ip4:1.2.3.4/032",
		"v=spf1 exp=a.example.com exp=b.example.com",
		"v=spf1 -all\x00",
		"V=SPF1   A   ",
		"v=spf1 a:\xef\xbb\xbfexample.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("ParseRecord(%q): error %v is not ErrSyntax", s, err)
			}
			if r != nil {
				t.Fatalf("ParseRecord(%q): record and error", s)
			}
			_ = err.Error()
			return
		}
		canon := r.String()
		r2, err := ParseRecord(canon)
		if err != nil {
			t.Fatalf("ParseRecord(%q) ok, but its String %q fails: %v", s, canon, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip of %q via %q differs:\n%#v\n%#v", s, canon, r, r2)
		}
		if r2.String() != canon {
			t.Fatalf("String not stable: %q then %q", canon, r2.String())
		}
	})
}

// FuzzMacro checks that parsing and expanding macro-strings never panics,
// stays within the expansion bound and that domain-mode strings never
// expand to spaces that were not written as %_ or come from a value.
func FuzzMacro(f *testing.F) {
	for _, s := range []string{
		"%{s}", "%{l1r-}.lp._spf.%{d2}", "%{ir}.%{v}._spf.%{d2}", "%{d2}.trusted-domains.example.net",
		"%%%_%-", "%{S}%{L}%{O}%{D}%{I}%{P}%{H}%{V}", "%{c} %{r} %{t}", "%{d0}", "%{d", "%", "%{x}",
		"%{l.-+,/_=}", "%{d99999999999999999999999r}", "%{ir}%{ir}%{ir}%{ir}",
	} {
		f.Add(s, "strong-bad@email.example.com", "192.0.2.3")
		f.Add(s, "a.b-c+d@x.y", "2001:db8::cb01")
	}
	f.Fuzz(func(t *testing.T, s, sender, ipText string) {
		ip, err := netip.ParseAddr(ipText)
		if err != nil || ip.Zone() != "" {
			ip = netip.MustParseAddr("192.0.2.3")
		}
		local, domain, _ := strings.Cut(sender, "@")
		env := &macroEnv{
			sender: sender, local: local, senderDomain: domain, domain: domain,
			ip: ip, helo: "helo.example", receiver: "rx.example",
			validated: func() string { return "ptr.example" },
		}
		for _, mode := range []macroMode{modeDomain, modeExplain} {
			m, err := parseMacroString(s, mode)
			if err != nil {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("parse %q: error %v is not ErrSyntax", s, err)
				}
				continue
			}
			out, err := m.expand(env)
			if err != nil {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("expand %q: error %v is not ErrSyntax", s, err)
				}
				continue
			}
			if len(out) > maxExpansion+len(sender)+len(s)+64 {
				t.Fatalf("expand %q: %d octets", s, len(out))
			}
			if !m.hasMacro && out != literalOf(s) {
				t.Fatalf("expand %q without macros = %q", s, out)
			}
			_ = truncateDomain(out)
			_ = sanitizeExplanation(out, DefaultMaxExplanation)
		}
		if _, err := parseDomainSpec(s); err == nil && strings.TrimSpace(s) != s {
			t.Fatalf("domain-spec %q with outer space accepted", s)
		}
	})
}

// literalOf expands the escapes of a macro-free string.
func literalOf(s string) string {
	return strings.NewReplacer("%%", "%", "%_", " ", "%-", "%20").Replace(s)
}

// FuzzCheck evaluates fuzzed records with includes and redirects against an
// in-memory zone: Check never panics, never returns an error for valid
// arguments, stays within the limits, and an explanation is always safe.
func FuzzCheck(f *testing.F) {
	f.Add("v=spf1 include:b.example.com -all", "v=spf1 a mx ptr exists:%{i}.e.example.com ~all", "192.0.2.1", "a@a.example.com")
	f.Add("v=spf1 redirect=b.example.com", "v=spf1 ip6:2001:db8::/32 -all exp=x.example.com", "2001:db8::1", "")
	f.Add("v=spf1 include:a.example.com", "v=spf1 redirect=a.example.com", "192.0.2.1", "%{l}@a.example.com")
	f.Add("v=spf1 -all exp=x.example.com", "v=spf1 a:%{l}.%{d}", "::ffff:1.2.3.4", "x@a.example.com")
	f.Fuzz(func(t *testing.T, recA, recB, ipText, sender string) {
		ip, err := netip.ParseAddr(ipText)
		if err != nil || ip.Zone() != "" {
			return
		}
		z := parseZone(`
b.example.com A 192.0.2.1
b.example.com AAAA 2001:db8::1
b.example.com MX 10 b.example.com
x.example.com TXT %{c} %{r} %{t} %{p} %{S} not allowed
1.2.0.192.in-addr.arpa PTR b.example.com
`)
		z.name("a.example.com").txt = [][]string{{recA}}
		z.name("b.example.com").txt = [][]string{{recB}}
		r := &memResolver{zone: z}
		res, err := Check(context.Background(), r, Args{IP: ip, Sender: sender, HELO: "a.example.com", Receiver: "rx"})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if res.Status > PermError {
			t.Fatalf("status %d", res.Status)
		}
		if res.DNSTerms > DefaultMaxDNSTerms+1 || res.VoidLookups > DefaultMaxVoidLookups+1 {
			t.Fatalf("limits: %d terms, %d voids", res.DNSTerms, res.VoidLookups)
		}
		// Each term asks at most 1 + 10 lookups (mx, ptr), and each
		// record one more, plus the PTR names for %{p} and exp=.
		if r.queries > 200 {
			t.Fatalf("%d lookups", r.queries)
		}
		if (res.Status == TempError || res.Status == PermError) != (res.Problem != nil) {
			t.Fatalf("status %s with problem %v", res.Status, res.Problem)
		}
		if res.Explanation != "" && res.Status != Fail {
			t.Fatalf("explanation for %s", res.Status)
		}
		for i := 0; i < len(res.Explanation); i++ {
			if c := res.Explanation[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("explanation %q has octet %#x", res.Explanation, c)
			}
		}
		if len(res.Explanation) > DefaultMaxExplanation {
			t.Fatalf("explanation of %d octets", len(res.Explanation))
		}
		h := ReceivedSPF(res, Args{IP: ip, Sender: sender, HELO: "a.example.com", Receiver: "rx"}) + AuthenticationResults(res)
		if strings.ContainsAny(h, "\r\n") {
			t.Fatalf("header text with CR or LF: %q", h)
		}
	})
}
