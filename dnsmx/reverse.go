package dnsmx

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxPTRNames caps the PTR names that [LookupPTR] returns and that
// [VerifyFCrDNS] resolves forward: an address with many PTR records would
// otherwise cost a lookup per name.
const DefaultMaxPTRNames = 10

// ReverseOptions configure [LookupPTR], [VerifyFCrDNS] and [CheckHELO].
// The zero value, or a nil pointer, means the documented defaults.
type ReverseOptions struct {
	// MaxNames caps the PTR names used; default DefaultMaxPTRNames.
	MaxNames int
}

func (o *ReverseOptions) maxNames() int {
	if o == nil || o.MaxNames <= 0 {
		return DefaultMaxPTRNames
	}
	return o.MaxNames
}

// LookupPTR returns the host names that the PTR records of ip point to:
// lower case, without trailing dot, without duplicates, names with invalid
// characters dropped, at most MaxNames. An address without PTR records
// fails with ErrNotFound or ErrNoData.
func LookupPTR(ctx context.Context, r Resolver, ip netip.Addr, opts *ReverseOptions) ([]string, error) {
	if !ip.IsValid() {
		return nil, &Error{Op: "lookup PTR", Rcode: RcodeNone, Kind: ErrInvalidName}
	}
	ip = ip.Unmap().WithZone("")
	raw, err := r.LookupAddr(ctx, ip.String())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range raw {
		h, ok := hostName(n)
		if !ok || slices.Contains(names, h) {
			continue
		}
		names = append(names, h)
		if len(names) == opts.maxNames() {
			break
		}
	}
	if len(names) == 0 {
		return nil, &Error{Op: "lookup PTR", Name: ReverseName(ip, ptrZone(ip)), Rcode: RcodeNone, Kind: ErrNoData, Err: errors.New("no valid host name in the PTR records")}
	}
	return names, nil
}

// FCrDNS is the result of [VerifyFCrDNS].
type FCrDNS struct {
	// Names are the PTR names of the address (see LookupPTR).
	Names []string
	// Confirmed are the names among Names whose A or AAAA records
	// include the address.
	Confirmed []string
}

// OK reports whether the reverse DNS is forward-confirmed: at least one
// PTR name resolves back to the address.
func (f FCrDNS) OK() bool { return len(f.Confirmed) > 0 }

// VerifyFCrDNS checks forward-confirmed reverse DNS for ip, as receiving
// servers do: it looks up the PTR names of ip, then the addresses of each
// name in ip's family, and reports the names that lead back to ip.
//
// A missing PTR record or names that do not resolve back give a result
// whose OK is false and a nil error. The error is non-nil only when the
// answer is not known: a temporary failure of the PTR lookup, or of a
// forward lookup when no other name confirmed.
func VerifyFCrDNS(ctx context.Context, r Resolver, ip netip.Addr, opts *ReverseOptions) (FCrDNS, error) {
	var res FCrDNS
	names, err := LookupPTR(ctx, r, ip, opts)
	if err != nil {
		if IsVoid(err) {
			return res, nil
		}
		return res, err
	}
	res.Names = names
	ip = ip.Unmap().WithZone("")
	var tempErr error
	for _, n := range names {
		ok, err := resolvesTo(ctx, r, n, ip)
		if ok {
			res.Confirmed = append(res.Confirmed, n)
		} else if IsTemporary(err) && tempErr == nil {
			tempErr = err
		}
	}
	if !res.OK() && tempErr != nil {
		return res, tempErr
	}
	return res, nil
}

// resolvesTo reports whether host has ip among its addresses of ip's
// family.
func resolvesTo(ctx context.Context, r Resolver, host string, ip netip.Addr) (bool, error) {
	network := "ip6"
	if ip.Is4() {
		network = "ip4"
	}
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if a.Unmap().WithZone("") == ip {
			return true, nil
		}
	}
	return false, nil
}

// HELOStatus is the verdict of [CheckHELO].
type HELOStatus int

const (
	// HELOInvalid: the name is neither a domain name nor an address
	// literal (RFC 5321 section 4.1.1.1).
	HELOInvalid HELOStatus = iota
	// HELONotFound: a syntactically valid name without A or AAAA records
	// in the client's family (NXDOMAIN or no data).
	HELONotFound
	// HELOMismatch: the name resolves, or is an address literal, but not
	// to the client's address.
	HELOMismatch
	// HELOLiteralMatch: an address literal equal to the client's address.
	HELOLiteralMatch
	// HELOMatch: the name resolves to the client's address.
	HELOMatch
)

// String returns the status's name.
func (s HELOStatus) String() string {
	switch s {
	case HELOInvalid:
		return "invalid"
	case HELONotFound:
		return "not-found"
	case HELOMismatch:
		return "mismatch"
	case HELOLiteralMatch:
		return "literal-match"
	case HELOMatch:
		return "match"
	}
	return "HELOStatus(" + strconv.Itoa(int(s)) + ")"
}

// Matches reports whether the EHLO name matches the client's address.
func (s HELOStatus) Matches() bool { return s == HELOMatch || s == HELOLiteralMatch }

// CheckHELO checks the name a client gave in EHLO or HELO against the
// address ip it connects from: an address literal ("[192.0.2.1]",
// "[IPv6:2001:db8::1]") must equal ip; a domain name (Unicode allowed)
// must resolve to ip in ip's family. The error is non-nil only for a
// temporary DNS failure, with status HELOMismatch. Many receivers only log
// a mismatch: RFC 5321 section 4.1.4 forbids refusing mail for it.
func CheckHELO(ctx context.Context, r Resolver, ip netip.Addr, helo string) (HELOStatus, error) {
	ip = ip.Unmap().WithZone("")
	if strings.HasPrefix(helo, "[") {
		lit, ok := parseAddressLiteral(helo)
		switch {
		case !ok:
			return HELOInvalid, nil
		case lit.Unmap() == ip:
			return HELOLiteralMatch, nil
		}
		return HELOMismatch, nil
	}
	d, err := ParseDomain(helo)
	if err != nil || !strings.Contains(d.ASCII, ".") || isNumeric(d.ASCII) {
		// RFC 5321 wants a fully qualified name; a bare IPv4 address
		// without brackets is not a name either.
		return HELOInvalid, nil
	}
	ok, err := resolvesTo(ctx, r, d.ASCII, ip)
	switch {
	case ok:
		return HELOMatch, nil
	case IsVoid(err):
		return HELONotFound, nil
	case err != nil && IsTemporary(err):
		return HELOMismatch, err
	case err != nil:
		return HELONotFound, nil
	}
	return HELOMismatch, nil
}
