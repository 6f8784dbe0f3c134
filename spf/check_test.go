package spf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
)

// checkZone is the zone of the unit tests.
const checkZone = `
example.com TXT v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a:mail.example.com mx include:_spf.example.net -all exp=why.example.com
example.com MX 10 mx1.example.com
example.com MX 20 mx2.example.com
mx1.example.com A 198.51.100.1
mx2.example.com AAAA 2001:db8:ffff::2
mail.example.com A 198.51.100.25
why.example.com TXT %{i} may not send for %{d}; see %{r} at %{t}
_spf.example.net TXT v=spf1 ip4:203.0.113.0/28 ?all exp=ignored.example.net
ignored.example.net TXT from the include
redir.example.com TXT v=spf1 redirect=example.com exp=notused.example.com
soft.example.com TXT v=spf1 ~all
neutral.example.com TXT v=spf1 a:nothing.example.com
none.example.com TXT google-site-verification=xyz
two.example.com TXT v=spf1 -all
two.example.com TXT v=spf1 +all
broken.example.com TXT v=spf1 a:
slow.example.com TIMEOUT
timeoutmech.example.com TXT v=spf1 a:slow.example.com -all
helo.example.org TXT v=spf1 a -all
helo.example.org A 192.0.2.200
ptr.example.com TXT v=spf1 ptr -all
4.2.0.192.in-addr.arpa PTR host.ptr.example.com.
4.2.0.192.in-addr.arpa PTR unvalidated.example.com.
host.ptr.example.com A 192.0.2.4
pmacro.example.com TXT v=spf1 -all exp=pexp.example.com
pexp.example.com TXT validated as %{p}
uglyexp.example.com TXT v=spf1 -all exp=ugly.example.com
nullmx.example.com TXT v=spf1 mx -all
nullmx.example.com MX 0 .
xn--bcher-kva.example TXT v=spf1 ip4:192.0.2.0/24 -all
`

func newCheckResolver() *memResolver {
	return &memResolver{zone: parseZone(checkZone)}
}

