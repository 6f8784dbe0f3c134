package dnstest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/miekg/dns"
	"golang.org/x/net/idna"
)

// Fault is a failure the server injects for a name.
type Fault int

const (
	// NoFault answers normally.
	NoFault Fault = iota
	// Timeout drops the query: the client sees no answer and times out.
	Timeout
	// ServFail answers with RCODE 2, SERVFAIL.
	ServFail
	// Refused answers with RCODE 5, REFUSED.
	Refused
	// Truncate answers over UDP with the TC bit set and no records, so
	// the client must ask again over TCP, where the answer is whole.
	Truncate
	// Malformed answers over UDP and TCP with bytes that do not parse as
	// a DNS message.
	Malformed
)

// String returns the fault's name.
func (f Fault) String() string {
	switch f {
	case NoFault:
		return "none"
	case Timeout:
		return "timeout"
	case ServFail:
		return "servfail"
	case Refused:
		return "refused"
	case Truncate:
		return "truncate"
	case Malformed:
		return "malformed"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// DefaultTTL is the TTL of records added without one; DefaultNegativeTTL
// is the MINIMUM of the zone's SOA, which caps negative caching.
const (
	DefaultTTL         = 300
	DefaultNegativeTTL = 60
)

type faultKey struct {
	name  string
	qtype uint16
}

// Zone is the data a [Server] serves: records by owner name, names whose
// answers carry the AD bit, and injected faults. The server answers
// authoritatively for every name: a name without records is NXDOMAIN, a
// name with records of other types is NODATA, both with the zone's SOA in
// the authority section. CNAMEs are followed within the zone, and a
// wildcard owner ("*.example.com") answers for names below it that do not
// exist themselves (RFC 4592, simplified: the nearest existing ancestor's
// wildcard).
//
// A Zone is safe for concurrent use, and may change while it is served.
// The zero value is not usable; use [NewZone] or [ParseZone].
type Zone struct {
	mu        sync.RWMutex
	records   map[string][]dns.RR // owner (lower case, fully qualified)
	faults    map[faultKey]Fault
	authentic map[string]bool
	soa       *dns.SOA
	noFollow  bool
}

// NewZone returns an empty zone whose SOA has MINIMUM DefaultNegativeTTL.
func NewZone() *Zone {
	return &Zone{
		records:   make(map[string][]dns.RR),
		faults:    make(map[faultKey]Fault),
		authentic: make(map[string]bool),
		soa: &dns.SOA{
			Hdr:     dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: DefaultNegativeTTL},
			Ns:      "ns.dnstest.invalid.",
			Mbox:    "hostmaster.dnstest.invalid.",
			Serial:  1,
			Refresh: 3600,
			Retry:   600,
			Expire:  86400,
			Minttl:  DefaultNegativeTTL,
		},
	}
}

// Bounds on the zone-file text that ParseZone and AddText accept: its size,
// and the number of records it may produce ($GENERATE can make 65536 from
// one line).
const (
	MaxZoneText    = 1 << 20
	MaxZoneRecords = 100000
)

// ParseZone returns a zone holding the records of zone-file text (RFC 1035
// section 5, as github.com/miekg/dns reads it). Relative names are
// completed with origin ("" means the root); $INCLUDE is refused; records
// without a TTL get DefaultTTL.
func ParseZone(text, origin string) (*Zone, error) {
	z := NewZone()
	if err := z.AddText(text, origin); err != nil {
		return nil, err
	}
	return z, nil
}

// AddText adds the records of zone-file text, as [ParseZone] reads it.
// On error no record is added.
func (z *Zone) AddText(text, origin string) error {
	if len(text) > MaxZoneText {
		return fmt.Errorf("dnstest: zone text over %d bytes", MaxZoneText)
	}
	if origin != "" {
		if _, ok := dns.IsDomainName(origin); !ok {
			return fmt.Errorf("dnstest: bad origin %q", origin)
		}
		origin = dns.Fqdn(origin)
	}
	zp := dns.NewZoneParser(strings.NewReader(text), origin, "")
	zp.SetDefaultTTL(DefaultTTL)
	zp.SetIncludeAllowed(false)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if len(rrs) == MaxZoneRecords {
			return fmt.Errorf("dnstest: zone text makes over %d records", MaxZoneRecords)
		}
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("dnstest: %w", err)
	}
	z.AddRR(rrs...)
	return nil
}

