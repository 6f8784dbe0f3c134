//go:debug rsa1024min=0

package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
)

var testKeys struct {
	once   sync.Once
	rsa    *rsa.PrivateKey
	rsa512 *rsa.PrivateKey
	ed     ed25519.PrivateKey
}

// keys returns an RSA 2048 key, an RSA 512 key (made possible by the
// go:debug line above) and an Ed25519 key, made once per test binary.
func keys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey) {
	testKeys.once.Do(func() {
		var err error
		if testKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if testKeys.rsa512, err = rsa.GenerateKey(rand.Reader, 512); err != nil {
			panic(err)
		}
		_, testKeys.ed, _ = ed25519.GenerateKey(rand.Reader)
	})
	return testKeys.rsa, testKeys.rsa512, testKeys.ed
}

const testMsg = "From: Alice <alice@example.com>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: Lunch\r\n" +
	"Date: Mon, 07 Dec 2026 09:00:00 +0000\r\n" +
	"Message-ID: <lunch.1@example.com>\r\n" +
	"\r\n" +
	"Shall we meet at noon?\r\n" +
	"\r\n" +
	"Alice\r\n"

var signTime = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// env is a signing and verifying setup: keys for example.com at the
// selectors rsa and ed.
type env struct {
	t        *testing.T
	r        *memResolver
	rsa, ed  crypto.Signer
	verifier *Verifier
}

func newEnv(t *testing.T) *env {
	rk, _, ek := keys(t)
	e := &env{t: t, r: newMemResolver(), rsa: rk, ed: ek}
	e.r.add("rsa._domainkey.example.com", keyText(t, rk))
	e.r.add("ed._domainkey.example.com", keyText(t, ek))
	e.verifier = &Verifier{Resolver: e.r, Now: fixedNow(signTime.Add(time.Hour))}
	return e
}

func (e *env) signer(key crypto.Signer) *Signer {
	sel := "rsa"
	if _, ok := key.(ed25519.PrivateKey); ok {
		sel = "ed"
	}
	return &Signer{Domain: "example.com", Selector: sel, Key: key, Now: fixedNow(signTime)}
}

// sign returns msg with the signatures of signers prepended.
func (e *env) sign(msg string, signers ...*Signer) string {
	e.t.Helper()
	sigs, err := Sign(strings.NewReader(msg), signers...)
	if err != nil {
		e.t.Fatalf("Sign: %v", err)
	}
	return sigs + msg
}

func (e *env) verify(msg string) []Result {
	e.t.Helper()
	res, err := e.verifier.Verify(context.Background(), strings.NewReader(msg))
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return res
}

// one verifies a message with one signature and returns its result.
func (e *env) one(msg string) Result {
	e.t.Helper()
	res := e.verify(msg)
	if len(res) != 1 {
		e.t.Fatalf("%d results, want 1", len(res))
	}
	return res[0]
}

func wantResult(t *testing.T, res Result, status Status, kind error) {
	t.Helper()
	if res.Status != status {
		t.Errorf("status %v (%v), want %v", res.Status, res.Err, status)
	}
	if kind == nil && res.Err != nil {
		t.Errorf("error %v, want none", res.Err)
	}
	if kind != nil && !errors.Is(res.Err, kind) {
		t.Errorf("error %v, want %v", res.Err, kind)
	}
}