func TestCheck(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name     string
		args     Args
		status   Status
		mech     string
		exp      string
		problem  error
		dnsTerms int
	}{
		{name: "ip4 pass", args: Args{IP: ip("192.0.2.10"), Sender: "a@example.com"}, status: Pass, mech: "ip4:192.0.2.0/24"},
		{name: "ip4-mapped pass", args: Args{IP: ip("::ffff:192.0.2.10"), Sender: "a@example.com"}, status: Pass, mech: "ip4:192.0.2.0/24"},
		{name: "ip6 pass", args: Args{IP: ip("2001:db8::1"), Sender: "a@example.com"}, status: Pass, mech: "ip6:2001:db8::/32"},
		{name: "a pass", args: Args{IP: ip("198.51.100.25"), Sender: "a@example.com"}, status: Pass, mech: "a:mail.example.com", dnsTerms: 1},
		{name: "mx pass", args: Args{IP: ip("198.51.100.1"), Sender: "a@example.com"}, status: Pass, mech: "mx", dnsTerms: 2},
		{name: "mx ip6 pass", args: Args{IP: ip("2001:db8:ffff::2"), Sender: "a@example.com"}, status: Pass, mech: "ip6:2001:db8::/32"},
		{name: "include pass", args: Args{IP: ip("203.0.113.5"), Sender: "a@example.com"}, status: Pass, mech: "include:_spf.example.net", dnsTerms: 3},
		{name: "fail with exp", args: Args{IP: ip("203.0.113.99"), Sender: "a@EXAMPLE.com", Receiver: "mx.example.org", Now: now},
			status: Fail, mech: "-all", exp: "203.0.113.99 may not send for EXAMPLE.com; see mx.example.org at 1700000000", dnsTerms: 3},
		{name: "fail via redirect uses target exp", args: Args{IP: ip("203.0.113.99"), Sender: "a@redir.example.com", Now: now},
			status: Fail, mech: "-all", exp: "203.0.113.99 may not send for example.com; see unknown at 1700000000", dnsTerms: 4},
		{name: "redirect pass", args: Args{IP: ip("192.0.2.1"), Sender: "a@redir.example.com"}, status: Pass, mech: "ip4:192.0.2.0/24", dnsTerms: 1},
		{name: "softfail", args: Args{IP: ip("192.0.2.1"), Sender: "a@soft.example.com"}, status: SoftFail, mech: "~all"},
		{name: "neutral by default", args: Args{IP: ip("192.0.2.1"), Sender: "a@neutral.example.com"}, status: Neutral, dnsTerms: 1},
		{name: "none without record", args: Args{IP: ip("192.0.2.1"), Sender: "a@none.example.com"}, status: None},
		{name: "none for nxdomain", args: Args{IP: ip("192.0.2.1"), Sender: "a@nowhere.example.com"}, status: None},
		{name: "none for single label", args: Args{IP: ip("192.0.2.1"), Sender: "a@localhost"}, status: None},
		{name: "none for literal", args: Args{IP: ip("192.0.2.1"), Sender: "a@[192.0.2.1]"}, status: None},
		{name: "multiple records", args: Args{IP: ip("192.0.2.1"), Sender: "a@two.example.com"}, status: PermError, problem: ErrMultipleRecords},
		{name: "syntax error", args: Args{IP: ip("192.0.2.1"), Sender: "a@broken.example.com"}, status: PermError, problem: ErrSyntax},
		{name: "timeout on record", args: Args{IP: ip("192.0.2.1"), Sender: "a@slow.example.com"}, status: TempError, problem: ErrDNS},
		{name: "timeout in mechanism", args: Args{IP: ip("192.0.2.1"), Sender: "a@timeoutmech.example.com"}, status: TempError, problem: ErrDNS, dnsTerms: 1},
		{name: "null sender uses helo", args: Args{IP: ip("192.0.2.200"), HELO: "helo.example.org"}, status: Pass, mech: "a", dnsTerms: 1},
		{name: "helo identity", args: Args{IP: ip("192.0.2.201"), Sender: "x@example.com", HELO: "helo.example.org", Identity: IdentityHELO}, status: Fail, mech: "-all", dnsTerms: 1},
		{name: "ptr validated", args: Args{IP: ip("192.0.2.4"), Sender: "a@ptr.example.com"}, status: Pass, mech: "ptr", dnsTerms: 1},
		{name: "ptr other ip", args: Args{IP: ip("192.0.2.5"), Sender: "a@ptr.example.com"}, status: Fail, mech: "-all", dnsTerms: 1},
		{name: "p macro", args: Args{IP: ip("192.0.2.4"), Sender: "a@pmacro.example.com"}, status: Fail, mech: "-all", exp: "validated as host.ptr.example.com"},
		{name: "default explanation", args: Args{IP: ip("192.0.2.1"), Sender: "a@helo.example.org", DefaultExplanation: "%{i} is not allowed by %{o} %{x"},
			status: Fail, mech: "-all", exp: "%{i} is not allowed by %{o} %{x", dnsTerms: 1},
		{name: "default explanation expanded", args: Args{IP: ip("192.0.2.1"), Sender: "bob@helo.example.org", DefaultExplanation: "%{i} is not allowed by %{o}"},
			status: Fail, mech: "-all", exp: "192.0.2.1 is not allowed by helo.example.org", dnsTerms: 1},
		{name: "internationalized domain", args: Args{IP: ip("192.0.2.1"), Sender: "josé@Bücher.example"}, status: Pass, mech: "ip4:192.0.2.0/24"},
		{name: "null MX", args: Args{IP: ip("192.0.2.1"), Sender: "a@nullmx.example.com"}, status: Fail, mech: "-all", dnsTerms: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Check(context.Background(), newCheckResolver(), tt.args)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res.Status != tt.status || res.Mechanism != tt.mech || res.Explanation != tt.exp {
				t.Errorf("got %s %q %q, want %s %q %q (problem %v)", res.Status, res.Mechanism, res.Explanation, tt.status, tt.mech, tt.exp, res.Problem)
			}
			if tt.problem == nil && res.Problem != nil || tt.problem != nil && !errors.Is(res.Problem, tt.problem) {
				t.Errorf("problem %v, want %v", res.Problem, tt.problem)
			}
			if res.DNSTerms != tt.dnsTerms {
				t.Errorf("DNSTerms %d, want %d", res.DNSTerms, tt.dnsTerms)
			}
		})
	}
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestCheckIdentity(t *testing.T) {
	r := newCheckResolver()
	tests := []struct {
		args           Args
		domain, sender string
	}{
		{Args{Sender: "Alice@Example.COM"}, "Example.COM", "Alice@Example.COM"},
		{Args{Sender: "@example.com"}, "example.com", "postmaster@example.com"},
		{Args{Sender: "example.com"}, "example.com", "postmaster@example.com"},
		{Args{Sender: "", HELO: "helo.example.org"}, "helo.example.org", "postmaster@helo.example.org"},
		{Args{Sender: "a@example.com", HELO: "helo.example.org", Identity: IdentityHELO}, "helo.example.org", "postmaster@helo.example.org"},
		{Args{Sender: `"a@b"@example.com`}, "example.com", `"a@b"@example.com`},
		{Args{Sender: "José@Bücher.example"}, "xn--bcher-kva.example", "José@xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		tt.args.IP = ip("192.0.2.1")
		res, err := Check(context.Background(), r, tt.args)
		if err != nil {
			t.Fatal(err)
		}
		if res.Domain != tt.domain || res.Sender != tt.sender || res.Identity != tt.args.Identity {
			t.Errorf("%+v: domain %q sender %q identity %v", tt.args, res.Domain, res.Sender, res.Identity)
		}
	}
}

func TestCheckInvalidArgs(t *testing.T) {
	r := newCheckResolver()
	for name, a := range map[string]Args{
		"no ip":    {Sender: "a@example.com"},
		"zone":     {IP: netip.MustParseAddr("fe80::1%eth0"), Sender: "a@example.com"},
		"identity": {IP: ip("192.0.2.1"), Identity: Identity(7)},
	} {
		if _, err := Check(context.Background(), r, a); !errors.Is(err, ErrInvalidArgs) {
			t.Errorf("%s: error %v, want ErrInvalidArgs", name, err)
		}
	}
	if _, err := Check(context.Background(), nil, Args{IP: ip("192.0.2.1")}); !errors.Is(err, ErrInvalidArgs) {
		t.Errorf("nil resolver: error %v", err)
	}
}

func TestCheckContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Check(ctx, newCheckResolver(), Args{IP: ip("192.0.2.1"), Sender: "a@example.com"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if res.Status != TempError || !errors.Is(res.Problem, ErrDNS) {
		t.Errorf("status %s problem %v", res.Status, res.Problem)
	}
}

// chainZone returns a zone where a.example.com includes n more domains in
// a chain, the last one ending in ip4:192.0.2.1.
func chainZone(n int) testZone {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "d%d.example.com TXT v=spf1 include:d%d.example.com -all\n", i, i+1)
	}
	fmt.Fprintf(&b, "d%d.example.com TXT v=spf1 ip4:192.0.2.1 -all\n", n)
	return parseZone(b.String())
}

