package spf

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
)

// The openspf suites (testdata/README.md) as JSON: a list of scenarios,
// each with tests and the zone they run against.
type suiteScenario struct {
	Description string                       `json:"description"`
	Tests       map[string]suiteCase         `json:"tests"`
	Zonedata    map[string][]json.RawMessage `json:"zonedata"`
}

type suiteCase struct {
	Description string          `json:"description"`
	Spec        json.RawMessage `json:"spec"`
	Helo        string          `json:"helo"`
	Host        string          `json:"host"`
	Mailfrom    string          `json:"mailfrom"`
	Result      json.RawMessage `json:"result"`
	Explanation *string         `json:"explanation"`
}

// results returns the acceptable results: one, or a list of which any will
// do.
func (c *suiteCase) results() ([]string, error) {
	var one string
	if err := json.Unmarshal(c.Result, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	err := json.Unmarshal(c.Result, &many)
	return many, err
}

func loadSuite(t *testing.T, file string) []suiteScenario {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s []suiteScenario
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return s
}

// suiteZone applies the driver rules of testdata/README.md to a scenario's
// zonedata: SPF records are served as TXT unless the name has its own TXT
// entry, "TXT: NONE" means no TXT record, a list of strings is one record
// with several character-strings, TIMEOUT makes every lookup of the name
// time out (except, as in the suite's own driver pyspf test/testspf.py,
// lookups of a type whose records are listed before TIMEOUT: the
// spftimeout case needs that), "MX: [10, host]" is preference and host. JSON strings already
// hold the YAML \x escapes as code points; Go strings hold them UTF-8
// encoded, as they are served.
func suiteZone(zd map[string][]json.RawMessage) (testZone, error) {
	z := testZone{}
	for name, recs := range zd {
		n := z.name(name)
		var spf, txt [][]string
		haveTXT := false
		var seen []string // types with records so far, for TIMEOUT
		for _, raw := range recs {
			var word string
			if json.Unmarshal(raw, &word) == nil {
				if word != "TIMEOUT" {
					return nil, fmt.Errorf("%s: unknown entry %q", name, word)
				}
				n.timeout = true
				n.early = map[string]bool{}
				for _, typ := range seen {
					n.early[typ] = true
				}
				continue
			}
			var rr map[string]json.RawMessage
			if err := json.Unmarshal(raw, &rr); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			for typ, v := range rr {
				if typ != "SPF" && !(typ == "TXT" && string(v) == `"NONE"`) {
					seen = append(seen, typ)
				}
				switch typ {
				case "SPF", "TXT":
					strs, err := txtStrings(v)
					if err != nil {
						return nil, fmt.Errorf("%s %s: %v", name, typ, err)
					}
					if typ == "SPF" {
						spf = append(spf, strs)
						continue
					}
					haveTXT = true
					if len(strs) == 1 && strs[0] == "NONE" {
						continue
					}
					txt = append(txt, strs)
				case "A", "AAAA":
					var s string
					if err := json.Unmarshal(v, &s); err != nil {
						return nil, fmt.Errorf("%s %s: %v", name, typ, err)
					}
					ip, err := netip.ParseAddr(s)
					if err != nil {
						return nil, fmt.Errorf("%s %s: %v", name, typ, err)
					}
					if typ == "A" {
						n.a = append(n.a, ip)
					} else {
						n.aaaa = append(n.aaaa, ip)
					}
				case "MX":
					var pair []json.RawMessage
					var pref uint16
					var host string
					if err := json.Unmarshal(v, &pair); err != nil || len(pair) != 2 {
						return nil, fmt.Errorf("%s MX: want [pref, host]", name)
					}
					if err := json.Unmarshal(pair[0], &pref); err != nil {
						return nil, fmt.Errorf("%s MX: %v", name, err)
					}
					if err := json.Unmarshal(pair[1], &host); err != nil {
						return nil, fmt.Errorf("%s MX: %v", name, err)
					}
					n.mx = append(n.mx, &net.MX{Host: host, Pref: pref})
				case "PTR", "CNAME":
					var s string
					if err := json.Unmarshal(v, &s); err != nil {
						return nil, fmt.Errorf("%s %s: %v", name, typ, err)
					}
					if typ == "PTR" {
						n.ptr = append(n.ptr, s)
					} else {
						n.cname = s
					}
				default:
					return nil, fmt.Errorf("%s: unknown type %s", name, typ)
				}
			}
		}
		if haveTXT {
			n.txt = txt
		} else {
			n.txt = spf
		}
	}
	return z, nil
}

// txtStrings decodes a TXT or SPF value: a string, or a list of strings
// forming one record.
func txtStrings(v json.RawMessage) ([]string, error) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []string{s}, nil
	}
	var l []string
	err := json.Unmarshal(v, &l)
	return l, err
}

// suiteKnown lists the cases whose expectation Herald does not meet, with
// the reason. RFC 7208 wins where it differs from RFC 4408.
var suiteKnown = map[string]map[string]string{
	"rfc7208-tests.json": {},
	"rfc4408-tests.json": {},
}

// runSuite runs every case of a suite file, each scenario's zone served by
// the resolver that serve returns.
func runSuite(t *testing.T, file string, serve func(t *testing.T, z testZone) dnsmx.Resolver) {
	scenarios := loadSuite(t, "testdata/"+file)
	known := suiteKnown[file]
	total, passed := 0, 0
	for _, sc := range scenarios {
		z, err := suiteZone(sc.Zonedata)
		if err != nil {
			t.Fatalf("%s: scenario %q: %v", file, sc.Description, err)
		}
		r := serve(t, z)
		names := make([]string, 0, len(sc.Tests))
		for name := range sc.Tests {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			tc := sc.Tests[name]
			total++
			ok := t.Run(name, func(t *testing.T) {
				if reason, isKnown := known[name]; isKnown {
					t.Skipf("known difference: %s", reason)
				}
				checkSuiteCase(t, r, &tc)
			})
			if _, isKnown := known[name]; ok && !isKnown {
				passed++
			}
		}
	}
	t.Logf("%s: %d of %d cases pass; %d listed as known differences", file, passed, total, len(known))
}

func checkSuiteCase(t *testing.T, r dnsmx.Resolver, tc *suiteCase) {
	t.Helper()
	want, err := tc.results()
	if err != nil {
		t.Fatal(err)
	}
	ip, err := netip.ParseAddr(tc.Host)
	if err != nil {
		t.Fatalf("host %q: %v", tc.Host, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Check(ctx, r, Args{
		IP:                 ip,
		Sender:             tc.Mailfrom,
		HELO:               tc.Helo,
		Receiver:           "receiver.example.org",
		Now:                time.Unix(1700000000, 0),
		DefaultExplanation: "DEFAULT",
	})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	got := res.Status.String()
	found := false
	for _, w := range want {
		if w == got {
			found = true
		}
	}
	if !found {
		t.Errorf("result %s, want %s (problem: %v, mechanism %q)", got, strings.Join(want, " or "), res.Problem, res.Mechanism)
	}
	if tc.Explanation != nil && got == "fail" && res.Explanation != *tc.Explanation {
		t.Errorf("explanation %q, want %q", res.Explanation, *tc.Explanation)
	}
}

func TestRFC7208SuiteMem(t *testing.T) {
	runSuite(t, "rfc7208-tests.json", func(t *testing.T, z testZone) dnsmx.Resolver { return &memResolver{zone: z} })
}

func TestRFC4408SuiteMem(t *testing.T) {
	runSuite(t, "rfc4408-tests.json", func(t *testing.T, z testZone) dnsmx.Resolver { return &memResolver{zone: z} })
}
