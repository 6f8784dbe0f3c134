package dnstest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/miekg/dns"
)

const zoneText = `
$ORIGIN example.com.
$TTL 600
@        IN SOA ns hostmaster 7 3600 600 86400 120
@        IN MX 10 mx
@        IN TXT "v=spf1 " "a -all"
mx       IN A 192.0.2.1
mx       IN AAAA 2001:db8::1
www      IN CNAME @
*.wild   IN A 192.0.2.9
deep.a.b IN TXT "deep"
`

// ask sends one query with a plain miekg/dns client, as a peer would.
func ask(t *testing.T, srv *dnstest.Server, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	resp, _, err := c.Exchange(m, srv.Addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return resp
}

func TestServerAnswers(t *testing.T) {
	t.Parallel()
	z, err := dnstest.ParseZone(zoneText, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.NewServer(t, z)

	tests := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers string
		soa     bool
	}{
		{"example.com", dns.TypeMX, dns.RcodeSuccess, "example.com.\t600\tIN\tMX\t10 mx.example.com.", false},
		{"EXAMPLE.com", dns.TypeTXT, dns.RcodeSuccess, "example.com.\t600\tIN\tTXT\t\"v=spf1 \" \"a -all\"", false},
		{"www.example.com", dns.TypeMX, dns.RcodeSuccess, "www.example.com.\t600\tIN\tCNAME\texample.com.|example.com.\t600\tIN\tMX\t10 mx.example.com.", false},
		{"mx.example.com", dns.TypeAAAA, dns.RcodeSuccess, "mx.example.com.\t600\tIN\tAAAA\t2001:db8::1", false},
		{"mx.example.com", dns.TypeTXT, dns.RcodeSuccess, "", true},
		{"nope.example.com", dns.TypeA, dns.RcodeNameError, "", true},
		{"x.wild.example.com", dns.TypeA, dns.RcodeSuccess, "x.wild.example.com.\t600\tIN\tA\t192.0.2.9", false},
		{"y.x.wild.example.com", dns.TypeA, dns.RcodeSuccess, "y.x.wild.example.com.\t600\tIN\tA\t192.0.2.9", false},
		{"wild.example.com", dns.TypeA, dns.RcodeSuccess, "", true},
		{"a.b.example.com", dns.TypeTXT, dns.RcodeSuccess, "", true},
		{"b.example.com", dns.TypeTXT, dns.RcodeSuccess, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			resp := ask(t, srv, "udp", tc.name, tc.qtype, 0)
			var got []string
			for _, rr := range resp.Answer {
				got = append(got, rr.String())
			}
			if resp.Rcode != tc.rcode || strings.Join(got, "|") != tc.answers || !resp.Authoritative {
				t.Fatalf("rcode %s, answers %q", dns.RcodeToString[resp.Rcode], got)
			}
			hasSOA := len(resp.Ns) == 1 && resp.Ns[0].(*dns.SOA).Minttl == 120
			if hasSOA != tc.soa {
				t.Fatalf("authority %v, want SOA: %v", resp.Ns, tc.soa)
			}
		})
	}
}