func TestCheckDNSTermLimit(t *testing.T) {
	args := Args{IP: ip("192.0.2.1"), Sender: "a@d0.example.com"}
	res, _ := Check(context.Background(), &memResolver{zone: chainZone(10)}, args)
	if res.Status != Pass || res.DNSTerms != 10 {
		t.Errorf("10 includes: %s after %d terms (%v)", res.Status, res.DNSTerms, res.Problem)
	}
	res, _ = Check(context.Background(), &memResolver{zone: chainZone(11)}, args)
	if res.Status != PermError || !errors.Is(res.Problem, ErrTooManyDNSTerms) {
		t.Errorf("11 includes: %s (%v)", res.Status, res.Problem)
	}
	if want := "spf: too many DNS-querying terms for d10.example.com in term \"include:d11.example.com\""; res.Problem == nil || res.Problem.Error() != want {
		t.Errorf("problem %v, want %s", res.Problem, want)
	}
	args.Limits.DNSTerms = 20
	res, _ = Check(context.Background(), &memResolver{zone: chainZone(11)}, args)
	if res.Status != Pass {
		t.Errorf("11 includes with limit 20: %s (%v)", res.Status, res.Problem)
	}
}

func TestCheckNesting(t *testing.T) {
	z := parseZone("loop.example.com TXT v=spf1 include:loop.example.com -all\n")
	res, _ := Check(context.Background(), &memResolver{zone: z}, Args{IP: ip("192.0.2.1"), Sender: "a@loop.example.com", Limits: Limits{DNSTerms: 1 << 30}})
	if res.Status != PermError || !errors.Is(res.Problem, ErrTooManyDNSTerms) || res.DNSTerms != MaxNesting {
		t.Errorf("self-include with a huge term limit: %s after %d terms (%v)", res.Status, res.DNSTerms, res.Problem)
	}
	res, _ = Check(context.Background(), &memResolver{zone: z}, Args{IP: ip("192.0.2.1"), Sender: "a@loop.example.com"})
	if res.Status != PermError || res.DNSTerms != DefaultMaxDNSTerms+1 {
		t.Errorf("self-include: %s after %d terms (%v)", res.Status, res.DNSTerms, res.Problem)
	}
}