// MustAdd adds records in zone-file syntax, one per string, with fully
// qualified or root-relative names ("example.com. 300 IN MX 10
// mx.example.com." or "example.com MX 10 mx.example.com"). It panics on a
// syntax error, since test data is the programmer's.
func (z *Zone) MustAdd(records ...string) *Zone {
	for _, s := range records {
		if err := z.AddText(s, "."); err != nil {
			panic(err)
		}
	}
	return z
}

// AddRR adds records. A SOA record replaces the zone's SOA.
func (z *Zone) AddRR(rrs ...dns.RR) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, rr := range rrs {
		rr = dns.Copy(rr)
		h := rr.Header()
		h.Name = fqdn(h.Name)
		if soa, ok := rr.(*dns.SOA); ok {
			z.soa = soa
			continue
		}
		z.records[h.Name] = append(z.records[h.Name], rr)
	}
	return z
}

func hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: fqdn(name), Rrtype: t, Class: dns.ClassINET, Ttl: DefaultTTL}
}

// fqdn returns name fully qualified and lower case, with Unicode labels
// converted to A-labels (UTS #46 lookup profile), so zones may be written
// with Unicode names. A name in the DNS text form with escapes (a\032b or
// a\ b) is brought to the canonical escaping of miekg/dns, the form in
// which questions arrive, so both spellings find the same records.
func fqdn(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			if a, err := idna.Lookup.ToASCII(name); err == nil {
				name = a
			}
			break
		}
	}
	name = dns.Fqdn(name)
	var wire [256]byte
	if _, err := dns.PackDomainName(name, wire[:], 0, nil, false); err == nil {
		if text, _, err := dns.UnpackDomainName(wire[:], 0); err == nil {
			name = text
		}
	}
	return strings.ToLower(name)
}

// AddA adds A or AAAA records for name, one per address, by family. It
// panics on an invalid address, since test data is the programmer's.
func (z *Zone) AddA(name string, addrs ...string) *Zone {
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		if ip.Is4() {
			z.AddRR(&dns.A{Hdr: hdr(name, dns.TypeA), A: ip.AsSlice()})
		} else {
			z.AddRR(&dns.AAAA{Hdr: hdr(name, dns.TypeAAAA), AAAA: ip.AsSlice()})
		}
	}
	return z
}

// AddMX adds an MX record; target "." makes a null MX (RFC 7505).
func (z *Zone) AddMX(name string, pref uint16, target string) *Zone {
	return z.AddRR(&dns.MX{Hdr: hdr(name, dns.TypeMX), Preference: pref, Mx: fqdn(target)})
}

// AddTXT adds one TXT record made of the given character-strings, raw
// bytes each of at most 255 octets (longer ones are split).
func (z *Zone) AddTXT(name string, strs ...string) *Zone {
	var txt []string
	for _, s := range strs {
		for len(s) > 255 {
			txt = append(txt, escapeTXT(s[:255]))
			s = s[255:]
		}
		txt = append(txt, escapeTXT(s))
	}
	return z.AddRR(&dns.TXT{Hdr: hdr(name, dns.TypeTXT), Txt: txt})
}

// escapeTXT writes raw bytes in the text form github.com/miekg/dns packs.
func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// AddCNAME adds a CNAME record from name to target.
func (z *Zone) AddCNAME(name, target string) *Zone {
	return z.AddRR(&dns.CNAME{Hdr: hdr(name, dns.TypeCNAME), Target: fqdn(target)})
}

// AddPTR adds a PTR record for the address ip pointing to name. It panics
// on an invalid address.
func (z *Zone) AddPTR(ip, name string) *Zone {
	arpa, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(fmt.Sprintf("dnstest: AddPTR: %v", err))
	}
	return z.AddRR(&dns.PTR{Hdr: hdr(arpa, dns.TypePTR), Ptr: fqdn(name)})
}

