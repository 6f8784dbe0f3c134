package dmarc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/spf"
)

// fixedRand always draws n (modulo the bound), so pct= sampling is
// deterministic; it counts its calls.
type fixedRand struct {
	n     int
	calls int
}

func (f *fixedRand) IntN(n int) int { f.calls++; return f.n % n }

// testZone serves the records of RFC 7489 appendix B and the corner cases
// of policy discovery over a real DNS server on 127.0.0.1.
func testZone(t *testing.T) (*dnstest.Zone, dnsmx.Resolver) {
	t.Helper()
	z := dnstest.NewZone().
		// Appendix B.2.1: monitoring only.
		AddTXT("_dmarc.example.com", "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com").
		// Appendix B.2.4: a subdomain with its own record, sampling and
		// two report URIs.
		AddTXT("_dmarc.test.example.com", "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com, mailto:tld-test@thirdparty.example.net!10m; pct=25").
		// Organizational domain under a two-label public suffix.
		AddTXT("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine").
		AddTXT("_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s").
		AddTXT("_dmarc.relaxed.example", "v=DMARC1; p=reject").
		// Several records: none applies, and no fallback.
		AddTXT("_dmarc.multi.example", "v=DMARC1; p=reject").
		AddTXT("_dmarc.multi.example", "v=DMARC1; p=none").
		AddTXT("_dmarc.sub.multi2.example", "v=DMARC1; p=reject").
		AddTXT("_dmarc.sub.multi2.example", "v=DMARC1; p=quarantine").
		AddTXT("_dmarc.multi2.example", "v=DMARC1; p=none").
		// Other TXT records at the name are ignored.
		AddTXT("_dmarc.mixed.example", "v=spf1 -all").
		AddTXT("_dmarc.mixed.example", "google-site-verification=abc").
		AddTXT("_dmarc.mixed.example", "v=DMARC1; ", "p=reject"). // two character-strings
		AddTXT("_dmarc.other.mixed.example", "not a DMARC record").
		// Broken records.
		AddTXT("_dmarc.broken.example", "v=DMARC1; p=bogus").
		AddTXT("_dmarc.brokenrua.example", "v=DMARC1; p=bogus; rua=mailto:d@brokenrua.example").
		// np= and existence.
		AddTXT("_dmarc.np.example", "v=DMARC1; p=reject; sp=quarantine; np=reject").
		AddA("exists.np.example", "192.0.2.1").
		AddMX("mxonly.np.example", 10, "mx.np.example").
		AddTXT("txtonly.np.example", "hello").
		// Sampling and testing.
		AddTXT("_dmarc.pct0.example", "v=DMARC1; p=reject; pct=0").
		AddTXT("_dmarc.pct50.example", "v=DMARC1; p=reject; pct=50").
		AddTXT("_dmarc.pct100.example", "v=DMARC1; p=quarantine; pct=100").
		AddTXT("_dmarc.testing.example", "v=DMARC1; p=reject; t=y").
		AddTXT("_dmarc.testingq.example", "v=DMARC1; p=quarantine; t=y").
		// Temporary failures.
		SetFault("_dmarc.temp.example", dns.TypeTXT, dnstest.ServFail).
		SetFault("_dmarc.sub.tempsub.example", dns.TypeTXT, dnstest.ServFail).
		AddTXT("_dmarc.tempsub.example", "v=DMARC1; p=none").
		SetFault("_dmarc.temporg.example", dns.TypeTXT, dnstest.ServFail).
		SetFault("flaky.np.example", 0, dnstest.ServFail)
	srv := dnstest.NewServer(t, z)
	return z, srv.Resolver(nil)
}

