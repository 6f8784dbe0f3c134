package dnsmx_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// *net.Resolver has Resolver's method set; NetResolver only maps errors.
var (
	_ dnsmx.Resolver = (*net.Resolver)(nil)
	_ dnsmx.Resolver = dnsmx.NetResolver{}
)

// TestNetResolver runs the standard library's Go resolver against dnstest
// through the adapter, so the error mapping is checked on real
// *net.DNSError values.
func TestNetResolver(t *testing.T) {
	t.Parallel()
	z := testZone()
	z.SetFault("broken.example.com", 0, dnstest.ServFail)
	srv := dnstest.NewServer(t, z)
	nr := &net.Resolver{
		PreferGo:     true,
		StrictErrors: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr)
		},
	}
	var r dnsmx.Resolver = dnsmx.NetResolver{R: nr}
	ctx := t.Context()

	if got, err := r.LookupTXT(ctx, "example.com"); err != nil || len(got) != 2 {
		t.Fatalf("TXT: %v, %v", got, err)
	}
	if got, err := r.LookupNetIP(ctx, "ip4", "example.com"); err != nil || format(got) != "[192.0.2.1]" {
		t.Fatalf("A: %v, %v", got, err)
	}
	if got, err := r.LookupMX(ctx, "example.com"); err != nil || format(got) != "[10 mx1.example.com.]" {
		t.Fatalf("MX: %v, %v", format(got), err)
	}
	if got, err := r.LookupAddr(ctx, "192.0.2.1"); err != nil || format(got) != "[example.com.]" {
		t.Fatalf("PTR: %v, %v", got, err)
	}
	_, err := r.LookupTXT(ctx, "nope.example.com")
	if !dnsmx.IsVoid(err) || dnsmx.IsTemporary(err) {
		t.Fatalf("NXDOMAIN: err = %v", err)
	}
	var de *dnsmx.Error
	if !errors.As(err, &de) || !errors.As(err, new(*net.DNSError)) {
		t.Fatalf("NXDOMAIN: err = %#v, want *dnsmx.Error wrapping *net.DNSError", err)
	}
	if _, err := r.LookupMX(ctx, "v4only.example.com"); !errors.Is(err, dnsmx.ErrNoData) {
		t.Fatalf("no data: err = %v", err)
	}
	if _, err := r.LookupTXT(ctx, "broken.example.com"); !dnsmx.IsTemporary(err) {
		t.Fatalf("SERVFAIL: err = %v", err)
	}
	// The package functions work over the adapter too; the implicit MX
	// comes from the no-data answer.
	hosts, err := dnsmx.LookupMX(ctx, r, "v4only.example.com", nil)
	if err != nil || hostNames(hosts) != "0:v4only.example.com(implicit)" {
		t.Fatalf("LookupMX over NetResolver: %v, %v", hostNames(hosts), err)
	}
}
