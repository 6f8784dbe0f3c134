package dmarc_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/spf"
)

// A receiving MTA evaluates a message after SPF and DKIM. The records are
// served by a DNS server on 127.0.0.1, so the example runs anywhere.
func ExampleEvaluate() {
	zone := dnstest.NewZone().
		AddTXT("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com")
	srv, err := dnstest.Start(zone)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	resolver := srv.Resolver(nil)

	raw := "From: Alice <alice@news.example.com>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n"
	h, _, err := message.ReadHeader(strings.NewReader(raw), nil)
	if err != nil {
		log.Fatal(err)
	}
	from, err := dmarc.FromDomain(h)
	if err != nil {
		log.Fatal(err)
	}

	// The results the SMTP server's SPF check and DKIM verifier gave.
	spfResult := spf.Result{Status: spf.Pass, Domain: "bounces.esp.example"}
	for _, dkim := range [][]dmarc.DKIMResult{
		{{Domain: "example.com", Selector: "s1", Status: dmarc.DKIMPass}},
		{{Domain: "esp.example", Selector: "x", Status: dmarc.DKIMPass}},
	} {
		res, err := dmarc.Evaluate(context.Background(), resolver, dmarc.Args{From: from, SPF: spfResult, DKIM: dkim})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("Authentication-Results: mx.example.org; " + dmarc.AuthenticationResults(res))
		fmt.Println("  policy from", res.Policy.Domain, "disposition", res.Disposition)
	}
	// Output:
	// Authentication-Results: mx.example.org; dmarc=pass (p=quarantine dis=none) header.from=news.example.com
	//   policy from example.com disposition none
	// Authentication-Results: mx.example.org; dmarc=fail (p=quarantine dis=quarantine) header.from=news.example.com
	//   policy from example.com disposition quarantine
}

// Records can be parsed and inspected without DNS; invalid tags fall back
// to their defaults and say why.
func ExampleParseRecord() {
	rec, err := dmarc.ParseRecord("v=DMARC1; p=quarantine; pct=150; rua=mailto:dmarc@example.com!10m; adkim=s", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec)
	fmt.Println(rec.Percent, rec.AggregateURIs[0].Address, rec.AggregateURIs[0].MaxSize)
	for _, e := range rec.Ignored {
		fmt.Println(e)
	}
	_, err = dmarc.ParseRecord("v=DMARC1; p=block", nil)
	fmt.Println(err)
	// Output:
	// v=DMARC1; p=quarantine; adkim=s; rua=mailto:dmarc@example.com!10m
	// 100 dmarc@example.com 10485760
	// dmarc: syntax error in tag pct: must be an integer from 0 to 100
	// dmarc: syntax error in tag p: invalid policy block
}

// An Aggregator collects a day of results and builds the report to mail to
// the rua= address.
func ExampleAggregator() {
	rec, err := dmarc.ParseRecord("v=DMARC1; p=reject; rua=mailto:dmarc@example.com", nil)
	if err != nil {
		log.Fatal(err)
	}
	policy := dmarc.Policy{FromDomain: "example.com", OrgDomain: "example.com", Domain: "example.com", Record: rec}
	agg := &dmarc.Aggregator{OrgName: "Example Org", Email: "postmaster@mx.example.org", Receiver: "mx.example.org"}

	legit := dmarc.Args{From: "example.com", SPF: spf.Result{Status: spf.Pass, Domain: "example.com"}}
	forged := dmarc.Args{From: "example.com", SPF: spf.Result{Status: spf.Fail, Domain: "spam.example"}}
	for i, a := range []dmarc.Args{legit, legit, forged} {
		ip := netip.MustParseAddr([]string{"192.0.2.1", "192.0.2.1", "198.51.100.9"}[i])
		agg.Add(ip, a, dmarc.EvaluatePolicy(policy, a))
	}

	begin := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, rep := range agg.Flush(begin, begin.Add(24*time.Hour)) {
		fmt.Println(rep.FileName())
		for _, r := range rep.Feedback.Records {
			fmt.Println(r.Row.SourceIP, r.Row.Count, r.Row.PolicyEvaluated.Disposition, r.Row.PolicyEvaluated.SPF)
		}
		var msg bytes.Buffer
		to, err := rep.WriteMessage(&msg, dmarc.MessageOptions{
			From: "dmarc-reports@mx.example.org",
			To:   rep.URIs, // after rep.Destinations in real use
			Date: begin.Add(25 * time.Hour),
		})
		if err != nil {
			log.Fatal(err)
		}
		h, _, err := message.ReadHeader(&msg, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("RCPT TO:", to)
		fmt.Println("Subject:", h.Get("Subject"))
	}
	// Output:
	// mx.example.org!example.com!1796515200!1796601600.xml.gz
	// 192.0.2.1 2 none pass
	// 198.51.100.9 1 reject fail
	// RCPT TO: [dmarc@example.com]
	// Subject: Report Domain: example.com Submitter: mx.example.org Report-ID: <1796515200.1796601600.example.com@mx.example.org>
}

// A Collector keeps the day's results on disk; after midnight UTC,
// Finished returns the day's reports, and ReportMessages writes the
// messages for the rua= addresses that may receive them.
func ExampleCollector() {
	dir, err := os.MkdirTemp("", "dmarc-reports")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	c, err := dmarc.OpenCollector(dir, &dmarc.CollectorOptions{
		OrgName: "Example Org", Email: "postmaster@mx.example.org", Receiver: "mx.example.org",
		Now: func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	rec, err := dmarc.ParseRecord("v=DMARC1; p=reject; rua=mailto:dmarc@example.com", nil)
	if err != nil {
		log.Fatal(err)
	}
	policy := dmarc.Policy{FromDomain: "example.com", OrgDomain: "example.com", Domain: "example.com", Record: rec}
	legit := dmarc.Args{From: "example.com", SPF: spf.Result{Status: spf.Pass, Domain: "example.com"}}
	for range 3 {
		if _, err := c.Add(netip.MustParseAddr("192.0.2.1"), legit, dmarc.EvaluatePolicy(policy, legit)); err != nil {
			log.Fatal(err)
		}
	}

	now = now.Add(10 * time.Hour) // past midnight
	periods, err := c.Finished()
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range periods {
		fmt.Println(p.Begin.Format(time.RFC3339), "to", p.End.Format(time.RFC3339))
		// The destination is in example.com itself: no DNS lookup is
		// needed to verify it, so no resolver here.
		msgs := dmarc.ReportMessages(context.Background(), nil, p.Reports, dmarc.MessageOptions{From: "dmarc-reports@mx.example.org", Date: now}, nil)
		for _, m := range msgs {
			fmt.Println("RCPT TO:", m.To, "rows:", len(m.Report.Feedback.Records), "count:", m.Report.Feedback.Records[0].Row.Count)
		}
		if err := c.Remove(p); err != nil { // once the messages are queued
			log.Fatal(err)
		}
	}
	// Output:
	// 2026-12-07T00:00:00Z to 2026-12-07T23:59:59Z
	// RCPT TO: [dmarc@example.com] rows: 1 count: 3
}