func TestSignVerifyBoth(t *testing.T) {
	e := newEnv(t)
	signed := e.sign(testMsg, e.signer(e.rsa), e.signer(e.ed))
	res := e.verify(signed)
	if len(res) != 2 {
		t.Fatalf("%d results", len(res))
	}
	for i, alg := range []Algorithm{RSASHA256, Ed25519SHA256} {
		wantResult(t, res[i], Pass, nil)
		if res[i].Algorithm != alg || res[i].Domain != "example.com" || res[i].Identity != "@example.com" {
			t.Errorf("result %d: %+v", i, res[i])
		}
	}
	for _, line := range strings.Split(signed[:strings.Index(signed, "From:")], "\r\n") {
		if len(line) > 78 {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
	ar := AuthenticationResults(res...)
	if !strings.HasPrefix(ar, "dkim=pass header.d=example.com header.i=@example.com header.s=rsa header.a=rsa-sha256 header.b=") ||
		!strings.Contains(ar, "; dkim=pass header.d=example.com header.i=@example.com header.s=ed header.a=ed25519-sha256 header.b=") {
		t.Errorf("Authentication-Results: %s", ar)
	}
}

func TestSignHeaderList(t *testing.T) {
	e := newEnv(t)
	signed := e.sign(testMsg, e.signer(e.ed))
	sig := e.one(signed).Signature
	got := strings.Join(sig.Headers, ":")
	// Present fields once, over-signed ones once more; absent over-signed
	// fields once, to sign their absence.
	want := "From:From:Reply-To:Subject:Subject:Date:Date:To:To:Cc:In-Reply-To:References:List-Id:List-Unsubscribe:List-Post:" +
		"Sender:Message-ID:Message-ID:MIME-Version:Content-Type:Content-Transfer-Encoding"
	if got != want {
		t.Errorf("h=\n got %s\nwant %s", got, want)
	}
	if sig.HeaderCanon != Relaxed || sig.BodyCanon != Relaxed {
		t.Errorf("c=%v/%v, want relaxed/relaxed", sig.HeaderCanon, sig.BodyCanon)
	}
}

func TestTampering(t *testing.T) {
	e := newEnv(t)
	simple := func(s *Signer) *Signer { s.HeaderCanon, s.BodyCanon = Simple, Simple; return s }
	for _, tc := range []struct {
		name   string
		signer func(e *env) *Signer
		change func(string) string
		status Status
		kind   error
	}{
		{"untouched", func(e *env) *Signer { return e.signer(e.ed) }, func(s string) string { return s }, Pass, nil},
		{"body byte", func(e *env) *Signer { return e.signer(e.rsa) },
			func(s string) string { return strings.Replace(s, "noon", "nooN", 1) }, Fail, ErrBodyHash},
		{"From added above", func(e *env) *Signer { return e.signer(e.rsa) },
			func(s string) string {
				return strings.Replace(s, "From: Alice", "From: Mallory <m@evil.example>\r\nFrom: Alice", 1)
			}, Fail, ErrSignature},
		{"Subject added on top", func(e *env) *Signer { return e.signer(e.ed) },
			func(s string) string { return "Subject: Free money\r\n" + s }, Fail, ErrSignature},
		{"Reply-To added", func(e *env) *Signer { return e.signer(e.ed) },
			func(s string) string {
				return strings.Replace(s, "From: Alice", "Reply-To: m@evil.example\r\nFrom: Alice", 1)
			}, Fail, ErrSignature},
		{"unsigned field added", func(e *env) *Signer { return e.signer(e.ed) },
			func(s string) string { return strings.Replace(s, "From: Alice", "X-Spam: no\r\nFrom: Alice", 1) }, Pass, nil},
		{"refolded relaxed", func(e *env) *Signer { return e.signer(e.rsa) },
			func(s string) string {
				return strings.Replace(s, "To: Bob <bob@example.org>", "To: Bob\r\n\t <bob@example.org>  ", 1)
			}, Pass, nil},
		{"refolded simple", func(e *env) *Signer { return simple(e.signer(e.rsa)) },
			func(s string) string {
				return strings.Replace(s, "To: Bob <bob@example.org>", "To: Bob\r\n\t <bob@example.org>", 1)
			}, Fail, ErrSignature},
		{"body white space relaxed", func(e *env) *Signer { return e.signer(e.ed) },
			func(s string) string { return strings.Replace(s, "meet at", "meet \t at", 1) + "\r\n\r\n" }, Pass, nil},
		{"body white space simple", func(e *env) *Signer { return simple(e.signer(e.ed)) },
			func(s string) string { return strings.Replace(s, "meet at", "meet  at", 1) }, Fail, ErrBodyHash},
		{"trailing empty lines simple", func(e *env) *Signer { return simple(e.signer(e.ed)) },
			func(s string) string { return s + "\r\n\r\n" }, Pass, nil},
		{"header name case relaxed", func(e *env) *Signer { return e.signer(e.ed) },
			func(s string) string { return strings.Replace(s, "Subject: Lunch", "SUBJECT:Lunch", 1) }, Pass, nil},
		{"header name case simple", func(e *env) *Signer { return simple(e.signer(e.ed)) },
			func(s string) string { return strings.Replace(s, "Subject: Lunch", "SUBJECT: Lunch", 1) }, Fail, ErrSignature},
		{"bare LF", func(e *env) *Signer { return simple(e.signer(e.rsa)) },
			func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }, Pass, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := e.sign(testMsg, tc.signer(e))
			wantResult(t, e.one(tc.change(signed)), tc.status, tc.kind)
		})
	}
}

