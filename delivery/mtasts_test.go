package delivery

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		mode    STSMode
		mx      []string
		age     time.Duration
		wantErr bool
	}{
		{name: "RFC example", in: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
			mode: STSModeEnforce, mx: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, age: 604800 * time.Second},
		{name: "LF endings, no final newline", in: "version: STSv1\nmode: testing\nmx: MX.Example.COM.\nmax_age: 86400", mode: STSModeTesting, mx: []string{"mx.example.com"}, age: 24 * time.Hour},
		{name: "mode none needs no mx", in: "version: STSv1\nmode: none\nmax_age: 0\n", mode: STSModeNone, age: 0},
		{name: "extension key ignored", in: "version: STSv1\nmode: enforce\nx-ext: v\nmx: a.example\nmax_age: 1\n", mode: STSModeEnforce, mx: []string{"a.example"}, age: time.Second},
		{name: "trailing whitespace", in: "version: STSv1 \nmode:\tenforce\nmx: a.example\nmax_age: 1\n", mode: STSModeEnforce, mx: []string{"a.example"}, age: time.Second},
		{name: "no version", in: "mode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "wrong version", in: "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "two modes", in: "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "unknown mode", in: "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "no mx in enforce", in: "version: STSv1\nmode: enforce\nmax_age: 1\n", wantErr: true},
		{name: "no max_age", in: "version: STSv1\nmode: enforce\nmx: a.example\n", wantErr: true},
		{name: "max_age too big", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", wantErr: true},
		{name: "max_age 11 digits", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 00000000001\n", wantErr: true},
		{name: "negative max_age", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", wantErr: true},
		{name: "bad mx", in: "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", wantErr: true},
		{name: "wildcard in the middle", in: "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n", wantErr: true},
		{name: "not a field", in: "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "empty line inside", in: "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "HTML error page", in: "<html><body>Not found</body></html>", wantErr: true},
		{name: "too big", in: "version: STSv1\nmode: none\nmax_age: 1\n" + strings.Repeat("x: y\n", MaxPolicyBytes/5+1), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tc.in))
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrPolicyInvalid) {
					t.Fatalf("err %v, want ErrPolicyInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != tc.mode || p.MaxAge != tc.age || strings.Join(p.MX, ",") != strings.Join(tc.mx, ",") {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestPolicyMatch(t *testing.T) {
	p := &STSPolicy{MX: []string{"mail.example.com", "*.example.net"}}
	for host, want := range map[string]bool{
		"mail.example.com":    true,
		"MAIL.example.com.":   true,
		"mx1.example.net":     true,
		"example.net":         false,
		"a.b.example.net":     false,
		"mail.example.com.au": false,
		"xmail.example.com":   false,
	} {
		if got := p.Match(host); got != want {
			t.Errorf("Match(%q) = %v", host, got)
		}
	}
}

func TestParseSTSRecord(t *testing.T) {
	cases := []struct {
		in, id string
	}{
		{"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
		{"v=STSv1;id=abc", "abc"},
		{"v=STSv1; id=abc; ext=1", "abc"},
		{"v=STSv1; id=abc; id=def", ""},
		{"id=abc; v=STSv1", ""},
		{"v=STSv1;", ""},
		{"v=STSv1; id=" + strings.Repeat("a", 33), ""},
		{"v=STSv1; id=a-b", ""},
	}
	for _, tc := range cases {
		id, err := ParseSTSRecord(tc.in)
		if id != tc.id || (tc.id == "") != (err != nil) {
			t.Errorf("ParseSTSRecord(%q) = %q, %v; want %q", tc.in, id, err, tc.id)
		}
	}
}

// policyServer is a real HTTPS server on loopback that serves MTA-STS
// policies for mta-sts.<domain> names, with a certificate from the lab CA.
type policyServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	body   map[string]string
	ctype  string
	status int
	hits   int
}

func newPolicyServer(t *testing.T, l *lab, domains ...string) *policyServer {
	ps := &policyServer{body: map[string]string{}, ctype: "text/plain; charset=utf-8", status: 200}
	ps.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.hits++
		host := strings.TrimPrefix(r.Host, "mta-sts.")
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		if ps.status == http.StatusFound {
			http.Redirect(w, r, "https://elsewhere.test/", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", ps.ctype)
		w.WriteHeader(ps.status)
		fmt.Fprint(w, ps.body[host])
	}))
	var names []string
	for _, d := range domains {
		names = append(names, "mta-sts."+d)
	}
	ps.srv.TLS = &tls.Config{Certificates: []tls.Certificate{l.ca.issue(t, time.Now().Add(time.Hour), names...)}}
	ps.srv.StartTLS()
	t.Cleanup(ps.srv.Close)
	return ps
}

// fetcher returns an HTTPSFetcher whose client reaches ps for any host
// name and trusts the lab CA, as the public web PKI would be trusted.
func (ps *policyServer) fetcher(l *lab) *HTTPSFetcher {
	addr := ps.srv.Listener.Addr().String()
	return &HTTPSFetcher{Client: &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: l.ca.pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
	}}
}

func (ps *policyServer) set(domain, body string) {
	ps.mu.Lock()
	ps.body[domain] = body
	ps.mu.Unlock()
}

func (ps *policyServer) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.hits
}

