package dnstest

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func FuzzParseZone(f *testing.F) {
	f.Add("$ORIGIN example.com.\n@ IN MX 10 mx\nmx IN A 192.0.2.1\n", "")
	f.Add("example.com. 300 IN TXT \"a\" \"b\\\"c\"\n", ".")
	f.Add("$INCLUDE /etc/passwd\n", "")
	f.Add("$GENERATE 1-3 host$ A 192.0.2.$\n", "example.com")
	f.Add("@ IN SOA ns hostmaster ( 1 2 3 4 5 )\n", "example.com")
	f.Add("* IN CNAME @\n", "wild.example")
	f.Fuzz(func(t *testing.T, text, origin string) {
		z, err := ParseZone(text, origin)
		if err != nil {
			return
		}
		// Whatever was parsed can be served.
		for owner := range z.records {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypeMX} {
				resp := new(dns.Msg)
				q := dns.Question{Name: owner, Qtype: qtype, Qclass: dns.ClassINET}
				resp.SetQuestion(owner, qtype)
				z.answer(q, resp)
				if _, err := resp.Pack(); err != nil && !strings.Contains(err.Error(), "too long") {
					t.Fatalf("answer for %s does not pack: %v", owner, err)
				}
			}
			break
		}
	})
}
