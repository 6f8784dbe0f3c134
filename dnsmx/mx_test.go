package dnsmx_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/miekg/dns"
)

func mxZone() *dnstest.Zone {
	z := dnstest.NewZone()
	// Ordering and shuffling.
	z.AddMX("order.example", 20, "backup.example")
	z.AddMX("order.example", 10, "b.example")
	z.AddMX("order.example", 5, "first.example")
	z.AddMX("order.example", 10, "a.example")
	z.AddMX("order.example", 10, "c.example")
	// Implicit MX.
	z.AddA("implicit.example", "192.0.2.10", "2001:db8::10")
	z.AddA("nomx-noaddr.example", "192.0.2.11")
	z.Remove("nomx-noaddr.example", dns.TypeA)
	z.AddTXT("nomx-noaddr.example", "exists")
	// Null MX.
	z.AddMX("null.example", 0, ".")
	z.AddMX("nullplus.example", 0, ".")
	z.AddMX("nullplus.example", 10, "mx.nullplus.example")
	z.AddA("mx.nullplus.example", "192.0.2.12")
	// IP literal targets and bad names.
	z.AddMX("literal.example", 10, "192.0.2.13")
	z.AddMX("mixed.example", 10, "192.0.2.13")
	z.AddMX("mixed.example", 20, "mx.mixed.example")
	z.AddA("mx.mixed.example", "192.0.2.14")
	// CNAME target and CNAME domain.
	z.AddMX("cnametarget.example", 10, "alias.mail.example")
	z.AddCNAME("alias.mail.example", "real.mail.example")
	z.AddA("real.mail.example", "192.0.2.15", "2001:db8::15")
	z.AddCNAME("cnamedomain.example", "order.example")
	// Duplicates.
	z.AddMX("dup.example", 20, "mx.dup.example")
	z.AddMX("dup.example", 10, "MX.dup.example")
	// Many hosts.
	for i := range 30 {
		z.AddMX("many.example", uint16(i), fmt.Sprintf("mx%d.many.example", i))
	}
	// Targets.
	z.AddMX("targets.example", 10, "dual.example")
	z.AddMX("targets.example", 20, "v4.example")
	z.AddMX("targets.example", 30, "v6.example")
	z.AddMX("targets.example", 40, "shared.example")
	z.AddA("dual.example", "192.0.2.20", "192.0.2.21", "2001:db8::20", "2001:db8::21", "2001:db8::22")
	z.AddA("v4.example", "192.0.2.30")
	z.AddA("v6.example", "2001:db8::30")
	z.AddA("shared.example", "192.0.2.30", "0.0.0.0")
	z.AddMX("partial.example", 10, "down.example")
	z.AddMX("partial.example", 20, "v4.example")
	z.AddA("down.example", "192.0.2.40").SetFault("down.example", 0, dnstest.ServFail)
	z.AddMX("alldown.example", 10, "down.example")
	z.AddMX("noaddr.example", 10, "nowhere.example")
	z.AddMX("xn--mller-kva.example", 10, "mx.xn--mller-kva.example")
	z.AddA("mx.xn--mller-kva.example", "192.0.2.50")
	z.SetFault("tempmx.example", dns.TypeMX, dnstest.ServFail)
	return z
}

