package spf

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/heraldmail/herald/dnsmx"
)

// Check evaluates check_host() of RFC 7208 section 4 for the identity
// selected by a.Identity, asking r for DNS data, and returns the result.
//
// Every SPF outcome, DNS failures and broken records included, is reported
// in Result.Status, with the reason in Result.Problem. The error is non-nil
// only when the check could not be done as asked: a.IP is not a valid
// address or r is nil (an error matching [ErrInvalidArgs], zero Result), or
// ctx ended during the check (ctx.Err(), with a TempError Result).
//
// Check is safe for concurrent use as long as r is.
func Check(ctx context.Context, r dnsmx.Resolver, a Args) (Result, error) {
	if r == nil {
		return Result{}, &Error{Err: ErrInvalidArgs, Detail: "nil resolver"}
	}
	if !a.IP.IsValid() || a.IP.Zone() != "" {
		return Result{}, &Error{Err: ErrInvalidArgs, Detail: "no valid client IP address"}
	}
	if a.Identity != IdentityMailFrom && a.Identity != IdentityHELO {
		return Result{}, &Error{Err: ErrInvalidArgs, Detail: "unknown identity"}
	}
	local, domain := identityParts(a)
	if !isASCII(domain) {
		// An internationalized domain (RFC 6531) is checked, and shows
		// in %{d} and %{o}, in its A-label form.
		if d, err := dnsmx.ParseDomain(domain); err == nil {
			domain = d.ASCII
		}
	}
	res := Result{Identity: a.Identity, Domain: domain, Sender: local + "@" + domain}
	now := a.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := &checker{
		ctx: ctx,
		r:   r,
		lim: a.Limits.withDefaults(),
		ip:  a.IP.Unmap(),
		a:   &a,
	}
	c.env = macroEnv{
		sender:       res.Sender,
		local:        local,
		senderDomain: domain,
		ip:           c.ip,
		helo:         a.HELO,
		receiver:     a.Receiver,
		now:          now,
	}
	c.env.validated = c.validatedForMacro

	// RFC 7208 section 4.3: a malformed or single-label domain, or a
	// domain literal, is none.
	if _, ok := queryName(domain); !ok || !strings.Contains(strings.TrimSuffix(domain, "."), ".") || strings.HasPrefix(domain, "[") {
		return res, nil
	}
	out := c.checkHost(ctx, domain, true)
	res.Status = out.status
	res.Mechanism = out.mech
	res.Explanation = out.exp
	if out.problem != nil {
		res.Problem = out.problem
	}
	res.DNSTerms, res.VoidLookups = c.terms, c.voids
	if res.Status == TempError && ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// identityParts returns the local-part and domain of <sender>.
func identityParts(a Args) (local, domain string) {
	if a.Identity == IdentityHELO || a.Sender == "" {
		return "postmaster", a.HELO
	}
	i := strings.LastIndexByte(a.Sender, '@')
	if i < 0 {
		return "postmaster", a.Sender
	}
	local, domain = a.Sender[:i], a.Sender[i+1:]
	if local == "" {
		local = "postmaster"
	}
	return local, domain
}

// checker holds the state of one check: the counters that RFC 7208 section
// 4.6.4 applies across all recursion, and the PTR names found so far.
type checker struct {
	// ctx is the context of the Check call, kept for %{p}, which macro
	// expansion resolves on demand.
	ctx context.Context
	r   dnsmx.Resolver
	lim Limits
	ip  netip.Addr
	a   *Args
	env macroEnv

	terms, voids int
	depth        int // records being evaluated: 1 + nested include/redirect

	ptrDone      bool
	ptrValidated []string // validated names, lower case, no trailing dot
	ptrVoid      error    // the PTR lookup found no record
}

// outcome is the result of one check_host() level.
type outcome struct {
	status  Status
	mech    string
	exp     string
	problem *Error
}

func permError(err error, domain, term, detail string) outcome {
	return outcome{status: PermError, problem: &Error{Err: err, Domain: domain, Term: term, Detail: detail}}
}

func fromProblem(p *Error) outcome {
	if p.Err == ErrDNS {
		return outcome{status: TempError, problem: p}
	}
	return outcome{status: PermError, problem: p}
}

// checkHost is check_host(ip, domain, sender). wantExp is false inside an
// include, whose exp= must not be used (RFC 7208 section 6.2).
func (c *checker) checkHost(ctx context.Context, domain string, wantExp bool) outcome {
	if c.depth >= MaxNesting {
		return permError(ErrTooManyDNSTerms, domain, "", "include and redirect nested too deeply")
	}
	c.depth++
	defer func() { c.depth-- }()
	rec, none, p := c.fetchRecord(ctx, domain)
	if p != nil {
		return fromProblem(p)
	}
	if none {
		return outcome{status: None}
	}
	for i := range rec.Directives {
		d := &rec.Directives[i]
		match, p := c.match(ctx, d, domain)
		if p != nil {
			return fromProblem(p)
		}
		if !match {
			continue
		}
		out := outcome{status: d.Qualifier.Status(), mech: d.String()}
		if out.status == Fail && wantExp {
			out.exp = c.explain(ctx, rec, domain)
		}
		return out
	}
	if rec.Redirect != "" {
		if p := c.countTerm(domain, "redirect="+rec.Redirect); p != nil {
			return fromProblem(p)
		}
		target, ok, p := c.target(&rec.redirect, domain)
		if p != nil {
			p.Term = "redirect=" + rec.Redirect
			return fromProblem(p)
		}
		if !ok {
			return permError(ErrNoRecord, domain, "redirect="+rec.Redirect, "target is not a valid domain name")
		}
		out := c.checkHost(ctx, target, wantExp)
		if out.status == None {
			return permError(ErrNoRecord, target, "redirect="+rec.Redirect, "")
		}
		return out
	}
	return outcome{status: Neutral}
}

// fetchRecord looks up and parses the SPF record of domain (RFC 7208
// section 4.4 and 4.5). none reports that there is no record.
func (c *checker) fetchRecord(ctx context.Context, domain string) (rec *Record, none bool, p *Error) {
	name, ok := queryName(domain)
	if !ok {
		return nil, true, nil
	}
	txts, err := c.r.LookupTXT(ctx, name)
	if err != nil {
		if isVoid(err) {
			return nil, true, nil
		}
		return nil, false, &Error{Err: ErrDNS, Domain: domain, Cause: err}
	}
	found := ""
	n := 0
	for _, t := range txts {
		if IsRecord(t) {
			found = t
			n++
		}
	}
	switch n {
	case 0:
		return nil, true, nil
	case 1:
	default:
		return nil, false, &Error{Err: ErrMultipleRecords, Domain: domain}
	}
	rec, err = ParseRecord(found)
	if err != nil {
		e := &Error{Err: ErrSyntax, Detail: err.Error()}
		errors.As(err, &e)
		e.Domain = domain
		return nil, false, e
	}
	return rec, false, nil
}

// countTerm counts one DNS-querying term against the limit.
func (c *checker) countTerm(domain, term string) *Error {
	c.terms++
	if c.terms > c.lim.DNSTerms {
		return &Error{Err: ErrTooManyDNSTerms, Domain: domain, Term: term}
	}
	return nil
}

// lookupFailed turns a lookup error into nil (a void lookup within the
// limit) or the problem that ends the check.
func (c *checker) lookupFailed(err error, domain, term string) *Error {
	if !isVoid(err) {
		return &Error{Err: ErrDNS, Domain: domain, Term: term, Cause: err}
	}
	c.voids++
	if c.voids > c.lim.VoidLookups {
		return &Error{Err: ErrTooManyVoidLookups, Domain: domain, Term: term}
	}
	return nil
}

// isVoid reports whether a lookup error means that there is no such record:
// the name does not exist, holds no record of the type, cannot be asked, or
// leads into a CNAME loop. Anything else is a DNS failure.
func isVoid(err error) bool {
	return errors.Is(err, dnsmx.ErrNotFound) || errors.Is(err, dnsmx.ErrNoData) ||
		errors.Is(err, dnsmx.ErrInvalidName) || errors.Is(err, dnsmx.ErrCNAMELoop)
}

// match evaluates one directive (RFC 7208 section 5).
func (c *checker) match(ctx context.Context, d *Directive, domain string) (bool, *Error) {
	switch d.Kind {
	case KindAll:
		return true, nil
	case KindIP4:
		return c.ip.Is4() && d.Network.Contains(c.ip), nil
	case KindIP6:
		return c.ip.Is6() && d.Network.Contains(c.ip), nil
	}
	match, p := c.matchDNS(ctx, d, domain)
	if p != nil && p.Term == "" {
		// Only now, on the error path, is the term's text needed.
		p.Term = d.String()
	}
	return match, p
}

// matchDNS evaluates the mechanisms that query DNS and count against
// Limits.DNSTerms. A problem it returns without a Term is about d.
func (c *checker) matchDNS(ctx context.Context, d *Directive, domain string) (bool, *Error) {
	if p := c.countTerm(domain, ""); p != nil {
		return false, p
	}
	target, ok, p := c.target(&d.spec, domain)
	if p != nil {
		return false, p
	}
	if !ok {
		if d.Kind == KindInclude {
			return false, &Error{Err: ErrNoRecord, Domain: domain, Detail: "target is not a valid domain name"}
		}
		// A name that cannot be asked does not exist (RFC 7208 section
		// 4.3 by analogy): no match.
		return false, nil
	}
	switch d.Kind {
	case KindInclude:
		out := c.checkHost(ctx, target, false)
		switch out.status {
		case Pass:
			return true, nil
		case Fail, SoftFail, Neutral:
			return false, nil
		case None:
			return false, &Error{Err: ErrNoRecord, Domain: target}
		default:
			return false, out.problem
		}
	case KindA:
		addrs, err := c.r.LookupNetIP(ctx, c.network(), target)
		if err != nil {
			return false, c.lookupFailed(err, domain, "")
		}
		return c.anyInPrefix(addrs, d), nil
	case KindMX:
		return c.matchMX(ctx, d, domain, target)
	case KindPTR:
		c.loadPTR(ctx)
		if c.ptrVoid != nil {
			return false, c.lookupFailed(c.ptrVoid, domain, "")
		}
		for _, n := range c.ptrValidated {
			if isSubdomain(n, target) {
				return true, nil
			}
		}
		return false, nil
	case KindExists:
		// The lookup type is A even for an IPv6 client (RFC 7208
		// section 5.7).
		addrs, err := c.r.LookupNetIP(ctx, "ip4", target)
		if err != nil {
			return false, c.lookupFailed(err, domain, "")
		}
		return len(addrs) > 0, nil
	}
	return false, nil
}

func (c *checker) network() string {
	if c.ip.Is4() {
		return "ip4"
	}
	return "ip6"
}

// anyInPrefix reports whether the client address is in the network of any
// of addrs with the CIDR length of d.
func (c *checker) anyInPrefix(addrs []netip.Addr, d *Directive) bool {
	bits := d.IP4Bits
	if c.ip.Is6() {
		bits = d.IP6Bits
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() != c.ip.Is4() {
			continue
		}
		p, err := a.Prefix(bits)
		if err == nil && p.Contains(c.ip) {
			return true
		}
	}
	return false
}

// matchMX evaluates mx: at most Limits.MXNames hosts, each looked up for
// the client's address family (RFC 7208 section 5.4).
func (c *checker) matchMX(ctx context.Context, d *Directive, domain, target string) (bool, *Error) {
	mxs, err := c.r.LookupMX(ctx, target)
	if err != nil {
		return false, c.lookupFailed(err, domain, "")
	}
	hosts := 0
	for _, mx := range mxs {
		if mx != nil && mx.Host != "." && mx.Host != "" {
			hosts++
		}
	}
	if hosts == 0 {
		// Only a null MX (RFC 7505): a positive answer naming no host.
		return false, nil
	}
	if hosts > c.lim.MXNames {
		return false, &Error{Err: ErrTooManyMXNames, Domain: domain}
	}
	for _, mx := range mxs {
		if mx == nil || mx.Host == "." || mx.Host == "" {
			continue
		}
		addrs, err := c.r.LookupNetIP(ctx, c.network(), mx.Host)
		if err != nil {
			if isVoid(err) {
				continue
			}
			return false, &Error{Err: ErrDNS, Domain: domain, Cause: err}
		}
		if c.anyInPrefix(addrs, d) {
			return true, nil
		}
	}
	return false, nil
}

// loadPTR finds the validated names of the client address once per check
// (RFC 7208 section 5.5): the first Limits.PTRNames PTR names whose forward
// lookup includes the address. A failed PTR lookup leaves no names; a void
// one is remembered in ptrVoid, so that each ptr mechanism counts it.
func (c *checker) loadPTR(ctx context.Context) {
	if c.ptrDone {
		return
	}
	c.ptrDone = true
	names, err := c.r.LookupAddr(ctx, c.ip.String())
	if err != nil {
		if isVoid(err) {
			c.ptrVoid = err
		}
		return
	}
	if len(names) > c.lim.PTRNames {
		names = names[:c.lim.PTRNames]
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if _, ok := queryName(n); !ok {
			continue
		}
		addrs, err := c.r.LookupNetIP(ctx, c.network(), n)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == c.ip {
				c.ptrValidated = append(c.ptrValidated, n)
				break
			}
		}
	}
}