func TestCheckVoidLimit(t *testing.T) {
	z := parseZone(`
v2.example.com TXT v=spf1 a:x1.example.com a:x2.example.com ip4:192.0.2.1 -all
v3.example.com TXT v=spf1 a:x1.example.com mx:x2.example.com exists:x3.example.com ip4:192.0.2.1 -all
`)
	r := &memResolver{zone: z}
	res, _ := Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@v2.example.com"})
	if res.Status != Pass || res.VoidLookups != 2 {
		t.Errorf("2 void lookups: %s, %d voids", res.Status, res.VoidLookups)
	}
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@v3.example.com"})
	if res.Status != PermError || !errors.Is(res.Problem, ErrTooManyVoidLookups) {
		t.Errorf("3 void lookups: %s (%v)", res.Status, res.Problem)
	}
	var e *Error
	if !errors.As(res.Problem, &e) || e.Term != "exists:x3.example.com" || e.Domain != "v3.example.com" {
		t.Errorf("problem %#v, want term exists:x3.example.com at v3.example.com", res.Problem)
	}
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@v3.example.com", Limits: Limits{VoidLookups: 3}})
	if res.Status != Pass {
		t.Errorf("3 void lookups with limit 3: %s (%v)", res.Status, res.Problem)
	}
}

func TestCheckMXLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("m.example.com TXT v=spf1 mx -all\n")
	for i := range 11 {
		fmt.Fprintf(&b, "m.example.com MX %d mx%d.example.com\n", i, i)
		fmt.Fprintf(&b, "mx%d.example.com A 192.0.2.%d\n", i, i+1)
	}
	r := &memResolver{zone: parseZone(b.String())}
	res, _ := Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@m.example.com"})
	if res.Status != PermError || !errors.Is(res.Problem, ErrTooManyMXNames) {
		t.Errorf("11 MX: %s (%v)", res.Status, res.Problem)
	}
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.11"), Sender: "a@m.example.com", Limits: Limits{MXNames: 11}})
	if res.Status != Pass {
		t.Errorf("11 MX with limit 11: %s (%v)", res.Status, res.Problem)
	}
}

func TestCheckPTRLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("p.example.com TXT v=spf1 ptr -all\n")
	for i := range 12 {
		fmt.Fprintf(&b, "1.2.0.192.in-addr.arpa PTR h%d.p.example.com\n", i)
	}
	b.WriteString("h11.p.example.com A 192.0.2.1\n")
	r := &memResolver{zone: parseZone(b.String())}
	res, _ := Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@p.example.com"})
	if res.Status != Fail {
		t.Errorf("12th PTR name: %s, want fail (only 10 names are looked at)", res.Status)
	}
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@p.example.com", Limits: Limits{PTRNames: 12}})
	if res.Status != Pass {
		t.Errorf("12th PTR name with limit 12: %s", res.Status)
	}
}

