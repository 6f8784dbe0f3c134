package dmarc_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

const ruaRecord = "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"

// evaluation is one message for the collector tests.
type evaluation struct {
	ip     string
	domain string // policy domain, also the From domain
	args   dmarc.Args
}

func (e evaluation) add(t *testing.T, c *dmarc.Collector, record string) bool {
	t.Helper()
	p := mustPolicy(t, e.domain, e.domain, record)
	res := dmarc.EvaluatePolicy(p, e.args)
	ok, err := c.Add(netip.MustParseAddr(e.ip), e.args, res)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func openCollector(t *testing.T, dir string, clk *testClock, o dmarc.CollectorOptions) *dmarc.Collector {
	t.Helper()
	o.OrgName, o.Email, o.Receiver, o.Now = "Receiver", "dmarc@mx.example.org", "mx.example.org", clk.Now
	c, err := dmarc.OpenCollector(dir, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rowCounts returns the count of each row of the reports as
// "domain ip spf-result", and the error elements.
func rowCounts(p *dmarc.Period) (map[string]int, []string) {
	m := map[string]int{}
	var errs []string
	for _, r := range p.Reports {
		for _, rec := range r.Feedback.Records {
			m[r.Domain+" "+rec.Row.SourceIP+" "+rec.Row.PolicyEvaluated.SPF] += rec.Row.Count
		}
		errs = append(errs, r.Feedback.ReportMetadata.Errors...)
	}
	return m, errs
}

func TestCollector(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	good := dmarc.Args{From: "example.com", SPF: spfPass("example.com")}
	bad := dmarc.Args{From: "example.com", SPF: spfFail("spammer.example")}
	for _, tc := range []struct {
		name     string
		opts     dmarc.CollectorOptions
		msgs     []evaluation
		counted  int // Add returned true
		want     map[string]int
		errors   int // reports with an <error>
		dropped  int
		nReports int
	}{
		{
			name: "rows counted",
			msgs: []evaluation{
				{"192.0.2.1", "example.com", good}, {"192.0.2.1", "example.com", good},
				{"192.0.2.1", "example.com", bad}, {"2001:db8::1", "example.com", good},
				{"192.0.2.1", "example.net", good},
			},
			counted:  5,
			want:     map[string]int{"example.com 192.0.2.1 pass": 2, "example.com 192.0.2.1 fail": 1, "example.com 2001:db8:0:0:0:0:0:1 pass": 1, "example.net 192.0.2.1 fail": 1},
			nReports: 2,
		},
		{
			name: "rows per domain full",
			opts: dmarc.CollectorOptions{Limits: dmarc.Limits{ReportRows: 1}},
			msgs: []evaluation{
				{"192.0.2.1", "example.com", good}, {"192.0.2.2", "example.com", good},
				{"192.0.2.1", "example.com", good}, {"192.0.2.3", "example.com", good},
			},
			counted:  2,
			want:     map[string]int{"example.com 192.0.2.1 pass": 2},
			errors:   1,
			nReports: 1,
		},
		{
			name: "domains full",
			opts: dmarc.CollectorOptions{Limits: dmarc.Limits{ReportDomains: 1}},
			msgs: []evaluation{
				{"192.0.2.1", "example.com", good}, {"192.0.2.1", "example.net", good},
				{"192.0.2.1", "example.org", good},
			},
			counted:  1,
			want:     map[string]int{"example.com 192.0.2.1 pass": 1},
			dropped:  2,
			nReports: 1,
		},
		{
			name: "total rows full",
			opts: dmarc.CollectorOptions{MaxRows: 2},
			msgs: []evaluation{
				{"192.0.2.1", "example.com", good}, {"192.0.2.1", "example.net", good},
				{"192.0.2.2", "example.net", good}, {"192.0.2.1", "example.net", good},
			},
			counted:  3,
			want:     map[string]int{"example.com 192.0.2.1 pass": 1, "example.net 192.0.2.1 fail": 2},
			errors:   1,
			nReports: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &testClock{t: day.Add(9 * time.Hour)}
			c := openCollector(t, t.TempDir(), clk, tc.opts)
			counted := 0
			for _, m := range tc.msgs {
				if m.add(t, c, strings.Replace(ruaRecord, "example.com", m.domain, 1)) {
					counted++
				}
			}
			// Not reportable: no rua=.
			if (evaluation{"192.0.2.9", "example.com", good}).add(t, c, "v=DMARC1; p=none") {
				t.Error("a result without rua= was counted")
			}
			if counted != tc.counted {
				t.Errorf("%d messages counted, want %d", counted, tc.counted)
			}
			if ps, err := c.Finished(); err != nil || len(ps) != 0 {
				t.Fatalf("Finished before midnight: %v %v", ps, err)
			}
			clk.Set(day.Add(24*time.Hour + time.Second))
			ps, err := c.Finished()
			if err != nil || len(ps) != 1 {
				t.Fatalf("Finished after midnight: %d periods, %v", len(ps), err)
			}
			p := ps[0]
			if !p.Begin.Equal(day) || !p.End.Equal(day.Add(24*time.Hour-time.Second)) {
				t.Errorf("period %v to %v", p.Begin, p.End)
			}
			got, errs := rowCounts(p)
			if !equalCounts(got, tc.want) || len(p.Reports) != tc.nReports {
				t.Errorf("rows %v in %d reports, want %v in %d", got, len(p.Reports), tc.want, tc.nReports)
			}
			if len(errs) != tc.errors || p.Dropped != tc.dropped {
				t.Errorf("errors %q, dropped %d; want %d errors, %d dropped", errs, p.Dropped, tc.errors, tc.dropped)
			}
			for _, r := range p.Reports {
				if r.Feedback.ReportMetadata.DateRange.Begin != day.Unix() || r.Receiver != "mx.example.org" {
					t.Errorf("report metadata %+v", r.Feedback.ReportMetadata)
				}
			}
			if err := c.Remove(p); err != nil {
				t.Fatal(err)
			}
			if ps, _ := c.Finished(); len(ps) != 0 {
				t.Errorf("%d periods after Remove", len(ps))
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCollectorRestart stops and reopens the collector within a day, with
// a torn last entry and a corrupt one in the log as a crash or a bad disk
// would leave them; then the day is reported by a collector opened the
// next day, as a server restarted after midnight does.
func TestCollectorRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	clk := &testClock{t: day.Add(10 * time.Hour)}
	good := dmarc.Args{From: "example.com", SPF: spfPass("example.com")}
	other := dmarc.Args{From: "example.com", SPF: spfPass("example.com"), DKIM: dkimPass("example.com")}

	c := openCollector(t, dir, clk, dmarc.CollectorOptions{})
	for range 3 {
		evaluation{"192.0.2.1", "example.com", good}.add(t, c, ruaRecord)
	}
	evaluation{"192.0.2.2", "example.com", other}.add(t, c, ruaRecord)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "2026-12-07.log")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	// H, D, R, +, +, R and the empty string after the last LF.
	if len(lines) != 7 || !strings.Contains(lines[0], " H herald-dmarc-log 1 ") {
		t.Fatalf("log:\n%s", b)
	}
	// A flipped octet in the second "+" entry, and a torn entry at the end.
	lines[4] = strings.Replace(lines[4], "+ 0", "+ 1", 1)
	torn := strings.Join(lines, "") + "0123abcd + 0"
	if err := os.WriteFile(log, []byte(torn), 0o600); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	clk.Set(day.Add(20 * time.Hour))
	c = openCollector(t, dir, clk, dmarc.CollectorOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "corrupt entries skipped") {
		t.Errorf("no warning about the corrupt entry: %s", logs.String())
	}
	evaluation{"192.0.2.1", "example.com", good}.add(t, c, ruaRecord)
	evaluation{"192.0.2.3", "example.com", good}.add(t, c, ruaRecord)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(log)
	if strings.Contains(string(b), "0123abcd") {
		t.Errorf("the torn entry was not cut off:\n%s", b)
	}

	// The next day, a new process.
	clk.Set(day.Add(25 * time.Hour))
	c = openCollector(t, dir, clk, dmarc.CollectorOptions{})
	ps, err := c.Finished()
	if err != nil || len(ps) != 1 {
		t.Fatalf("%d periods, %v", len(ps), err)
	}
	got, _ := rowCounts(ps[0])
	// 3 messages from .1 before the restart less the corrupt entry, 1
	// after; .2 once; .3 once.
	want := map[string]int{"example.com 192.0.2.1 pass": 3, "example.com 192.0.2.2 pass": 1, "example.com 192.0.2.3 pass": 1}
	if !equalCounts(got, want) || ps[0].Skipped != 1 {
		t.Errorf("rows %v, skipped %d; want %v, 1 skipped", got, ps[0].Skipped, want)
	}
	// Today's log is there, empty but for its header.
	if _, err := os.Stat(filepath.Join(dir, "2026-12-08.log")); err != nil {
		t.Error(err)
	}
}

// TestCollectorSchema checks a collected report against the appendix C
// schema.
func TestCollectorSchema(t *testing.T) {
	t.Parallel()
	s := loadSchema(t, "testdata/rfc7489-appendix-c.xsd")
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	clk := &testClock{t: day.Add(time.Hour)}
	c := openCollector(t, t.TempDir(), clk, dmarc.CollectorOptions{})
	evaluation{"192.0.2.1", "example.com", dmarc.Args{From: "example.com", SPF: spfPass("example.com"), DKIM: dkimPass("example.com")}}.add(t, c, ruaRecord)
	evaluation{"192.0.2.2", "example.com", dmarc.Args{From: "example.com", SPF: spfFail("x.example")}}.add(t, c, ruaRecord)
	clk.Set(day.Add(25 * time.Hour))
	ps, err := c.Finished()
	if err != nil || len(ps) != 1 || len(ps[0].Reports) != 1 {
		t.Fatalf("%v %v", ps, err)
	}
	var doc bytes.Buffer
	if err := ps[0].Reports[0].WriteXML(&doc); err != nil {
		t.Fatal(err)
	}
	if errs := validate(t, s, doc.Bytes()); len(errs) > 0 {
		t.Errorf("report does not follow the schema:\n%s\n%s", strings.Join(errs, "\n"), doc.String())
	}
}

// TestReportMessages sends a report to destinations of every kind: its own
// organizational domain, a third party that confirms, one that does not,
// one whose DNS fails, and one whose size limit is too small.
func TestReportMessages(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone().
		AddTXT("example.com._report._dmarc.thirdparty.example.net", "v=DMARC1").
		SetFault("example.com._report._dmarc.flaky.example", 0, dnstest.ServFail)
	srv := dnstest.NewServer(t, z)
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		rua     string
		wantTo  string // "" for no message
		wantLog []string
	}{
		{"mailto:a@example.com,mailto:b@reports.example.com", "a@example.com b@reports.example.com", nil},
		{"mailto:c@thirdparty.example.net", "c@thirdparty.example.net", nil},
		{"https://example.com/dmarc,mailto:a@example.com", "a@example.com", []string{`level=INFO msg="DMARC report not sent to a destination that is not a mailto: URI"`, "uri=https://example.com/dmarc"}},
		{"mailto:d@victim.example,mailto:a@example.com", "a@example.com", []string{`level=INFO msg="DMARC report not sent to a destination that does not accept reports for the domain" domain=example.com`, "uri=mailto:d@victim.example"}},
		{"mailto:f@flaky.example", "", []string{`level=WARN msg="DMARC report not sent to a destination: its verification failed"`, `level=WARN msg="DMARC report not sent: no destination left"`}},
		{"mailto:a@example.com!100,mailto:big@example.com!10m", "big@example.com", []string{`level=WARN msg="DMARC report not sent to a destination: larger than its size limit"`, "uri=mailto:a@example.com", "limit=100"}},
	} {
		t.Run(tc.rua, func(t *testing.T) {
			rec, err := dmarc.ParseRecord("v=DMARC1; p=none; rua="+tc.rua, nil)
			if err != nil {
				t.Fatal(err)
			}
			rep := sampleReport(t)
			rep.URIs = rec.AggregateURIs
			var logs bytes.Buffer
			out := dmarc.ReportMessages(context.Background(), srv.Resolver(nil), []*dmarc.Report{rep},
				dmarc.MessageOptions{From: "dmarc@mx.example.org", Date: day.Add(25 * time.Hour)},
				slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime})))
			if tc.wantTo == "" {
				if len(out) != 0 {
					t.Errorf("a message to %v", out[0].To)
				}
			} else if len(out) != 1 || strings.Join(out[0].To, " ") != tc.wantTo {
				t.Errorf("messages %v, want one to %s", out, tc.wantTo)
			} else if !bytes.Contains(out[0].Message, []byte("\r\nTo: "+strings.ReplaceAll(tc.wantTo, " ", ", ")+"\r\n")) {
				t.Errorf("message:\n%s", out[0].Message)
			}
			for _, w := range tc.wantLog {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, logs.String())
				}
			}
			if tc.wantLog == nil && logs.Len() > 0 {
				t.Errorf("unexpected log:\n%s", logs.String())
			}
		})
	}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// TestCollectorConcurrent adds from several goroutines while the clock
// passes midnight (run with -race): every message is counted once, in one
// of the two days.
func TestCollectorConcurrent(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	clk := &testClock{t: day.Add(24*time.Hour - time.Second)}
	c := openCollector(t, t.TempDir(), clk, dmarc.CollectorOptions{})
	good := dmarc.Args{From: "example.com", SPF: spfPass("example.com")}
	res := dmarc.EvaluatePolicy(mustPolicy(t, "example.com", "example.com", ruaRecord), good)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				if g == 0 && i == 50 {
					clk.Set(day.Add(24 * time.Hour))
				}
				if _, err := c.Add(netip.MustParseAddr("192.0.2.1"), good, res); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	clk.Set(day.Add(48 * time.Hour))
	ps, err := c.Finished()
	if err != nil || len(ps) != 2 {
		t.Fatalf("%d periods, %v", len(ps), err)
	}
	total := 0
	for _, p := range ps {
		for _, r := range p.Reports {
			for _, rec := range r.Feedback.Records {
				total += rec.Row.Count
			}
		}
	}
	if total != 400 {
		t.Errorf("%d messages counted, want 400", total)
	}
}
