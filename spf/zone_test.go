package spf

import (
	"context"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/heraldmail/herald/dnsmx"
)

// testZone is DNS data for tests: the suite's zonedata after the driver
// rules, or a hand-written zone for unit tests.
type testZone map[string]*testName

// testName holds the records of one name.
type testName struct {
	// timeout makes lookups time out, except of the types in early: the
	// openspf driver answers a type whose records are listed before the
	// TIMEOUT entry (pyspf test/testspf.py).
	timeout bool
	early   map[string]bool
	cname   string
	a, aaaa []netip.Addr
	mx      []*net.MX
	ptr     []string
	// txt holds TXT records, each a list of character-strings.
	txt [][]string
}

func zoneKey(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

func (z testZone) name(n string) *testName {
	k := zoneKey(n)
	if z[k] == nil {
		z[k] = &testName{}
	}
	return z[k]
}

// names returns the zone's names in sorted order.
func (z testZone) names() []string {
	var out []string
	for k := range z {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// memResolver serves a testZone from memory with the error contract of
// dnsmx.Resolver. It counts queries, one per record type asked ("ip" asks
// two).
type memResolver struct {
	zone    testZone
	queries int
}

var _ dnsmx.Resolver = (*memResolver)(nil)

func (m *memResolver) fail(op, name string, kind error) error {
	return &dnsmx.Error{Op: op, Name: name, Rcode: dnsmx.RcodeNone, Kind: kind}
}

// resolve follows CNAMEs and returns the final name's data.
func (m *memResolver) resolve(ctx context.Context, op, name, qtype string) (*testName, error) {
	if err := ctx.Err(); err != nil {
		return nil, &dnsmx.Error{Op: op, Name: name, Rcode: dnsmx.RcodeNone, Kind: dnsmx.ErrTemporary, Err: err}
	}
	if _, ok := queryName(name); !ok {
		return nil, m.fail(op, name, dnsmx.ErrInvalidName)
	}
	for range 8 {
		n := m.zone[zoneKey(name)]
		if n == nil {
			return nil, m.fail(op, name, dnsmx.ErrNotFound)
		}
		if n.timeout && !n.early[qtype] {
			return nil, m.fail(op, name, dnsmx.ErrTemporary)
		}
		if n.cname == "" {
			return n, nil
		}
		name = n.cname
	}
	return nil, m.fail(op, name, dnsmx.ErrCNAMELoop)
}

func (m *memResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	m.queries++
	n, err := m.resolve(ctx, "lookup TXT", name, "TXT")
	if err != nil {
		return nil, err
	}
	if len(n.txt) == 0 {
		return nil, m.fail("lookup TXT", name, dnsmx.ErrNoData)
	}
	out := make([]string, len(n.txt))
	for i, t := range n.txt {
		out[i] = strings.Join(t, "")
	}
	return out, nil
}

func (m *memResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if network == "ip" {
		m.queries += 2
	} else {
		m.queries++
	}
	qtype := "A"
	if network == "ip6" {
		qtype = "AAAA"
	}
	n, err := m.resolve(ctx, "lookup "+network, host, qtype)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	if network != "ip6" {
		out = append(out, n.a...)
	}
	if network != "ip4" {
		out = append(out, n.aaaa...)
	}
	if len(out) == 0 {
		return nil, m.fail("lookup "+network, host, dnsmx.ErrNoData)
	}
	return out, nil
}

func (m *memResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	m.queries++
	n, err := m.resolve(ctx, "lookup MX", name, "MX")
	if err != nil {
		return nil, err
	}
	if len(n.mx) == 0 {
		return nil, m.fail("lookup MX", name, dnsmx.ErrNoData)
	}
	out := make([]*net.MX, len(n.mx))
	for i, mx := range n.mx {
		c := *mx
		out[i] = &c
	}
	return out, nil
}

func (m *memResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	m.queries++
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, m.fail("lookup PTR", addr, dnsmx.ErrInvalidName)
	}
	name := dnsmx.ReverseName(ip, "in-addr.arpa")
	if !ip.Unmap().Is4() {
		name = dnsmx.ReverseName(ip, "ip6.arpa")
	}
	n, err := m.resolve(ctx, "lookup PTR", name, "PTR")
	if err != nil {
		return nil, err
	}
	if len(n.ptr) == 0 {
		return nil, m.fail("lookup PTR", name, dnsmx.ErrNoData)
	}
	return append([]string(nil), n.ptr...), nil
}

// parseZone builds a testZone from a compact text form used by unit
// tests: one record per line, "name TYPE data", where TYPE is TXT, A,
// AAAA, MX ("10 host"), PTR, CNAME or TIMEOUT.
func parseZone(text string) testZone {
	z := testZone{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		n := z.name(f[0])
		data := ""
		if len(f) == 3 {
			data = f[2]
		}
		switch f[1] {
		case "TXT":
			n.txt = append(n.txt, []string{data})
		case "A":
			n.a = append(n.a, netip.MustParseAddr(data))
		case "AAAA":
			n.aaaa = append(n.aaaa, netip.MustParseAddr(data))
		case "MX":
			pref, host, _ := strings.Cut(data, " ")
			var p uint16
			for _, c := range pref {
				p = p*10 + uint16(c-'0')
			}
			n.mx = append(n.mx, &net.MX{Host: host, Pref: p})
		case "PTR":
			n.ptr = append(n.ptr, data)
		case "CNAME":
			n.cname = data
		case "TIMEOUT":
			n.timeout = true
		default:
			panic("parseZone: unknown type " + f[1])
		}
	}
	return z
}
