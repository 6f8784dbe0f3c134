package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// FuzzParseSignature checks that ParseSignature never panics, fails only
// with an *Error, and that what it accepts obeys the rules it claims to
// check.
func FuzzParseSignature(f *testing.F) {
	for _, s := range []string{
		" v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel; h=From:To; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
		"v=1; a=ed25519-sha256; d=example.com; i=joe@a.example.com; s=x.y; t=1; x=2; l=0; q=dns/txt; h=from : to :\r\n subject; bh=AA==; b=AA==;",
		"v=1; a=rsa-sha1; d=e; s=s; h=from; bh=AA==; b=AA==",
		"v=1;v=1",
		";",
		"a=;b=;",
		"v=1; a=rsa-sha256; c=simple; d=example.com.; s=s; h=From; bh=AA==; b=A A = =; z=From:foo|To:bar",
		"v=1; x=999999999999; t=999999999999; l=99999999999999999999999999; d=example.com; a=rsa-sha256; s=s; h=from; bh=AA==; b=AA==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignature(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Err == nil || sig != nil {
				t.Fatalf("ParseSignature(%q): %v, %v", s, sig, err)
			}
			_ = err.Error()
			_ = e.Reason()
			return
		}
		if sig.Algorithm != RSASHA256 && sig.Algorithm != Ed25519SHA256 {
			t.Fatalf("accepted algorithm %v", sig.Algorithm)
		}
		if !isDomain(sig.Domain) || !isSelector(sig.Selector) || len(sig.Value) == 0 || len(sig.BodyHash) == 0 {
			t.Fatalf("accepted %+v", sig)
		}
		if !isSubdomain(sig.IdentityDomain(), sig.Domain) {
			t.Fatalf("i=%q not under d=%q", sig.Identity, sig.Domain)
		}
		from := false
		for _, h := range sig.Headers {
			from = from || equalFold(h, "from")
		}
		if !from {
			t.Fatal("h= without From accepted")
		}
		// b= removal keeps every other byte of the field.
		stripped := stripB("DKIM-Signature:" + s)
		if len(stripped) > len(s)+len("DKIM-Signature:") {
			t.Fatal("stripB grew the field")
		}
	})
}

// FuzzParseKeyRecord checks that ParseKeyRecord never panics, fails only
// with an *Error, and returns a usable key for what it accepts.
func FuzzParseKeyRecord(f *testing.F) {
	for _, s := range []string{
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
		"v=DKIM1; k=rsa; p=",
		"p=; v=DKIM1",
		"k=rsa; h=sha1:sha256; s=email:*; t=y:s; n=notes; p=AAAA",
		"v=DKIM1; k=ed25519; p=AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKeyRecord(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || k != nil {
				t.Fatalf("ParseKeyRecord(%q): %v, %v", s, k, err)
			}
			_ = err.Error()
			return
		}
		if k.Revoked != (k.PublicKey == nil) {
			t.Fatalf("revoked %v with key %v", k.Revoked, k.PublicKey)
		}
		if !k.Revoked {
			if _, err := KeyRecordText(k.PublicKey); err != nil {
				t.Fatalf("accepted key cannot be written back: %v", err)
			}
		}
	})
}

// FuzzParseRSASPKI checks that what parseRSASPKI accepts,
// x509.ParsePKIXPublicKey accepts as the same key. Seeded with the DER of
// keys of several sizes and exponents and with pieces of them.
func FuzzParseRSASPKI(f *testing.F) {
	for _, key := range rsaTestKeys(f, 1024, 2048) {
		for _, e := range []int{65537, 3, 1<<31 - 1} {
			der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: key.N, E: e})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(der)
			f.Add(der[:len(der)-1])
			f.Add(append(der, 0))
			f.Add(x509.MarshalPKCS1PublicKey(&key.PublicKey))
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		k := parseRSASPKI(der)
		pub, err := x509.ParsePKIXPublicKey(der)
		if k == nil {
			return
		}
		if err != nil {
			t.Fatalf("parseRSASPKI accepts %x, x509 refuses it: %v", der, err)
		}
		if !k.Equal(pub) {
			t.Fatalf("parseRSASPKI and x509 read %x as different keys", der)
		}
	})
}

