package dkim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// TestDNSFailures asks a real DNS server on loopback: a missing selector is
// NXDOMAIN (PermError), SERVFAIL and a timeout are TempErrors, a name with
// other records only is NODATA (PermError), and a key split into several
// character-strings is joined.
func TestDNSFailures(t *testing.T) {
	rk, _, ek := keys(t)
	rsaRec := keyText(t, rk)
	zone := dnstest.NewZone().
		AddTXT("ok._domainkey.example.com", rsaRec[:100], rsaRec[100:200], rsaRec[200:]).
		AddTXT("fail._domainkey.example.com", keyText(t, ek)).
		AddTXT("slow._domainkey.example.com", keyText(t, ek)).
		AddA("a._domainkey.example.com", "192.0.2.1").
		SetFault("fail._domainkey.example.com", 0, dnstest.ServFail).
		SetFault("slow._domainkey.example.com", 0, dnstest.Timeout)
	srv := dnstest.NewServer(t, zone)
	v := &Verifier{Resolver: srv.Resolver(&dnsmx.ClientOptions{Timeout: 100 * time.Millisecond})}
	for _, tc := range []struct {
		sel    string
		key    any
		status Status
		kind   error
	}{
		{"ok", rk, Pass, nil},
		{"missing", ek, PermError, ErrNoKey},
		{"fail", ek, TempError, ErrDNS},
		{"slow", ek, TempError, ErrDNS},
		{"a", ek, PermError, ErrNoKey},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			s := &Signer{Domain: "example.com", Selector: tc.sel, Key: rk}
			if tc.key != any(rk) {
				s.Key = ek
			}
			sigs, err := Sign(strings.NewReader(testMsg), s)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(context.Background(), strings.NewReader(sigs+testMsg))
			if err != nil || len(res) != 1 {
				t.Fatalf("%v %v", res, err)
			}
			wantResult(t, res[0], tc.status, tc.kind)
			if tc.status != Pass {
				if ar := AuthenticationResults(res[0]); !strings.HasPrefix(ar, "dkim="+tc.status.String()+" reason=") {
					t.Errorf("Authentication-Results: %s", ar)
				}
			}
		})
	}
}