func TestSTSResolverCacheAndFetch(t *testing.T) {
	l := newLab(t)
	ps := newPolicyServer(t, l, "example.test", "other.test")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &STSResolver{Resolver: l.dns.Resolver(nil), Fetcher: ps.fetcher(l), Now: func() time.Time { return now }}
	ctx := context.Background()
	l.zone.AddTXT("_mta-sts.example.test", "v=STSv1; id=one;")
	ps.set("example.test", "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 3600\n")

	p, err := r.Lookup(ctx, "example.test")
	if err != nil || p == nil || p.Mode != STSModeEnforce || ps.count() != 1 {
		t.Fatalf("Lookup = %+v, %v; %d fetches", p, err, ps.count())
	}
	// Same id: the cache answers.
	if p, _ = r.Lookup(ctx, "example.test"); p == nil || ps.count() != 1 {
		t.Fatalf("second lookup fetched again (%d)", ps.count())
	}
	// New id: fetched again.
	l.zone.Remove("_mta-sts.example.test", 16)
	l.zone.AddTXT("_mta-sts.example.test", "v=STSv1; id=two;")
	ps.set("example.test", "version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 3600\n")
	r2 := *l.dns.Resolver(nil) // a fresh DNS cache sees the new record
	r.Resolver = &r2
	if p, _ = r.Lookup(ctx, "example.test"); p == nil || p.Mode != STSModeTesting || ps.count() != 2 {
		t.Fatalf("after id change: %+v, %d fetches", p, ps.count())
	}
	// The record disappears: the cached policy stays until max_age.
	l.zone.Remove("_mta-sts.example.test", 16)
	r3 := *l.dns.Resolver(nil)
	r.Resolver = &r3
	if p, _ = r.Lookup(ctx, "example.test"); p == nil || p.Mode != STSModeTesting {
		t.Fatalf("cached policy dropped early: %+v", p)
	}
	now = now.Add(2 * time.Hour)
	if p, _ = r.Lookup(ctx, "example.test"); p != nil {
		t.Fatalf("expired policy still used: %+v", p)
	}

	// Fetch failures are typed.
	l.zone.AddTXT("_mta-sts.other.test", "v=STSv1; id=x;")
	for _, tc := range []struct {
		status int
		ctype  string
		body   string
		want   error
	}{
		{404, "text/plain", "", ErrPolicyFetch},
		{302, "text/plain", "", ErrPolicyFetch},
		{200, "text/html", "version: STSv1\nmode: none\nmax_age: 1\n", ErrPolicyFetch},
		{200, "text/plain", "mode: enforce\n", ErrPolicyInvalid},
		{200, "text/plain", "version: STSv1\nmode: none\nmax_age: 1\n" + strings.Repeat("x", MaxPolicyBytes), ErrPolicyFetch},
	} {
		ps.mu.Lock()
		ps.status, ps.ctype = tc.status, tc.ctype
		ps.mu.Unlock()
		ps.set("other.test", tc.body)
		if p, err := r.Lookup(ctx, "other.test"); p != nil || !errors.Is(err, tc.want) {
			t.Errorf("status %d %s: %+v, %v; want %v", tc.status, tc.ctype, p, err, tc.want)
		}
	}
	// A certificate not valid for the name.
	l.zone.AddTXT("_mta-sts.third.test", "v=STSv1; id=x;")
	if _, err := r.Lookup(ctx, "third.test"); !errors.Is(err, ErrPolicyWebPKI) {
		t.Errorf("wrong certificate: %v", err)
	}
}