// FuzzBodyHash checks the streamed body hash against referenceBody, a
// line-by-line reading of RFC 6376 section 3.4.3 and 3.4.4, that it does
// not depend on how the body is cut into Writes, and that l= cuts the
// canonical body where it says.
func FuzzBodyHash(f *testing.F) {
	f.Add([]byte("a \t b  \r\n\r\n \r\nc\r"), uint8(3), int64(-1))
	f.Add([]byte("line\n\n\nx"), uint8(1), int64(4))
	f.Add([]byte(""), uint8(0), int64(0))
	f.Fuzz(func(t *testing.T, body []byte, cut uint8, limit int64) {
		if limit < -1 {
			limit = -1
		}
		for _, c := range []Canonicalization{Simple, Relaxed} {
			whole := newBodyHasher(c, sha256.New(), limit)
			whole.Write(body)
			want := whole.sum()
			ref := referenceBody(c, body)
			if limit >= 0 && int64(len(ref)) > limit {
				ref = ref[:limit]
			}
			if sum := sha256.Sum256(ref); !bytes.Equal(want, sum[:]) {
				t.Fatalf("%v: hash differs from the reference canonicalization %q", c, ref)
			}
			pieces := newBodyHasher(c, sha256.New(), limit)
			step := int(cut)%7 + 1
			for i := 0; i < len(body); i += step {
				pieces.Write(body[i:min(i+step, len(body))])
			}
			if got := pieces.sum(); !bytes.Equal(got, want) {
				t.Fatalf("%v: hash differs when written %d octets at a time", c, step)
			}
			if limit >= 0 && whole.n > limit {
				t.Fatalf("%v: hashed %d octets past l=%d", c, whole.n, limit)
			}
		}
	})
}

// referenceBody canonicalizes a whole body the slow, obvious way: split
// at LF (a CR before it belongs to the line end, any other CR is content),
// reduce each line, drop the empty lines at the end, end every line in
// CRLF; an empty body is CRLF in simple and nothing in relaxed.
func referenceBody(c Canonicalization, body []byte) []byte {
	lines := strings.Split(string(body), "\n")
	if last := lines[len(lines)-1]; last == "" {
		lines = lines[:len(lines)-1] // the body ended in a line end, or is empty
	}
	for i, l := range lines {
		if i < len(lines)-1 || strings.HasSuffix(string(body), "\n") {
			l = strings.TrimSuffix(l, "\r")
		}
		if c == Relaxed {
			var b strings.Builder
			space := false
			for j := 0; j < len(l); j++ {
				if l[j] == ' ' || l[j] == '\t' {
					space = true
					continue
				}
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteByte(l[j])
			}
			l = b.String()
		}
		lines[i] = l
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		if c == Simple {
			return []byte("\r\n")
		}
		return nil
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// FuzzVerify runs the whole verifier over arbitrary messages, with a key
// in an in-memory resolver, and checks that it never panics, answers one
// result per DKIM-Signature field, and only passes what it can explain.
func FuzzVerify(f *testing.F) {
	rk, _, ek := keys(f)
	r := newMemResolver().
		add("ed._domainkey.example.com", keyText(f, ek)).
		add("rsa._domainkey.example.com", keyText(f, rk)).
		add("bad._domainkey.example.com", "v=DKIM1; k=ed25519; p=AAAA").
		add("many._domainkey.example.com", "v=DKIM1; p=", "v=DKIM1; p=")
	for _, s := range []*Signer{
		{Domain: "example.com", Selector: "ed", Key: ek},
		{Domain: "example.com", Selector: "rsa", Key: rk, HeaderCanon: Simple, BodyCanon: Simple},
	} {
		sigs, err := Sign(strings.NewReader(testMsg), s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(sigs + testMsg))
	}
	f.Add([]byte("DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=bad; h=from; bh=AA==; b=AA==\r\nFrom: x\r\n\r\n"))
	f.Add([]byte("DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=many; h=from; bh=AA==; b=AA==\nDKIM-Signature:;\n\nbody"))
	f.Add([]byte("dkim-signature:\r\n\r\n"))
	v := &Verifier{Resolver: r, Now: func() time.Time { return signTime }}
	f.Fuzz(func(t *testing.T, msg []byte) {
		res, err := v.Verify(context.Background(), bytes.NewReader(msg))
		if err != nil {
			return
		}
		for _, rs := range res {
			if rs.Status == Pass && (rs.Err != nil || rs.Signature == nil || rs.Key == nil) {
				t.Fatalf("pass without signature and key: %+v", rs)
			}
			if rs.Status != Pass && rs.Err == nil {
				t.Fatalf("%v without a reason", rs.Status)
			}
		}
		_ = AuthenticationResults(res...)
	})
}

// TestBodyHashReference compares the streamed body hash with
// referenceBody on many random bodies of the octets that matter to
// canonicalization, written whole and in random pieces, so that the
// eight-octet scan of runEnd meets every alignment.
func TestBodyHashReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab  \t\r\n\n\x01\x7f\xc3\xa9")
	for n := range 20000 {
		body := make([]byte, rng.IntN(120))
		for i := range body {
			body[i] = alphabet[rng.IntN(len(alphabet))]
		}
		for _, c := range []Canonicalization{Simple, Relaxed} {
			want := sha256.Sum256(referenceBody(c, body))
			h := newBodyHasher(c, sha256.New(), -1)
			for rest := body; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(40))
				h.Write(rest[:k])
				rest = rest[k:]
			}
			if got := h.sum(); !bytes.Equal(got, want[:]) {
				t.Fatalf("body %d %q, %v: hash differs from the reference %q", n, body, c, referenceBody(c, body))
			}
		}
	}
}

