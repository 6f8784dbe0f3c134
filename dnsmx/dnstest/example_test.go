package dnstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

func ExampleParseZone() {
	z, err := dnstest.ParseZone(`
$ORIGIN example.com.
@    IN MX  10 mx
@    IN TXT "v=spf1 " "mx -all"
mx   IN A   192.0.2.1
`, "")
	if err != nil {
		panic(err)
	}
	srv, err := dnstest.Start(z)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	r := srv.Resolver(nil)

	hosts, _ := dnsmx.LookupMX(context.Background(), r, "example.com", nil)
	txt, _ := r.LookupTXT(context.Background(), "example.com")
	fmt.Println(hosts[0].Name, txt)
	// Output: mx.example.com [v=spf1 mx -all]
}

func ExampleZone_SetFault() {
	z := dnstest.NewZone()
	z.AddA("slow.example.com", "192.0.2.1")
	z.SetFault("slow.example.com", 0, dnstest.Timeout)
	srv, err := dnstest.Start(z)
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	// The resolver gives up after its per-attempt timeout.
	r := srv.Resolver(&dnsmx.ClientOptions{Timeout: 50 * time.Millisecond})
	_, err = r.LookupNetIP(context.Background(), "ip4", "slow.example.com")
	fmt.Println(dnsmx.IsTemporary(err))
	// Output: true
}
