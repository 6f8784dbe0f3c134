package dnsmx_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/miekg/dns"
)

func testZone() *dnstest.Zone {
	z := dnstest.NewZone()
	z.AddA("example.com", "192.0.2.1", "2001:db8::1")
	z.AddA("v4only.example.com", "192.0.2.4")
	z.AddTXT("example.com", "v=spf1 ", "ip4:192.0.2.0/24 ", "-all")
	z.AddTXT("example.com", "second record")
	z.AddTXT("bytes.example.com", "quote\" back\\slash \x00\xff")
	z.AddMX("example.com", 10, "mx1.example.com")
	z.AddCNAME("alias.example.com", "example.com")
	z.AddCNAME("alias2.example.com", "alias.example.com")
	z.AddCNAME("outside.example.com", "target.example.net")
	z.AddA("target.example.net", "198.51.100.7")
	z.AddPTR("192.0.2.1", "example.com")
	z.AddPTR("2001:db8::1", "v6.example.com")
	z.AddA("xn--bcher-kva.example", "192.0.2.9")
	z.AddTXT("_spf.example.com", "v=spf1 -all")
	return z
}

func TestClientLookups(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, testZone())
	r := srv.Resolver(nil)
	ctx := t.Context()

	tests := []struct {
		name    string
		do      func() (any, error)
		want    string
		wantErr error
	}{
		{"TXT joins strings", func() (any, error) { return r.LookupTXT(ctx, "example.com") }, "[v=spf1 ip4:192.0.2.0/24 -all second record]", nil},
		{"TXT raw bytes", func() (any, error) { return r.LookupTXT(ctx, "bytes.example.com") }, "[\"quote\\\" back\\\\slash \\x00\\xff\"]", nil},
		{"TXT underscore", func() (any, error) { return r.LookupTXT(ctx, "_spf.example.com.") }, "[v=spf1 -all]", nil},
		{"TXT case-insensitive", func() (any, error) { return r.LookupTXT(ctx, "EXAMPLE.Com") }, "[v=spf1 ip4:192.0.2.0/24 -all second record]", nil},
		{"A", func() (any, error) { return r.LookupNetIP(ctx, "ip4", "example.com") }, "[192.0.2.1]", nil},
		{"AAAA", func() (any, error) { return r.LookupNetIP(ctx, "ip6", "example.com") }, "[2001:db8::1]", nil},
		{"both", func() (any, error) { return r.LookupNetIP(ctx, "ip", "example.com") }, "[192.0.2.1 2001:db8::1]", nil},
		{"both one family", func() (any, error) { return r.LookupNetIP(ctx, "ip", "v4only.example.com") }, "[192.0.2.4]", nil},
		{"AAAA nodata", func() (any, error) { return r.LookupNetIP(ctx, "ip6", "v4only.example.com") }, "", dnsmx.ErrNoData},
		{"ip literal", func() (any, error) { return r.LookupNetIP(ctx, "ip", "192.0.2.200") }, "[192.0.2.200]", nil},
		{"ip literal wrong family", func() (any, error) { return r.LookupNetIP(ctx, "ip6", "192.0.2.200") }, "", dnsmx.ErrNoData},
		{"bad network", func() (any, error) { return r.LookupNetIP(ctx, "tcp", "example.com") }, "", dnsmx.ErrInvalidName},
		{"CNAME", func() (any, error) { return r.LookupNetIP(ctx, "ip4", "alias2.example.com") }, "[192.0.2.1]", nil},
		{"CNAME out of zone", func() (any, error) { return r.LookupNetIP(ctx, "ip4", "outside.example.com") }, "[198.51.100.7]", nil},
		{"CNAME nodata", func() (any, error) { return r.LookupMX(ctx, "alias.example.com") }, "[10 mx1.example.com.]", nil},
		{"MX", func() (any, error) { return r.LookupMX(ctx, "example.com") }, "[10 mx1.example.com.]", nil},
		{"PTR v4", func() (any, error) { return r.LookupAddr(ctx, "192.0.2.1") }, "[example.com.]", nil},
		{"PTR v6", func() (any, error) { return r.LookupAddr(ctx, "2001:db8::1") }, "[v6.example.com.]", nil},
		{"PTR bad", func() (any, error) { return r.LookupAddr(ctx, "not an ip") }, "", dnsmx.ErrInvalidName},
		{"PTR none", func() (any, error) { return r.LookupAddr(ctx, "192.0.2.77") }, "", dnsmx.ErrNotFound},
		{"NXDOMAIN", func() (any, error) { return r.LookupTXT(ctx, "nope.example.com") }, "", dnsmx.ErrNotFound},
		{"NXDOMAIN both", func() (any, error) { return r.LookupNetIP(ctx, "ip", "nope.example.com") }, "", dnsmx.ErrNotFound},
		{"nodata", func() (any, error) { return r.LookupMX(ctx, "v4only.example.com") }, "", dnsmx.ErrNoData},
		{"empty non-terminal", func() (any, error) { return r.LookupTXT(ctx, "net") }, "", dnsmx.ErrNoData},
		{"IDNA", func() (any, error) { return r.LookupNetIP(ctx, "ip4", "Bücher.example") }, "[192.0.2.9]", nil},
		{"IDNA full stop", func() (any, error) { return r.LookupNetIP(ctx, "ip4", "bücher。example") }, "[192.0.2.9]", nil},
		{"bad name", func() (any, error) { return r.LookupTXT(ctx, "a..b") }, "", dnsmx.ErrInvalidName},
		{"long label", func() (any, error) { return r.LookupTXT(ctx, strings.Repeat("a", 64)+".com") }, "", dnsmx.ErrInvalidName},
		{"bad IDNA", func() (any, error) { return r.LookupTXT(ctx, "a\u200d.example") }, "", dnsmx.ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.do()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := format(v); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestClientFaults(t *testing.T) {
	t.Parallel()
	z := testZone()
	z.AddA("slow.example.com", "192.0.2.50").SetFault("slow.example.com", 0, dnstest.Timeout)
	z.AddA("broken.example.com", "192.0.2.51").SetFault("broken.example.com", 0, dnstest.ServFail)
	z.AddA("refused.example.com", "192.0.2.52").SetFault("refused.example.com", 0, dnstest.Refused)
	z.AddA("junk.example.com", "192.0.2.53").SetFault("junk.example.com", 0, dnstest.Malformed)
	z.AddA("half.example.com", "192.0.2.54").SetFault("half.example.com", dns.TypeAAAA, dnstest.ServFail)
	srv := dnstest.NewServer(t, z)
	r := srv.Resolver(nil)
	ctx := t.Context()

	tests := []struct {
		name      string
		host      string
		network   string
		wantRcode int
		timeout   bool
	}{
		{"timeout", "slow.example.com", "ip4", dnsmx.RcodeNone, true},
		{"servfail", "broken.example.com", "ip4", dns.RcodeServerFailure, false},
		{"refused", "refused.example.com", "ip4", dns.RcodeRefused, false},
		{"malformed", "junk.example.com", "ip4", dnsmx.RcodeNone, false},
		{"one family fails", "half.example.com", "ip6", dns.RcodeServerFailure, false},
	}
	fast := srv.Resolver(&dnsmx.ClientOptions{Timeout: 50 * time.Millisecond})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := r
			if tc.timeout {
				res = fast // only ever times out: a short timeout cannot flake
			}
			_, err := res.LookupNetIP(ctx, tc.network, tc.host)
			var de *dnsmx.Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *dnsmx.Error", err)
			}
			if !errors.Is(err, dnsmx.ErrTemporary) || !de.Temporary() || !dnsmx.IsTemporary(err) {
				t.Fatalf("err = %v, want temporary", err)
			}
			if errors.Is(err, dnsmx.ErrNotFound) || errors.Is(err, dnsmx.ErrNoData) {
				t.Fatalf("err = %v also matches a permanent category", err)
			}
			if de.Rcode != tc.wantRcode {
				t.Fatalf("rcode = %d, want %d", de.Rcode, tc.wantRcode)
			}
			if de.Timeout() != tc.timeout {
				t.Fatalf("Timeout() = %v, want %v (%v)", de.Timeout(), tc.timeout, err)
			}
		})
	}

	t.Run("one family fails, the other answers", func(t *testing.T) {
		got, err := r.LookupNetIP(ctx, "ip", "half.example.com")
		if err != nil || format(got) != "[192.0.2.54]" {
			t.Fatalf("got %v, %v", got, err)
		}
	})

	t.Run("temporary failures are not cached", func(t *testing.T) {
		before := srv.QueryCount("broken.example.com", dns.TypeA)
		r.LookupNetIP(ctx, "ip4", "broken.example.com")
		if n := srv.QueryCount("broken.example.com", dns.TypeA); n != before+1 {
			t.Fatalf("queries %d -> %d, want one more", before, n)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := r.LookupTXT(cctx, "example.org")
		if !errors.Is(err, context.Canceled) || !errors.Is(err, dnsmx.ErrTemporary) {
			t.Fatalf("err = %v, want Canceled and ErrTemporary", err)
		}
	})

	t.Run("deadline during a timeout", func(t *testing.T) {
		slow := srv.Resolver(&dnsmx.ClientOptions{Timeout: time.Minute, Attempts: 3, CacheSize: -1})
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := slow.LookupTXT(dctx, "slow.example.com")
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, dnsmx.ErrTemporary) {
			t.Fatalf("err = %v, want DeadlineExceeded and ErrTemporary", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("lookup took %v after the context ended", d)
		}
	})
}

