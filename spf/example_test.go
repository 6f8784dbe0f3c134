package spf_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/spf"
)

// A receiving MTA checks the MAIL FROM domain of a connection. The records
// are served by a DNS server on 127.0.0.1, so the example runs anywhere.
func ExampleCheck() {
	zone := dnstest.NewZone().
		AddTXT("example.com", "v=spf1 include:_spf.example.com -all exp=why.example.com").
		AddTXT("_spf.example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all").
		AddTXT("why.example.com", "%{i} is not a mail server of %{d}")
	srv, err := dnstest.Start(zone)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	resolver := srv.Resolver(nil)

	for _, client := range []string{"192.0.2.25", "198.51.100.7"} {
		res, err := spf.Check(context.Background(), resolver, spf.Args{
			IP:       netip.MustParseAddr(client),
			Sender:   "alice@example.com",
			HELO:     "mail.example.com",
			Receiver: "mx.example.org",
			Now:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s by %q\n", client, res.Status, res.Mechanism)
		if res.Status == spf.Fail {
			fmt.Println("  550 5.7.23", res.Explanation)
		}
	}
	// Output:
	// 192.0.2.25: pass by "include:_spf.example.com"
	// 198.51.100.7: fail by "-all"
	//   550 5.7.23 198.51.100.7 is not a mail server of example.com
}

// The header fields a receiver adds for downstream filters.
func ExampleReceivedSPF() {
	zone := dnstest.NewZone().AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	srv, err := dnstest.Start(zone)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	args := spf.Args{
		IP:       netip.MustParseAddr("192.0.2.25"),
		Sender:   "alice@example.com",
		HELO:     "mail.example.com",
		Receiver: "mx.example.org",
	}
	res, err := spf.Check(context.Background(), srv.Resolver(nil), args)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spf.ReceivedSPF(res, args))
	fmt.Println("Authentication-Results: mx.example.org; " + spf.AuthenticationResults(res))
	// Output:
	// Received-SPF: pass (mx.example.org: domain of alice@example.com designates 192.0.2.25 as permitted sender) receiver=mx.example.org; client-ip=192.0.2.25; envelope-from="alice@example.com"; helo=mail.example.com; identity=mailfrom; mechanism="ip4:192.0.2.0/24";
	// Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=alice@example.com
}

// Records can be parsed and inspected without DNS.
func ExampleParseRecord() {
	rec, err := spf.ParseRecord("v=spf1 +mx a:mail.example.com/28 IP4:192.0.2.1/24 ~all redirect=_spf.example.com")
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range rec.Directives {
		fmt.Printf("%-22s %s %s\n", d.String(), d.Kind, d.Qualifier.Status())
	}
	fmt.Println(rec)

	_, err = spf.ParseRecord("v=spf1 ip4:192.0.2.300 -all")
	fmt.Println(err)
	// Output:
	// mx                     mx pass
	// a:mail.example.com/28  a pass
	// ip4:192.0.2.0/24       ip4 pass
	// ~all                   all softfail
	// v=spf1 mx a:mail.example.com/28 ip4:192.0.2.0/24 ~all redirect=_spf.example.com
	// spf: syntax error in term "ip4:192.0.2.300": invalid IP network
}
