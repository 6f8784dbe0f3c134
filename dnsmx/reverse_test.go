package dnsmx_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/dnsmx/dnstest"
)

func reverseZone() *dnstest.Zone {
	z := dnstest.NewZone()
	// Confirmed, IPv4 and IPv6.
	z.AddPTR("192.0.2.1", "mail.example.com")
	z.AddA("mail.example.com", "192.0.2.1", "2001:db8::1")
	z.AddPTR("2001:db8::1", "mail.example.com")
	// PTR to a name that resolves elsewhere.
	z.AddPTR("192.0.2.2", "liar.example.com")
	z.AddA("liar.example.com", "192.0.2.200")
	// PTR to a name that does not exist.
	z.AddPTR("192.0.2.3", "ghost.example.com")
	// Two PTR names, the second one confirms.
	z.AddPTR("192.0.2.4", "first.example.com")
	z.AddPTR("192.0.2.4", "second.example.com")
	z.AddA("first.example.com", "192.0.2.99")
	z.AddA("second.example.com", "192.0.2.4")
	// PTR with an invalid name.
	z.MustAdd(`5.2.0.192.in-addr.arpa. PTR bad\@name.example.com.`)
	// Forward lookup fails temporarily.
	z.AddPTR("192.0.2.6", "flaky.example.com")
	z.SetFault("flaky.example.com", 0, dnstest.ServFail)
	// PTR lookup fails temporarily.
	z.SetFault("7.2.0.192.in-addr.arpa", 0, dnstest.ServFail)
	// Many PTR names.
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		z.AddPTR("192.0.2.8", n+".many.example.com")
	}
	z.AddA("e.many.example.com", "192.0.2.8")
	// CNAME on the forward side.
	z.AddPTR("192.0.2.9", "alias.example.com")
	z.AddCNAME("alias.example.com", "mail2.example.com")
	z.AddA("mail2.example.com", "192.0.2.9")
	return z
}

func TestVerifyFCrDNS(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, reverseZone())
	r := srv.Resolver(nil)

	tests := []struct {
		ip        string
		opts      *dnsmx.ReverseOptions
		ok        bool
		names     string
		confirmed string
		wantErr   error
	}{
		{"192.0.2.1", nil, true, "mail.example.com", "mail.example.com", nil},
		{"::ffff:192.0.2.1", nil, true, "mail.example.com", "mail.example.com", nil},
		{"2001:db8::1", nil, true, "mail.example.com", "mail.example.com", nil},
		{"192.0.2.2", nil, false, "liar.example.com", "", nil},
		{"192.0.2.3", nil, false, "ghost.example.com", "", nil},
		{"192.0.2.4", nil, true, "first.example.com second.example.com", "second.example.com", nil},
		{"192.0.2.5", nil, false, "", "", nil},
		{"192.0.2.6", nil, false, "flaky.example.com", "", dnsmx.ErrTemporary},
		{"192.0.2.7", nil, false, "", "", dnsmx.ErrTemporary},
		{"192.0.2.8", &dnsmx.ReverseOptions{MaxNames: 4}, false, "a.many.example.com b.many.example.com c.many.example.com d.many.example.com", "", nil},
		{"192.0.2.8", nil, true, "a.many.example.com b.many.example.com c.many.example.com d.many.example.com e.many.example.com", "e.many.example.com", nil},
		{"192.0.2.9", nil, true, "alias.example.com", "alias.example.com", nil},
		{"198.51.100.1", nil, false, "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			res, err := dnsmx.VerifyFCrDNS(t.Context(), r, netip.MustParseAddr(tc.ip), tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.OK() != tc.ok || strings.Join(res.Names, " ") != tc.names || strings.Join(res.Confirmed, " ") != tc.confirmed {
				t.Fatalf("got %+v ok=%v", res, res.OK())
			}
		})
	}
}

func TestLookupPTR(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t, reverseZone())
	r := srv.Resolver(nil)
	got, err := dnsmx.LookupPTR(t.Context(), r, netip.MustParseAddr("2001:db8::1"), nil)
	if err != nil || strings.Join(got, " ") != "mail.example.com" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := dnsmx.LookupPTR(t.Context(), r, netip.MustParseAddr("192.0.2.5"), nil); !errors.Is(err, dnsmx.ErrNoData) {
		t.Fatalf("invalid PTR name: err = %v, want ErrNoData", err)
	}
	if _, err := dnsmx.LookupPTR(t.Context(), r, netip.Addr{}, nil); !errors.Is(err, dnsmx.ErrInvalidName) {
		t.Fatalf("zero address: err = %v", err)
	}
}

func TestCheckHELO(t *testing.T) {
	t.Parallel()
	z := reverseZone()
	z.AddA("bücher.example", "192.0.2.1")
	srv := dnstest.NewServer(t, z)
	r := srv.Resolver(nil)

	tests := []struct {
		ip, helo string
		want     dnsmx.HELOStatus
		wantErr  error
	}{
		{"192.0.2.1", "mail.example.com", dnsmx.HELOMatch, nil},
		{"192.0.2.1", "MAIL.example.com.", dnsmx.HELOMatch, nil},
		{"2001:db8::1", "mail.example.com", dnsmx.HELOMatch, nil},
		{"192.0.2.1", "bücher.example", dnsmx.HELOMatch, nil},
		{"192.0.2.9", "alias.example.com", dnsmx.HELOMatch, nil},
		{"192.0.2.2", "liar.example.com", dnsmx.HELOMismatch, nil},
		{"192.0.2.2", "mail.example.com", dnsmx.HELOMismatch, nil},
		{"192.0.2.1", "ghost.example.com", dnsmx.HELONotFound, nil},
		{"2001:db8::1", "liar.example.com", dnsmx.HELONotFound, nil},
		{"192.0.2.1", "[192.0.2.1]", dnsmx.HELOLiteralMatch, nil},
		{"2001:db8::1", "[IPv6:2001:DB8::1]", dnsmx.HELOLiteralMatch, nil},
		{"192.0.2.1", "[192.0.2.2]", dnsmx.HELOMismatch, nil},
		{"2001:db8::1", "[2001:db8::1]", dnsmx.HELOInvalid, nil},
		{"192.0.2.1", "[IPv6:192.0.2.1]", dnsmx.HELOInvalid, nil},
		{"192.0.2.1", "192.0.2.1", dnsmx.HELOInvalid, nil},
		{"192.0.2.1", "localhost", dnsmx.HELOInvalid, nil},
		{"192.0.2.1", "bad_name.example", dnsmx.HELOInvalid, nil},
		{"192.0.2.1", "", dnsmx.HELOInvalid, nil},
		{"192.0.2.6", "flaky.example.com", dnsmx.HELOMismatch, dnsmx.ErrTemporary},
	}
	for _, tc := range tests {
		t.Run(tc.helo, func(t *testing.T) {
			got, err := dnsmx.CheckHELO(t.Context(), r, netip.MustParseAddr(tc.ip), tc.helo)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if got.Matches() != (tc.want == dnsmx.HELOMatch || tc.want == dnsmx.HELOLiteralMatch) {
				t.Fatalf("Matches() = %v for %v", got.Matches(), got)
			}
		})
	}
}
