package dmarc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	stdmime "mime"
	"mime/multipart"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/spf"
)

var (
	periodBegin = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	periodEnd   = periodBegin.Add(24 * time.Hour)
)

func mustPolicy(t testing.TB, domain, from, record string) dmarc.Policy {
	t.Helper()
	rec, err := dmarc.ParseRecord(record, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dmarc.Policy{FromDomain: from, OrgDomain: dmarc.OrganizationalDomain(from), Domain: domain, Record: rec}
}

// sampleReport aggregates a day of traffic for example.com.
func sampleReport(t testing.TB) *dmarc.Report {
	t.Helper()
	g := &dmarc.Aggregator{OrgName: "Example Receiver", Email: "postmaster@mx.example.org", Receiver: "mx.example.org"}
	pol := mustPolicy(t, "example.com", "example.com", "v=DMARC1; p=reject; adkim=s; pct=50; rua=mailto:dmarc@example.com,mailto:agg@thirdparty.example.net!100")
	sub := mustPolicy(t, "example.com", "news.example.com", "v=DMARC1; p=reject; adkim=s; pct=50; rua=mailto:dmarc@example.com,mailto:agg@thirdparty.example.net!100")
	good := dmarc.Args{From: "example.com", SPF: spfPass("example.com"), DKIM: []dmarc.DKIMResult{
		{Domain: "example.com", Selector: "s2026", Status: dmarc.DKIMPass},
		{Domain: "esp.example", Selector: "esp", Status: dmarc.DKIMPass},
	}}
	forged := dmarc.Args{From: "example.com", SPF: spfFail("spammer.example"), Rand: &fixedRand{n: 10}}
	sampled := dmarc.Args{From: "example.com", SPF: spf.Result{Status: spf.SoftFail, Domain: "mta.example.com", Identity: spf.IdentityHELO}, Rand: &fixedRand{n: 90}}
	subArgs := dmarc.Args{From: "news.example.com", SPF: spfPass("bounce.news.example.com"), DKIM: dkimPass("news.example.com")}

	add := func(ip string, p dmarc.Policy, a dmarc.Args, n int) {
		for range n {
			res := dmarc.EvaluatePolicy(p, a)
			if !g.Add(netip.MustParseAddr(ip), a, res) {
				t.Fatalf("Add refused %s", ip)
			}
		}
	}
	add("192.0.2.10", pol, good, 3)
	add("2001:db8::25", pol, good, 2)
	add("::ffff:198.51.100.7", pol, forged, 4)
	add("198.51.100.7", pol, sampled, 1)
	add("192.0.2.10", sub, subArgs, 1)
	// A message without a record is not reported.
	if g.Add(netip.MustParseAddr("192.0.2.99"), dmarc.Args{From: "other.example"}, dmarc.Result{Status: dmarc.None}) {
		t.Fatal("Add accepted a message without a record")
	}
	reps := g.Flush(periodBegin, periodEnd)
	if len(reps) != 1 {
		t.Fatalf("%d reports, want 1", len(reps))
	}
	if again := g.Flush(periodBegin, periodEnd); len(again) != 0 {
		t.Fatalf("second Flush returned %d reports", len(again))
	}
	return reps[0]
}

func TestReportContents(t *testing.T) {
	t.Parallel()
	rep := sampleReport(t)
	if got, want := rep.FileName(), "mx.example.org!example.com!1796515200!1796601600.xml.gz"; got != want {
		t.Errorf("FileName() = %q, want %q", got, want)
	}
	fb := rep.Feedback
	wantMeta := dmarc.ReportMetadata{
		OrgName: "Example Receiver", Email: "postmaster@mx.example.org",
		ReportID:  "1796515200.1796601600.example.com@mx.example.org",
		DateRange: dmarc.DateRange{Begin: 1796515200, End: 1796601600},
	}
	if !reflect.DeepEqual(fb.ReportMetadata, wantMeta) {
		t.Errorf("metadata %+v\nwant %+v", fb.ReportMetadata, wantMeta)
	}
	wantPol := dmarc.PolicyPublished{Domain: "example.com", ADKIM: "s", ASPF: "r", P: "reject", SP: "reject", Pct: 50, FO: "0"}
	if fb.PolicyPublished != wantPol {
		t.Errorf("policy %+v\nwant %+v", fb.PolicyPublished, wantPol)
	}
	type row struct {
		ip, dis, dkim, spf, from, reason string
		count, dkimResults               int
		spfScope                         string
	}
	var got []row
	for _, r := range fb.Records {
		reason := ""
		for _, re := range r.Row.PolicyEvaluated.Reasons {
			reason += re.Type + "(" + re.Comment + ")"
		}
		got = append(got, row{r.Row.SourceIP, r.Row.PolicyEvaluated.Disposition, r.Row.PolicyEvaluated.DKIM, r.Row.PolicyEvaluated.SPF,
			r.Identifiers.HeaderFrom, reason, r.Row.Count, len(r.AuthResults.DKIM), r.AuthResults.SPF[0].Scope})
	}
	want := []row{
		{"192.0.2.10", "none", "pass", "pass", "example.com", "", 3, 2, "mfrom"},
		{"2001:db8:0:0:0:0:0:25", "none", "pass", "pass", "example.com", "", 2, 2, "mfrom"},
		{"198.51.100.7", "reject", "fail", "fail", "example.com", "", 4, 0, "mfrom"},
		{"198.51.100.7", "quarantine", "fail", "fail", "example.com", "sampled_out(pct=50)", 1, 0, "helo"},
		{"192.0.2.10", "none", "pass", "pass", "news.example.com", "", 1, 1, "mfrom"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n%v\nwant\n%v", got, want)
	}
	if d := fb.Records[0].AuthResults.DKIM[1]; d != (dmarc.DKIMAuthResult{Domain: "esp.example", Selector: "esp", Result: "pass"}) {
		t.Errorf("second DKIM result %+v", d)
	}
}

// TestReportSchema writes the report, gzip'ed as it is sent, reads it back
// and checks it against the RFC 7489 appendix C schema and against the
// Feedback it was written from.
func TestReportSchema(t *testing.T) {
	t.Parallel()
	s := loadSchema(t, "testdata/rfc7489-appendix-c.xsd")
	rep := sampleReport(t)
	rep.Feedback.ReportMetadata.ExtraContactInfo = "https://mx.example.org/dmarc"
	rep.Feedback.ReportMetadata.Errors = []string{"a note"}
	var gz bytes.Buffer
	if err := rep.WriteGzip(&gz); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "mx.example.org!example.com!1796515200!1796601600.xml" {
		t.Errorf("gzip name %q", zr.Name)
	}
	doc, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(doc, []byte("<?xml")) {
		t.Errorf("no XML declaration: %.40q", doc)
	}
	if errs := validate(t, s, doc); len(errs) > 0 {
		t.Errorf("report does not follow the schema:\n%s\n%s", strings.Join(errs, "\n"), doc)
	}
	var back dmarc.Feedback
	if err := xml.Unmarshal(doc, &back); err != nil {
		t.Fatal(err)
	}
	back.XMLName = xml.Name{}
	orig := rep.Feedback
	orig.XMLName = xml.Name{}
	if !reflect.DeepEqual(back, orig) {
		t.Errorf("read back differs:\n%+v\n%+v", back, orig)
	}
}

func TestReportLimits(t *testing.T) {
	t.Parallel()
	g := &dmarc.Aggregator{OrgName: "o", Email: "e@x.example", Receiver: "x.example", Limits: dmarc.Limits{ReportRows: 2, ReportDomains: 1}}
	pol := mustPolicy(t, "example.com", "example.com", "v=DMARC1; p=none; rua=mailto:d@example.com")
	a := dmarc.Args{From: "example.com"}
	res := dmarc.EvaluatePolicy(pol, a)
	for i := range 5 {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		g.Add(ip, a, res)
		g.Add(ip, a, res)
	}
	other := mustPolicy(t, "example.net", "example.net", "v=DMARC1; p=none; rua=mailto:d@example.net")
	if g.Add(netip.MustParseAddr("192.0.2.1"), dmarc.Args{From: "example.net"}, dmarc.EvaluatePolicy(other, dmarc.Args{From: "example.net"})) {
		t.Error("second domain accepted beyond ReportDomains")
	}
	if g.Dropped() != 1 {
		t.Errorf("Dropped() = %d", g.Dropped())
	}
	reps := g.Flush(periodBegin, periodEnd)
	if len(reps) != 1 || len(reps[0].Feedback.Records) != 2 {
		t.Fatalf("got %d reports", len(reps))
	}
	if c := reps[0].Feedback.Records[0].Row.Count; c != 2 {
		t.Errorf("count %d", c)
	}
	if e := reps[0].Feedback.ReportMetadata.Errors; len(e) != 1 || !strings.HasPrefix(e[0], "6 messages not reported") {
		t.Errorf("errors %q", e)
	}
}

func TestAggregatorConcurrent(t *testing.T) {
	t.Parallel()
	g := &dmarc.Aggregator{OrgName: "o", Email: "e@x.example", Receiver: "x.example"}
	pol := mustPolicy(t, "example.com", "example.com", "v=DMARC1; p=none; rua=mailto:d@example.com")
	a := dmarc.Args{From: "example.com", SPF: spfPass("example.com")}
	res := dmarc.EvaluatePolicy(pol, a)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 100 {
				g.Add(netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 10)}), a, res)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, r := range g.Flush(periodBegin, periodEnd)[0].Feedback.Records {
		total += r.Row.Count
	}
	if total != 800 {
		t.Errorf("counted %d messages, want 800", total)
	}
}

