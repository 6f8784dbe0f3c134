// Cached and uncached lookups through dnsmx against one loopback dnstest
// server, side by side with net.Resolver and a bare miekg/dns exchange:
//
//	cd bench && go test -run='^$' -bench='BenchmarkDNS' -benchmem -count=5 .

package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/miekg/dns"
)

// BenchmarkDNSLookup compares, in one run against one loopback dnstest
// server, an A lookup by:
//
//   - herald-cached: dnsmx.Client with its cache (every lookup after the
//     first is a hit);
//   - herald-uncached: dnsmx.Client with the cache off (a UDP round trip);
//   - net-resolver: the standard library's Go resolver (no cache, a UDP
//     round trip);
//   - miekg-exchange: a bare github.com/miekg/dns Client.Exchange.
func BenchmarkDNSLookup(b *testing.B) {
	z := dnstest.NewZone()
	z.AddA("mx.example.com", "192.0.2.1", "192.0.2.2")
	srv := dnstest.NewServer(b, z)
	ctx := context.Background()
	const host = "mx.example.com"

	cached := srv.Resolver(&dnsmx.ClientOptions{Timeout: 2 * time.Second})
	uncached := srv.Resolver(&dnsmx.ClientOptions{Timeout: 2 * time.Second, CacheSize: -1})
	stdlib := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr)
		},
	}
	mc := &dns.Client{Timeout: 2 * time.Second}

	run := func(b *testing.B, lookup func() error) {
		if err := lookup(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := lookup(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("herald-cached", func(b *testing.B) {
		run(b, func() error { _, err := cached.LookupNetIP(ctx, "ip4", host); return err })
	})
	b.Run("herald-uncached", func(b *testing.B) {
		run(b, func() error { _, err := uncached.LookupNetIP(ctx, "ip4", host); return err })
	})
	b.Run("net-resolver", func(b *testing.B) {
		run(b, func() error { _, err := stdlib.LookupNetIP(ctx, "ip4", host); return err })
	})
	b.Run("miekg-exchange", func(b *testing.B) {
		run(b, func() error {
			m := new(dns.Msg)
			m.SetQuestion(host+".", dns.TypeA)
			_, _, err := mc.Exchange(m, srv.Addr)
			return err
		})
	})
}

// BenchmarkDNSMXTargets measures dnsmx.LookupTargets (MX, then A and AAAA
// of each host) on a warm cache: the per-message cost that an outbound
// queue pays for a popular domain.
func BenchmarkDNSMXTargets(b *testing.B) {
	z := dnstest.NewZone()
	z.AddMX("example.com", 10, "mx1.example.com")
	z.AddMX("example.com", 10, "mx2.example.com")
	z.AddA("mx1.example.com", "192.0.2.1", "2001:db8::1")
	z.AddA("mx2.example.com", "192.0.2.2", "2001:db8::2")
	srv := dnstest.NewServer(b, z)
	r := srv.Resolver(nil)
	ctx := context.Background()
	if _, err := dnsmx.LookupTargets(ctx, r, "example.com", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := dnsmx.LookupTargets(ctx, r, "example.com", nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
