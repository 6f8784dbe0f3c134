package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/message"
)

// memResolver serves TXT records from memory with the error contract of
// dnsmx.Resolver: a missing name is NXDOMAIN, a name in fail fails with
// the given category. It counts lookups.
type memResolver struct {
	txt     map[string][]string
	fail    map[string]error
	lookups int
}

var _ dnsmx.Resolver = (*memResolver)(nil)

func newMemResolver() *memResolver {
	return &memResolver{txt: map[string][]string{}, fail: map[string]error{}}
}

func (m *memResolver) add(name string, txt ...string) *memResolver {
	k := strings.ToLower(strings.TrimSuffix(name, "."))
	m.txt[k] = append(m.txt[k], txt...)
	return m
}

func (m *memResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	m.lookups++
	if err := ctx.Err(); err != nil {
		return nil, &dnsmx.Error{Op: "lookup TXT", Name: name, Rcode: dnsmx.RcodeNone, Kind: dnsmx.ErrTemporary, Err: err}
	}
	k := strings.ToLower(strings.TrimSuffix(name, "."))
	if kind, ok := m.fail[k]; ok {
		return nil, &dnsmx.Error{Op: "lookup TXT", Name: name, Rcode: dnsmx.RcodeNone, Kind: kind}
	}
	txt, ok := m.txt[k]
	if !ok {
		return nil, &dnsmx.Error{Op: "lookup TXT", Name: name, Rcode: dnsmx.RcodeNone, Kind: dnsmx.ErrNotFound}
	}
	return txt, nil
}

func (m *memResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return nil, &dnsmx.Error{Op: "lookup", Name: host, Rcode: dnsmx.RcodeNone, Kind: dnsmx.ErrNotFound}
}

func (m *memResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return nil, &dnsmx.Error{Op: "lookup MX", Name: name, Rcode: dnsmx.RcodeNone, Kind: dnsmx.ErrNotFound}
}

func (m *memResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return nil, &dnsmx.Error{Op: "lookup PTR", Name: addr, Rcode: dnsmx.RcodeNone, Kind: dnsmx.ErrNotFound}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	k, err := ParsePrivateKey(readFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rfc8032Key is the key of RFC 8032 section 7.1 test 1, which RFC 8463
// appendix A uses.
func rfc8032Key(t testing.TB) ed25519.PrivateKey {
	seed, err := base64.StdEncoding.DecodeString("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func keyText(t testing.TB, k crypto.Signer) string {
	t.Helper()
	s, err := KeyRecordText(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixedNow returns a clock stopped at t.
func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// signManual signs msg with the given tags (everything but bh= and b=,
// each ending in ";") using the package's canonicalization but none of
// Signer's checks, so that tests can make signatures Sign refuses to:
// short keys, l=, odd tag values. limit is the l= value or -1; c is used
// for header and body.
func signManual(t testing.TB, msg string, key crypto.Signer, c Canonicalization, tags string, limit int64) string {
	t.Helper()
	h, body, err := message.ReadHeader(strings.NewReader(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	bh := newBodyHasher(c, sha256.New(), limit)
	if _, err := io.Copy(bh, body); err != nil {
		t.Fatal(err)
	}
	field := "DKIM-Signature: " + tags + " bh=" + base64.StdEncoding.EncodeToString(bh.sum()) + "; b="
	sig, err := ParseSignature(field[len("DKIM-Signature:"):] + "AAAA")
	if err != nil {
		t.Fatalf("signManual: tags do not parse: %v", err)
	}
	hh := sha256.New()
	for _, i := range selectFields(h, sig.Headers, -1) {
		hh.Write(appendHeader(nil, c, h.Field(i).Raw(), true))
	}
	hh.Write(appendHeader(nil, c, field, false))
	var b []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		b, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, hh.Sum(nil))
	case ed25519.PrivateKey:
		b = ed25519.Sign(k, hh.Sum(nil))
	}
	if err != nil {
		t.Fatal(err)
	}
	return field + base64.StdEncoding.EncodeToString(b) + "\r\n" + msg
}

func pkcs1Public(t testing.TB, k *rsa.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&k.PublicKey))
}