func hostNames(hs []dnsmx.Host) string {
	var s []string
	for _, h := range hs {
		n := fmt.Sprintf("%d:%s", h.Pref, h.Name)
		if h.Implicit {
			n += "(implicit)"
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}

func TestLookupMX(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, mxZone())
	r := srv.Resolver(nil)
	seeded := func() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

	tests := []struct {
		name    string
		domain  string
		opts    *dnsmx.MXOptions
		want    string
		wantErr error
	}{
		{"implicit", "implicit.example", nil, "0:implicit.example(implicit)", nil},
		{"implicit without addresses", "nomx-noaddr.example", nil, "0:nomx-noaddr.example(implicit)", nil},
		{"nxdomain", "missing.example", nil, "", dnsmx.ErrNotFound},
		{"null MX", "null.example", nil, "", dnsmx.ErrNullMX},
		{"null MX among others is skipped", "nullplus.example", nil, "10:mx.nullplus.example", nil},
		{"IP literal target", "literal.example", nil, "", dnsmx.ErrNoHosts},
		{"IP literal skipped", "mixed.example", nil, "20:mx.mixed.example", nil},
		{"CNAME target kept", "cnametarget.example", nil, "10:alias.mail.example", nil},
		{"duplicates merged", "dup.example", nil, "10:mx.dup.example", nil},
		{"capped", "many.example", &dnsmx.MXOptions{MaxHosts: 3}, "0:mx0.many.example 1:mx1.many.example 2:mx2.many.example", nil},
		{"default cap", "many.example", nil, "0:mx0.many.example 1:mx1.many.example 2:mx2.many.example 3:mx3.many.example 4:mx4.many.example 5:mx5.many.example 6:mx6.many.example 7:mx7.many.example 8:mx8.many.example 9:mx9.many.example", nil},
		{"local name cuts", "order.example", &dnsmx.MXOptions{LocalNames: []string{"B.example."}}, "5:first.example", nil},
		{"local name first", "order.example", &dnsmx.MXOptions{LocalNames: []string{"first.example"}}, "", dnsmx.ErrNoHosts},
		{"IDNA domain", "müller.example", nil, "10:mx.xn--mller-kva.example", nil},
		{"invalid domain", "bad_domain!.example", nil, "", dnsmx.ErrInvalidName},
		{"temporary", "tempmx.example", nil, "", dnsmx.ErrTemporary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dnsmx.LookupMX(t.Context(), r, tc.domain, tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := hostNames(got); s != tc.want {
				t.Fatalf("got %s\nwant %s", s, tc.want)
			}
		})
	}

	t.Run("order and CNAME domain", func(t *testing.T) {
		for _, d := range []string{"order.example", "cnamedomain.example"} {
			got, err := dnsmx.LookupMX(t.Context(), r, d, &dnsmx.MXOptions{Rand: seeded()})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 5 || got[0].Name != "first.example" || got[4].Name != "backup.example" {
				t.Fatalf("%s: %s", d, hostNames(got))
			}
			for _, h := range got[1:4] {
				if h.Pref != 10 {
					t.Fatalf("%s: %s", d, hostNames(got))
				}
			}
		}
	})
}

// TestLookupMXShuffle checks that hosts of equal preference come in every
// order with equal frequency: a chi-square test over the 6 orders of 3
// hosts, with a fixed seed so that the test is deterministic, and a check
// that the default generator varies the order too.
func TestLookupMXShuffle(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, mxZone())
	r := srv.Resolver(nil)
	const n = 6000
	counts := map[string]int{}
	rng := rand.New(rand.NewPCG(7, 11))
	for range n {
		got, err := dnsmx.LookupMX(t.Context(), r, "order.example", &dnsmx.MXOptions{Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		counts[hostNames(got[1:4])]++
	}
	if len(counts) != 6 {
		t.Fatalf("saw %d orders, want 6: %v", len(counts), counts)
	}
	expected := float64(n) / 6
	chi2 := 0.0
	for _, c := range counts {
		d := float64(c) - expected
		chi2 += d * d / expected
	}
	// 5 degrees of freedom; 20.52 is the p = 0.001 critical value.
	if chi2 > 20.52 {
		t.Fatalf("chi-square %.2f over 20.52: %v", chi2, counts)
	}
	if q := srv.QueryCount("order.example", dns.TypeMX); q != 1 {
		t.Fatalf("%d MX queries, want 1 (cached)", q)
	}

	seen := map[string]bool{}
	for range 200 {
		got, _ := dnsmx.LookupMX(t.Context(), r, "order.example", nil)
		seen[hostNames(got)] = true
	}
	if len(seen) < 2 {
		t.Fatal("default generator never shuffled")
	}
}

func targetList(ts []dnsmx.Target) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Host+"/"+t.Addr.String())
	}
	return strings.Join(s, " ")
}