// TestKeyProblems covers the key record side: a missing key, DNS
// failures, revoked and short keys, and key records that do not fit.
func TestKeyProblems(t *testing.T) {
	rk, short, ek := keys(t)
	ctx := context.Background()
	signed := func(t *testing.T, key crypto.Signer, sel string) string {
		t.Helper()
		s := &Signer{Domain: "example.com", Selector: sel, Key: key}
		if key == crypto.Signer(short) {
			// Sign refuses a short key, so make the signature by hand.
			return signManual(t, testMsg, key, Relaxed, "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s="+sel+"; h=From:To:Subject;", -1)
		}
		sigs, err := Sign(strings.NewReader(testMsg), s)
		if err != nil {
			t.Fatal(err)
		}
		return sigs + testMsg
	}
	for _, tc := range []struct {
		name   string
		key    crypto.Signer
		record string // "" for none
		fail   error  // dnsmx category
		status Status
		kind   error
	}{
		{"missing key", rk, "", nil, PermError, ErrNoKey},
		{"SERVFAIL", rk, "", dnsmx.ErrTemporary, TempError, ErrDNS},
		{"no TXT", ek, "", dnsmx.ErrNoData, PermError, ErrNoKey},
		{"revoked", rk, "v=DKIM1; k=rsa; p=", nil, PermError, ErrKeyRevoked},
		{"short RSA key", short, keyText(t, short), nil, PermError, ErrKeyTooShort},
		{"wrong key type", ek, strings.Replace(keyText(t, ek), "k=ed25519", "k=rsa", 1), nil, PermError, ErrKeySyntax},
		{"k= mismatch", ek, keyText(t, rk), nil, PermError, ErrKeyUnsuitable},
		{"h=sha1 only", rk, "v=DKIM1; h=sha1; " + keyText(t, rk)[len("v=DKIM1; "):], nil, PermError, ErrKeyUnsuitable},
		{"s= not email", ek, keyText(t, ek) + "; s=tlsrpt", nil, PermError, ErrKeyUnsuitable},
		{"bad version", ek, "v=DKIM2; " + keyText(t, ek)[len("v=DKIM1; "):], nil, PermError, ErrVersion},
		{"other key", ek, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", nil, Fail, ErrSignature},
		{"testing key fails neutral", ek, "v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", nil, Neutral, ErrSignature},
		{"testing key passes", ek, keyText(t, ek) + "; t=y", nil, Pass, nil},
		{"strict key, i=d", ek, keyText(t, ek) + "; t=s", nil, Pass, nil},
		{"PKCS#1 RSA key", rk, "v=DKIM1; p=" + pkcs1Public(t, rk), nil, Pass, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newMemResolver()
			name := "sel._domainkey.example.com"
			if tc.record != "" {
				r.add(name, tc.record)
			}
			if tc.fail != nil {
				r.fail[name] = tc.fail
			}
			v := &Verifier{Resolver: r}
			res, err := v.Verify(ctx, strings.NewReader(signed(t, tc.key, "sel")))
			if err != nil || len(res) != 1 {
				t.Fatalf("%d results, %v", len(res), err)
			}
			wantResult(t, res[0], tc.status, tc.kind)
			if tc.status == Neutral && !res[0].Testing {
				t.Error("Testing not set")
			}
		})
	}
}