// validatedForMacro returns %{p}: a validated name equal to the current
// domain, else one below it, else any, else "unknown" (RFC 7208 section
// 7.3). Its lookups do not count against the limits.
func (c *checker) validatedForMacro() string {
	c.loadPTR(c.ctx)
	d := strings.ToLower(strings.TrimSuffix(c.env.domain, "."))
	best := ""
	for _, n := range c.ptrValidated {
		if n == d {
			return n
		}
		if best == "" && isSubdomain(n, d) {
			best = n
		}
	}
	if best != "" {
		return best
	}
	if len(c.ptrValidated) > 0 {
		return c.ptrValidated[0]
	}
	return "unknown"
}

// isSubdomain reports whether name is domain or below it, without regard
// to case and trailing dots.
func isSubdomain(name, domain string) bool {
	name = strings.TrimSuffix(name, ".")
	domain = strings.TrimSuffix(domain, ".")
	if len(name) < len(domain) || domain == "" {
		return false
	}
	tail := name[len(name)-len(domain):]
	if !equalFold(tail, domain) {
		return false
	}
	return len(name) == len(domain) || name[len(name)-len(domain)-1] == '.'
}

// target expands a domain-spec for domain; an empty spec means domain
// itself. ok is false when the expansion is no valid DNS name, which RFC
// 7208 treats as a name that does not exist.
func (c *checker) target(spec *macroString, domain string) (name string, ok bool, p *Error) {
	if len(spec.tokens) == 0 {
		name = domain
	} else {
		c.env.domain = domain
		s, err := spec.expand(&c.env)
		if err != nil {
			e := &Error{Err: ErrSyntax, Detail: err.Error()}
			errors.As(err, &e)
			e.Domain = domain
			return "", false, e
		}
		name = truncateDomain(s)
	}
	n, ok := queryName(name)
	return n, ok, nil
}

// truncateDomain removes labels from the left of an expanded name longer
// than 253 octets until it fits (RFC 7208 section 7.3).
func truncateDomain(s string) string {
	s = strings.TrimSuffix(s, ".")
	for len(s) > dnsmx.MaxNameLength {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	return s
}

// queryName checks that s can be asked in DNS: labels of 1 to 63 octets
// and at most 253 octets without the trailing dot (RFC 1035 section
// 2.3.4). Any octet may appear in a label; macro expansion can produce
// spaces and percent signs, which DNS carries. It returns s without the
// trailing dot.
func queryName(s string) (string, bool) {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > dnsmx.MaxNameLength {
		return "", false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if n := i - start; n == 0 || n > dnsmx.MaxLabelLength {
				return "", false
			}
			start = i + 1
		}
	}
	return s, true
}
