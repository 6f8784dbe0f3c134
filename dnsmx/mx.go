package dnsmx

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DefaultMaxMXHosts is the default cap on the number of MX hosts that
// LookupMX returns; RFC 5321 section 5.1 leaves the number to the client.
const DefaultMaxMXHosts = 10

// MXOptions configure [LookupMX]. The zero value, or a nil pointer, means
// the documented defaults.
type MXOptions struct {
	// MaxHosts caps the number of hosts returned, after ordering;
	// default DefaultMaxMXHosts.
	MaxHosts int

	// LocalNames are this host's own names. RFC 5321 section 5.1: when
	// one of them is an MX host of the domain, that host and every host
	// with an equal or higher preference value are dropped, so that mail
	// does not loop; if nothing is left LookupMX fails with ErrNoHosts.
	LocalNames []string

	// Rand shuffles hosts of equal preference; nil uses the
	// math/rand/v2 top-level generator.
	Rand *rand.Rand
}

// Host is a mail exchanger of a domain.
type Host struct {
	// Name is the host name, ASCII, lower case, without trailing dot.
	Name string
	// Pref is the MX preference; lower is tried first.
	Pref uint16
	// Implicit reports the implicit MX of a domain without MX records:
	// Name is the domain itself, Pref is 0 (RFC 5321 section 5.1).
	Implicit bool
}

// LookupMX returns the mail exchangers of domain in the order to try them
// (RFC 5321 section 5.1): by preference, hosts of equal preference
// shuffled, at most MaxHosts.
//
// A domain without MX records (ErrNoData) has the implicit MX: the domain
// itself. A domain that does not exist fails with ErrNotFound. A null MX
// (a single MX record with target ".", RFC 7505) fails with [ErrNullMX],
// which an SMTP server reports as 556 5.1.10. Targets that are not host
// names (IP literals such as "192.0.2.1", names with invalid characters)
// are skipped, as are "." records next to real ones; if no usable host is
// left LookupMX fails with [ErrNoHosts]. A target that is a CNAME is kept:
// RFC 5321 puts it outside the standard and RFC 2181 section 10.3 forbids
// it, but common practice (and the robustness principle) follows the
// alias when resolving addresses, while the host name for TLS checks stays
// the MX target.
//
// domain may be Unicode; it is converted with IDNA.
func LookupMX(ctx context.Context, r Resolver, domain string, opts *MXOptions) ([]Host, error) {
	var o MXOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxHosts <= 0 {
		o.MaxHosts = DefaultMaxMXHosts
	}
	const op = "lookup MX"
	d, err := ParseDomain(domain)
	if err != nil {
		return nil, err
	}
	mxs, err := r.LookupMX(ctx, d.ASCII)
	if err != nil && !errors.Is(err, ErrNoData) {
		return nil, err
	}
	if len(mxs) == 0 {
		return []Host{{Name: d.ASCII, Implicit: true}}, nil
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, &Error{Op: op, Name: d.ASCII, Rcode: RcodeNone, Kind: ErrNullMX}
	}
	hosts := make([]Host, 0, len(mxs))
	for _, mx := range mxs {
		if mx == nil {
			continue
		}
		name, ok := hostName(mx.Host)
		if !ok || isNumeric(name) {
			continue
		}
		if i := slices.IndexFunc(hosts, func(h Host) bool { return h.Name == name }); i >= 0 {
			hosts[i].Pref = min(hosts[i].Pref, mx.Pref)
			continue
		}
		hosts = append(hosts, Host{Name: name, Pref: mx.Pref})
	}
	if len(hosts) == 0 {
		return nil, &Error{Op: op, Name: d.ASCII, Rcode: RcodeNone, Kind: ErrNoHosts}
	}
	slices.SortStableFunc(hosts, func(a, b Host) int { return cmp.Compare(a.Pref, b.Pref) })
	if self, ok := localPref(hosts, o.LocalNames); ok {
		hosts = slices.DeleteFunc(hosts, func(h Host) bool { return h.Pref >= self })
		if len(hosts) == 0 {
			return nil, &Error{Op: op, Name: d.ASCII, Rcode: RcodeNone, Kind: ErrNoHosts, Err: errors.New("mail for the domain loops back to this host")}
		}
	}
	for i := 0; i < len(hosts); {
		j := i + 1
		for j < len(hosts) && hosts[j].Pref == hosts[i].Pref {
			j++
		}
		group := hosts[i:j]
		swap := func(a, b int) { group[a], group[b] = group[b], group[a] }
		if o.Rand != nil {
			o.Rand.Shuffle(len(group), swap)
		} else {
			rand.Shuffle(len(group), swap)
		}
		i = j
	}
	if len(hosts) > o.MaxHosts {
		hosts = hosts[:o.MaxHosts]
	}
	return hosts, nil
}