func TestDeliverMTASTS(t *testing.T) {
	l := newLab(t)
	good := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{tls: true})
	bad := l.addMX("mx2.example.test", "127.0.0.3", serverOptions{tls: true, certName: "imposter.test"})
	rogue := l.addMX("rogue.test", "127.0.0.4", serverOptions{tls: true})
	plain := l.addMX("plain.example.test", "127.0.0.5", serverOptions{})
	l.zone.AddMX("enforce.test", 5, "rogue.test") // not in the policy
	l.zone.AddMX("enforce.test", 10, "mx2.example.test")
	l.zone.AddMX("enforce.test", 20, "mx1.example.test")
	l.zone.AddTXT("_mta-sts.enforce.test", "v=STSv1; id=1;")
	l.zone.AddMX("nogood.test", 10, "mx2.example.test")
	l.zone.AddMX("nogood.test", 20, "plain.example.test")
	l.zone.AddTXT("_mta-sts.nogood.test", "v=STSv1; id=1;")
	l.zone.AddMX("testing.test", 10, "plain.example.test")
	l.zone.AddTXT("_mta-sts.testing.test", "v=STSv1; id=1;")
	ps := newPolicyServer(t, l, "enforce.test", "nogood.test", "testing.test")
	ps.set("enforce.test", "version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 86400\n")
	ps.set("nogood.test", "version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 86400\n")
	ps.set("testing.test", "version: STSv1\nmode: testing\nmx: *.example.test\nmax_age: 86400\n")

	d := l.deliverer()
	d.MTASTS = &STSResolver{Resolver: d.Resolver, Fetcher: ps.fetcher(l)}
	d.TLSRPT = &TLSReporter{}
	d.MaxHosts = 10
	res := deliver(t, d, envelope("a@sender.test", "x@enforce.test", "y@nogood.test", "z@testing.test"))
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
	wantStatus(t, res.Recipients[1], StatusTemporary, 451, "4.7.5", "")
	wantStatus(t, res.Recipients[2], StatusDelivered, 250, "2.0.0", "plain.example.test")
	if len(rogue.messages())+len(bad.messages()) != 0 || len(good.messages()) != 1 {
		t.Errorf("rogue %d, bad-cert %d, good %d", len(rogue.messages()), len(bad.messages()), len(good.messages()))
	}
	if got := plain.messages(); len(got) != 1 || got[0].to[0].Domain != "testing.test" {
		t.Errorf("enforce mode fell back to cleartext: %+v", got)
	}

	now := time.Now()
	rep := d.TLSRPT.Report("enforce.test", now.Add(-24*time.Hour), now.Add(24*time.Hour), ReportOptions{OrganizationName: "Herald test", ReportID: "r1", ContactInfo: "postmaster@sender.test"})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"organization-name", "date-range", "contact-info", "report-id", "policies"} {
		if _, ok := back[k]; !ok {
			t.Errorf("report lacks %q: %s", k, b)
		}
	}
	if len(rep.Policies) != 1 {
		t.Fatalf("policies %s", b)
	}
	p := rep.Policies[0]
	if p.Policy.Type != PolicyTypeSTS || p.Policy.Domain != "enforce.test" || len(p.Policy.String) != 4 || p.Policy.MXHost[0] != "*.example.test" {
		t.Errorf("policy %+v", p.Policy)
	}
	if p.Summary.Successful != 1 || p.Summary.Failed != 2 {
		t.Errorf("summary %+v", p.Summary)
	}
	types := map[string]bool{}
	for _, f := range p.FailureDetails {
		types[f.ResultType] = true
		if f.ResultType == ResultCertificateHostMismatch && (f.ReceivingIP != "127.0.0.3" || f.SendingMTAIP != "127.0.0.1" || f.ReceivingMXHostname != "mx2.example.test") {
			t.Errorf("failure detail %+v", f)
		}
	}
	if !types[ResultCertificateHostMismatch] || !types[ResultValidationFailure] {
		t.Errorf("failure details %+v", p.FailureDetails)
	}
	ng := d.TLSRPT.Report("nogood.test", now.Add(-24*time.Hour), now.Add(24*time.Hour), ReportOptions{})
	if len(ng.Policies) != 1 || ng.Policies[0].Summary.Successful != 0 || ng.Policies[0].Summary.Failed != 2 {
		t.Errorf("nogood report %+v", ng.Policies)
	}
}

