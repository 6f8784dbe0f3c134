package dnsmx_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// startExample serves z on loopback; examples have no *testing.T.
func startExample(z *dnstest.Zone) (*dnstest.Server, dnsmx.Resolver) {
	srv, err := dnstest.Start(z)
	if err != nil {
		panic(err)
	}
	return srv, srv.Resolver(nil)
}

func ExampleLookupMX() {
	z := dnstest.NewZone()
	z.AddMX("example.com", 20, "backup.example.com")
	z.AddMX("example.com", 10, "mx1.example.com")
	z.AddMX("example.com", 10, "mx2.example.com")
	z.AddA("no-mx.example.com", "192.0.2.7")
	z.AddMX("nomail.example.com", 0, ".")
	srv, r := startExample(z)
	defer srv.Close()
	ctx := context.Background()

	// Equal preferences are shuffled; a fixed seed makes this output
	// stable.
	hosts, _ := dnsmx.LookupMX(ctx, r, "example.com", &dnsmx.MXOptions{Rand: rand.New(rand.NewPCG(1, 1))})
	for _, h := range hosts {
		fmt.Println(h.Pref, h.Name)
	}
	hosts, _ = dnsmx.LookupMX(ctx, r, "no-mx.example.com", nil)
	fmt.Println(hosts[0].Name, "implicit:", hosts[0].Implicit)
	_, err := dnsmx.LookupMX(ctx, r, "nomail.example.com", nil)
	fmt.Println(errors.Is(err, dnsmx.ErrNullMX))
	// Output:
	// 10 mx2.example.com
	// 10 mx1.example.com
	// 20 backup.example.com
	// no-mx.example.com implicit: true
	// true
}

func ExampleLookupTargets() {
	z := dnstest.NewZone()
	z.AddMX("example.com", 10, "mx.example.com")
	z.AddA("mx.example.com", "192.0.2.1", "192.0.2.2", "2001:db8::1")
	srv, r := startExample(z)
	defer srv.Close()

	targets, err := dnsmx.LookupTargets(context.Background(), r, "example.com", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range targets {
		fmt.Println(t.Host, t.Addr)
	}
	// Output:
	// mx.example.com 2001:db8::1
	// mx.example.com 192.0.2.1
	// mx.example.com 192.0.2.2
}

func ExampleVerifyFCrDNS() {
	z := dnstest.NewZone()
	z.AddPTR("192.0.2.1", "mail.example.com")
	z.AddA("mail.example.com", "192.0.2.1")
	z.AddPTR("192.0.2.2", "forged.example.com")
	z.AddA("forged.example.com", "198.51.100.1")
	srv, r := startExample(z)
	defer srv.Close()

	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		res, err := dnsmx.VerifyFCrDNS(context.Background(), r, netip.MustParseAddr(ip), nil)
		fmt.Println(ip, res.OK(), res.Names, err)
	}
	// Output:
	// 192.0.2.1 true [mail.example.com] <nil>
	// 192.0.2.2 false [forged.example.com] <nil>
	// 192.0.2.3 false [] <nil>
}

func ExampleCheckHELO() {
	z := dnstest.NewZone()
	z.AddA("mail.example.com", "192.0.2.1")
	srv, r := startExample(z)
	defer srv.Close()

	ip := netip.MustParseAddr("192.0.2.1")
	for _, helo := range []string{"mail.example.com", "[192.0.2.1]", "other.example.com", "not a name"} {
		status, _ := dnsmx.CheckHELO(context.Background(), r, ip, helo)
		fmt.Println(helo, status)
	}
	// Output:
	// mail.example.com match
	// [192.0.2.1] literal-match
	// other.example.com not-found
	// not a name invalid
}

func ExampleLookupDNSBL() {
	z := dnstest.NewZone()
	z.AddA("2.0.0.127.bl.example", "127.0.0.2")
	z.AddTXT("2.0.0.127.bl.example", "listed for testing")
	srv, r := startExample(z)
	defer srv.Close()

	ip := netip.MustParseAddr("127.0.0.2")
	listings, _ := dnsmx.LookupDNSBL(context.Background(), r, ip, []string{"bl.example", "other.example"}, nil)
	for _, l := range listings {
		fmt.Println(l.Zone, l.Listed, l.Addrs, l.TXT)
	}
	// Output:
	// bl.example true [127.0.0.2] [listed for testing]
	// other.example false [] []
}

func ExampleClient_LookupTXT() {
	z := dnstest.NewZone()
	// One record of two character-strings, read as one string.
	z.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 ", "-all")
	z.SetFault("down.example.com", 0, dnstest.ServFail)
	srv, r := startExample(z)
	defer srv.Close()
	ctx := context.Background()

	txt, _ := r.LookupTXT(ctx, "example.com")
	fmt.Printf("%q\n", txt)
	_, err := r.LookupTXT(ctx, "missing.example.com")
	fmt.Println(errors.Is(err, dnsmx.ErrNotFound), dnsmx.IsVoid(err))
	_, err = r.LookupTXT(ctx, "down.example.com")
	fmt.Println(dnsmx.IsTemporary(err))
	// Output:
	// ["v=spf1 ip4:192.0.2.0/24 -all"]
	// true true
	// true
}

func ExampleParseDomain() {
	d, err := dnsmx.ParseDomain("Bücher.example.")
	fmt.Println(d.ASCII, d.Unicode, err)
	_, err = dnsmx.ParseDomain("bad_name.example")
	fmt.Println(errors.Is(err, dnsmx.ErrInvalidName))
	// Output:
	// xn--bcher-kva.example bücher.example <nil>
	// true
}

func ExampleReverseName() {
	fmt.Println(dnsmx.ReverseName(netip.MustParseAddr("192.0.2.1"), "zen.example"))
	fmt.Println(dnsmx.ReverseName(netip.MustParseAddr("2001:db8::1"), "ip6.arpa"))
	// Output:
	// 1.2.0.192.zen.example
	// 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa
}