func TestSignatureRules(t *testing.T) {
	e := newEnv(t)
	// edit signs testMsg with Ed25519 and lets change rewrite the
	// unsigned DKIM-Signature field before the signature is made.
	for _, tc := range []struct {
		name   string
		signer func(*Signer)
		field  func(string) string // applied to the whole signed message
		status Status
		kind   error
	}{
		{"expired x=", func(s *Signer) { s.Expiration = time.Minute }, nil, Fail, ErrExpired},
		{"x= in time", func(s *Signer) { s.Expiration = 2 * time.Hour }, nil, Pass, nil},
		{"t= in the future", func(s *Signer) { s.Now = fixedNow(signTime.Add(2 * time.Hour)) }, nil, Fail, ErrFuture},
		{"t= in the future within skew", func(s *Signer) { s.Now = fixedNow(signTime.Add(time.Hour + time.Minute)) }, nil, Pass, nil},
		{"i= subdomain", func(s *Signer) { s.Identity = "alice@mail.example.com" }, nil, Pass, nil},
		{"i= not under d=", nil, func(m string) string {
			return strings.Replace(m, "d=example.com;", "d=example.com; i=alice@example.net;", 1)
		}, PermError, ErrIdentity},
		{"i= suffix but not subdomain", nil, func(m string) string {
			return strings.Replace(m, "d=example.com;", "d=example.com; i=@badexample.com;", 1)
		}, PermError, ErrIdentity},
		{"rsa-sha1", nil, func(m string) string { return strings.Replace(m, "a=ed25519-sha256", "a=rsa-sha1", 1) }, PermError, ErrAlgorithm},
		{"unknown algorithm", nil, func(m string) string { return strings.Replace(m, "a=ed25519-sha256", "a=ed448-sha512", 1) }, PermError, ErrAlgorithm},
		{"version 2", nil, func(m string) string { return strings.Replace(m, "v=1;", "v=2;", 1) }, PermError, ErrVersion},
		{"no From in h=", nil, func(m string) string { return strings.Replace(m, "h=From:From:", "h=", 1) }, PermError, ErrFromNotSigned},
		{"no bh=", nil, func(m string) string { return strings.Replace(m, "bh=", "xh=", 1) }, PermError, ErrMissingTag},
		{"repeated tag", nil, func(m string) string { return strings.Replace(m, "v=1;", "v=1; v=1;", 1) }, PermError, ErrSyntax},
		{"bad c=", nil, func(m string) string { return strings.Replace(m, "c=relaxed/relaxed", "c=loose/relaxed", 1) }, PermError, ErrCanonicalization},
		{"q=dns/txt", nil, func(m string) string { return strings.Replace(m, "v=1;", "v=1; q=dns/txt;", 1) }, Fail, ErrSignature},
		{"q=http", nil, func(m string) string { return strings.Replace(m, "v=1;", "v=1; q=http/well-known;", 1) }, PermError, ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.signer(e.ed)
			if tc.signer != nil {
				tc.signer(s)
			}
			m := e.sign(testMsg, s)
			if tc.field != nil {
				m = tc.field(m)
			}
			res := e.one(m)
			wantResult(t, res, tc.status, tc.kind)
			if res.Status != Pass && res.Domain != "example.com" {
				t.Errorf("result of a broken signature names d=%q", res.Domain)
			}
		})
	}
}

func TestBodyLength(t *testing.T) {
	e := newEnv(t)
	n := int64(len("Shall we meet at noon?\r\n\r\nAlice\r\n"))
	m := signManual(t, testMsg, e.ed, Relaxed, "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed; h=From:To:Subject; l="+strconv.FormatInt(n, 10)+";", n)
	res := e.one(m)
	wantResult(t, res, Pass, nil)
	if res.UnsignedBodyBytes != 0 {
		t.Errorf("unsigned %d octets, want 0", res.UnsignedBodyBytes)
	}
	appended := m + "Click http://evil.example/ now!\r\n"
	res = e.one(appended)
	wantResult(t, res, Pass, nil)
	if want := int64(len("Click http://evil.example/ now!\r\n")); res.UnsignedBodyBytes != want {
		t.Errorf("unsigned %d octets, want %d", res.UnsignedBodyBytes, want)
	}
	short := strings.Replace(m, "Alice\r\n", "", 1)
	wantResult(t, e.one(short), Fail, ErrBodyLength)
}

