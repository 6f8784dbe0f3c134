package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// policyConfig is what the policy flags say. See policy.go for what each
// check does.
type policyConfig struct {
	fcrdns        string // off, log or reject
	dnsbl         []dnsList
	dnswl         []dnsList
	spf           bool
	greylist      bool
	greylistDelay time.Duration
	junk          bool
	dkim          bool // verify inbound signatures, sign outbound mail
	dmarc         bool
	rate          rateLimit // zero Max: no limit
	redis         string    // redis:// URL; empty keeps state in memory
	reports       dmarcReportConfig
}

// dnsList is a DNS block or allow list: its zone and the A records that
// mean "listed" (none given: any code RFC 5782 section 2.1 allows).
type dnsList struct {
	zone  string
	codes []addrRange
}

type addrRange struct{ lo, hi netip.Addr }

func (r addrRange) contains(a netip.Addr) bool {
	return r.lo.Compare(a) <= 0 && a.Compare(r.hi) <= 0
}

// lists reports whether the list's codes include a; with no codes given,
// every answer the resolver accepted as a listing counts.
func (l dnsList) lists(a netip.Addr) bool {
	if len(l.codes) == 0 {
		return true
	}
	for _, r := range l.codes {
		if r.contains(a) {
			return true
		}
	}
	return false
}

// rateLimit is Max messages per Window.
type rateLimit struct {
	Max    int
	Window time.Duration
}

func (r rateLimit) String() string {
	if r.Max == 0 {
		return "off"
	}
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if r.Window == u.d {
			return fmt.Sprintf("%d/%s", r.Max, u.s)
		}
	}
	return fmt.Sprintf("%d/%s", r.Max, r.Window)
}

// parseRateLimit parses "50/h": a count, a slash and a unit (s, m, h, d)
// or a Go duration ("50/30m"); "off" or "0" means no limit.
func parseRateLimit(s string) (rateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return rateLimit{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	max, err := strconv.Atoi(n)
	if !ok || err != nil || max <= 0 {
		return rateLimit{}, fmt.Errorf("%q is not COUNT/PERIOD such as 50/h", s)
	}
	var w time.Duration
	switch per {
	case "s":
		w = time.Second
	case "m", "min":
		w = time.Minute
	case "h":
		w = time.Hour
	case "d":
		w = 24 * time.Hour
	default:
		w, err = time.ParseDuration(per)
		if err != nil || w <= 0 {
			return rateLimit{}, fmt.Errorf("%q: the period is s, m, h, d or a duration such as 30m", s)
		}
	}
	return rateLimit{Max: max, Window: w}, nil
}

// parseDNSLists parses "zen.example,pbl.example=127.0.0.10-127.0.0.11;127.0.0.4":
// zones separated by commas, each optionally followed by "=" and the codes
// that mean listed, separated by semicolons: addresses, ranges LO-HI and
// CIDR prefixes.
func parseDNSLists(s string) ([]dnsList, error) {
	var out []dnsList
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		zone, codes, _ := strings.Cut(item, "=")
		zone = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
		if zone == "" || strings.ContainsAny(zone, " /") {
			return nil, fmt.Errorf("%q: not a zone name", item)
		}
		l := dnsList{zone: zone}
		for _, c := range strings.Split(codes, ";") {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			r, err := parseAddrRange(c)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", zone, err)
			}
			l.codes = append(l.codes, r)
		}
		out = append(out, l)
	}
	return out, nil
}

func parseAddrRange(s string) (addrRange, error) {
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(lo)
		b, err2 := netip.ParseAddr(hi)
		if err1 != nil || err2 != nil || a.Is4() != b.Is4() || b.Less(a) {
			return addrRange{}, fmt.Errorf("%q is not a range LOW-HIGH of addresses", s)
		}
		return addrRange{a, b}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return addrRange{}, fmt.Errorf("%q: %v", s, err)
		}
		p = p.Masked()
		lo := p.Addr()
		hi := lo
		b := hi.AsSlice()
		for i := p.Bits(); i < len(b)*8; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		hi, _ = netip.AddrFromSlice(b)
		return addrRange{lo, hi}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return addrRange{}, fmt.Errorf("%q is not an address, a range or a prefix", s)
	}
	return addrRange{a, a}, nil
}

// addFlags registers the policy flags on fs; finish checks them after
// parsing.
func (p *policyConfig) addFlags(fs *flag.FlagSet) {
	p.rate = rateLimit{Max: 50, Window: time.Hour}
	fs.StringVar(&p.fcrdns, "fcrdns", "log", "forward-confirmed reverse DNS of MX clients, and their EHLO name: off, log, or reject (550 5.7.25; a wrong EHLO name is only logged)")
	fs.Func("dnsbl", "comma-separated DNS `blocklists` for MX clients, each optionally ZONE=CODES with codes like 127.0.0.2-127.0.0.11;127.0.0.20 (refused 554 5.7.1)", func(s string) (err error) {
		p.dnsbl, err = parseDNSLists(s)
		return err
	})
	fs.Func("dnswl", "comma-separated DNS `allowlists`: a listed MX client skips the FCrDNS, DNSBL, SPF refusal and greylisting", func(s string) (err error) {
		p.dnswl, err = parseDNSLists(s)
		return err
	})
	fs.BoolVar(&p.spf, "spf", true, "check SPF of MAIL FROM (or HELO for <>) on the MX port: fail is refused 550 5.7.23, temperror 451 4.7.24, the rest recorded in Received-SPF and Authentication-Results")
	fs.BoolVar(&p.greylist, "greylist", true, "greylist unknown (client network, sender, recipient) triplets on the MX port with 451 4.7.1")
	fs.DurationVar(&p.greylistDelay, "greylist-delay", 5*time.Minute, "how long a new triplet is deferred")
	fs.BoolVar(&p.junk, "junk", true, "file likely spam into the Junk folder with $Junk, by the rules of DIR/junk-rules (written with defaults on first start)")
	fs.BoolVar(&p.dkim, "dkim", true, "sign outbound mail of the local domains with DIR/dkim/DOMAIN.pem (made on first start, selector "+dkimSelector+"), verify the DKIM signatures of MX mail and record them in Authentication-Results")
	fs.BoolVar(&p.dmarc, "dmarc", true, "evaluate the DMARC policy of the From: domain of MX mail: p=reject failures refused 550 5.7.1, p=quarantine ones filed into Junk, all recorded in Authentication-Results")
	p.reports.addFlags(fs)
	fs.StringVar(&p.redis, "redis", "", "Redis `URL` (redis://host:6379/0) for the greylist and the rate limit, shared by a fleet; default in memory")
	fs.Func("rate-limit", "`COUNT/PERIOD` of messages each submission user may send, such as 50/h (the default) or 200/d, or off", func(s string) (err error) {
		p.rate, err = parseRateLimit(s)
		return err
	})
}

func (p *policyConfig) finish() error {
	switch p.fcrdns {
	case "off", "log", "reject":
	default:
		return fmt.Errorf("-fcrdns: %q is not off, log or reject", p.fcrdns)
	}
	if p.greylist && p.greylistDelay <= 0 {
		return errors.New("-greylist-delay must be positive")
	}
	return nil
}
