package dkim

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// TestHostile feeds the verifier messages and records built to cost time
// or memory, and checks that each limit stops them with its error.
func TestHostile(t *testing.T) {
	e := newEnv(t)
	sigField := func(sel string, extra string) string {
		return "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=" + sel + "; h=From" + extra + "; bh=AA==; b=AA==\r\n"
	}

	t.Run("900 signatures", func(t *testing.T) {
		e.t = t
		var b strings.Builder
		for i := range 900 {
			b.WriteString(sigField("s"+strings.Repeat("x", i%50), ""))
		}
		e.r.lookups = 0
		res := e.verify(b.String() + testMsg)
		if len(res) != 900 {
			t.Fatalf("%d results", len(res))
		}
		for i, r := range res[DefaultMaxSignatures:] {
			if r.Status != PermError || !errors.Is(r.Err, ErrTooManySignatures) {
				t.Fatalf("signature %d: %v %v", i+DefaultMaxSignatures, r.Status, r.Err)
			}
		}
		if e.r.lookups > DefaultMaxLookups {
			t.Errorf("%d lookups, limit %d", e.r.lookups, DefaultMaxLookups)
		}
	})
	t.Run("huge signature field", func(t *testing.T) {
		e.t = t
		res := e.one(sigField("ed", "; z="+strings.Repeat(strings.Repeat("x", 900)+"\r\n ", DefaultMaxSignatureBytes/900+2)) + testMsg)
		wantResult(t, res, PermError, ErrTooLarge)
		if res.Domain != "example.com" {
			t.Errorf("d=%q", res.Domain)
		}
	})
	t.Run("long h= list", func(t *testing.T) {
		e.t = t
		res := e.one(sigField("ed", strings.Repeat(":To", maxHeaderNames)) + testMsg)
		wantResult(t, res, PermError, ErrTooLarge)
	})
	t.Run("huge key record", func(t *testing.T) {
		e.t = t
		e.r.add("big._domainkey.example.com", "v=DKIM1; k=ed25519; n="+strings.Repeat("n", DefaultMaxKeyRecordBytes)+"; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
		wantResult(t, e.one(sigField("big", "")+testMsg), PermError, ErrTooLarge)
	})
	t.Run("RSA key of 16384 bits", func(t *testing.T) {
		e.t = t
		n := new(big.Int).Lsh(big.NewInt(1), 16383)
		n.Add(n, big.NewInt(1))
		der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
		if err != nil {
			t.Fatal(err)
		}
		e.r.add("huge._domainkey.example.com", "v=DKIM1; p="+base64.StdEncoding.EncodeToString(der))
		m := strings.Replace(sigField("huge", ""), "ed25519-sha256", "rsa-sha256", 1) + testMsg
		wantResult(t, e.one(m), PermError, ErrKeyTooShort)
	})
	t.Run("header too large", func(t *testing.T) {
		e.t = t
		m := "X: " + strings.Repeat("y", DefaultMaxHeaderBytes) + "\r\n" + testMsg
		if _, err := e.verifier.Verify(context.Background(), strings.NewReader(m)); err == nil {
			t.Error("no error")
		}
	})
	t.Run("garbage", func(t *testing.T) {
		e.t = t
		for _, m := range []string{"", "\r\n", "DKIM-Signature:", "DKIM-Signature: ;;;;\r\n\r\n", "dkim-signature: v=1; b=" + strings.Repeat("A", 5000) + "\r\n\r\n", "\x00\xff\r\n\r\n"} {
			res, err := e.verifier.Verify(context.Background(), strings.NewReader(m))
			if err != nil {
				continue
			}
			for _, r := range res {
				if r.Status != PermError {
					t.Errorf("%q: %v %v", m, r.Status, r.Err)
				}
			}
		}
	})
}
