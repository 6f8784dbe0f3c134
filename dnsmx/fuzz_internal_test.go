package dnsmx

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"example.com", "example.com", true},
		{"Example.COM.", "example.com", true},
		{"_spf.example.com", "_spf.example.com", true},
		{"a+b=c.example", "a+b=c.example", true},
		{"bücher.example", "xn--bcher-kva.example", true},
		{"BÜCHER.example", "xn--bcher-kva.example", true},
		{"_dmarc.bücher.example", "_dmarc.xn--bcher-kva.example", true},
		{"bücher。example", "xn--bcher-kva.example", true},
		{"", "", false},
		{".", "", false},
		{"a..b", "", false},
		{".a", "", false},
		{"a b.example", `a\ b.example`, true},
		{"a\\.b.example", `a\.b.example`, true}, // an escaped dot inside a label
		{"a\x00.example", "", false},
		{"a\"b.example", `a\"b.example`, true},
		{strings.Repeat("a", 63) + ".example", strings.Repeat("a", 63) + ".example", true},
		{strings.Repeat("a", 64) + ".example", "", false},
		{strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 126) + "a", true},
		{strings.Repeat("a.", 127) + "a", "", false},
		{"\xff.example", "", false},
		{"a\u200d.example", "", false},
		// RFC 2181 section 11: any octet may stand in a label; SPF's %_
		// macro makes spaces. They are asked in the escaped text form.
		{"macro%percent  space.Example.COM", `macro%percent\ \ space.example.com`, true},
		{`macro%percent\032\032SPACE.example.com`, `macro%percent\ \ space.example.com`, true},
		{`semi;colon\"quote.example`, `semi\;colon\"quote.example`, true},
		{`ctl\007.example`, `ctl\007.example`, true},
		{`trailing\`, "", false},
		{`big\256.example`, "", false},
		{"tab\there.example", "", false},
		{strings.Repeat(" ", 63) + ".example", strings.Repeat(`\ `, 63) + ".example", true},
		{strings.Repeat(" ", 64) + ".example", "", false},
	}
	for _, tc := range tests {
		got, ok := normalizeName(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("normalizeName(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizeNameNoAlloc(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { normalizeName("mx1.example.com.") }); n != 0 {
		t.Fatalf("normalizeName of a normal name allocates %v times", n)
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"example.com", "Example.COM.", "_spf.bücher.example", "a..b", "bücher。example", "xn--bcher-kva.example", "xn--zz.example", strings.Repeat("a", 64), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := normalizeName(s)
		if !ok {
			return
		}
		for i := 0; i < len(out); i++ {
			if out[i] == '\\' && i+1 < len(out) {
				i++ // an escape of the text form: \X or \DDD
				continue
			}
			if out[i] != '.' && !labelByteOK(out[i]) {
				t.Fatalf("%q -> %q holds byte %q", s, out, out[i])
			}
			if 'A' <= out[i] && out[i] <= 'Z' {
				t.Fatalf("%q -> %q not lower case", s, out)
			}
		}
		if again, ok := normalizeName(out); !ok || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, ok)
		}
		// The name must pack as a DNS question unchanged.
		m := new(dns.Msg)
		m.SetQuestion(out+".", dns.TypeA)
		wire, err := m.Pack()
		if err != nil {
			t.Fatalf("%q does not pack: %v", out, err)
		}
		// Header (12) + the name + type and class (4): at most 255 octets
		// of name on the wire (RFC 1035 section 2.3.4).
		if n := len(wire) - 12 - 4; n > MaxNameLength+2 {
			t.Fatalf("%q -> %q is %d octets on the wire", s, out, n)
		}
		var back dns.Msg
		if err := back.Unpack(wire); err != nil || back.Question[0].Name != out+"." {
			t.Fatalf("%q does not round-trip: %v %v", out, back.Question, err)
		}
	})
}

func FuzzParseDomain(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.example.", "xn--bcher-kva.example", "_spf.example", "a..b", "-a.example", "xn--a.example", "ＥＸＡＭＰＬＥ．com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDomain(s)
		if err != nil {
			return
		}
		if !checkLengths(d.ASCII) || d.Unicode == "" {
			t.Fatalf("%q -> %+v", s, d)
		}
		again, err := ParseDomain(d.ASCII)
		if err != nil || again != d {
			t.Fatalf("ASCII form does not round-trip: %+v -> %+v, %v", d, again, err)
		}
		if u, err := ParseDomain(d.Unicode); err != nil || u.ASCII != d.ASCII {
			t.Fatalf("Unicode form does not round-trip: %+v -> %+v, %v", d, u, err)
		}
		if n, ok := normalizeName(d.ASCII); !ok || n != d.ASCII {
			t.Fatalf("lookup form differs: %q -> %q, %v", d.ASCII, n, ok)
		}
	})
}

// txtWire returns a TXT record in wire form holding one character-string.
func txtWire(raw []byte) []byte {
	w := []byte{0, 0, 16, 0, 1, 0, 0, 0, 0}
	w = append(w, byte((len(raw)+1)>>8), byte(len(raw)+1), byte(len(raw)))
	return append(w, raw...)
}

func FuzzUnescapeTXT(f *testing.F) {
	for _, s := range []string{"v=spf1 -all", `quote" back\slash`, "\x00\x01\xff", `\065`, `\\065`, "\\"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Arbitrary text never panics.
		unescapeTXT(string(raw))
		if len(raw) > 255 {
			return
		}
		rr, _, err := dns.UnpackRR(txtWire(raw), 0)
		if err != nil {
			t.Fatalf("unpack: %v", err)
		}
		if got := unescapeTXT(rr.(*dns.TXT).Txt[0]); got != string(raw) {
			t.Fatalf("round trip: %q -> %q -> %q", raw, rr.(*dns.TXT).Txt[0], got)
		}
	})
}