func spfPass(domain string) spf.Result { return spf.Result{Status: spf.Pass, Domain: domain} }
func spfFail(domain string) spf.Result { return spf.Result{Status: spf.Fail, Domain: domain} }
func dkimPass(domain string) []dmarc.DKIMResult {
	return []dmarc.DKIMResult{{Domain: domain, Selector: "s1", Status: dmarc.DKIMPass}}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	_, r := testZone(t)
	ctx := context.Background()

	type want struct {
		status      dmarc.Status
		policy      string // Policy.Domain
		requested   dmarc.Disposition
		disposition dmarc.Disposition
		spf, dkim   bool
		problem     error
	}
	test := func(name string, a dmarc.Args, w want) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			res, err := dmarc.Evaluate(ctx, r, a)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if res.Status != w.status || res.Policy.Domain != w.policy || res.Requested != w.requested ||
				res.Disposition != w.disposition || res.SPFAligned != w.spf || res.DKIMAligned != w.dkim {
				t.Errorf("got status=%v policy=%q requested=%v dis=%v spf=%v dkim=%v (problem %v)\nwant status=%v policy=%q requested=%v dis=%v spf=%v dkim=%v",
					res.Status, res.Policy.Domain, res.Requested, res.Disposition, res.SPFAligned, res.DKIMAligned, res.Problem,
					w.status, w.policy, w.requested, w.disposition, w.spf, w.dkim)
			}
			if w.problem != nil && !errors.Is(res.Problem, w.problem) {
				t.Errorf("problem = %v, want %v", res.Problem, w.problem)
			}
			if w.problem == nil && (res.Status == dmarc.Pass || res.Status == dmarc.Fail) && res.Problem != nil {
				t.Errorf("problem = %v for %v", res.Problem, res.Status)
			}
		})
	}

	// Appendix B.1.1: SPF identifier alignment.
	test("B.1.1 spf same domain", dmarc.Args{From: "example.com", SPF: spfPass("example.com")},
		want{dmarc.Pass, "example.com", dmarc.DispositionNone, dmarc.DispositionNone, true, false, nil})
	test("B.1.1 spf child relaxed", dmarc.Args{From: "relaxed.example", SPF: spfPass("child.relaxed.example")},
		want{dmarc.Pass, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, true, false, nil})
	test("B.1.1 spf child strict", dmarc.Args{From: "strict.example", SPF: spfPass("child.strict.example")},
		want{dmarc.Fail, "strict.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("B.1.1 spf other domain", dmarc.Args{From: "relaxed.example", SPF: spfPass("example.org")},
		want{dmarc.Fail, "relaxed.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("spf fail aligned", dmarc.Args{From: "relaxed.example", SPF: spfFail("relaxed.example")},
		want{dmarc.Fail, "relaxed.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("spf strict exact", dmarc.Args{From: "strict.example", SPF: spfPass("STRICT.example.")},
		want{dmarc.Pass, "strict.example", dmarc.Reject, dmarc.DispositionNone, true, false, nil})
	test("spf domain override", dmarc.Args{From: "strict.example", SPF: spfPass("other.example"), SPFDomain: "strict.example"},
		want{dmarc.Pass, "strict.example", dmarc.Reject, dmarc.DispositionNone, true, false, nil})

	// Appendix B.1.2: DKIM identifier alignment.
	test("B.1.2 dkim same domain", dmarc.Args{From: "relaxed.example", DKIM: dkimPass("relaxed.example")},
		want{dmarc.Pass, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, false, true, nil})
	test("B.1.2 dkim parent relaxed", dmarc.Args{From: "child.relaxed.example", DKIM: dkimPass("relaxed.example")},
		want{dmarc.Pass, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, false, true, nil})
	test("B.1.2 dkim parent strict", dmarc.Args{From: "child.strict.example", DKIM: dkimPass("strict.example")},
		want{dmarc.Fail, "strict.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("B.1.2 dkim other domain", dmarc.Args{From: "relaxed.example", DKIM: dkimPass("sample.net")},
		want{dmarc.Fail, "relaxed.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("dkim failing aligned, passing unaligned", dmarc.Args{From: "relaxed.example", DKIM: []dmarc.DKIMResult{
		{Domain: "relaxed.example", Status: dmarc.DKIMFail}, {Domain: "mailer.example", Status: dmarc.DKIMPass}}},
		want{dmarc.Fail, "relaxed.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("dkim second signature aligned", dmarc.Args{From: "relaxed.example", DKIM: []dmarc.DKIMResult{
		{Domain: "mailer.example", Status: dmarc.DKIMPass}, {Domain: "Relaxed.Example", Status: dmarc.DKIMPass}}},
		want{dmarc.Pass, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, false, true, nil})
	// Appendix B.1.3: relaxed alignment stops at public suffixes.
	test("B.1.3 public suffix siblings", dmarc.Args{From: "a.example.co.uk", DKIM: dkimPass("b.co.uk"), SPF: spfPass("other.co.uk")},
		want{dmarc.Fail, "example.co.uk", dmarc.Quarantine, dmarc.Quarantine, false, false, nil})
	test("B.1.3 same org under co.uk", dmarc.Args{From: "a.example.co.uk", DKIM: dkimPass("mail.example.co.uk")},
		want{dmarc.Pass, "example.co.uk", dmarc.Quarantine, dmarc.DispositionNone, false, true, nil})

	// Appendix B.3.1: the SMTP session example; both identifiers align.
	test("B.3.1 smtp session", dmarc.Args{From: "relaxed.example", SPF: spfPass("mail.relaxed.example"), DKIM: dkimPass("relaxed.example")},
		want{dmarc.Pass, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, true, true, nil})

	// Policy discovery and subdomain policy.
	test("org fallback a.b.example.co.uk", dmarc.Args{From: "a.b.example.co.uk"},
		want{dmarc.Fail, "example.co.uk", dmarc.Quarantine, dmarc.Quarantine, false, false, nil})
	test("org domain itself uses p", dmarc.Args{From: "example.co.uk"},
		want{dmarc.Fail, "example.co.uk", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("B.2.4 subdomain own record", dmarc.Args{From: "test.example.com", SPF: spfFail("test.example.com"), Rand: &fixedRand{n: 10}},
		want{dmarc.Fail, "test.example.com", dmarc.Quarantine, dmarc.Quarantine, false, false, nil})
	test("B.2.4 subdomain sampled out", dmarc.Args{From: "test.example.com", Rand: &fixedRand{n: 25}},
		want{dmarc.Fail, "test.example.com", dmarc.Quarantine, dmarc.DispositionNone, false, false, nil})
	test("B.2.1 monitoring only", dmarc.Args{From: "example.com", SPF: spfFail("example.com")},
		want{dmarc.Fail, "example.com", dmarc.DispositionNone, dmarc.DispositionNone, false, false, nil})
	test("mixed TXT records", dmarc.Args{From: "mixed.example"},
		want{dmarc.Fail, "mixed.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("non-DMARC TXT falls back", dmarc.Args{From: "other.mixed.example"},
		want{dmarc.Fail, "mixed.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("no record", dmarc.Args{From: "nothing.example", SPF: spfPass("nothing.example")},
		want{dmarc.None, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrNoRecord})
	test("no record at subdomain nor org", dmarc.Args{From: "a.b.nothing.example"},
		want{dmarc.None, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrNoRecord})
	test("multiple records", dmarc.Args{From: "multi.example"},
		want{dmarc.PermError, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrMultipleRecords})
	test("multiple records at subdomain, no fallback", dmarc.Args{From: "sub.multi2.example"},
		want{dmarc.PermError, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrMultipleRecords})
	test("invalid p without rua", dmarc.Args{From: "broken.example"},
		want{dmarc.PermError, "broken.example", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrSyntax})
	test("invalid p with rua is p=none", dmarc.Args{From: "brokenrua.example"},
		want{dmarc.Fail, "brokenrua.example", dmarc.DispositionNone, dmarc.DispositionNone, false, false, nil})
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 50) + ".example"
	test("From domain too long for _dmarc. prefix", dmarc.Args{From: long},
		want{dmarc.None, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrNoRecord})
	test("invalid From domain", dmarc.Args{From: "bad..example"},
		want{dmarc.None, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrInvalidDomain})

	// Temporary failures.
	test("temperror", dmarc.Args{From: "temp.example", SPF: spfPass("temp.example")},
		want{dmarc.TempError, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrDNS})
	test("temperror at subdomain, no fallback", dmarc.Args{From: "sub.tempsub.example"},
		want{dmarc.TempError, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrDNS})
	test("temperror at org domain", dmarc.Args{From: "a.temporg.example"},
		want{dmarc.TempError, "", dmarc.DispositionNone, dmarc.DispositionNone, false, false, dmarc.ErrDNS})
	test("aligned spf temperror", dmarc.Args{From: "relaxed.example", SPF: spf.Result{Status: spf.TempError, Domain: "relaxed.example"}},
		want{dmarc.TempError, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, false, false, dmarc.ErrDNS})
	test("aligned dkim temperror", dmarc.Args{From: "relaxed.example", DKIM: []dmarc.DKIMResult{{Domain: "relaxed.example", Status: dmarc.DKIMTempError}}},
		want{dmarc.TempError, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, false, false, dmarc.ErrDNS})
	test("aligned dkim temperror, spf passes", dmarc.Args{From: "relaxed.example", SPF: spfPass("relaxed.example"), DKIM: []dmarc.DKIMResult{{Domain: "relaxed.example", Status: dmarc.DKIMTempError}}},
		want{dmarc.Pass, "relaxed.example", dmarc.Reject, dmarc.DispositionNone, true, false, nil})
	test("unaligned dkim temperror", dmarc.Args{From: "relaxed.example", DKIM: []dmarc.DKIMResult{{Domain: "other.example", Status: dmarc.DKIMTempError}}},
		want{dmarc.Fail, "relaxed.example", dmarc.Reject, dmarc.Reject, false, false, nil})

	// np= for non-existent subdomains (DMARCbis, RFC 9091).
	test("np nonexistent looked up", dmarc.Args{From: "ghost.np.example"},
		want{dmarc.Fail, "np.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("np existing (A) gets sp", dmarc.Args{From: "exists.np.example"},
		want{dmarc.Fail, "np.example", dmarc.Quarantine, dmarc.Quarantine, false, false, nil})
	test("np existing (MX only) gets sp", dmarc.Args{From: "mxonly.np.example"},
		want{dmarc.Fail, "np.example", dmarc.Quarantine, dmarc.Quarantine, false, false, nil})
	test("np TXT only is non-existent", dmarc.Args{From: "txtonly.np.example"},
		want{dmarc.Fail, "np.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("np caller says exists", dmarc.Args{From: "ghost.np.example", FromExists: dmarc.DomainExists},
		want{dmarc.Fail, "np.example", dmarc.Quarantine, dmarc.Quarantine, false, false, nil})
	test("np caller says missing", dmarc.Args{From: "exists.np.example", FromExists: dmarc.DomainMissing},
		want{dmarc.Fail, "np.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("np existence temperror", dmarc.Args{From: "flaky.np.example"},
		want{dmarc.TempError, "np.example", dmarc.Quarantine, dmarc.DispositionNone, false, false, dmarc.ErrDNS})
	test("np irrelevant on pass", dmarc.Args{From: "flaky.np.example", DKIM: dkimPass("np.example")},
		want{dmarc.Pass, "np.example", dmarc.Quarantine, dmarc.DispositionNone, false, true, nil})
	test("np org domain itself uses p", dmarc.Args{From: "np.example"},
		want{dmarc.Fail, "np.example", dmarc.Reject, dmarc.Reject, false, false, nil})

	// pct= and t=.
	test("pct=0", dmarc.Args{From: "pct0.example", Rand: &fixedRand{n: 0}},
		want{dmarc.Fail, "pct0.example", dmarc.Reject, dmarc.Quarantine, false, false, nil})
	test("pct=50 drawn 49", dmarc.Args{From: "pct50.example", Rand: &fixedRand{n: 49}},
		want{dmarc.Fail, "pct50.example", dmarc.Reject, dmarc.Reject, false, false, nil})
	test("pct=50 drawn 50", dmarc.Args{From: "pct50.example", Rand: &fixedRand{n: 50}},
		want{dmarc.Fail, "pct50.example", dmarc.Reject, dmarc.Quarantine, false, false, nil})
	test("pct=100 drawn 99", dmarc.Args{From: "pct100.example", Rand: &fixedRand{n: 99}},
		want{dmarc.Fail, "pct100.example", dmarc.Quarantine, dmarc.Quarantine, false, false, nil})
	test("t=y reject", dmarc.Args{From: "testing.example"},
		want{dmarc.Fail, "testing.example", dmarc.Reject, dmarc.DispositionNone, false, false, nil})
	test("t=y quarantine", dmarc.Args{From: "testingq.example"},
		want{dmarc.Fail, "testingq.example", dmarc.Quarantine, dmarc.DispositionNone, false, false, nil})
}

// TestPercentSampling draws every value 0..99 and checks the share of
// messages the policy applies to, and that the source is only asked when
// pct is strictly between 0 and 100 and the message fails.
func TestPercentSampling(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		record  string
		applied int
		calls   int
	}{
		{"v=DMARC1; p=reject; pct=0", 0, 0},
		{"v=DMARC1; p=reject; pct=1", 1, 100},
		{"v=DMARC1; p=reject; pct=50", 50, 100},
		{"v=DMARC1; p=reject; pct=100", 100, 0},
		{"v=DMARC1; p=reject", 100, 0},
		{"v=DMARC1; p=none; pct=50", 0, 0},
	} {
		rec, err := dmarc.ParseRecord(tt.record, nil)
		if err != nil {
			t.Fatal(err)
		}
		pol := dmarc.Policy{FromDomain: "example.com", OrgDomain: "example.com", Domain: "example.com", Record: rec}
		applied, calls := 0, 0
		for n := range 100 {
			src := &fixedRand{n: n}
			res := dmarc.EvaluatePolicy(pol, dmarc.Args{From: "example.com", Rand: src})
			calls += src.calls
			if res.Status != dmarc.Fail {
				t.Fatalf("%s: status %v", tt.record, res.Status)
			}
			if res.Disposition == dmarc.Reject {
				applied++
			} else if rec.Policy == dmarc.Reject && (res.Disposition != dmarc.Quarantine || !res.SampledOut) {
				t.Fatalf("%s: sampled out to %v (SampledOut %v), want quarantine", tt.record, res.Disposition, res.SampledOut)
			}
		}
		if applied != tt.applied || calls != tt.calls {
			t.Errorf("%s: applied to %d of 100 with %d draws, want %d with %d", tt.record, applied, calls, tt.applied, tt.calls)
		}
		// A passing message never draws.
		src := &fixedRand{}
		if res := dmarc.EvaluatePolicy(pol, dmarc.Args{From: "example.com", SPF: spfPass("example.com"), Rand: src}); res.Status != dmarc.Pass || src.calls != 0 {
			t.Errorf("%s: pass gave %v with %d draws", tt.record, res.Status, src.calls)
		}
	}
}

func TestLookupPolicy(t *testing.T) {
	t.Parallel()
	_, r := testZone(t)
	ctx := context.Background()
	p, err := dmarc.LookupPolicy(ctx, r, "A.B.Example.CO.UK.", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.FromDomain != "a.b.example.co.uk" || p.OrgDomain != "example.co.uk" || p.Domain != "example.co.uk" || !p.Subdomain() {
		t.Errorf("got %+v", p)
	}
	if p.Record.Policy != dmarc.Reject || p.Record.SubdomainPolicy != dmarc.Quarantine {
		t.Errorf("record %s", p.Record)
	}
	p, err = dmarc.LookupPolicy(ctx, r, "test.example.com", nil)
	if err != nil || p.Subdomain() || len(p.Record.AggregateURIs) != 2 || p.Record.AggregateURIs[1].MaxSize != 10<<20 {
		t.Errorf("B.2.4: %+v, %v", p, err)
	}
	_, err = dmarc.LookupPolicy(ctx, r, "temp.example", nil)
	if !errors.Is(err, dmarc.ErrDNS) || !errors.Is(err, dnsmx.ErrTemporary) {
		t.Errorf("temp.example: %v, want ErrDNS and dnsmx.ErrTemporary", err)
	}
	_, err = dmarc.LookupPolicy(ctx, r, "broken.example", nil)
	var e *dmarc.Error
	if !errors.As(err, &e) || e.Domain != "broken.example" || e.Tag != "p" {
		t.Errorf("broken.example: %v, want a syntax error naming the domain and tag p", err)
	}
	if _, err := dmarc.LookupPolicy(ctx, nil, "example.com", nil); !errors.Is(err, dmarc.ErrInvalidArgs) {
		t.Errorf("nil resolver: %v", err)
	}
}

func TestEvaluateContext(t *testing.T) {
	t.Parallel()
	_, r := testZone(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := dmarc.Evaluate(ctx, r, dmarc.Args{From: "uncached.example"})
	if !errors.Is(err, context.Canceled) || res.Status != dmarc.TempError {
		t.Errorf("cancelled: %v, %v", res.Status, err)
	}
	if _, err := dmarc.Evaluate(context.Background(), nil, dmarc.Args{From: "example.com"}); !errors.Is(err, dmarc.ErrInvalidArgs) {
		t.Errorf("nil resolver: %v", err)
	}
}

func TestAligned(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		id, from        string
		relaxed, strict bool
	}{
		{"example.com", "example.com", true, true},
		{"EXAMPLE.com.", "example.COM", true, true},
		{"child.example.com", "example.com", true, false},
		{"example.com", "child.example.com", true, false},
		{"a.example.com", "b.example.com", true, false},
		{"example.org", "example.com", false, false},
		{"xexample.com", "example.com", false, false},
		{"a.b.example.co.uk", "example.co.uk", true, false},
		{"example.co.uk", "other.co.uk", false, false},
		{"co.uk", "co.uk", true, true},
		{"a.co.uk", "co.uk", false, false},
		{"bücher.example", "xn--bcher-kva.example", true, true},
		{"mail.bücher.example", "xn--bcher-kva.example", true, false},
		{"", "example.com", false, false},
	} {
		if got := dmarc.Aligned(tt.id, tt.from, dmarc.Relaxed); got != tt.relaxed {
			t.Errorf("Aligned(%q, %q, relaxed) = %v", tt.id, tt.from, got)
		}
		if got := dmarc.Aligned(tt.id, tt.from, dmarc.Strict); got != tt.strict {
			t.Errorf("Aligned(%q, %q, strict) = %v", tt.id, tt.from, got)
		}
	}
}

func TestOrganizationalDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"example.com":        "example.com",
		"a.b.c.example.com":  "example.com",
		"a.b.example.co.uk":  "example.co.uk",
		"example.co.uk":      "example.co.uk",
		"co.uk":              "co.uk",
		"com":                "com",
		"foo.blogspot.com":   "foo.blogspot.com",
		"a.foo.blogspot.com": "foo.blogspot.com",
		"mail.example":       "mail.example",
		"localhost":          "localhost",
	} {
		if got := dmarc.OrganizationalDomain(in); got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuthenticationResults(t *testing.T) {
	t.Parallel()
	_, r := testZone(t)
	ctx := context.Background()
	for _, tt := range []struct {
		a    dmarc.Args
		want string
	}{
		{dmarc.Args{From: "relaxed.example"}, "dmarc=fail (p=reject dis=reject) header.from=relaxed.example"},
		{dmarc.Args{From: "relaxed.example", DKIM: dkimPass("relaxed.example")}, "dmarc=pass (p=reject dis=none) header.from=relaxed.example"},
		{dmarc.Args{From: "testing.example"}, "dmarc=fail (p=reject dis=none) header.from=testing.example"},
		{dmarc.Args{From: "pct0.example"}, "dmarc=fail (p=reject dis=quarantine) header.from=pct0.example"},
		{dmarc.Args{From: "nothing.example"}, "dmarc=none header.from=nothing.example"},
		{dmarc.Args{From: "temp.example"}, "dmarc=temperror header.from=temp.example"},
		{dmarc.Args{From: "multi.example"}, "dmarc=permerror header.from=multi.example"},
		{dmarc.Args{From: "bad..example"}, "dmarc=none"},
	} {
		res, err := dmarc.Evaluate(ctx, r, tt.a)
		if err != nil {
			t.Fatal(err)
		}
		if got := dmarc.AuthenticationResults(res); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.a.From, got, tt.want)
		}
	}
}

// TestEvaluateDKIMLimit checks that only Limits.DKIMResults signatures are
// looked at, so a message with thousands of signatures costs no more than
// a few.
func TestEvaluateDKIMLimit(t *testing.T) {
	t.Parallel()
	rec, err := dmarc.ParseRecord("v=DMARC1; p=reject", nil)
	if err != nil {
		t.Fatal(err)
	}
	pol := dmarc.Policy{FromDomain: "example.com", OrgDomain: "example.com", Domain: "example.com", Record: rec}
	var sigs []dmarc.DKIMResult
	for range 5000 {
		sigs = append(sigs, dmarc.DKIMResult{Domain: "other.example", Status: dmarc.DKIMPass})
	}
	sigs = append(sigs, dmarc.DKIMResult{Domain: "example.com", Status: dmarc.DKIMPass})
	if res := dmarc.EvaluatePolicy(pol, dmarc.Args{From: "example.com", DKIM: sigs}); res.Status != dmarc.Fail {
		t.Errorf("signature beyond the limit counted: %v", res.Status)
	}
	if res := dmarc.EvaluatePolicy(pol, dmarc.Args{From: "example.com", DKIM: sigs, Limits: dmarc.Limits{DKIMResults: len(sigs)}}); res.Status != dmarc.Pass {
		t.Errorf("raised limit: %v", res.Status)
	}
	if res := dmarc.EvaluatePolicy(dmarc.Policy{FromDomain: "example.com"}, dmarc.Args{From: "example.com"}); res.Status != dmarc.None || !errors.Is(res.Problem, dmarc.ErrNoRecord) {
		t.Errorf("policy without record: %v %v", res.Status, res.Problem)
	}
}