// FuzzVerifyRSA checks that the package's RSA verification agrees with
// crypto/rsa.VerifyPKCS1v15 on every input, through each of its paths
// (see verifyAll): signatures that are valid, valid with bits flipped or
// octets changed, or anything, of any length, against keys of 1024, 1088
// (17 limbs), 1100 (top bit of the top limb clear) and 2048 bits and with the exponents 65537, 3 and others;
// and that the public operation, whenever it runs, computes s^e mod N as
// math/big does.
func FuzzVerifyRSA(f *testing.F) {
	keys := rsaTestKeys(f, 1024, 1088, 1100, 2048)
	var pubs []*rsa.PublicKey
	for _, k := range keys {
		pubs = append(pubs, &k.PublicKey)
	}
	n2048 := keys[3].N
	pubs = append(pubs, &rsa.PublicKey{N: n2048, E: 3}, &rsa.PublicKey{N: n2048, E: 1<<31 - 1},
		&rsa.PublicKey{N: n2048, E: 4}, &rsa.PublicKey{N: n2048, E: 1})
	fixed := sha256.Sum256([]byte("fuzz"))
	valid := make([][]byte, len(pubs))
	for i, k := range keys {
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, fixed[:])
		if err != nil {
			f.Fatal(err)
		}
		valid[i] = sig
	}
	f.Add(uint8(0), uint8(1), uint16(0), []byte(nil), []byte(nil))
	f.Add(uint8(1), uint8(3), uint16(77), []byte(nil), []byte(nil))
	f.Add(uint8(2), uint8(5), uint16(0), []byte(nil), []byte{1, 2, 3})
	f.Add(uint8(2), uint8(33), uint16(0), []byte("other"), []byte(nil))
	f.Add(uint8(3), uint8(8), uint16(0), []byte("m"), []byte{0, 1, 0xff, 0})
	f.Add(uint8(0), uint8(0), uint16(0), []byte("m"), bytes.Repeat([]byte{0xff}, 128))
	f.Add(uint8(4), uint8(16), uint16(0), []byte("m"), []byte("short digest"))
	f.Fuzz(func(t *testing.T, sel, mode uint8, flip uint16, msg, data []byte) {
		i := int(sel) % len(pubs)
		pub := pubs[i]
		k := pub.Size()
		d := sha256.Sum256(msg)
		digest := d[:]
		var sig []byte
		switch {
		case mode&1 != 0 && valid[i] != nil:
			sig = bytes.Clone(valid[i])
			if mode&32 == 0 {
				digest = fixed[:]
			}
			if mode&2 != 0 {
				b := int(flip) % (8 * k)
				sig[b/8] ^= 1 << (b % 8)
			}
			if mode&4 != 0 && len(data) > 0 {
				at := int(flip) % k
				for j, c := range data {
					sig[(at+j)%k] ^= c
				}
			}
		case mode&8 != 0:
			sig = make([]byte, k)
			copy(sig[max(0, k-len(data)):], data[max(0, len(data)-k):])
		default:
			sig = data
		}
		if mode&16 != 0 {
			digest = data[:min(len(data), 40)]
		}
		verifyAll(t, pub, digest, sig)

		p := newRSAPublic(pub, mode&64 != 0)
		if p == nil || len(sig) != k {
			return
		}
		out := make([]byte, 8*len(p.n))
		s := new(big.Int).SetBytes(sig)
		if ok := p.encrypt(out, sig); ok != (s.Cmp(pub.N) < 0) {
			t.Fatalf("encrypt of s %x below N: %v", s, ok)
		} else if ok {
			if want := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N); new(big.Int).SetBytes(out).Cmp(want) != 0 {
				t.Fatalf("s^e mod N wrong for s %x, e=%d", s, pub.E)
			}
		}
	})
}