// localPref returns the lowest preference at which one of names is an MX
// host.
func localPref(hosts []Host, names []string) (uint16, bool) {
	for _, h := range hosts { // sorted: the first match is the lowest
		for _, n := range names {
			if ln, ok := normalizeName(n); ok && ln == h.Name {
				return h.Pref, true
			}
		}
	}
	return 0, false
}

// isNumeric reports whether name looks like an IP address rather than a
// host name: an IPv4 literal, or any name whose last label is all digits
// (no top-level domain is numeric, RFC 3696 section 2).
func isNumeric(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	for i := 0; i < len(last); i++ {
		if !isDigit(last[i]) {
			return false
		}
	}
	return true
}

// AddressPreference chooses the address families of [LookupTargets] and
// their order.
type AddressPreference int

const (
	// PreferIPv6 interleaves each host's addresses, IPv6 first (RFC 8305
	// section 4). It is the default.
	PreferIPv6 AddressPreference = iota
	// PreferIPv4 interleaves each host's addresses, IPv4 first.
	PreferIPv4
	// IPv6Only uses IPv6 addresses only.
	IPv6Only
	// IPv4Only uses IPv4 addresses only.
	IPv4Only
)

// String returns the preference's name.
func (p AddressPreference) String() string {
	switch p {
	case PreferIPv6:
		return "prefer-ipv6"
	case PreferIPv4:
		return "prefer-ipv4"
	case IPv6Only:
		return "ipv6-only"
	case IPv4Only:
		return "ipv4-only"
	}
	return "AddressPreference(" + strconv.Itoa(int(p)) + ")"
}

// Defaults of [TargetOptions].
const (
	DefaultMaxTargets      = 30
	DefaultMaxAddrsPerHost = 8
)

// TargetOptions configure [LookupTargets]. The zero value, or a nil
// pointer, means the documented defaults.
type TargetOptions struct {
	// MX configures the MX lookup.
	MX MXOptions
	// Prefer chooses address families and their order; default
	// PreferIPv6.
	Prefer AddressPreference
	// MaxAddrsPerHost caps the addresses used per host; default
	// DefaultMaxAddrsPerHost.
	MaxAddrsPerHost int
	// MaxTargets caps the total; default DefaultMaxTargets.
	MaxTargets int
}

// Target is one address to connect to for a domain's mail.
type Target struct {
	// Host is the MX host name the address belongs to: the name to check
	// the server certificate against (MTA-STS, DANE).
	Host string
	// Pref is the host's MX preference.
	Pref uint16
	// Implicit reports that Host is the domain's implicit MX.
	Implicit bool
	// Addr is the address.
	Addr netip.Addr
}

