package dnsmx

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Resolver is the one DNS interface shared by dnsmx, spf and delivery.
//
// Its four methods have the signatures of [*net.Resolver]'s methods of the
// same names, so a fake or any other resolver is a few lines of code. What
// Resolver adds is a contract on errors: a failed lookup returns an error
// for which errors.Is reports exactly one of [ErrNotFound] (NXDOMAIN),
// [ErrNoData] (the name exists, the type does not), [ErrTemporary]
// (SERVFAIL, timeout, network) or another permanent sentinel. A lookup
// that finds records never returns an error together with them. Wrap a
// *net.Resolver in [NetResolver] to map its errors onto this contract.
//
// Implementations must be safe for concurrent use and must honour the
// context: once ctx is done, a lookup returns promptly with an error that
// matches both ErrTemporary and ctx.Err().
type Resolver interface {
	// LookupTXT returns the TXT records of name, each record's
	// character-strings concatenated into one string (RFC 7208 section
	// 3.3). The strings hold raw bytes, unescaped.
	LookupTXT(ctx context.Context, name string) ([]string, error)

	// LookupNetIP returns the addresses of host. network is "ip4" (A
	// records only), "ip6" (AAAA only) or "ip" (both). An IP literal host
	// is returned as is.
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)

	// LookupMX returns the MX records of name as received, unsorted, with
	// fully qualified target names ("mx.example.com."). A null MX (RFC
	// 7505) comes back as one record with Host ".".
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)

	// LookupAddr returns the names that the PTR records of the IP address
	// addr point to, fully qualified.
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Querier is an add-on interface for callers that need more than record
// data: the TTL, the canonical name after CNAMEs, and the AD bit that a
// validating resolver sets on DNSSEC-secure answers (for DANE and MTA-STS).
// [*Client] implements it; find it with a type assertion:
//
//	if q, ok := r.(dnsmx.Querier); ok {
//		ans, err := q.Query(ctx, "_25._tcp.mx.example.com", dns.TypeTLSA)
//		...
//	}
type Querier interface {
	// Query asks for the records of type qtype (a github.com/miekg/dns
	// Type constant) at name, following CNAMEs. It has the error contract
	// of [Resolver].
	Query(ctx context.Context, name string, qtype uint16) (*Answer, error)
}

// Answer is the result of [Querier.Query].
type Answer struct {
	// Name is the name asked, in ASCII, lower case, fully qualified.
	Name string
	// Canonical is the name that held the records after following
	// CNAMEs; it equals Name when there was no CNAME.
	Canonical string
	// Records are the answer records of the requested type. They are the
	// caller's own copies.
	Records []dns.RR
	// Authentic reports that every response on the way had the AD bit
	// set: the recursive resolver validated the data with DNSSEC. It is
	// only as trustworthy as the path to that resolver.
	Authentic bool
	// TTL is the time left before the answer expires: the smallest TTL
	// of the records and CNAMEs used, less the whole seconds it has spent
	// in the cache.
	TTL time.Duration
}

// NetResolver adapts a [*net.Resolver] (nil means net.DefaultResolver) to
// the [Resolver] error contract: its *net.DNSError values become [*Error]
// values with the matching category.
//
// The standard library reports NXDOMAIN and "no records of this type" as
// the same IsNotFound error, so NetResolver reports both as [ErrNoData],
// the cautious choice: the caller then looks further (implicit MX, the
// other address family) and gets a definite answer there. Use [Client]
// when the difference matters.
type NetResolver struct {
	R *net.Resolver
}

func (n NetResolver) r() *net.Resolver {
	if n.R == nil {
		return net.DefaultResolver
	}
	return n.R
}

// LookupTXT implements [Resolver].
func (n NetResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := n.r().LookupTXT(ctx, name)
	if err != nil {
		return nil, netError("lookup TXT", name, err)
	}
	return v, nil
}

// LookupNetIP implements [Resolver].
func (n NetResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	v, err := n.r().LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, netError("lookup "+network, host, err)
	}
	return v, nil
}

// LookupMX implements [Resolver].
func (n NetResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := n.r().LookupMX(ctx, name)
	if err != nil {
		return nil, netError("lookup MX", name, err)
	}
	return v, nil
}

// LookupAddr implements [Resolver].
func (n NetResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	v, err := n.r().LookupAddr(ctx, addr)
	if err != nil {
		return nil, netError("lookup PTR", addr, err)
	}
	return v, nil
}

// netError maps an error of the standard resolver onto the contract.
func netError(op, name string, err error) error {
	e := &Error{Op: op, Name: name, Rcode: RcodeNone, Kind: ErrTemporary, Err: err}
	var de *net.DNSError
	var ae *net.AddrError
	switch {
	case errors.As(err, &de):
		e.Server = de.Server
		if de.IsNotFound {
			e.Kind = ErrNoData
		}
	case errors.As(err, &ae):
		e.Kind = ErrInvalidName
	}
	return e
}