func TestReportMessage(t *testing.T) {
	t.Parallel()
	rep := sampleReport(t)
	var out bytes.Buffer
	to, err := rep.WriteMessage(&out, dmarc.MessageOptions{
		From:      "dmarc-reports@mx.example.org",
		To:        rep.URIs,
		Date:      time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC),
		MessageID: "report-1@mx.example.org",
	})
	if err != nil {
		t.Fatal(err)
	}
	// The third party accepts at most 100 octets; the report is bigger.
	if !reflect.DeepEqual(to, []string{"dmarc@example.com"}) {
		t.Errorf("recipients %v", to)
	}
	m, err := message.ReadMessage(bytes.NewReader(out.Bytes()), &message.ReadOptions{Mode: message.Strict})
	if err != nil {
		t.Fatalf("message does not read strictly: %v", err)
	}
	for name, want := range map[string]string{
		"From":       "dmarc-reports@mx.example.org",
		"To":         "dmarc@example.com",
		"Date":       "Mon, 07 Dec 2026 01:00:00 +0000",
		"Subject":    "Report Domain: example.com Submitter: mx.example.org Report-ID: <1796515200.1796601600.example.com@mx.example.org>",
		"Message-ID": "<report-1@mx.example.org>",
	} {
		if got := m.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	mt, params, err := stdmime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	text, err := mr.NextRawPart()
	if err != nil || !strings.HasPrefix(text.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("first part: %v %v", text.Header, err)
	}
	att, err := mr.NextRawPart()
	if err != nil {
		t.Fatal(err)
	}
	if got := att.Header.Get("Content-Type"); got != `application/gzip; name="mx.example.org!example.com!1796515200!1796601600.xml.gz"` {
		t.Errorf("attachment Content-Type %q", got)
	}
	if _, p, _ := stdmime.ParseMediaType(att.Header.Get("Content-Disposition")); p["filename"] != rep.FileName() {
		t.Errorf("attachment Content-Disposition %q", att.Header.Get("Content-Disposition"))
	}
	raw, _ := io.ReadAll(att)
	for line := range strings.SplitSeq(string(raw), "\r\n") {
		if len(line) > 76 {
			t.Fatalf("base64 line of %d characters", len(line))
		}
	}
	gz, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var fb dmarc.Feedback
	if err := xml.NewDecoder(zr).Decode(&fb); err != nil {
		t.Fatal(err)
	}
	if fb.ReportMetadata.ReportID != rep.Feedback.ReportMetadata.ReportID || len(fb.Records) != len(rep.Feedback.Records) {
		t.Errorf("attachment holds another report: %+v", fb.ReportMetadata)
	}
	if _, err := mr.NextRawPart(); err != io.EOF {
		t.Errorf("more parts: %v", err)
	}
	for _, line := range strings.Split(out.String(), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatal("bare CR or LF in the message")
		}
	}

	// No destination takes it, or no From.
	_, err = rep.WriteMessage(io.Discard, dmarc.MessageOptions{From: "x@mx.example.org", To: rep.URIs[1:]})
	if !errors.Is(err, dmarc.ErrTooLong) {
		t.Errorf("too large for all: %v", err)
	}
	if _, err := rep.WriteMessage(io.Discard, dmarc.MessageOptions{To: rep.URIs}); !errors.Is(err, dmarc.ErrInvalidArgs) {
		t.Errorf("no From: %v", err)
	}
}

