package dnsmx_test

import (
	"context"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// BenchmarkCachedLookup measures cache hits of the Client under
// concurrency. The only allocation left per hit is the caller's copy of
// the result (two for MX: the slice and the records it points to).
//
//	go test -run='^$' -bench=BenchmarkCachedLookup -benchmem -count=5 ./dnsmx
func BenchmarkCachedLookup(b *testing.B) {
	z := dnstest.NewZone()
	z.AddA("mx.example.com", "192.0.2.1", "2001:db8::1")
	z.AddTXT("example.com", "v=spf1 ", "mx -all")
	z.AddMX("example.com", 10, "mx.example.com")
	srv := dnstest.NewServer(b, z)
	r := srv.Resolver(&dnsmx.ClientOptions{Timeout: 2 * time.Second})
	ctx := context.Background()

	cases := []struct {
		name string
		do   func() error
	}{
		{"ip4", func() error { _, err := r.LookupNetIP(ctx, "ip4", "mx.example.com"); return err }},
		{"ip", func() error { _, err := r.LookupNetIP(ctx, "ip", "mx.example.com"); return err }},
		{"txt", func() error { _, err := r.LookupTXT(ctx, "example.com"); return err }},
		{"mx", func() error { _, err := r.LookupMX(ctx, "example.com"); return err }},
		{"nxdomain", func() error {
			if _, err := r.LookupTXT(ctx, "missing.example.com"); !dnsmx.IsVoid(err) {
				return err
			}
			return nil
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if err := tc.do(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := tc.do(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// The side-by-side comparison with net.Resolver and a bare miekg/dns
// exchange lives in the bench module (bench/dnsmx_test.go), so that the
// libraries compared never become test dependencies here.

// BenchmarkLookupTargets measures LookupTargets (MX, then A and AAAA of
// each host) on a warm cache: what an outbound queue pays per message for
// a popular domain.
func BenchmarkLookupTargets(b *testing.B) {
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