// Remove deletes every record of name (of every type when qtype is 0).
func (z *Zone) Remove(name string, qtype uint16) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	key := fqdn(name)
	if qtype == 0 {
		delete(z.records, key)
		return z
	}
	z.records[key] = slices.DeleteFunc(z.records[key], func(rr dns.RR) bool { return rr.Header().Rrtype == qtype })
	if len(z.records[key]) == 0 {
		delete(z.records, key)
	}
	return z
}

// SetFault makes the server fail queries for name of type qtype (of every
// type when qtype is 0) with f; NoFault clears it. A fault for a specific
// type wins over one for every type.
func (z *Zone) SetFault(name string, qtype uint16, f Fault) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	k := faultKey{fqdn(name), qtype}
	if f == NoFault {
		delete(z.faults, k)
	} else {
		z.faults[k] = f
	}
	return z
}

// SetAuthentic makes answers for name carry the AD bit, as a validating
// resolver sets it on DNSSEC-secure data.
func (z *Zone) SetAuthentic(name string, ok bool) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.authentic[fqdn(name)] = ok
	return z
}

// SetNegativeTTL sets the TTL and MINIMUM of the zone's SOA, the lifetime
// of negative answers in caches (RFC 2308).
func (z *Zone) SetNegativeTTL(seconds uint32) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	soa := dns.Copy(z.soa).(*dns.SOA)
	soa.Hdr.Ttl, soa.Minttl = seconds, seconds
	z.soa = soa
	return z
}

// SetFollowCNAME chooses whether the server follows CNAMEs within the
// zone (the default, as recursive resolvers do) or answers with the CNAME
// alone, as an authoritative server does when the target is elsewhere, so
// that the client must ask for the target itself.
func (z *Zone) SetFollowCNAME(follow bool) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.noFollow = !follow
	return z
}

func (z *Zone) fault(name string, qtype uint16) Fault {
	z.mu.RLock()
	defer z.mu.RUnlock()
	if f, ok := z.faults[faultKey{name, qtype}]; ok {
		return f
	}
	return z.faults[faultKey{name, 0}]
}

// maxChase bounds CNAME following inside the server.
const maxChase = 16

// answer fills resp for a question, as an authoritative server would.
func (z *Zone) answer(q dns.Question, resp *dns.Msg) {
	z.mu.RLock()
	defer z.mu.RUnlock()
	name := strings.ToLower(q.Name)
	authentic := true
	seen := map[string]bool{}
	for range maxChase {
		authentic = authentic && z.authentic[name]
		rrs, exists := z.lookup(name, q.Name)
		var cname dns.RR
		found := false
		for _, rr := range rrs {
			t := rr.Header().Rrtype
			if t == q.Qtype || q.Qtype == dns.TypeANY {
				resp.Answer = append(resp.Answer, rr)
				found = true
			} else if t == dns.TypeCNAME {
				cname = rr
			}
		}
		if found {
			resp.AuthenticatedData = authentic
			return
		}
		if cname == nil {
			if !exists {
				resp.Rcode = dns.RcodeNameError
			}
			resp.Ns = append(resp.Ns, z.soa)
			resp.AuthenticatedData = authentic
			return
		}
		resp.Answer = append(resp.Answer, cname)
		name = strings.ToLower(cname.(*dns.CNAME).Target)
		if seen[name] || z.noFollow {
			return
		}
		seen[name] = true
	}
}

// lookup returns the records at name (with owner set to asked when they
// come from a wildcard) and whether the name exists.
func (z *Zone) lookup(name, asked string) ([]dns.RR, bool) {
	if rrs, ok := z.records[name]; ok {
		return rrs, true
	}
	// Nearest existing ancestor; its wildcard, if any, answers.
	for parent := name; ; {
		i := strings.IndexByte(parent, '.')
		if i < 0 || i == len(parent)-1 {
			break
		}
		parent = parent[i+1:]
		if wc, ok := z.records["*."+parent]; ok {
			out := make([]dns.RR, len(wc))
			for j, rr := range wc {
				out[j] = dns.Copy(rr)
				out[j].Header().Name = asked
			}
			return out, true
		}
		if _, ok := z.records[parent]; ok {
			break
		}
	}
	// An empty non-terminal exists too (RFC 8020).
	suffix := "." + name
	for owner := range z.records {
		if strings.HasSuffix(owner, suffix) {
			return nil, true
		}
	}
	return nil, false
}