func FuzzParseAddressLiteral(f *testing.F) {
	for _, s := range []string{"[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:::1]", "[2001:db8::1]", "[IPv6:192.0.2.1]", "[1.2.3]", "[]", "[IPv6:fe80::1%eth0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := parseAddressLiteral(s)
		if !ok {
			return
		}
		lit := "[" + ip.String() + "]"
		if ip.Is6() {
			lit = "[IPv6:" + ip.String() + "]"
		}
		if back, ok := parseAddressLiteral(lit); !ok || back != ip {
			t.Fatalf("%q -> %v -> %q does not round-trip", s, ip, lit)
		}
	})
}

// FuzzResponse feeds arbitrary DNS messages to the client as answers to
// its queries: whatever a hostile server sends, a lookup returns records
// or a categorised error, never panics and never loops.
func FuzzResponse(f *testing.F) {
	seed := func(qname string, qtype uint16, rrs ...string) {
		m := new(dns.Msg)
		m.SetQuestion(qname, qtype)
		m.Response = true
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				f.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		wire, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire)
	}
	seed("q.example.", dns.TypeTXT, `q.example. 60 IN TXT "a" "b\"c"`)
	seed("q.example.", dns.TypeA, "q.example. 60 IN CNAME r.example.", "r.example. 60 IN A 192.0.2.1")
	seed("q.example.", dns.TypeMX, "q.example. 60 IN CNAME q.example.")
	seed("q.example.", dns.TypeMX, "q.example. 60 IN MX 10 .", "q.example. 60 IN MX 0 \\@.example.")
	seed("q.example.", dns.TypePTR, "q.example. 0 IN PTR host.example.")
	seed("q.example.", dns.TypeAAAA, "q.example. 60 IN AAAA 2001:db8::1", "q.example. 60 IN SOA a. b. 1 2 3 4 5")
	f.Fuzz(func(t *testing.T, wire []byte) {
		var m dns.Msg
		if err := m.Unpack(wire); err != nil {
			return
		}
		for _, qtype := range []uint16{dns.TypeTXT, dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypePTR} {
			c, err := NewClient(&ClientOptions{Servers: []string{"192.0.2.53"}})
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			c.exchangeHook = func(ctx context.Context, name string, qt uint16) (*dns.Msg, string, error) {
				calls++
				resp := m.Copy()
				resp.Question = []dns.Question{{Name: dns.Fqdn(name), Qtype: qt, Qclass: dns.ClassINET}}
				return resp, "fuzz", nil
			}
			r := c.lookup(context.Background(), "fuzz", "q.example", qtype)
			if calls > DefaultMaxCNAMEChain+1 {
				t.Fatalf("%d exchanges for one lookup", calls)
			}
			if r.err != nil {
				if r.err.Kind == nil || len(r.rrs) != 0 {
					t.Fatalf("bad error result %+v", r)
				}
				continue
			}
			if len(r.rrs) == 0 || r.ttl < 0 {
				t.Fatalf("empty success %+v", r)
			}
			for _, rr := range r.rrs {
				if rr.Header().Rrtype != qtype {
					t.Fatalf("record of type %d for query type %d", rr.Header().Rrtype, qtype)
				}
			}
			for _, a := range r.addrs {
				if !a.IsValid() || (qtype == dns.TypeA) != a.Is4() {
					t.Fatalf("address %v for type %d", a, qtype)
				}
			}
			// The package helpers digest whatever came back.
			for _, mx := range r.mx {
				hostName(mx.Host)
			}
			for _, n := range r.names {
				hostName(n)
			}
		}
	})
}
