package greylist_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/greylist"
)

var t0 = time.Date(2026, 11, 23, 17, 45, 0, 0, time.UTC)

// clock is an injected clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time      { return c.now }
func (c *clock) set(d time.Duration) { c.now = t0.Add(d) }
func newClock() *clock               { return &clock{now: t0} }
func addr(s string) netip.Addr       { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix   { return netip.MustParsePrefix(s) }
func req(client, from, to string) greylist.Request {
	return greylist.Request{Client: addr(client), Sender: from, Recipient: to}
}

// check is one request at a time since t0 and the decision expected.
type check struct {
	name       string
	at         time.Duration
	req        greylist.Request
	action     greylist.Action
	reason     greylist.Reason
	retryAfter time.Duration
	delayed    time.Duration
}

func runChecks(t *testing.T, p *greylist.Policy, c *clock, checks []check) {
	t.Helper()
	for _, ck := range checks {
		c.set(ck.at)
		d, err := p.Check(context.Background(), ck.req)
		if err != nil {
			t.Fatalf("%s: %v", ck.name, err)
		}
		if d.Action != ck.action || d.Reason != ck.reason || d.RetryAfter != ck.retryAfter || d.Delayed != ck.delayed || !d.Time.Equal(c.now) {
			t.Fatalf("%s at +%v: got %v/%v retry %v delayed %v, want %v/%v retry %v delayed %v",
				ck.name, ck.at, d.Action, d.Reason, d.RetryAfter, d.Delayed, ck.action, ck.reason, ck.retryAfter, ck.delayed)
		}
	}
}

func newPolicy(t *testing.T, c *clock, o greylist.Options) *greylist.Policy {
	t.Helper()
	o.Now = c.Now
	p, err := greylist.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	defer_ = greylist.Defer
	pass   = greylist.Pass
)

func TestPolicyDefaults(t *testing.T) {
	c := newClock()
	p := newPolicy(t, c, greylist.Options{})
	r := p.Rules()
	if r.Delay != 300*time.Second || r.RetryWindow != 48*time.Hour || r.MaxAge != 35*24*time.Hour || r.AutoWhitelist != 5 {
		t.Fatalf("default rules %+v", r)
	}
	a := req("192.0.2.1", "alice@example.org", "bob@example.net")
	day := 24 * time.Hour
	runChecks(t, p, c, []check{
		{"new", 0, a, defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"early", 61 * time.Second, a, defer_, greylist.ReasonEarly, 239 * time.Second, 0},
		{"early by 1 ms", 300*time.Second - time.Millisecond, a, defer_, greylist.ReasonEarly, time.Millisecond, 0},
		{"retried", 300 * time.Second, a, pass, greylist.ReasonRetried, 0, 300 * time.Second},
		{"known", time.Hour, a, pass, greylist.ReasonKnown, 0, 0},
		{"same /24, other host", 2 * time.Hour, req("192.0.2.254", "alice@example.org", "bob@example.net"), pass, greylist.ReasonKnown, 0, 0},
		{"other /24", 2 * time.Hour, req("192.0.3.1", "alice@example.org", "bob@example.net"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"mapped IPv4 is the same client", 3 * time.Hour, req("::ffff:192.0.2.9", "alice@example.org", "bob@example.net"), pass, greylist.ReasonKnown, 0, 0},
		{"recipient case", 3 * time.Hour, req("192.0.2.1", "alice@example.org", "BOB@EXAMPLE.NET"), pass, greylist.ReasonKnown, 0, 0},
		{"sender normalised", 3 * time.Hour, req("192.0.2.1", "prvs=0123abcdef=Alice+x@Example.org", "bob@example.net"), pass, greylist.ReasonKnown, 0, 0},
		{"other recipient", 3 * time.Hour, req("192.0.2.1", "alice@example.org", "carol@example.net"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"recipient extension kept", 3 * time.Hour, req("192.0.2.1", "alice@example.org", "bob+x@example.net"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"null sender is a sender", 3 * time.Hour, req("192.0.2.1", "", "bob@example.net"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"still known after 34 days", 35 * day, a, pass, greylist.ReasonKnown, 0, 0},
		{"forgotten after 35 days unseen", 70 * day, a, defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"missed the retry window", 72 * day, a, defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"retried within the window", 72*day + 47*time.Hour, a, pass, greylist.ReasonRetried, 0, 47 * time.Hour},
	})
}

func TestPolicyIPv6(t *testing.T) {
	c := newClock()
	p := newPolicy(t, c, greylist.Options{})
	runChecks(t, p, c, []check{
		{"new", 0, req("2001:db8:0:1::1", "a@x", "b@y"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"same /64", 5 * time.Minute, req("2001:db8:0:1:ffff::2", "a@x", "b@y"), pass, greylist.ReasonRetried, 0, 5 * time.Minute},
		{"other /64", 6 * time.Minute, req("2001:db8:0:2::1", "a@x", "b@y"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
	})
}

func TestPolicyPerHost(t *testing.T) {
	c := newClock()
	p := newPolicy(t, c, greylist.Options{IPv4Prefix: 32, IPv6Prefix: 128, Delay: time.Minute, RetryWindow: time.Hour})
	runChecks(t, p, c, []check{
		{"new", 0, req("192.0.2.1", "a@x", "b@y"), defer_, greylist.ReasonNew, time.Minute, 0},
		{"neighbour is new", time.Minute, req("192.0.2.2", "a@x", "b@y"), defer_, greylist.ReasonNew, time.Minute, 0},
		{"same host passes", 2 * time.Minute, req("192.0.2.1", "a@x", "b@y"), pass, greylist.ReasonRetried, 0, 2 * time.Minute},
		{"v6 host", 0, req("2001:db8::1", "a@x", "b@y"), defer_, greylist.ReasonNew, time.Minute, 0},
		{"v6 neighbour", time.Minute, req("2001:db8::2", "a@x", "b@y"), defer_, greylist.ReasonNew, time.Minute, 0},
	})
}

func TestPolicyAutoWhitelist(t *testing.T) {
	c := newClock()
	p := newPolicy(t, c, greylist.Options{AutoWhitelist: 2})
	var checks []check
	for i, from := range []string{"a@x", "b@x"} {
		start := time.Duration(i) * time.Hour
		checks = append(checks,
			check{"new " + from, start, req("192.0.2.1", from, "r@y"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
			check{"retry " + from, start + 10*time.Minute, req("192.0.2.1", from, "r@y"), pass, greylist.ReasonRetried, 0, 10 * time.Minute})
	}
	checks = append(checks,
		check{"whitelisted", 2 * time.Hour, req("192.0.2.50", "new@z", "r@y"), pass, greylist.ReasonAutoWhitelisted, 0, 0},
		check{"other network", 2 * time.Hour, req("192.0.3.50", "new@z", "r@y"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
	)
	runChecks(t, p, c, checks)

	off := newPolicy(t, c, greylist.Options{AutoWhitelist: -1})
	checks = checks[:0]
	for i := range 10 {
		from := string(rune('a'+i)) + "@x"
		start := time.Duration(i) * time.Hour
		checks = append(checks,
			check{"new " + from, start, req("192.0.2.1", from, "r@y"), defer_, greylist.ReasonNew, 300 * time.Second, 0},
			check{"retry " + from, start + 10*time.Minute, req("192.0.2.1", from, "r@y"), pass, greylist.ReasonRetried, 0, 10 * time.Minute})
	}
	checks = append(checks, check{"never whitelisted", 20 * time.Hour, req("192.0.2.1", "new@z", "r@y"), defer_, greylist.ReasonNew, 300 * time.Second, 0})
	runChecks(t, off, c, checks)
}

// resolver is a fake Resolver: PTR names by address and addresses by name.
type resolver struct {
	ptr   map[string][]string
	ip    map[string][]string
	calls int
}

func (r *resolver) LookupAddr(ctx context.Context, a string) ([]string, error) {
	r.calls++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, ok := r.ptr[a]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: a, IsNotFound: true}
	}
	return names, nil
}

func (r *resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, s := range r.ip[strings.ToLower(strings.TrimSuffix(host, "."))] {
		a := netip.MustParseAddr(s)
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	if out == nil {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// *net.Resolver satisfies Resolver.
var _ greylist.Resolver = (*net.Resolver)(nil)

func TestPolicyWhitelist(t *testing.T) {
	c := newClock()
	res := &resolver{
		ptr: map[string][]string{
			"198.51.100.10": {"mx1.Mail.Example.COM."},
			"198.51.100.11": {"forged.mail.example.com."}, // does not resolve back
			"198.51.100.12": {"other.example.org.", "mx2.mail.example.com."},
			"198.51.100.13": {"mail.example.com.evil.test."},
			"2001:db8::5":   {"mx2.mail.example.com."},
			"2001:db8::6":   {"mx1.mail.example.com."}, // has no AAAA
		},
		ip: map[string][]string{
			"mx1.mail.example.com":       {"198.51.100.10"},
			"forged.mail.example.com":    {"203.0.113.1"},
			"other.example.org":          {"198.51.100.12"},
			"mx2.mail.example.com":       {"2001:db8::5", "198.51.100.12"},
			"mail.example.com.evil.test": {"198.51.100.13"},
		},
	}
	p := newPolicy(t, c, greylist.Options{
		Resolver: res,
		Whitelist: greylist.Whitelist{
			Networks:      []netip.Prefix{prefix("10.0.0.0/8"), prefix("2001:db8:ffff::/48"), prefix("::ffff:172.16.0.0/108")},
			Hosts:         []string{"mail.example.com."},
			SenderDomains: []string{"Trusted.example"},
			Recipients:    []string{"postmaster@", "abuse@example.net", "@open.example", "Spamlovers.example"},
		},
	})
	g := func(name string, r greylist.Request) check {
		if r.Sender == "a@x" { // a triplet of its own
			r.Sender = strings.ReplaceAll(name, " ", ".") + "@x"
		}
		return check{name, 0, r, defer_, greylist.ReasonNew, 300 * time.Second, 0}
	}
	w := func(name string, r greylist.Request, reason greylist.Reason) check {
		return check{name, 0, r, pass, reason, 0, 0}
	}
	withName := req("192.0.2.1", "a@x", "b@y")
	withName.ClientName = "relay.mail.example.com"
	runChecks(t, p, c, []check{
		w("network v4", req("10.1.2.3", "a@x", "b@y"), greylist.ReasonNetwork),
		w("network mapped", req("::ffff:10.1.2.3", "a@x", "b@y"), greylist.ReasonNetwork),
		w("network v6", req("2001:db8:ffff:1::1", "a@x", "b@y"), greylist.ReasonNetwork),
		w("mapped prefix compiled as v4", req("172.16.5.5", "a@x", "b@y"), greylist.ReasonNetwork),
		g("outside networks", req("11.1.2.3", "a@x", "b@y")),
		w("host by PTR", req("198.51.100.10", "a@x", "b@y"), greylist.ReasonHost),
		g("host PTR not confirmed", req("198.51.100.11", "a@x", "b@y")),
		w("second PTR name confirmed", req("198.51.100.12", "a@x", "b@y"), greylist.ReasonHost),
		g("suffix is not a parent domain", req("198.51.100.13", "a@x", "b@y")),
		w("IPv6 host confirmed by AAAA", req("2001:db8::5", "a@x", "b@y"), greylist.ReasonHost),
		g("IPv6 host without AAAA", req("2001:db8::6", "a@x", "b@y")),
		g("no PTR", req("198.51.100.99", "a@x", "b@y")),
		w("verified name given", withName, greylist.ReasonHost),
		g("overlong name", func() greylist.Request {
			r := req("192.0.2.1", "a@x", "b@y")
			r.ClientName = strings.Repeat("a.", 200) + "mail.example.com"
			return r
		}()),
		w("sender domain", req("192.0.2.1", "Someone@TRUSTED.example", "b@y"), greylist.ReasonSender),
		w("sender subdomain", req("192.0.2.1", "someone@lists.trusted.example", "b@y"), greylist.ReasonSender),
		g("sender lookalike", req("192.0.2.1", "someone@untrusted.example", "b@y")),
		w("recipient local part", req("192.0.2.1", "a@x", "PostMaster@any.example"), greylist.ReasonRecipient),
		w("recipient address", req("192.0.2.1", "a@x", "abuse@example.net"), greylist.ReasonRecipient),
		g("recipient address other domain", req("192.0.2.1", "a@x", "abuse@example.org")),
		w("recipient domain with at", req("192.0.2.1", "a@x", "x@open.example"), greylist.ReasonRecipient),
		w("recipient domain", req("192.0.2.1", "a@x", "x@spamlovers.example"), greylist.ReasonRecipient),
		g("recipient subdomain not matched", req("192.0.2.1", "a@x", "x@sub.spamlovers.example")),
	})
	// The resolver is only asked when nothing cheaper matched.
	before := res.calls
	runChecks(t, p, c, []check{w("network first", req("10.9.9.9", "a@trusted.example", "b@y"), greylist.ReasonNetwork)})
	if res.calls != before {
		t.Errorf("resolver asked for a whitelisted network")
	}
}

func TestPolicyHostLimit(t *testing.T) {
	c := newClock()
	names := []string{"a.test.", "b.test.", "c.test.", "mx.example.com."}
	res := &resolver{
		ptr: map[string][]string{"192.0.2.1": names},
		ip: map[string][]string{"a.test": {"192.0.2.1"}, "b.test": {"192.0.2.1"}, "c.test": {"192.0.2.1"},
			"mx.example.com": {"192.0.2.1"}},
	}
	p := newPolicy(t, c, greylist.Options{Resolver: res, MaxHostNames: 3, Whitelist: greylist.Whitelist{Hosts: []string{"example.com"}}})
	runChecks(t, p, c, []check{{"fourth name not checked", 0, req("192.0.2.1", "a@x", "b@y"), defer_, greylist.ReasonNew, 300 * time.Second, 0}})
}

func TestPolicyPrivacy(t *testing.T) {
	c := newClock()
	store, err := greylist.NewMemoryStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	p1 := newPolicy(t, c, greylist.Options{Store: store, Privacy: true, PrivacyKey: []byte("k1")})
	p2 := newPolicy(t, c, greylist.Options{Store: store, Privacy: true, PrivacyKey: []byte("k2")})
	a := req("192.0.2.1", "alice@example.org", "bob@example.net")
	runChecks(t, p1, c, []check{
		{"new", 0, a, defer_, greylist.ReasonNew, 300 * time.Second, 0},
		{"retried", 10 * time.Minute, a, pass, greylist.ReasonRetried, 0, 10 * time.Minute},
	})
	// Another key gives other hashes: the same triplet is new.
	runChecks(t, p2, c, []check{{"other key", 11 * time.Minute, a, defer_, greylist.ReasonNew, 300 * time.Second, 0}})

	var snap bytes.Buffer
	if _, err := store.WriteTo(&snap); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"alice", "example", "bob", "192.0.2"} {
		if bytes.Contains(snap.Bytes(), []byte(secret)) {
			t.Errorf("privacy store holds %q", secret)
		}
	}
}

func TestPolicyInvalidRequest(t *testing.T) {
	c := newClock()
	p := newPolicy(t, c, greylist.Options{})
	long := strings.Repeat("a", 250) + "@example.org"
	for name, r := range map[string]greylist.Request{
		"no client":       {Sender: "a@x", Recipient: "b@y"},
		"empty recipient": req("192.0.2.1", "a@x", ""),
		"long sender":     req("192.0.2.1", long, "b@y"),
		"long recipient":  req("192.0.2.1", "a@x", long),
		"NUL":             req("192.0.2.1", "a\x00@x", "b@y"),
		"CR in recipient": req("192.0.2.1", "a@x", "b@y\r"),
		"LF in sender":    req("192.0.2.1", "a\n@x", "b@y"),
	} {
		if _, err := p.Check(context.Background(), r); !errors.Is(err, greylist.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	// The limit is an option.
	p = newPolicy(t, c, greylist.Options{MaxAddressLength: 1000})
	if _, err := p.Check(context.Background(), req("192.0.2.1", long, "b@y")); err != nil {
		t.Errorf("with MaxAddressLength 1000: %v", err)
	}
}

func TestNewInvalidOptions(t *testing.T) {
	for name, o := range map[string]greylist.Options{
		"window not longer than delay": {Delay: time.Hour, RetryWindow: time.Hour},
		"negative delay":               {Delay: -time.Second},
		"negative max age":             {MaxAge: -time.Second},
		"IPv4 prefix":                  {IPv4Prefix: 33},
		"IPv6 prefix":                  {IPv6Prefix: 129},
		"reply code":                   {ReplyCode: 421},
		"bad network":                  {Whitelist: greylist.Whitelist{Networks: []netip.Prefix{{}}}},
		"empty host":                   {Whitelist: greylist.Whitelist{Hosts: []string{" "}}},
		"empty sender domain":          {Whitelist: greylist.Whitelist{SenderDomains: []string{"@"}}},
		"empty recipient":              {Whitelist: greylist.Whitelist{Recipients: []string{"@"}}},
		"negative address limit":       {MaxAddressLength: -1},
	} {
		if _, err := greylist.New(&o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := greylist.New(nil); err != nil {
		t.Errorf("New(nil): %v", err)
	}
}

// failingStore fails every check.
type failingStore struct{ err error }

func (f failingStore) Check(context.Context, greylist.Query) (greylist.Outcome, error) {
	return greylist.Outcome{}, f.err
}

type badVerdictStore struct{}

func (badVerdictStore) Check(_ context.Context, q greylist.Query) (greylist.Outcome, error) {
	return greylist.Outcome{Verdict: 99, FirstSeen: q.Now}, nil
}

func TestPolicyStoreErrors(t *testing.T) {
	c := newClock()
	boom := errors.New("store down")
	p := newPolicy(t, c, greylist.Options{Store: failingStore{boom}})
	if _, err := p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y")); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the store's error", err)
	}
	// Whitelists do not need the store.
	p = newPolicy(t, c, greylist.Options{Store: failingStore{boom}, Whitelist: greylist.Whitelist{Networks: []netip.Prefix{prefix("192.0.2.0/24")}}})
	if d, err := p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y")); err != nil || d.Reason != greylist.ReasonNetwork {
		t.Errorf("whitelisted with a failing store: %+v, %v", d, err)
	}
	p = newPolicy(t, c, greylist.Options{Store: badVerdictStore{}})
	if _, err := p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y")); err == nil {
		t.Errorf("unknown verdict accepted")
	}
}

func TestReply(t *testing.T) {
	c := newClock()
	c.now = t0.Add(250 * time.Millisecond)
	p := newPolicy(t, c, greylist.Options{})
	d, err := p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y"))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := p.Reply(d)
	// 300 s from 17:45:00.250 is 17:50:00.250: retry after 17:50:01.
	if !ok || r.Code != 451 || r.Enhanced != "4.7.1" || r.String() != "451 4.7.1 Greylisted, please retry in 300 seconds (after 2026-11-23T17:50:01Z)" {
		t.Errorf("reply %q", r)
	}
	c.now = t0.Add(200*time.Second + 500*time.Millisecond)
	d, _ = p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y"))
	r, _ = p.Reply(d)
	if d.RetryAfter != 99750*time.Millisecond || r.Text != "Greylisted, please retry in 100 seconds (after 2026-11-23T17:50:01Z)" {
		t.Errorf("early reply: retry after %v, %q", d.RetryAfter, r)
	}
	c.now = t0.Add(400 * time.Second)
	d, _ = p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y"))
	if _, ok := p.Reply(d); ok {
		t.Errorf("reply for a pass")
	}

	p450 := newPolicy(t, c, greylist.Options{ReplyCode: 450, Delay: 90 * time.Second})
	d, _ = p450.Check(context.Background(), req("192.0.2.1", "a@x", "b@y"))
	if r, _ := p450.Reply(d); r.String() != "450 4.7.1 Greylisted, please retry in 90 seconds (after 2026-11-23T17:53:10Z)" {
		t.Errorf("450 reply %q", r)
	}
}

func TestHeaderValue(t *testing.T) {
	c := newClock()
	p := newPolicy(t, c, greylist.Options{Hostname: "mx.example.net;\r\nBcc: victim@example.org"})
	r := req("192.0.2.1", "a@x", "b@y")
	d, _ := p.Check(context.Background(), r)
	if _, ok := p.HeaderValue(d); ok {
		t.Errorf("header for a deferral")
	}
	c.set(7*time.Minute + 30*time.Second)
	d, _ = p.Check(context.Background(), r)
	h, ok := p.HeaderValue(d)
	want := "delayed 450 seconds by Herald greylist at mx.example.netBcc:victim@example.org; Mon, 23 Nov 2026 17:52:30 +0000"
	if !ok || h != want {
		t.Errorf("header %q, want %q", h, want)
	}
	c.set(8 * time.Minute)
	d, _ = p.Check(context.Background(), r)
	if _, ok := p.HeaderValue(d); ok {
		t.Errorf("header for a known triplet")
	}

	anon := newPolicy(t, newClock(), greylist.Options{})
	h, _ = anon.HeaderValue(greylist.Decision{Action: pass, Reason: greylist.ReasonRetried, Time: t0, Delayed: time.Hour})
	if h != "delayed 3600 seconds by Herald greylist; Mon, 23 Nov 2026 17:45:00 +0000" {
		t.Errorf("header without host name %q", h)
	}
}

func TestPolicyLogger(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	p := newPolicy(t, c, greylist.Options{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if _, err := p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y")); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, "action=defer") || !strings.Contains(got, "reason=new") {
		t.Errorf("log %q", got)
	}
}

func TestStrings(t *testing.T) {
	if greylist.Pass.String() != "pass" || greylist.Defer.String() != "defer" || greylist.Action(9).String() != "Action(9)" {
		t.Error("Action.String")
	}
	if greylist.ReasonAutoWhitelisted.String() != "auto-whitelisted" || greylist.Reason(0).String() != "Reason(0)" || greylist.Reason(200).String() != "Reason(200)" {
		t.Error("Reason.String")
	}
	if greylist.VerdictClientWhitelisted.String() != "client-whitelisted" || greylist.Verdict(0).String() != "Verdict(0)" {
		t.Error("Verdict.String")
	}
	if !greylist.VerdictKnown.Pass() || greylist.VerdictEarly.Pass() {
		t.Error("Verdict.Pass")
	}
}

// FuzzPolicyCheck feeds hostile envelopes to a policy with every whitelist
// kind set: no panic, and every answer is a valid decision or
// ErrInvalidRequest.
func FuzzPolicyCheck(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, "a@x", "b@y", "")
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "prvs=1=@", "@", "mx.example.com")
	f.Add([]byte{}, "", "", "")
	f.Add([]byte{10, 0, 0, 1}, "\x00", "\r\n", ".")
	f.Fuzz(func(t *testing.T, ip []byte, from, to, name string) {
		c := newClock()
		p := newPolicy(t, c, greylist.Options{
			Resolver: &resolver{},
			Whitelist: greylist.Whitelist{
				Networks:      []netip.Prefix{prefix("10.0.0.0/8")},
				Hosts:         []string{"example.com"},
				SenderDomains: []string{"trusted.example"},
				Recipients:    []string{"postmaster@", "example.net"},
			},
		})
		a, _ := netip.AddrFromSlice(ip)
		r := greylist.Request{Client: a, Sender: from, Recipient: to, ClientName: name}
		for i := range 2 {
			c.set(time.Duration(i) * 10 * time.Minute)
			d, err := p.Check(context.Background(), r)
			if err != nil {
				if !errors.Is(err, greylist.ErrInvalidRequest) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if d.Action != pass && d.Action != defer_ {
				t.Fatalf("decision %+v", d)
			}
			if rep, ok := p.Reply(d); ok && strings.ContainsAny(rep.String(), "\r\n") {
				t.Fatalf("reply %q", rep)
			}
		}
	})
}

func TestPolicyKeys(t *testing.T) {
	c := newClock()
	p := newPolicy(t, c, greylist.Options{})
	client, env, err := p.Keys(req("192.0.2.77", "prvs=0123abcdef=Alice+x@Example.org", "Bob@Example.NET"))
	if err != nil || client != "192.0.2.0/24" || env != "alice@example.org\x00bob@example.net" {
		t.Errorf("Keys = %q, %q, %v", client, env, err)
	}
	if _, _, err := p.Keys(req("192.0.2.77", "a@x", "")); !errors.Is(err, greylist.ErrInvalidRequest) {
		t.Errorf("Keys of an invalid request: %v", err)
	}
	priv := newPolicy(t, c, greylist.Options{Privacy: true, IPv4Prefix: 32})
	client, env, err = priv.Keys(req("192.0.2.77", "a@x", "b@y"))
	if err != nil || len(client) != 32 || len(env) != 32 || strings.Contains(client+env, "192") {
		t.Errorf("privacy Keys = %q, %q, %v", client, env, err)
	}
	// Keys are those Check uses: a store preloaded by key sees the request.
	store, _ := greylist.NewMemoryStore(nil)
	p = newPolicy(t, c, greylist.Options{Store: store})
	client, env, _ = p.Keys(req("192.0.2.77", "a@x", "b@y"))
	store.Check(context.Background(), greylist.Query{Client: client, Envelope: env, Now: t0, Rules: p.Rules()})
	runChecks(t, p, c, []check{{"preloaded", 10 * time.Minute, req("192.0.2.1", "a@x", "b@y"), pass, greylist.ReasonRetried, 0, 10 * time.Minute}})
}