func TestTooManySignatures(t *testing.T) {
	e := newEnv(t)
	var signers []*Signer
	for range 7 {
		signers = append(signers, e.signer(e.ed))
	}
	res := e.verify(e.sign(testMsg, signers...))
	if len(res) != 7 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res {
		if i < DefaultMaxSignatures {
			wantResult(t, r, Pass, nil)
		} else {
			wantResult(t, r, PermError, ErrTooManySignatures)
		}
	}
	if e.r.lookups != 1 {
		t.Errorf("%d lookups for one selector, want 1", e.r.lookups)
	}
}

func TestTooManyLookups(t *testing.T) {
	e := newEnv(t)
	var signers []*Signer
	for _, sel := range []string{"a", "b", "c"} {
		e.r.add(sel+"._domainkey.example.com", keyText(t, e.ed))
		s := e.signer(e.ed)
		s.Selector = sel
		signers = append(signers, s)
	}
	e.verifier.Limits.Lookups = 2
	res := e.verify(e.sign(testMsg, signers...))
	wantResult(t, res[0], Pass, nil)
	wantResult(t, res[1], Pass, nil)
	wantResult(t, res[2], PermError, ErrTooManyLookups)
}

func TestNoSignature(t *testing.T) {
	e := newEnv(t)
	if res := e.verify(testMsg); len(res) != 0 {
		t.Errorf("%d results for an unsigned message", len(res))
	}
	if got := AuthenticationResults(); got != "dkim=none" {
		t.Errorf("AuthenticationResults() = %q", got)
	}
}

func TestVerifyErrors(t *testing.T) {
	e := newEnv(t)
	if _, err := (&Verifier{}).Verify(context.Background(), strings.NewReader(testMsg)); err == nil {
		t.Error("no error without a resolver")
	}
	huge := "From: a@example.com\r\nX-Big: " + strings.Repeat("x", DefaultMaxHeaderBytes) + "\r\n\r\nbody\r\n"
	if _, err := e.verifier.Verify(context.Background(), strings.NewReader(huge)); err == nil {
		t.Error("no error for a header over the limit")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.verifier.Verify(ctx, strings.NewReader(e.sign(testMsg, e.signer(e.ed)))); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestSignerErrors(t *testing.T) {
	rk, short, ek := keys(t)
	for _, s := range []*Signer{
		{Domain: "example.com", Selector: "s"},
		{Domain: "exa mple.com", Selector: "s", Key: ek},
		{Domain: "example.com", Selector: "s;x", Key: ek},
		{Domain: "example.com", Selector: "s", Key: short},
		{Domain: "example.com", Selector: "s", Key: rk, Identity: "a@example.net"},
		{Domain: "example.com", Selector: "s", Key: rk, BodyCanon: 7},
	} {
		if _, err := Sign(strings.NewReader(testMsg), s); !errors.Is(err, ErrSigner) {
			t.Errorf("Sign(%+v): %v, want ErrSigner", s, err)
		}
	}
	if _, err := Sign(strings.NewReader(testMsg)); !errors.Is(err, ErrSigner) {
		t.Errorf("Sign without signers: %v", err)
	}
}

func TestStreaming(t *testing.T) {
	// A 20 MB body read through a reader that hands out small pieces
	// verifies; the verifier sees it only through Read.
	e := newEnv(t)
	body := strings.Repeat("0123456789 abcdefghij \t klmnopqrstuvwxyz\r\n", 500000)
	msg := strings.Replace(testMsg, "Shall we meet at noon?\r\n", body, 1)
	signed := e.sign(msg, e.signer(e.ed))
	res, err := e.verifier.Verify(context.Background(), &trickle{r: strings.NewReader(signed)})
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res[0], Pass, nil)
}

// trickle returns at most 7 octets a Read.
type trickle struct{ r *strings.Reader }

func (t *trickle) Read(p []byte) (int, error) {
	if len(p) > 7 {
		p = p[:7]
	}
	return t.r.Read(p)
}

var _ = bytes.NewReader
