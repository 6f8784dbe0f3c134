package greylist

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Whitelist lists what passes without greylisting. Matching ignores case
// and a trailing dot.
type Whitelist struct {
	// Networks are client networks, such as 192.0.2.0/24 or 2001:db8::/32.
	// IPv4-mapped IPv6 clients match IPv4 networks.
	Networks []netip.Prefix
	// Hosts are client host names. "example.com" matches the host
	// example.com and every host under it, such as mx1.example.com. The
	// name is the forward-confirmed reverse DNS name of the client: the
	// request's ClientName when set, else a lookup through
	// Options.Resolver.
	Hosts []string
	// SenderDomains are envelope sender domains; "example.com" matches
	// senders at example.com and at every domain under it. Sender
	// addresses are easy to forge: prefer Networks or Hosts.
	SenderDomains []string
	// Recipients are envelope recipients: "user@example.com" matches that
	// address, "postmaster@" matches that local part at any domain, and
	// "example.com" or "@example.com" matches every recipient at the
	// domain (not below it).
	Recipients []string
}

// Resolver is the DNS a [Policy] needs for Whitelist.Hosts: PTR names of
// the client, and their addresses to confirm them. Both methods have the
// signatures of [net.Resolver]'s, so a *net.Resolver, or Herald's
// dnsmx.Resolver, satisfies it.
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) (names []string, err error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// whitelist is a compiled Whitelist.
type whitelist struct {
	networks      []netip.Prefix
	hosts         map[string]struct{}
	senderDomains map[string]struct{}
	rcptAddrs     map[string]struct{}
	rcptLocals    map[string]struct{}
	rcptDomains   map[string]struct{}
}

func canonName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

func compileWhitelist(w Whitelist) (*whitelist, error) {
	c := &whitelist{
		hosts:         make(map[string]struct{}),
		senderDomains: make(map[string]struct{}),
		rcptAddrs:     make(map[string]struct{}),
		rcptLocals:    make(map[string]struct{}),
		rcptDomains:   make(map[string]struct{}),
	}
	for _, p := range w.Networks {
		if !p.IsValid() {
			return nil, fmt.Errorf("greylist: invalid whitelist network %v", p)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		c.networks = append(c.networks, p.Masked())
	}
	for _, h := range w.Hosts {
		h = canonName(h)
		if h == "" {
			return nil, fmt.Errorf("greylist: empty whitelist host name")
		}
		c.hosts[h] = struct{}{}
	}
	for _, d := range w.SenderDomains {
		d = strings.TrimPrefix(canonName(d), "@")
		if d == "" {
			return nil, fmt.Errorf("greylist: empty whitelist sender domain")
		}
		c.senderDomains[d] = struct{}{}
	}
	for _, r := range w.Recipients {
		r = canonName(r)
		at := strings.LastIndexByte(r, '@')
		switch {
		case r == "" || r == "@":
			return nil, fmt.Errorf("greylist: empty whitelist recipient")
		case at < 0:
			c.rcptDomains[r] = struct{}{}
		case at == 0:
			c.rcptDomains[r[1:]] = struct{}{}
		case at == len(r)-1:
			c.rcptLocals[r[:at]] = struct{}{}
		default:
			c.rcptAddrs[r] = struct{}{}
		}
	}
	return c, nil
}

// matchNetwork reports whether addr is in a whitelisted network.
func (w *whitelist) matchNetwork(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range w.networks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// inDomainSet reports whether name or one of its parent domains is in set.
func inDomainSet(set map[string]struct{}, name string) bool {
	if len(set) == 0 {
		return false
	}
	for name != "" {
		if _, ok := set[name]; ok {
			return true
		}
		dot := strings.IndexByte(name, '.')
		if dot < 0 {
			break
		}
		name = name[dot+1:]
	}
	return false
}

// matchSender reports whether a normalised sender's domain is whitelisted.
func (w *whitelist) matchSender(sender string) bool {
	at := strings.LastIndexByte(sender, '@')
	if at < 0 {
		return false
	}
	return inDomainSet(w.senderDomains, sender[at+1:])
}

// matchRecipient reports whether a normalised recipient is whitelisted.
func (w *whitelist) matchRecipient(rcpt string) bool {
	if _, ok := w.rcptAddrs[rcpt]; ok {
		return true
	}
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 {
		return false
	}
	if _, ok := w.rcptLocals[rcpt[:at]]; ok {
		return true
	}
	_, ok := w.rcptDomains[rcpt[at+1:]]
	return ok
}

// maxHostName is the longest DNS name, RFC 1035 section 2.3.4 (in text
// form, with a trailing dot). Longer names match nothing.
const maxHostName = 254

// matchHost reports whether a host name is whitelisted.
func (w *whitelist) matchHost(name string) bool {
	if len(name) > maxHostName {
		return false
	}
	return inDomainSet(w.hosts, canonName(name))
}

// verifiedNames returns the client's host names that resolve back to addr
// (forward-confirmed reverse DNS), looking at no more than limit names. DNS
// errors yield no names: greylisting is the safe answer when DNS fails.
func verifiedNames(ctx context.Context, r Resolver, addr netip.Addr, limit int) []string {
	addr = addr.Unmap().WithZone("")
	names, err := r.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		return nil
	}
	if len(names) > limit {
		names = names[:limit]
	}
	var ok []string
	network := "ip6"
	if addr.Is4() {
		network = "ip4"
	}
	for _, n := range names {
		ips, err := r.LookupNetIP(ctx, network, n)
		if err != nil {
			continue
		}
		for _, ip := range ips {
			if ip.Unmap().WithZone("") == addr {
				ok = append(ok, n)
				break
			}
		}
	}
	return ok
}
