package dmarc_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/spf"
)

// benchRecord is shaped like a large sender's record: every common tag and
// two report URIs.
const benchRecord = "v=DMARC1; p=reject; sp=quarantine; pct=100; adkim=r; aspf=r; fo=1; ri=86400; rua=mailto:dmarc-rua@example.com,mailto:agg@reports.example.net!10m; ruf=mailto:dmarc-ruf@example.com"

// BenchmarkParseRecord measures parsing a full record.
func BenchmarkParseRecord(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		if _, err := dmarc.ParseRecord(benchRecord, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// benchArgs is a typical message from a subdomain sent through a mail
// provider: SPF passes for the provider's bounce domain (not aligned), two
// DKIM signatures, the provider's and the author's, the second aligned.
func benchArgs() dmarc.Args {
	return dmarc.Args{
		From: "news.example.com",
		SPF:  spf.Result{Status: spf.Pass, Domain: "bounces.esp.example"},
		DKIM: []dmarc.DKIMResult{
			{Domain: "esp.example", Selector: "esp1", Status: dmarc.DKIMPass},
			{Domain: "example.com", Selector: "s2026", Status: dmarc.DKIMPass},
		},
	}
}

// BenchmarkEvaluatePolicy measures evaluation alone (alignment, policy
// choice, disposition) against a policy found earlier: the cost per
// message on top of SPF, DKIM and a cached policy.
func BenchmarkEvaluatePolicy(b *testing.B) {
	rec, err := dmarc.ParseRecord(benchRecord, nil)
	if err != nil {
		b.Fatal(err)
	}
	pol := dmarc.Policy{FromDomain: "news.example.com", OrgDomain: "example.com", Domain: "example.com", Record: rec}
	for _, bc := range []struct {
		name string
		args dmarc.Args
		want dmarc.Status
	}{
		{"pass-dkim-second", benchArgs(), dmarc.Pass},
		{"fail", dmarc.Args{From: "news.example.com", SPF: spf.Result{Status: spf.Pass, Domain: "spam.example"}}, dmarc.Fail},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res := dmarc.EvaluatePolicy(pol, bc.args); res.Status != bc.want {
					b.Fatalf("status %v", res.Status)
				}
			}
		})
	}
}

// BenchmarkEvaluate measures a whole evaluation with policy discovery
// through a dnsmx.Client whose cache was warmed from a dnstest server: the
// From domain has no record, so discovery asks two names (one NODATA
// answer from the negative cache, one record), as for most subdomain mail.
// It reports wire-queries/eval, zero when the cache is warm.
func BenchmarkEvaluate(b *testing.B) {
	z := dnstest.NewZone().
		AddTXT("_dmarc.example.com", benchRecord).
		AddTXT("news.example.com", "unrelated")
	srv := dnstest.NewServer(b, z)
	r := srv.Resolver(nil)
	ctx := context.Background()
	args := benchArgs()
	if res, err := dmarc.Evaluate(ctx, r, args); err != nil || res.Status != dmarc.Pass || res.Policy.Domain != "example.com" {
		b.Fatalf("warm-up: %v %v %v", res.Status, err, res.Problem)
	}
	srv.ResetQueries()
	b.ReportAllocs()
	for b.Loop() {
		if res, _ := dmarc.Evaluate(ctx, r, args); res.Status != dmarc.Pass {
			b.Fatalf("status %v", res.Status)
		}
	}
	b.ReportMetric(float64(len(srv.Queries()))/float64(b.N), "wire-queries/eval")
}

// BenchmarkAggregatorAdd measures recording one evaluated message in an
// existing report row.
func BenchmarkAggregatorAdd(b *testing.B) {
	rec, err := dmarc.ParseRecord(benchRecord, nil)
	if err != nil {
		b.Fatal(err)
	}
	pol := dmarc.Policy{FromDomain: "news.example.com", OrgDomain: "example.com", Domain: "example.com", Record: rec}
	args := benchArgs()
	res := dmarc.EvaluatePolicy(pol, args)
	g := &dmarc.Aggregator{OrgName: "o", Email: "e@mx.example.org", Receiver: "mx.example.org"}
	ip := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		g.Add(ip, args, res)
	}
}