func TestServerFaultsAndTransport(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone()
	for i := range 40 {
		z.AddTXT("big.example", strings.Repeat("y", 60)+string(rune('a'+i%26)))
	}
	z.AddA("trunc.example", "192.0.2.1").SetFault("trunc.example", dns.TypeA, dnstest.Truncate)
	z.AddA("fail.example", "192.0.2.2").SetFault("fail.example", dns.TypeA, dnstest.ServFail)
	z.AddTXT("fail.example", "ok")
	z.AddA("secure.example", "192.0.2.3").SetAuthentic("secure.example", true)
	srv := dnstest.NewServer(t, z)

	if r := ask(t, srv, "udp", "big.example", dns.TypeTXT, 0); !r.Truncated || len(r.Answer) == 40 {
		t.Fatalf("512-byte UDP answer not truncated: tc=%v, %d records", r.Truncated, len(r.Answer))
	}
	if r := ask(t, srv, "udp", "big.example", dns.TypeTXT, 4096); r.Truncated || len(r.Answer) != 40 {
		t.Fatalf("EDNS0 4096 answer: tc=%v, %d records", r.Truncated, len(r.Answer))
	}
	if r := ask(t, srv, "tcp", "big.example", dns.TypeTXT, 0); r.Truncated || len(r.Answer) != 40 {
		t.Fatalf("TCP answer: tc=%v, %d records", r.Truncated, len(r.Answer))
	}
	if r := ask(t, srv, "udp", "trunc.example", dns.TypeA, 0); !r.Truncated || len(r.Answer) != 0 {
		t.Fatalf("forced truncation over UDP: %v", r)
	}
	if r := ask(t, srv, "tcp", "trunc.example", dns.TypeA, 0); r.Truncated || len(r.Answer) != 1 {
		t.Fatalf("forced truncation over TCP: %v", r)
	}
	if r := ask(t, srv, "udp", "fail.example", dns.TypeA, 0); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("fault for A: %v", r)
	}
	if r := ask(t, srv, "udp", "fail.example", dns.TypeTXT, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("fault leaked to TXT: %v", r)
	}
	if r := ask(t, srv, "udp", "secure.example", dns.TypeA, 0); !r.AuthenticatedData {
		t.Fatal("AD bit not set")
	}
	z.SetFault("fail.example", dns.TypeA, dnstest.NoFault)
	if r := ask(t, srv, "udp", "fail.example", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("fault not cleared: %v", r)
	}
	want := []string{"big.example. TXT/udp", "big.example. TXT/udp", "big.example. TXT/tcp", "trunc.example. A/udp", "trunc.example. A/tcp"}
	for i, q := range srv.Queries()[:5] {
		if q.String() != want[i] {
			t.Fatalf("query log %v", srv.Queries())
		}
	}
	if n := srv.QueryCount("FAIL.example.", 0); n != 3 {
		t.Fatalf("QueryCount = %d, want 3", n)
	}
	srv.ResetQueries()
	if len(srv.Queries()) != 0 {
		t.Fatal("ResetQueries kept queries")
	}
}

func TestServerTimeout(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone()
	z.AddA("slow.example", "192.0.2.1").SetFault("slow.example", 0, dnstest.Timeout)
	srv := dnstest.NewServer(t, z)
	m := new(dns.Msg)
	m.SetQuestion("slow.example.", dns.TypeA)
	c := &dns.Client{Timeout: 50 * time.Millisecond}
	if _, _, err := c.Exchange(m, srv.Addr); err == nil {
		t.Fatal("a Timeout fault answered")
	}
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	srv, err := dnstest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestParseZoneErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text, origin string }{
		{"syntax", "example.com. IN MX ten mx.example.com.", ""},
		{"include refused", "$INCLUDE /etc/passwd", ""},
		{"bad origin", "@ IN A 192.0.2.1", "bad..origin"},
		{"too long", strings.Repeat("; comment\n", dnstest.MaxZoneText/9), ""},
		{"too many records", "$GENERATE 0-65535 h$ A 192.0.2.1\n$GENERATE 0-65535 g$ A 192.0.2.1\n", "example.com"},
	}
	for _, tc := range tests {
		if _, err := dnstest.ParseZone(tc.text, tc.origin); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestMustAddPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("MustAdd accepted a bad record")
		}
	}()
	dnstest.NewZone().MustAdd("example.com. IN A not-an-address")
}

func TestZoneRemove(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone()
	z.AddA("h.example", "192.0.2.1", "2001:db8::1")
	srv := dnstest.NewServer(t, z)
	z.Remove("h.example", dns.TypeAAAA)
	if r := ask(t, srv, "udp", "h.example", dns.TypeAAAA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("after removing AAAA: %v", r)
	}
	z.Remove("h.example", 0)
	if r := ask(t, srv, "udp", "h.example", dns.TypeA, 0); r.Rcode != dns.RcodeNameError {
		t.Fatalf("after removing all: %v", r)
	}
}
