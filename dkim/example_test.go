package dkim_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/heraldmail/herald/dkim"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

const exampleMessage = "From: Joe SixPack <joe@football.example.com>\r\n" +
	"To: Suzie Q <suzie@shopping.example.net>\r\n" +
	"Subject: Is dinner ready?\r\n" +
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" +
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n" +
	"\r\n" +
	"Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n"

// A sender signs a message with an Ed25519 and an RSA key at once, and a
// receiver verifies both, with the keys served by a DNS server on
// 127.0.0.1. The keys are the fixed ones of RFC 8463, so the output does
// not change; real keys come from GenerateKey.
func ExampleSign() {
	edKey := ed25519.NewKeyFromSeed([]byte("an Ed25519 seed of 32 octets....")[:32])
	pemKey, err := os.ReadFile("testdata/rfc/rfc8463-appendix-a.pem")
	if err != nil {
		log.Fatal(err)
	}
	rsaKey, err := dkim.ParsePrivateKey(pemKey)
	if err != nil {
		log.Fatal(err)
	}

	// Publish the public keys.
	zone := dnstest.NewZone()
	for sel, pub := range map[string]any{"ed": edKey.Public(), "rsa": rsaKey.Public()} {
		txt, err := dkim.KeyRecordText(pub)
		if err != nil {
			log.Fatal(err)
		}
		zone.AddTXT(sel+"._domainkey.football.example.com", txt)
	}
	srv, err := dnstest.Start(zone)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	// Sign.
	now := func() time.Time { return time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) }
	sigs, err := dkim.Sign(strings.NewReader(exampleMessage),
		&dkim.Signer{Domain: "football.example.com", Selector: "ed", Key: edKey, Now: now},
		&dkim.Signer{Domain: "football.example.com", Selector: "rsa", Key: rsaKey, Now: now})
	if err != nil {
		log.Fatal(err)
	}
	signed := sigs + exampleMessage
	fmt.Print(strings.ReplaceAll(signed[:strings.LastIndex(sigs, "DKIM-Signature:")], "\r\n", "\n"))

	// Verify.
	v := &dkim.Verifier{Resolver: srv.Resolver(nil), Now: now}
	results, err := v.Verify(context.Background(), strings.NewReader(signed))
	if err != nil {
		log.Fatal(err)
	}
	for _, res := range results {
		fmt.Println(res.Status, res.Algorithm, res.Domain, res.Selector)
	}
	fmt.Println("Authentication-Results: mx.example.net;\n\t" + strings.ReplaceAll(dkim.AuthenticationResults(results...), "; ", ";\n\t"))

	// A changed body fails.
	results, err = v.Verify(context.Background(), strings.NewReader(strings.Replace(signed, "lost", "won", 1)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(results[0].Status, results[0].Err)
	// Output:
	// DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;
	// 	d=football.example.com; s=ed; t=1796634000; h=From:From:Reply-To:Subject:
	// 	Subject:Date:Date:To:To:Cc:In-Reply-To:References:List-Id:List-Unsubscribe:
	// 	List-Post:Sender:Message-ID:Message-ID:MIME-Version:Content-Type:
	// 	Content-Transfer-Encoding; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
	// 	b=2PBrE9qrjq3WJcDAYX6FOwoYFwObUNGSX0zw9nyvpn7dC0Zk42xuqsQ6nPojNwUBLl5XBXJHmZw
	// 	HnV0vhE03AQ==
	// pass ed25519-sha256 football.example.com ed
	// pass rsa-sha256 football.example.com rsa
	// Authentication-Results: mx.example.net;
	// 	dkim=pass header.d=football.example.com header.i=@football.example.com header.s=ed header.a=ed25519-sha256 header.b=2PBrE9qr;
	// 	dkim=pass header.d=football.example.com header.i=@football.example.com header.s=rsa header.a=rsa-sha256 header.b=yftYKYDp
	// fail dkim: body hash did not verify in tag "bh"
}

// GenerateKey makes the key pair of a new selector; KeyRecordText gives
// the record to publish and MarshalPrivateKey the PEM to keep.
func ExampleGenerateKey() {
	key, err := dkim.GenerateKey(dkim.Ed25519SHA256)
	if err != nil {
		log.Fatal(err)
	}
	txt, err := dkim.KeyRecordText(key.Public())
	if err != nil {
		log.Fatal(err)
	}
	pemKey, err := dkim.MarshalPrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sel._domainkey.example.com. IN TXT", txt[:len("v=DKIM1; k=ed25519; p=")], len(txt))
	fmt.Println(strings.SplitN(string(pemKey), "\n", 2)[0])
	again, err := dkim.ParsePrivateKey(pemKey)
	fmt.Println(err == nil && again.Public().(ed25519.PublicKey).Equal(key.Public()))
	// Output:
	// sel._domainkey.example.com. IN TXT v=DKIM1; k=ed25519; p= 66
	// -----BEGIN PRIVATE KEY-----
	// true
}

// Signature fields and key records parse without DNS.
func ExampleParseSignature() {
	sig, err := dkim.ParseSignature(" v=1; a=rsa-sha256; c=relaxed; d=example.com; s=sel;\r\n" +
		"\ti=alice@mail.example.com; l=120; h=From:To:Subject; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n\tb=dGVzdA==")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sig.Algorithm, sig.HeaderCanon, sig.BodyCanon, sig.Domain, sig.Identity, sig.BodyLength, sig.Headers)
	_, err = dkim.ParseSignature("v=1; a=rsa-sha1; d=example.com; s=sel; h=From; bh=AA==; b=AA==")
	fmt.Println(err)
	key, err := dkim.ParseKeyRecord("v=DKIM1; k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	fmt.Println(key.KeyType, key.Testing, key.Strict, err)
	// Output:
	// rsa-sha256 relaxed simple example.com alice@mail.example.com 120 [From To Subject]
	// dkim: unsupported algorithm in tag "a": rsa-sha1 is refused (RFC 8301 section 3.1)
	// ed25519 true true <nil>
}
