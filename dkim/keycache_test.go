package dkim

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// clock is a settable time for the cache and the resolver.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestKeyCacheTTL verifies messages against a real DNS server on loopback
// through a caching dnsmx.Client: the key record is queried once per TTL,
// the TTL is capped at MaxTTL, a missing key is not cached, and a key
// that changed in DNS is seen once the old one expired.
func TestKeyCacheTTL(t *testing.T) {
	_, _, ek := keys(t)
	ek2 := rfc8032Key(t)
	zone := dnstest.NewZone().MustAdd(
		"short._domainkey.example.com. 120 IN TXT \""+keyText(t, ek)+"\"",
		"long._domainkey.example.com. 86400 IN TXT \""+keyText(t, ek)+"\"",
	)
	srv := dnstest.NewServer(t, zone)
	clk := &clock{t: signTime}
	kc := &KeyCache{Now: clk.now}
	v := &Verifier{Resolver: srv.Resolver(&dnsmx.ClientOptions{Now: clk.now}), Now: clk.now, ClockSkew: 10 * 24 * time.Hour, Keys: kc}

	verify := func(sel string, key crypto.Signer, want Status) {
		t.Helper()
		s := &Signer{Domain: "example.com", Selector: sel, Key: ek, Now: clk.now}
		if key != nil {
			s.Key = key
		}
		sig, err := Sign(strings.NewReader(testMsg), s)
		if err != nil {
			t.Fatal(err)
		}
		res, err := v.Verify(context.Background(), strings.NewReader(sig+testMsg))
		if err != nil || len(res) != 1 {
			t.Fatalf("%v %v", res, err)
		}
		if res[0].Status != want {
			t.Fatalf("%s: status %v (%v), want %v", sel, res[0].Status, res[0].Err, want)
		}
	}
	queries := func(sel string, want int) {
		t.Helper()
		if n := srv.QueryCount(sel+"._domainkey.example.com.", dns.TypeTXT); n != want {
			t.Fatalf("%s: %d TXT queries, want %d", sel, n, want)
		}
	}

	verify("short", nil, Pass)
	verify("short", nil, Pass)
	queries("short", 1)
	if st := kc.Stats(); st.Hits != 1 || st.Misses != 1 || st.Entries != 1 {
		t.Fatalf("stats %+v", st)
	}
	clk.add(119 * time.Second)
	verify("short", nil, Pass)
	queries("short", 1)
	clk.add(2 * time.Second)
	verify("short", nil, Pass)
	queries("short", 2)

	// TTL one day, kept one hour.
	verify("long", nil, Pass)
	clk.add(59 * time.Minute)
	verify("long", nil, Pass)
	queries("long", 1)
	// The key changes in DNS; the resolver's cache still has the old one
	// for a day, so flush it by letting the cache see a new zone only
	// through a new resolver, as a restarted resolver would.
	zone.Remove("long._domainkey.example.com", dns.TypeTXT)
	zone.MustAdd("long._domainkey.example.com. 86400 IN TXT \"" + keyText(t, ek2) + "\"")
	v.Resolver = srv.Resolver(&dnsmx.ClientOptions{Now: clk.now})
	verify("long", ek2, Fail) // still the cached old key: its signature fails
	clk.add(2 * time.Minute)
	verify("long", ek2, Pass) // an hour passed: the new key
	queries("long", 2)

	// A missing key is asked again: the resolver's negative cache, not
	// the key cache, saves the query.
	for range 2 {
		verify("missing", nil, PermError)
	}
	if st := kc.Stats(); st.Entries != 2 {
		t.Fatalf("stats %+v, want 2 entries (no negative ones)", st)
	}
}

// lockedResolver makes a memResolver safe for concurrent use.
type lockedResolver struct {
	mu sync.Mutex
	*memResolver
}

func (l *lockedResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.memResolver.LookupTXT(ctx, name)
}

// TestKeyCacheBound fills a small cache with more signers than it holds:
// it never holds more than MaxEntries, and keeps answering.
func TestKeyCacheBound(t *testing.T) {
	_, _, ek := keys(t)
	res := newMemResolver()
	rec := keyText(t, ek)
	kc := &KeyCache{MaxEntries: 8}
	v := &Verifier{Resolver: res, Now: fixedNow(signTime), Keys: kc}
	for i := range 50 {
		sel := "s" + strconv.Itoa(i)
		res.add(sel+"._domainkey.example.com", rec)
		sig, err := Sign(strings.NewReader(testMsg), &Signer{Domain: "example.com", Selector: sel, Key: ek, Now: fixedNow(signTime)})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			r, err := v.Verify(context.Background(), strings.NewReader(sig+testMsg))
			if err != nil || r[0].Status != Pass {
				t.Fatalf("%v %v", r, err)
			}
		}
		if n := kc.Stats().Entries; n > 8 {
			t.Fatalf("%d entries, limit 8", n)
		}
	}
	if st := kc.Stats(); st.Hits != 50 || st.Misses != 50 {
		t.Fatalf("stats %+v, want 50 hits and 50 misses", st)
	}
	if res.lookups != 50 {
		t.Fatalf("%d lookups, want 50", res.lookups)
	}
}

// TestKeyCacheConcurrent verifies from several goroutines through one
// cache (run with -race).
func TestKeyCacheConcurrent(t *testing.T) {
	rk, _, ek := keys(t)
	e := newEnv(t)
	kc := &KeyCache{}
	v := &Verifier{Resolver: &lockedResolver{memResolver: e.r}, Now: fixedNow(signTime.Add(time.Hour)), Keys: kc}
	msgs := []string{e.sign(testMsg, e.signer(rk)), e.sign(testMsg, e.signer(ek))}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				r, err := v.Verify(context.Background(), strings.NewReader(msgs[(g+i)%2]))
				if err != nil || r[0].Status != Pass {
					t.Errorf("%v %v", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := kc.Stats(); st.Entries != 2 || st.Hits+st.Misses != 200 {
		t.Fatalf("stats %+v", st)
	}
}

// TestKeysPrecomputed checks that the RSA keys this package makes and
// reads are precomputed, so that signing does not redo the CRT values
// for every message.
func TestKeysPrecomputed(t *testing.T) {
	k, err := GenerateKey(RSASHA256)
	if err != nil {
		t.Fatal(err)
	}
	pem8, err := MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	rk := k.(*rsa.PrivateKey)
	pem1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	for name, key := range map[string]func() (crypto.Signer, error){
		"GenerateKey": func() (crypto.Signer, error) { return k, nil },
		"PKCS #8":     func() (crypto.Signer, error) { return ParsePrivateKey(pem8) },
		"PKCS #1":     func() (crypto.Signer, error) { return ParsePrivateKey(pem1) },
	} {
		s, err := key()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := s.(*rsa.PrivateKey).Precomputed
		if p.Dp == nil || p.Dq == nil || p.Qinv == nil {
			t.Errorf("%s: key not precomputed", name)
		}
	}
}