// TestDeliverMTASTSFetchFailure: a policy that cannot be fetched and is not
// cached means no policy (RFC 8461 section 5.1); the failure is reported.
func TestDeliverMTASTSFetchFailure(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{})
	l.zone.AddMX("broken.test", 10, "mx1.example.test")
	l.zone.AddTXT("_mta-sts.broken.test", "v=STSv1; id=1;")
	ps := newPolicyServer(t, l, "broken.test")
	ps.status = http.StatusNotFound
	d := l.deliverer()
	d.MTASTS = &STSResolver{Resolver: d.Resolver, Fetcher: ps.fetcher(l)}
	d.TLSRPT = &TLSReporter{}
	res := deliver(t, d, envelope("a@sender.test", "x@broken.test"))
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
	if len(m.messages()) != 1 {
		t.Fatal("not delivered")
	}
	now := time.Now()
	rep := d.TLSRPT.Report("broken.test", now.Add(-24*time.Hour), now.Add(24*time.Hour), ReportOptions{})
	found := false
	for _, p := range rep.Policies {
		for _, f := range p.FailureDetails {
			found = found || f.ResultType == ResultSTSPolicyFetchError
		}
	}
	if !found {
		t.Errorf("no sts-policy-fetch-error in %+v", rep.Policies)
	}
}

// TestDeliverMTASTSTestingReportsCertificates: in testing mode mail goes
// out over TLS whatever the certificate, and the report names the problem.
func TestDeliverMTASTSTestingReportsCertificates(t *testing.T) {
	l := newLab(t)
	expired := l.addMX("expired.example.test", "127.0.0.2", serverOptions{tls: true, expired: true})
	l.zone.AddMX("a.test", 10, "expired.example.test")
	l.zone.AddTXT("_mta-sts.a.test", "v=STSv1; id=1;")
	other := newTestCA(t)
	untrusted := l.addMX("untrusted.example.test", "127.0.0.3", serverOptions{tlsConfig: &tls.Config{
		Certificates: []tls.Certificate{other.issue(t, time.Now().Add(time.Hour), "untrusted.example.test")}}})
	l.zone.AddMX("b.test", 10, "untrusted.example.test")
	l.zone.AddTXT("_mta-sts.b.test", "v=STSv1; id=1;")
	ps := newPolicyServer(t, l, "a.test", "b.test")
	for _, dom := range []string{"a.test", "b.test"} {
		ps.set(dom, "version: STSv1\nmode: testing\nmx: *.example.test\nmax_age: 86400\n")
	}
	d := l.deliverer()
	d.MTASTS = &STSResolver{Resolver: d.Resolver, Fetcher: ps.fetcher(l)}
	d.TLSRPT = &TLSReporter{}
	res := deliver(t, d, envelope("s@sender.test", "x@a.test", "y@b.test"))
	for _, r := range res.Recipients {
		if r.Status != StatusDelivered || !r.TLS {
			t.Errorf("%s: %v TLS %v", r.To, r.Status, r.TLS)
		}
	}
	if len(expired.messages()) != 1 || len(untrusted.messages()) != 1 {
		t.Fatal("testing mode did not deliver")
	}
	now := time.Now()
	for dom, want := range map[string]string{"a.test": ResultCertificateExpired, "b.test": ResultCertificateNotTrusted} {
		rep := d.TLSRPT.Report(dom, now.Add(-24*time.Hour), now.Add(24*time.Hour), ReportOptions{})
		if len(rep.Policies) != 1 || len(rep.Policies[0].FailureDetails) != 1 || rep.Policies[0].FailureDetails[0].ResultType != want {
			t.Errorf("%s: %+v", dom, rep.Policies)
		}
	}
}
