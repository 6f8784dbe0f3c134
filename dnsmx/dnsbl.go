package dnsmx

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
)

// ErrBadListing reports a DNSBL answer outside the listing range: an A
// record that is not in 127.0.0.0/8, or one of the 127.255.255.0/24 codes
// that lists such as Spamhaus return for refused or malformed queries. It
// means the list gave no verdict, not that the address is listed.
var ErrBadListing = errors.New("dnsmx: DNSBL answer is not a listing code")

// DefaultDNSBLConcurrency is the number of zones asked at once.
const DefaultDNSBLConcurrency = 8

// DNSBLOptions configure [LookupDNSBL]. The zero value, or a nil pointer,
// means the documented defaults.
type DNSBLOptions struct {
	// Concurrency is the number of zones asked at once; default
	// DefaultDNSBLConcurrency.
	Concurrency int

	// IsListing reports whether an A answer is a listing. nil means
	// RFC 5782 section 2.1: an address in 127.0.0.0/8, except
	// 127.255.255.0/24, which lists use for error codes.
	IsListing func(netip.Addr) bool

	// SkipTXT skips the TXT lookup for listed addresses.
	SkipTXT bool
}

// Listing is one zone's answer for an address, from [LookupDNSBL].
type Listing struct {
	// Zone is the list's zone, as given.
	Zone string
	// Listed reports that the zone lists the address: for a blocklist,
	// that it is blocked; for an allowlist (DNSWL), that it is allowed.
	Listed bool
	// Addrs are the A records of the entry: list-specific return codes
	// such as 127.0.0.2.
	Addrs []netip.Addr
	// TXT are the TXT records of a listed entry, usually a reason and a
	// URL.
	TXT []string
	// Err is set when the zone gave no verdict: a temporary DNS failure,
	// an invalid zone name, or an answer outside the listing range
	// (ErrBadListing). Listed is then false.
	Err error
}

// LookupDNSBL asks DNS block or allow lists (RFC 5782) whether they list
// ip: for each zone it looks up the A records of the reversed address
// under the zone ("2.0.0.127.zone" for IPv4, 32 reversed nibbles for
// IPv6, RFC 5782 section 2.4), and for a listed address its TXT records.
// NXDOMAIN means not listed.
//
// The result has one Listing per zone, in the order given; failures are
// per zone in Listing.Err. The error return is non-nil only for an
// invalid ip.
func LookupDNSBL(ctx context.Context, r Resolver, ip netip.Addr, zones []string, opts *DNSBLOptions) ([]Listing, error) {
	var o DNSBLOptions
	if opts != nil {
		o = *opts
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultDNSBLConcurrency
	}
	if o.IsListing == nil {
		o.IsListing = defaultIsListing
	}
	if !ip.IsValid() {
		return nil, &Error{Op: "lookup DNSBL", Rcode: RcodeNone, Kind: ErrInvalidName}
	}
	ip = ip.Unmap().WithZone("")
	out := make([]Listing, len(zones))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, zone := range zones {
		out[i].Zone = zone
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			queryList(ctx, r, ip, &out[i], &o)
		})
	}
	wg.Wait()
	return out, nil
}

func queryList(ctx context.Context, r Resolver, ip netip.Addr, l *Listing, o *DNSBLOptions) {
	// A list's zone is a host name from the configuration; unlike the
	// names that SPF macros build, it never needs the escaped text form.
	zone, ok := normalizeName(l.Zone)
	if !ok || strings.IndexByte(zone, '\\') >= 0 {
		l.Err = &Error{Op: "lookup DNSBL", Name: l.Zone, Rcode: RcodeNone, Kind: ErrInvalidName}
		return
	}
	name := ReverseName(ip, zone)
	addrs, err := r.LookupNetIP(ctx, "ip4", name)
	if err != nil {
		if !IsVoid(err) {
			l.Err = err
		}
		return
	}
	l.Addrs = addrs
	for _, a := range addrs {
		if !o.IsListing(a) {
			l.Err = &Error{Op: "lookup DNSBL", Name: name, Rcode: RcodeNone, Kind: ErrBadListing, Err: errors.New("answer " + a.String())}
			return
		}
	}
	l.Listed = true
	if o.SkipTXT {
		return
	}
	txt, err := r.LookupTXT(ctx, name)
	if err == nil {
		l.TXT = txt
	}
}

func defaultIsListing(a netip.Addr) bool {
	a = a.Unmap()
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[0] == 127 && !(b[1] == 255 && b[2] == 255)
}