func TestCheckPTRVoid(t *testing.T) {
	z := parseZone(`
pv.example.com TXT v=spf1 ptr ptr:%{p}.example.com a:nx.example.com -all
pv2.example.com TXT v=spf1 ptr ptr -all
`)
	r := &memResolver{zone: z}
	res, _ := Check(context.Background(), r, Args{IP: ip("192.0.2.77"), Sender: "a@pv.example.com"})
	if res.Status != PermError || !errors.Is(res.Problem, ErrTooManyVoidLookups) {
		t.Errorf("three void lookups, two of them PTR: %s (%v)", res.Status, res.Problem)
	}
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.77"), Sender: "a@pv2.example.com"})
	if res.Status != Fail || res.VoidLookups != 2 {
		t.Errorf("two void PTR lookups: %s, %d voids (%v)", res.Status, res.VoidLookups, res.Problem)
	}
}

func TestExplanationSafe(t *testing.T) {
	z := parseZone(`
e.example.com TXT v=spf1 -all exp=x.example.com
long.example.com TXT v=spf1 -all exp=y.example.com
y.example.com TXT ` + strings.Repeat("word ", 100) + `
`)
	// An explanation with CR, LF and a NUL in it, as DNS can carry, is
	// a syntax error: no explanation (RFC 7208 section 6.2).
	z.name("x.example.com").txt = [][]string{{"bad\r\n250 OK\x00"}}
	z.name("l.example.com").txt = [][]string{{"v=spf1 -all exp=lexp.example.com"}}
	z.name("lexp.example.com").txt = [][]string{{"bad %{l} end"}}
	r := &memResolver{zone: z}
	res, _ := Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@e.example.com"})
	if res.Status != Fail || res.Explanation != "" {
		t.Errorf("explanation with CR LF: %s %q", res.Status, res.Explanation)
	}
	// A hostile local-part expanded into an explanation.
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "\x7fe\r\n\xff@l.example.com"})
	if want := "bad ?e??? end"; res.Status != Fail || res.Explanation != want {
		t.Errorf("explanation %s %q, want %q", res.Status, res.Explanation, want)
	}
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@long.example.com"})
	if len(res.Explanation) > DefaultMaxExplanation || !strings.HasSuffix(res.Explanation, "word") {
		t.Errorf("long explanation: %d octets: %q", len(res.Explanation), res.Explanation)
	}
	res, _ = Check(context.Background(), r, Args{IP: ip("192.0.2.1"), Sender: "a@long.example.com", Limits: Limits{Explanation: 12}})
	if res.Explanation != "word word" {
		t.Errorf("explanation limited to 12: %q", res.Explanation)
	}
}

func TestSanitizeExplanation(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"  plain text  ", 100, "plain text"},
		{"tab\there", 100, "tab?here"},
		{"caf\u00e9", 100, "caf?"},
		{"abcdefghij", 4, "abcd"},
		{"ab cdefghij", 8, "ab cdefg"},
		{"abc def ghij", 10, "abc def"},
	} {
		if got := sanitizeExplanation(tt.in, tt.max); got != tt.want {
			t.Errorf("sanitizeExplanation(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// errResolver fails every lookup with err.
type errResolver struct{ err error }

func (e errResolver) LookupTXT(context.Context, string) ([]string, error) { return nil, e.err }
func (e errResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, e.err
}
func (e errResolver) LookupMX(context.Context, string) ([]*net.MX, error)  { return nil, e.err }
func (e errResolver) LookupAddr(context.Context, string) ([]string, error) { return nil, e.err }

func TestCheckUnknownResolverError(t *testing.T) {
	// An error outside the dnsmx contract is a DNS failure, not a missing
	// record: failing open would turn a broken resolver into "none".
	res, err := Check(context.Background(), errResolver{errors.New("boom")}, Args{IP: ip("192.0.2.1"), Sender: "a@example.com"})
	if err != nil || res.Status != TempError {
		t.Errorf("status %s err %v", res.Status, err)
	}
	res, _ = Check(context.Background(), errResolver{&dnsmx.Error{Kind: dnsmx.ErrNotFound}}, Args{IP: ip("192.0.2.1"), Sender: "a@example.com"})
	if res.Status != None {
		t.Errorf("NXDOMAIN: status %s", res.Status)
	}
}
