package spf

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// providerZone is a record set shaped like those of large mail providers:
// the domain includes the provider's record, which includes three netblock
// records, the last of which includes a fourth; four levels of records,
// five include terms, six TXT lookups. The client matches in the deepest
// record, so every level is evaluated.
func providerZone() (zoneText string, client netip.Addr) {
	var nb1, nb3, nb4 []string
	for i := range 10 {
		nb1 = append(nb1, fmt.Sprintf("ip4:198.%d.0.0/16", 18+i))
	}
	var nb2 []string
	for i := range 8 {
		nb2 = append(nb2, fmt.Sprintf("ip6:2001:db8:%x::/48", 0x100+i))
	}
	for i := range 6 {
		nb3 = append(nb3, fmt.Sprintf("ip4:203.0.%d.0/24", 100+i))
	}
	for i := range 8 {
		nb4 = append(nb4, fmt.Sprintf("ip4:192.0.2.%d/29", i*8))
	}
	zoneText = strings.Join([]string{
		"example.com TXT v=spf1 include:_spf.mail.example.net ~all",
		"example.com TXT google-site-verification=abcdefghijklmnopqrstuvwxyz0123456789",
		"_spf.mail.example.net TXT v=spf1 include:_netblocks.example.net include:_netblocks2.example.net include:_netblocks3.example.net ~all",
		"_netblocks.example.net TXT v=spf1 " + strings.Join(nb1, " ") + " ~all",
		"_netblocks2.example.net TXT v=spf1 " + strings.Join(nb2, " ") + " ~all",
		"_netblocks3.example.net TXT v=spf1 " + strings.Join(nb3, " ") + " include:_netblocks4.example.net ~all",
		"_netblocks4.example.net TXT v=spf1 " + strings.Join(nb4, " ") + " -all",
	}, "\n")
	return zoneText, netip.MustParseAddr("192.0.2.61")
}

// countingResolver counts the lookups Check makes.
type countingResolver struct {
	r dnsmx.Resolver
	n atomic.Int64
}

func (c *countingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	c.n.Add(1)
	return c.r.LookupTXT(ctx, name)
}

func (c *countingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	c.n.Add(1)
	return c.r.LookupNetIP(ctx, network, host)
}

func (c *countingResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	c.n.Add(1)
	return c.r.LookupMX(ctx, name)
}

func (c *countingResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	c.n.Add(1)
	return c.r.LookupAddr(ctx, addr)
}

// BenchmarkCheckIncludeChain measures checks per second for a
// provider-style record with an include chain four levels deep.
//
//   - dnsmx-warm-cache: a dnsmx.Client with its cache warmed from a dnstest
//     server, as a receiving MTA sees a big provider's records.
//   - memory: an in-memory zone, the cost of spf alone.
//
// It reports lookups/check (resolver calls: the DNS queries a check costs
// with a cold cache) and, for the DNS case, wire-queries/check (queries
// that reached the server: zero when the cache is warm).
func BenchmarkCheckIncludeChain(b *testing.B) {
	text, client := providerZone()
	args := Args{IP: client, Sender: "bounce@example.com", HELO: "out.example.net", Receiver: "mx.example.org"}

	b.Run("dnsmx-warm-cache", func(b *testing.B) {
		z := dnstest.NewZone()
		for _, line := range strings.Split(text, "\n") {
			f := strings.SplitN(line, " ", 3)
			z.AddTXT(f[0], f[2])
		}
		srv := dnstest.NewServer(b, z)
		cr := &countingResolver{r: srv.Resolver(nil)}
		benchCheck(b, cr, args, srv.ResetQueries)
		if b.N > 0 {
			b.ReportMetric(float64(len(srv.Queries()))/float64(b.N), "wire-queries/check")
		}
	})
	b.Run("memory", func(b *testing.B) {
		cr := &countingResolver{r: &memResolver{zone: parseZone(text)}}
		benchCheck(b, cr, args, func() {})
	})
}

// benchCheck runs Check in a loop after one warm-up check, after which it
// calls reset.
func benchCheck(b *testing.B, cr *countingResolver, args Args, reset func()) {
	ctx := context.Background()
	// Warm the cache and check the scenario once.
	res, err := Check(ctx, cr, args)
	if err != nil || res.Status != Pass || res.DNSTerms != 5 {
		b.Fatalf("warm-up: %s, %d terms, %v %v", res.Status, res.DNSTerms, err, res.Problem)
	}
	reset()
	cr.n.Store(0)
	b.ReportAllocs()
	for b.Loop() {
		res, _ := Check(ctx, cr, args)
		if res.Status != Pass {
			b.Fatalf("status %s", res.Status)
		}
	}
	b.ReportMetric(float64(cr.n.Load())/float64(b.N), "lookups/check")
}

// BenchmarkParseRecord measures parsing a provider's netblock record.
func BenchmarkParseRecord(b *testing.B) {
	var terms []string
	for i := range 16 {
		terms = append(terms, fmt.Sprintf("ip4:198.%d.0.0/16", 18+i), fmt.Sprintf("ip6:2001:db8:%x::/48", i))
	}
	rec := "v=spf1 " + strings.Join(terms, " ") + " include:_spf.example.net exists:%{ir}.%{l1r+-}._spf.%{d} ~all"
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := ParseRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}