// LookupTargets turns a mail domain into the ordered list of addresses to
// try: the hosts of [LookupMX] in order, each host's addresses interleaved
// by family as Prefer says, without duplicates, unspecified addresses
// (0.0.0.0, ::) dropped, capped by MaxAddrsPerHost and MaxTargets.
//
// An address literal domain ("[192.0.2.1]", "[IPv6:2001:db8::1]", RFC 5321
// section 4.1.3) yields that address with no DNS lookup; its Target.Host
// is the literal as given, since there is no host name to check.
//
// Hosts whose address lookups fail are skipped. When no address is left,
// LookupTargets fails with ErrTemporary if any lookup failed temporarily
// (the caller should retry later), else with [ErrNoHosts].
func LookupTargets(ctx context.Context, r Resolver, domain string, opts *TargetOptions) ([]Target, error) {
	var o TargetOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxAddrsPerHost <= 0 {
		o.MaxAddrsPerHost = DefaultMaxAddrsPerHost
	}
	if o.MaxTargets <= 0 {
		o.MaxTargets = DefaultMaxTargets
	}
	if strings.HasPrefix(domain, "[") {
		ip, ok := parseAddressLiteral(domain)
		if !ok || !familyOK(ip, o.Prefer) {
			return nil, &Error{Op: "lookup targets", Name: domain, Rcode: RcodeNone, Kind: ErrInvalidName}
		}
		return []Target{{Host: domain, Addr: ip}}, nil
	}
	hosts, err := LookupMX(ctx, r, domain, &o.MX)
	if err != nil {
		return nil, err
	}
	addrs := make([][]netip.Addr, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { addrs[i], errs[i] = hostAddrs(ctx, r, h.Name, o.Prefer) })
	}
	wg.Wait()

	var out []Target
	seen := make(map[netip.Addr]bool)
	for i, h := range hosts {
		n := 0
		for _, a := range addrs[i] {
			if len(out) == o.MaxTargets || n == o.MaxAddrsPerHost {
				break
			}
			if seen[a] || a.IsUnspecified() || !a.IsValid() {
				continue
			}
			seen[a] = true
			n++
			out = append(out, Target{Host: h.Name, Pref: h.Pref, Implicit: h.Implicit, Addr: a})
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, err := range errs {
		if IsTemporary(err) {
			return nil, err
		}
	}
	e := &Error{Op: "lookup targets", Name: domain, Rcode: RcodeNone, Kind: ErrNoHosts, Err: errors.Join(errs...)}
	if len(hosts) == 1 && hosts[0].Implicit && errors.Is(errs[0], ErrNotFound) {
		e.Kind = ErrNotFound
	}
	return nil, e
}

func familyOK(ip netip.Addr, p AddressPreference) bool {
	switch p {
	case IPv6Only:
		return ip.Is6()
	case IPv4Only:
		return ip.Is4()
	}
	return true
}

// hostAddrs returns a host's addresses, interleaved by family.
func hostAddrs(ctx context.Context, r Resolver, host string, p AddressPreference) ([]netip.Addr, error) {
	var v4, v6 []netip.Addr
	var err4, err6 error
	if p != IPv6Only {
		v4, err4 = r.LookupNetIP(ctx, "ip4", host)
	}
	if p != IPv4Only && !errors.Is(err4, ErrNotFound) {
		v6, err6 = r.LookupNetIP(ctx, "ip6", host)
	}
	for i := range v4 {
		v4[i] = v4[i].Unmap()
	}
	first, second := v6, v4
	if p == PreferIPv4 {
		first, second = v4, v6
	}
	out := make([]netip.Addr, 0, len(v4)+len(v6))
	for i := 0; i < len(first) || i < len(second); i++ {
		if i < len(first) {
			out = append(out, first[i])
		}
		if i < len(second) {
			out = append(out, second[i])
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if IsTemporary(err4) || err6 == nil {
		return nil, err4
	}
	return nil, err6
}

// parseAddressLiteral parses an RFC 5321 section 4.1.3 address literal:
// "[192.0.2.1]" or "[IPv6:2001:db8::1]". General address literals with
// other tags are refused.
func parseAddressLiteral(s string) (netip.Addr, bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, false
	}
	s = s[1 : len(s)-1]
	v6 := len(s) >= 5 && strings.EqualFold(s[:5], "IPv6:")
	if v6 {
		s = s[5:]
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	if v6 != ip.Is6() || ip.Is4In6() {
		return netip.Addr{}, false
	}
	return ip, true
}