func TestLookupTargets(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, mxZone())
	r := srv.Resolver(nil)

	tests := []struct {
		name    string
		domain  string
		opts    *dnsmx.TargetOptions
		want    string
		wantErr error
	}{
		{"prefer IPv6 interleaved", "targets.example", nil,
			"dual.example/2001:db8::20 dual.example/192.0.2.20 dual.example/2001:db8::21 dual.example/192.0.2.21 dual.example/2001:db8::22 v4.example/192.0.2.30 v6.example/2001:db8::30", nil},
		{"prefer IPv4 interleaved", "targets.example", &dnsmx.TargetOptions{Prefer: dnsmx.PreferIPv4},
			"dual.example/192.0.2.20 dual.example/2001:db8::20 dual.example/192.0.2.21 dual.example/2001:db8::21 dual.example/2001:db8::22 v4.example/192.0.2.30 v6.example/2001:db8::30", nil},
		{"IPv4 only", "targets.example", &dnsmx.TargetOptions{Prefer: dnsmx.IPv4Only},
			"dual.example/192.0.2.20 dual.example/192.0.2.21 v4.example/192.0.2.30", nil},
		{"IPv6 only", "targets.example", &dnsmx.TargetOptions{Prefer: dnsmx.IPv6Only},
			"dual.example/2001:db8::20 dual.example/2001:db8::21 dual.example/2001:db8::22 v6.example/2001:db8::30", nil},
		{"per host cap", "targets.example", &dnsmx.TargetOptions{MaxAddrsPerHost: 1},
			"dual.example/2001:db8::20 v4.example/192.0.2.30 v6.example/2001:db8::30", nil},
		{"total cap", "targets.example", &dnsmx.TargetOptions{MaxTargets: 2},
			"dual.example/2001:db8::20 dual.example/192.0.2.20", nil},
		{"implicit", "implicit.example", nil, "implicit.example/2001:db8::10 implicit.example/192.0.2.10", nil},
		{"CNAME target", "cnametarget.example", nil, "alias.mail.example/2001:db8::15 alias.mail.example/192.0.2.15", nil},
		{"failed host skipped", "partial.example", nil, "v4.example/192.0.2.30", nil},
		{"address literal", "[192.0.2.99]", nil, "[192.0.2.99]/192.0.2.99", nil},
		{"IPv6 address literal", "[IPv6:2001:db8::99]", nil, "[IPv6:2001:db8::99]/2001:db8::99", nil},
		{"bad address literal", "[2001:db8::99]", nil, "", dnsmx.ErrInvalidName},
		{"all hosts down", "alldown.example", nil, "", dnsmx.ErrTemporary},
		{"no addresses", "noaddr.example", nil, "", dnsmx.ErrNoHosts},
		{"implicit without addresses", "nomx-noaddr.example", nil, "", dnsmx.ErrNoHosts},
		{"nxdomain", "missing.example", nil, "", dnsmx.ErrNotFound},
		{"null MX", "null.example", nil, "", dnsmx.ErrNullMX},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dnsmx.LookupTargets(t.Context(), r, tc.domain, tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := targetList(got); s != tc.want {
				t.Fatalf("got  %s\nwant %s", s, tc.want)
			}
		})
	}

	t.Run("shared address and unspecified dropped", func(t *testing.T) {
		got, err := dnsmx.LookupTargets(t.Context(), r, "targets.example", &dnsmx.TargetOptions{Prefer: dnsmx.IPv4Only})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range got {
			if tg.Host == "shared.example" {
				t.Fatalf("shared.example kept: %s", targetList(got))
			}
		}
	})
}

// mapResolver is a minimal Resolver over maps, to pin behaviour that does
// not depend on the wire, and to show how small a fake can be.
type mapResolver struct {
	mx    map[string][]*net.MX
	addrs map[string][]netip.Addr
	err   map[string]error
}

func (m mapResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return nil, &dnsmx.Error{Op: "lookup TXT", Name: name, Kind: dnsmx.ErrNotFound}
}

func (m mapResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if err := m.err[host]; err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range m.addrs[host] {
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &dnsmx.Error{Op: "lookup " + network, Name: host, Kind: dnsmx.ErrNoData}
	}
	return out, nil
}

func (m mapResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := m.err[name]; err != nil {
		return nil, err
	}
	return m.mx[name], nil
}

func (m mapResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return nil, &dnsmx.Error{Op: "lookup PTR", Name: addr, Kind: dnsmx.ErrNotFound}
}

func TestLookupMXFake(t *testing.T) {
	t.Parallel()
	r := mapResolver{
		mx: map[string][]*net.MX{
			"empty.example":   {},
			"nil.example":     {nil, {Host: "mx.nil.example.", Pref: 1}},
			"numeric.example": {{Host: "10.0.0.1.", Pref: 1}, {Host: "mx.123.", Pref: 2}, {Host: "bad name.", Pref: 3}},
		},
	}
	tests := []struct {
		domain, want string
		wantErr      error
	}{
		{"empty.example", "0:empty.example(implicit)", nil},
		{"nil.example", "1:mx.nil.example", nil},
		{"numeric.example", "", dnsmx.ErrNoHosts},
	}
	for _, tc := range tests {
		got, err := dnsmx.LookupMX(t.Context(), r, tc.domain, nil)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: err = %v, want %v", tc.domain, err, tc.wantErr)
			}
			continue
		}
		if err != nil || hostNames(got) != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.domain, hostNames(got), err, tc.want)
		}
	}
}