// TestDestinations checks RFC 7489 section 7.1: a report URI outside the
// policy domain's organization needs <policy>._report._dmarc.<dest>.
func TestDestinations(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone().
		AddTXT("example.com._report._dmarc.thirdparty.example.net", "v=DMARC1").
		AddTXT("example.com._report._dmarc.wrong.example", "v=spf1 -all").
		SetFault("example.com._report._dmarc.flaky.example", 0, dnstest.ServFail)
	srv := dnstest.NewServer(t, z)
	rec, err := dmarc.ParseRecord("v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@reports.example.com,mailto:c@thirdparty.example.net,mailto:d@victim.example,mailto:e@wrong.example,mailto:f@flaky.example,https://example.com/r", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := &dmarc.Report{Domain: "example.com", URIs: rec.AggregateURIs}
	got, err := rep.Destinations(context.Background(), srv.Resolver(nil))
	if !errors.Is(err, dmarc.ErrDNS) {
		t.Errorf("error %v, want ErrDNS for flaky.example", err)
	}
	var addrs []string
	for _, u := range got {
		addrs = append(addrs, u.Address)
	}
	if want := []string{"a@example.com", "b@reports.example.com", "c@thirdparty.example.net"}; !reflect.DeepEqual(addrs, want) {
		t.Errorf("destinations %v, want %v", addrs, want)
	}
}