func TestClientFailover(t *testing.T) {
	t.Parallel()
	bad := dnstest.NewZone()
	bad.SetFault("example.com", 0, dnstest.ServFail)
	badSrv := dnstest.NewServer(t, bad)
	slowSrv := dnstest.NewServer(t, dnstest.NewZone().SetFault("example.com", 0, dnstest.Timeout))
	good := dnstest.NewServer(t, testZone())
	r, err := dnsmx.NewClient(&dnsmx.ClientOptions{
		Servers: []string{badSrv.Addr, slowSrv.Addr, good.Addr},
		Timeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.LookupMX(t.Context(), "example.com")
	if err != nil || format(got) != "[10 mx1.example.com.]" {
		t.Fatalf("got %v, %v", format(got), err)
	}
	if badSrv.QueryCount("example.com", dns.TypeMX) != 1 || slowSrv.QueryCount("example.com", dns.TypeMX) != 1 {
		t.Fatalf("queries: bad %v, slow %v", badSrv.Queries(), slowSrv.Queries())
	}

	// All servers failing: the answer of the last failing server is
	// reported, after Attempts rounds.
	r2, _ := dnsmx.NewClient(&dnsmx.ClientOptions{Servers: []string{badSrv.Addr}, Attempts: 3})
	_, err = r2.LookupMX(t.Context(), "example.com")
	var de *dnsmx.Error
	if !errors.As(err, &de) || de.Rcode != dns.RcodeServerFailure || de.Server != badSrv.Addr {
		t.Fatalf("err = %#v", err)
	}
	if n := badSrv.QueryCount("example.com", dns.TypeMX); n != 1+3 {
		t.Fatalf("bad server got %d queries, want 4", n)
	}
}

func TestClientTruncation(t *testing.T) {
	t.Parallel()
	z := testZone()
	z.SetFault("example.com", dns.TypeTXT, dnstest.Truncate)
	z.SetFault("junk.example.com", 0, dnstest.Malformed)
	for i := range 60 {
		z.AddTXT("big.example.com", strings.Repeat("x", 40)+string(rune('a'+i%26)))
	}
	srv := dnstest.NewServer(t, z)
	r := srv.Resolver(nil)

	t.Run("forced", func(t *testing.T) {
		got, err := r.LookupTXT(t.Context(), "example.com")
		if err != nil || len(got) != 2 {
			t.Fatalf("got %v, %v", got, err)
		}
		assertNetworks(t, srv, "example.com.", dns.TypeTXT, "udp", "tcp")
	})
	t.Run("large answer", func(t *testing.T) {
		got, err := r.LookupTXT(t.Context(), "big.example.com")
		if err != nil || len(got) != 60 {
			t.Fatalf("got %d records, %v", len(got), err)
		}
		assertNetworks(t, srv, "big.example.com.", dns.TypeTXT, "udp", "tcp")
	})
	t.Run("malformed over UDP retried over TCP", func(t *testing.T) {
		_, err := r.LookupTXT(t.Context(), "junk.example.com")
		if !dnsmx.IsTemporary(err) {
			t.Fatalf("err = %v, want temporary", err)
		}
		assertNetworks(t, srv, "junk.example.com.", dns.TypeTXT, "udp", "tcp")
	})
	t.Run("fits", func(t *testing.T) {
		if _, err := r.LookupMX(t.Context(), "example.com"); err != nil {
			t.Fatal(err)
		}
		assertNetworks(t, srv, "example.com.", dns.TypeMX, "udp")
	})
}

func assertNetworks(t *testing.T, srv *dnstest.Server, name string, qtype uint16, want ...string) {
	t.Helper()
	var got []string
	for _, q := range srv.Queries() {
		if q.Name == name && q.Type == qtype {
			got = append(got, q.Network)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s %s asked over %v, want %v", name, dns.TypeToString[qtype], got, want)
	}
}

func TestClientCNAMEChains(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone()
	z.AddCNAME("loop1.example.com", "loop2.example.com")
	z.AddCNAME("loop2.example.com", "loop1.example.com")
	z.AddCNAME("self.example.com", "self.example.com")
	for i := range 12 {
		z.AddCNAME(chain(i), chain(i+1))
	}
	z.AddA(chain(12), "192.0.2.12")
	srv := dnstest.NewServer(t, z)

	tests := []struct {
		name     string
		host     string
		maxChain int
		want     string
		wantErr  error
	}{
		{"loop", "loop1.example.com", 0, "", dnsmx.ErrCNAMELoop},
		{"self", "self.example.com", 0, "", dnsmx.ErrCNAMELoop},
		{"chain within limit", chain(4), 0, "[192.0.2.12]", nil},
		{"chain over default limit", chain(0), 0, "", dnsmx.ErrCNAMELoop},
		{"chain with raised limit", chain(0), 12, "[192.0.2.12]", nil},
		{"chain at lowered limit", chain(10), 2, "[192.0.2.12]", nil},
		{"chain over lowered limit", chain(9), 2, "", dnsmx.ErrCNAMELoop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Resolver(&dnsmx.ClientOptions{MaxCNAMEChain: tc.maxChain})
			got, err := r.LookupNetIP(t.Context(), "ip4", tc.host)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || dnsmx.IsTemporary(err) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || format(got) != tc.want {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func chain(i int) string { return "c" + string(rune('a'+i)) + ".chain.example" }

func TestClientQueryAuthentic(t *testing.T) {
	t.Parallel()
	z := testZone()
	z.SetAuthentic("example.com", true)
	z.SetAuthentic("alias.example.com", true)
	z.AddTXT("secure.example.net", "x").SetAuthentic("secure.example.net", true)
	z.AddCNAME("insecure.example.com", "secure.example.net")
	srv := dnstest.NewServer(t, z)
	r := srv.Resolver(nil)
	var q dnsmx.Querier = r

	tests := []struct {
		name, host      string
		qtype           uint16
		canonical       string
		authentic       bool
		records, ttlSec int
	}{
		{"secure", "Example.com", dns.TypeA, "example.com.", true, 1, 300},
		{"secure chain", "alias.example.com", dns.TypeA, "example.com.", true, 1, 300},
		{"insecure link", "insecure.example.com", dns.TypeTXT, "secure.example.net.", false, 1, 300},
		{"insecure", "v4only.example.com", dns.TypeA, "v4only.example.com.", false, 1, 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := q.Query(t.Context(), tc.host, tc.qtype)
			if err != nil {
				t.Fatal(err)
			}
			if a.Canonical != tc.canonical || a.Authentic != tc.authentic || len(a.Records) != tc.records || a.TTL != time.Duration(tc.ttlSec)*time.Second {
				t.Fatalf("got %+v", a)
			}
			// The records are the caller's: changing them does not
			// change what the cache returns.
			a.Records[0].Header().Name = "changed."
			b, _ := q.Query(t.Context(), tc.host, tc.qtype)
			if b.Records[0].Header().Name == "changed." {
				t.Fatal("Query returned shared records")
			}
		})
	}
}

func TestClientCache(t *testing.T) {
	t.Parallel()
	z := testZone()
	z.SetNegativeTTL(30)
	srv := dnstest.NewServer(t, z)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r := srv.Resolver(&dnsmx.ClientOptions{Now: clock})
	ctx := t.Context()

	lookup := func() []netip.Addr {
		t.Helper()
		got, err := r.LookupNetIP(ctx, "ip4", "example.com")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	count := func() int { return srv.QueryCount("example.com", dns.TypeA) }

	got := lookup()
	got[0] = netip.MustParseAddr("203.0.113.1") // the caller's copy
	if lookup()[0].String() != "192.0.2.1" || count() != 1 {
		t.Fatalf("second lookup not from cache or cache changed: %d queries", count())
	}
	lookup() // same name, another case: same entry
	if _, err := r.LookupNetIP(ctx, "ip4", "EXAMPLE.COM."); err != nil || count() != 1 {
		t.Fatalf("case variant not cached: %v, %d queries", err, count())
	}
	now = now.Add(299 * time.Second)
	lookup()
	if count() != 1 {
		t.Fatal("entry expired before its TTL")
	}
	now = now.Add(time.Second)
	lookup()
	if count() != 2 {
		t.Fatalf("entry not expired at its TTL: %d queries", count())
	}

	// Negative answers live for the SOA minimum.
	for range 3 {
		if _, err := r.LookupTXT(ctx, "nope.example.com"); !errors.Is(err, dnsmx.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if n := srv.QueryCount("nope.example.com", 0); n != 1 {
		t.Fatalf("negative answer asked %d times", n)
	}
	z.AddTXT("nope.example.com", "now exists")
	now = now.Add(29 * time.Second)
	if _, err := r.LookupTXT(ctx, "nope.example.com"); !errors.Is(err, dnsmx.ErrNotFound) {
		t.Fatalf("negative entry expired early: %v", err)
	}
	now = now.Add(time.Second)
	if got, err := r.LookupTXT(ctx, "nope.example.com"); err != nil || got[0] != "now exists" {
		t.Fatalf("negative entry not expired: %v %v", got, err)
	}

	// No cache.
	nc := srv.Resolver(&dnsmx.ClientOptions{CacheSize: -1})
	before := count()
	nc.LookupNetIP(ctx, "ip4", "example.com")
	nc.LookupNetIP(ctx, "ip4", "example.com")
	if count() != before+2 {
		t.Fatal("disabled cache still caches")
	}
}

func TestClientCacheBounded(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone()
	for i := range 200 {
		z.AddA(hostN(i), "192.0.2.1")
	}
	srv := dnstest.NewServer(t, z)
	r := srv.Resolver(&dnsmx.ClientOptions{CacheSize: 32})
	for i := range 200 {
		if _, err := r.LookupNetIP(t.Context(), "ip4", hostN(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The last name is cached, the first was evicted long ago.
	srv.ResetQueries()
	r.LookupNetIP(t.Context(), "ip4", hostN(199))
	r.LookupNetIP(t.Context(), "ip4", hostN(0))
	if got := len(srv.Queries()); got != 1 {
		t.Fatalf("queries after refill = %v, want only the evicted name", srv.Queries())
	}
}

func hostN(i int) string {
	return "h" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example"
}

func TestClientCNAMEWithoutFollow(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone().SetFollowCNAME(false)
	z.AddCNAME("a.example", "b.example")
	z.AddCNAME("b.example", "c.example")
	z.AddA("c.example", "192.0.2.3")
	z.AddCNAME("nodata.example", "c.example")
	z.AddCNAME("dangling.example", "nowhere.example")
	z.AddCNAME("loop1.example", "loop2.example")
	z.AddCNAME("loop2.example", "loop1.example")
	srv := dnstest.NewServer(t, z)
	r := srv.Resolver(nil)
	ctx := t.Context()

	got, err := r.LookupNetIP(ctx, "ip4", "a.example")
	if err != nil || format(got) != "[192.0.2.3]" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, n := range []string{"a.example", "b.example", "c.example"} {
		if srv.QueryCount(n, dns.TypeA) != 1 {
			t.Fatalf("queries %v, want one per hop", srv.Queries())
		}
	}
	if _, err := r.LookupMX(ctx, "nodata.example"); !errors.Is(err, dnsmx.ErrNoData) {
		t.Fatalf("nodata at the end of a chain: err = %v", err)
	}
	if _, err := r.LookupMX(ctx, "dangling.example"); !errors.Is(err, dnsmx.ErrNotFound) {
		t.Fatalf("dangling CNAME: err = %v", err)
	}
	if _, err := r.LookupMX(ctx, "loop1.example"); !errors.Is(err, dnsmx.ErrCNAMELoop) {
		t.Fatalf("loop across queries: err = %v", err)
	}
	a, err := r.Query(ctx, "a.example", dns.TypeA)
	if err != nil || a.Canonical != "c.example." || a.Name != "a.example." {
		t.Fatalf("Query: %+v, %v", a, err)
	}
}

func TestQueryTTLCountsDown(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, testZone())
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := srv.Resolver(&dnsmx.ClientOptions{Now: func() time.Time { return now }})
	a, err := r.Query(t.Context(), "example.com", dns.TypeMX)
	if err != nil || a.TTL != 300*time.Second {
		t.Fatalf("first: %+v, %v", a, err)
	}
	now = now.Add(100 * time.Second)
	a, err = r.Query(t.Context(), "example.com", dns.TypeMX)
	if err != nil || a.TTL != 200*time.Second {
		t.Fatalf("from cache: TTL %v, %v; want 200s", a.TTL, err)
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := dir + "/resolv.conf"
	if err := os.WriteFile(conf, []byte("# test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions timeout:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := dir + "/empty.conf"
	if err := os.WriteFile(empty, []byte("search example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    *dnsmx.ClientOptions
		want    string
		wantErr bool
	}{
		{"resolv.conf", &dnsmx.ClientOptions{ResolvConf: conf}, "[192.0.2.53:53 [2001:db8::53]:53]", false},
		{"no servers in resolv.conf", &dnsmx.ClientOptions{ResolvConf: empty}, "[127.0.0.1:53 [::1]:53]", false},
		{"missing resolv.conf", &dnsmx.ClientOptions{ResolvConf: dir + "/nope"}, "", true},
		{"explicit", &dnsmx.ClientOptions{Servers: []string{"192.0.2.1", "[2001:db8::1]", "2001:db8::2", "dns.example:5353"}}, "[192.0.2.1:53 [2001:db8::1]:53 [2001:db8::2]:53 dns.example:5353]", false},
		{"bad server", &dnsmx.ClientOptions{Servers: []string{"dns.example"}}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dnsmx.NewClient(tc.opts)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(c.Servers()); got != tc.want {
				t.Fatalf("servers %s, want %s", got, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, testZone().SetFault("broken.example.com", 0, dnstest.ServFail))
	r := srv.Resolver(nil)
	_, err := r.LookupTXT(t.Context(), "nope.example.com")
	if want := "lookup TXT nope.example.com on " + srv.Addr + ": no such domain (rcode NXDOMAIN)"; err == nil || err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
	_, err = r.LookupMX(t.Context(), "broken.example.com")
	if want := "lookup MX broken.example.com on " + srv.Addr + ": temporary DNS failure (rcode SERVFAIL)"; err == nil || err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
	// The zero Kind counts as temporary, so a hand-made Error is never
	// mistaken for a void lookup.
	e := &dnsmx.Error{Op: "lookup A", Name: "x.example", Err: errors.New("boom")}
	if !errors.Is(e, dnsmx.ErrTemporary) || dnsmx.IsVoid(e) || e.Error() != "lookup A x.example: temporary DNS failure: boom" {
		t.Fatalf("zero Kind: %v", e)
	}
}
