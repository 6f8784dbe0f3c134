package greylist_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/heraldmail/herald/greylist"
)

// A first attempt is deferred; the retry five minutes later passes and the
// message gets an X-Greylist header field.
func Example() {
	now := time.Date(2026, 11, 23, 17, 45, 0, 0, time.UTC)
	p, err := greylist.New(&greylist.Options{
		Now:      func() time.Time { return now },
		Hostname: "mx.example.net",
	})
	if err != nil {
		panic(err)
	}
	req := greylist.Request{
		Client:    netip.MustParseAddr("192.0.2.25"),
		Sender:    "prvs=1234abcdef=news+4711@example.org",
		Recipient: "bob@example.net",
	}

	d, _ := p.Check(context.Background(), req)
	reply, _ := p.Reply(d)
	fmt.Println(d.Action, d.Reason, "-", reply)

	now = now.Add(6 * time.Minute)
	req.Client = netip.MustParseAddr("192.0.2.26") // another host of the /24
	req.Sender = "prvs=5678abcdef=news+4712@example.org"
	d, _ = p.Check(context.Background(), req)
	header, _ := p.HeaderValue(d)
	fmt.Println(d.Action, d.Reason)
	fmt.Println(greylist.HeaderName + ": " + header)
	// Output:
	// defer new - 451 4.7.1 Greylisted, please retry in 300 seconds (after 2026-11-23T17:50:00Z)
	// pass retried
	// X-Greylist: delayed 360 seconds by Herald greylist at mx.example.net; Mon, 23 Nov 2026 17:51:00 +0000
}

func ExampleNormalizeSender() {
	for _, s := range []string{
		"prvs=0123abcdef=Alice@Example.ORG",
		"bounce-4711-22@lists.example.org",
		"alice+newsletter@example.org",
		"SRS0=HHH=TT=example.com=bob@forwarder.example",
	} {
		fmt.Println(greylist.NormalizeSender(s))
	}
	// Output:
	// alice@example.org
	// bounce-#-#@lists.example.org
	// alice@example.org
	// srs0=#=#=example.com=bob@forwarder.example
}

func ExampleWhitelist() {
	p, _ := greylist.New(&greylist.Options{
		Whitelist: greylist.Whitelist{
			Networks:   []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
			Recipients: []string{"postmaster@", "abuse@"},
		},
	})
	for _, r := range []greylist.Request{
		{Client: netip.MustParseAddr("203.0.113.9"), Sender: "a@example.org", Recipient: "bob@example.net"},
		{Client: netip.MustParseAddr("192.0.2.1"), Sender: "a@example.org", Recipient: "Postmaster@example.net"},
		{Client: netip.MustParseAddr("192.0.2.1"), Sender: "a@example.org", Recipient: "bob@example.net"},
	} {
		d, _ := p.Check(context.Background(), r)
		fmt.Println(d.Action, d.Reason)
	}
	// Output:
	// pass whitelisted network
	// pass whitelisted recipient
	// defer new
}

func ExampleStep() {
	rules := greylist.Rules{Delay: 5 * time.Minute, RetryWindow: 48 * time.Hour, MaxAge: 35 * 24 * time.Hour, AutoWhitelist: 5}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s greylist.State
	for _, at := range []time.Duration{0, time.Minute, 5 * time.Minute, time.Hour} {
		var out greylist.Outcome
		s, out = greylist.Step(greylist.Query{Client: "n", Envelope: "e", Now: t0.Add(at), Rules: rules}, s)
		fmt.Println(at, out.Verdict, out.ClientPasses)
	}
	// Output:
	// 0s new 0
	// 1m0s early 0
	// 5m0s retried 1
	// 1h0m0s known 1
}
