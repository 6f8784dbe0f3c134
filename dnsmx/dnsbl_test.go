package dnsmx_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

func TestReverseName(t *testing.T) {
	t.Parallel()
	tests := []struct{ ip, zone, want string }{
		{"192.0.2.1", "in-addr.arpa", "1.2.0.192.in-addr.arpa"},
		{"10.255.0.100", "zen.example.", "100.0.255.10.zen.example"},
		{"::ffff:192.0.2.1", "in-addr.arpa", "1.2.0.192.in-addr.arpa"},
		{"2001:db8::1", "ip6.arpa", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
		{"2001:db8:1234:5678:9abc:def0:1:2", "bl.example", "2.0.0.0.1.0.0.0.0.f.e.d.c.b.a.9.8.7.6.5.4.3.2.1.8.b.d.0.1.0.0.2.bl.example"},
	}
	for _, tc := range tests {
		if got := dnsmx.ReverseName(netip.MustParseAddr(tc.ip), tc.zone); got != tc.want {
			t.Errorf("ReverseName(%s, %s) = %s, want %s", tc.ip, tc.zone, got, tc.want)
		}
	}
}

func TestLookupDNSBL(t *testing.T) {
	t.Parallel()
	z := dnstest.NewZone()
	// RFC 5782 section 5: test entries.
	z.AddA("2.0.0.127.bl.example", "127.0.0.2")
	z.AddTXT("2.0.0.127.bl.example", "listed: see https://bl.example/127.0.0.2")
	z.AddA("2.0.0.127.multi.example", "127.0.0.2", "127.0.0.4")
	z.AddA("2.0.0.127.bad.example", "127.255.255.254")
	z.AddA("2.0.0.127.wild.example", "203.0.113.5")
	z.AddA("2.0.0.127.wl.example", "127.0.10.1")
	z.SetFault("2.0.0.127.down.example", 0, dnstest.ServFail)
	z.AddTXT("bl.example", "zone apex")
	v6 := netip.MustParseAddr("2001:db8::2")
	z.AddA(dnsmx.ReverseName(v6, "bl.example"), "127.0.0.3")
	srv := dnstest.NewServer(t, z)
	r := srv.Resolver(nil)

	listed := netip.MustParseAddr("127.0.0.2")
	zones := []string{"bl.example", "multi.example", "bad.example", "wild.example", "wl.example", "down.example", "clean.example", "bad zone!"}
	got, err := dnsmx.LookupDNSBL(t.Context(), r, listed, zones, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		listed bool
		addrs  string
		txt    string
		err    error
	}{
		{true, "[127.0.0.2]", "listed: see https://bl.example/127.0.0.2", nil},
		{true, "[127.0.0.2 127.0.0.4]", "", nil},
		{false, "[127.255.255.254]", "", dnsmx.ErrBadListing},
		{false, "[203.0.113.5]", "", dnsmx.ErrBadListing},
		{true, "[127.0.10.1]", "", nil},
		{false, "[]", "", dnsmx.ErrTemporary},
		{false, "[]", "", nil},
		{false, "[]", "", dnsmx.ErrInvalidName},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results", len(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Zone != zones[i] || g.Listed != w.listed || fmt.Sprint(g.Addrs) != w.addrs || strings.Join(g.TXT, "|") != w.txt {
			t.Errorf("%s: got %+v", zones[i], g)
		}
		if (w.err == nil) != (g.Err == nil) || (w.err != nil && !errors.Is(g.Err, w.err)) {
			t.Errorf("%s: err = %v, want %v", zones[i], g.Err, w.err)
		}
	}

	t.Run("IPv6", func(t *testing.T) {
		got, err := dnsmx.LookupDNSBL(t.Context(), r, v6, []string{"bl.example", "multi.example"}, &dnsmx.DNSBLOptions{SkipTXT: true})
		if err != nil {
			t.Fatal(err)
		}
		if !got[0].Listed || fmt.Sprint(got[0].Addrs) != "[127.0.0.3]" || got[1].Listed || got[1].Err != nil {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("custom listing rule", func(t *testing.T) {
		only2 := func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.2") }
		got, _ := dnsmx.LookupDNSBL(t.Context(), r, listed, []string{"bl.example", "wl.example"}, &dnsmx.DNSBLOptions{IsListing: only2, Concurrency: 1})
		if !got[0].Listed || got[1].Listed || !errors.Is(got[1].Err, dnsmx.ErrBadListing) {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("miss", func(t *testing.T) {
		got, _ := dnsmx.LookupDNSBL(t.Context(), r, netip.MustParseAddr("192.0.2.1"), []string{"bl.example"}, nil)
		if got[0].Listed || got[0].Err != nil || srv.QueryCount("1.2.0.192.bl.example", 0) != 1 {
			t.Fatalf("got %+v, queries %v", got, srv.Queries())
		}
	})
	t.Run("invalid address", func(t *testing.T) {
		if _, err := dnsmx.LookupDNSBL(t.Context(), r, netip.Addr{}, zones, nil); !errors.Is(err, dnsmx.ErrInvalidName) {
			t.Fatalf("err = %v", err)
		}
	})
}
