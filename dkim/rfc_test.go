package dkim

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRFC8463 verifies the two signatures of RFC 8463 appendix A, made
// with the keys of its section A.2 (the RFC 8032 test key and a 1024-bit
// RSA key), and reproduces both: RSA PKCS #1 v1.5 and Ed25519 are
// deterministic, so signing the same message with the same tags gives the
// same b=.
func TestRFC8463(t *testing.T) {
	msg := readFile(t, "testdata/rfc/rfc8463-appendix-a.eml")
	ed := rfc8032Key(t)
	rsaKey := readKey(t, "testdata/rfc/rfc8463-appendix-a.pem")
	if got := keyText(t, ed); got != "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" {
		t.Fatalf("Ed25519 record %q differs from RFC 8463 A.2", got)
	}
	r := newMemResolver().
		add("brisbane._domainkey.football.example.com", keyText(t, ed)).
		add("test._domainkey.football.example.com", keyText(t, rsaKey))
	v := &Verifier{Resolver: r, Now: fixedNow(time.Unix(1528637909, 0))}
	res, err := v.Verify(context.Background(), bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for i, want := range []Algorithm{Ed25519SHA256, RSASHA256} {
		if res[i].Status != Pass || res[i].Algorithm != want {
			t.Errorf("signature %d: %v %v (%v), want pass %v", i, res[i].Status, res[i].Algorithm, res[i].Err, want)
		}
	}
	if got, want := AuthenticationResults(res...),
		"dkim=pass header.d=football.example.com header.i=@football.example.com header.s=brisbane header.a=ed25519-sha256 header.b=\"/gCrinpc\"; "+
			"dkim=pass header.d=football.example.com header.i=@football.example.com header.s=test header.a=rsa-sha256 header.b=F45dVWDf"; got != want {
		t.Errorf("Authentication-Results\n got %s\nwant %s", got, want)
	}
}

// TestRFC6376AppendixA checks the example of RFC 6376 appendix A.2 with the
// key of appendix C. The message is rebuilt from the RFC text with the
// three columns of page indentation removed (so continuation lines start
// with six spaces, as printed), CRLF line endings, and the body of A.1
// ("We lost the game. Are you hungry yet?", one space). Rebuilt this way
// the printed signature verifies; the same body with two spaces, as RFC
// 8463 prints it, gives the same relaxed body hash but not the same simple
// one, so the signature fails on its body hash.
func TestRFC6376AppendixA(t *testing.T) {
	msg := readFile(t, "testdata/rfc/rfc6376-appendix-a2.eml")
	key := readKey(t, "testdata/rfc/rfc6376-appendix-c.pem")
	if got := keyText(t, key); !strings.HasSuffix(got, "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB") {
		t.Fatalf("appendix C key gives record %q", got)
	}
	r := newMemResolver().add("brisbane._domainkey.example.com", "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ"+
		"KBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt"+
		"IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v"+
		"/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhi"+
		"tdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB")
	v := &Verifier{Resolver: r}
	verify := func(msg []byte) Result {
		t.Helper()
		res, err := v.Verify(context.Background(), bytes.NewReader(msg))
		if err != nil || len(res) != 1 {
			t.Fatalf("Verify: %d results, %v", len(res), err)
		}
		return res[0]
	}
	if res := verify(msg); res.Status != Pass || res.Identity != "joe@football.example.com" || res.Domain != "example.com" {
		t.Errorf("printed A.2 signature: %v (%v) i=%s d=%s", res.Status, res.Err, res.Identity, res.Domain)
	}
	twoSpaces := bytes.Replace(msg, []byte("game. Are"), []byte("game.  Are"), 1)
	if res := verify(twoSpaces); res.Status != Fail || !errors.Is(res.Err, ErrBodyHash) {
		t.Errorf("two spaces: %v (%v), want a body hash failure", res.Status, res.Err)
	}
}
