package dnsmx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Defaults of [ClientOptions].
const (
	DefaultResolvConf     = "/etc/resolv.conf"
	DefaultTimeout        = 2 * time.Second
	DefaultAttempts       = 2
	DefaultUDPSize        = 1232 // DNS Flag Day 2020: no IP fragmentation
	DefaultMaxCNAMEChain  = 8
	DefaultCacheSize      = 4096
	DefaultMaxTTL         = 24 * time.Hour
	DefaultMaxNegativeTTL = time.Hour
)

// ClientOptions configure a [Client]. The zero value, or a nil pointer,
// means the documented defaults.
type ClientOptions struct {
	// Servers are the recursive resolvers to ask, as "host:port" or
	// "host" (port 53), in order of preference. When empty they come from
	// ResolvConf.
	Servers []string

	// ResolvConf is the resolv.conf file that lists servers when Servers
	// is empty; default DefaultResolvConf. When the default file is
	// missing or lists no server, 127.0.0.1:53 and [::1]:53 are used, as
	// the standard library does. Only the nameserver lines are used:
	// mail names are always absolute, so search domains and ndots do not
	// apply.
	ResolvConf string

	// Timeout bounds one attempt on one server (the TCP retry after a
	// truncated answer gets a fresh Timeout); default DefaultTimeout. The
	// caller's context bounds the whole lookup.
	Timeout time.Duration

	// Attempts is the number of rounds over all servers before a lookup
	// fails as temporary; default DefaultAttempts.
	Attempts int

	// UDPSize is the EDNS0 UDP payload size advertised (RFC 6891);
	// default DefaultUDPSize. Larger answers come back truncated and are
	// asked again over TCP.
	UDPSize uint16

	// MaxCNAMEChain is the number of CNAMEs followed for one lookup;
	// default DefaultMaxCNAMEChain. A longer chain or a loop fails with
	// ErrCNAMELoop.
	MaxCNAMEChain int

	// CacheSize bounds the number of cached answers; default
	// DefaultCacheSize. A negative value disables the cache. Positive
	// answers are kept for their TTL, negative ones for the SOA minimum
	// (RFC 2308); temporary failures are not cached.
	CacheSize int

	// MaxTTL caps the time a positive answer stays cached; default
	// DefaultMaxTTL.
	MaxTTL time.Duration

	// MaxNegativeTTL caps the time an NXDOMAIN or no-data answer stays
	// cached; default DefaultMaxNegativeTTL.
	MaxNegativeTTL time.Duration

	// Now returns the current time for cache expiry; nil means time.Now.
	Now func() time.Time

	// Logger receives debug records about failed exchanges; nil discards.
	Logger *slog.Logger
}

// Client is a stub resolver on github.com/miekg/dns: it asks recursive
// resolvers over UDP with EDNS0, retries over TCP when an answer is
// truncated, retries other servers on SERVFAIL and timeouts, follows CNAME
// chains with a limit, reports the AD bit and caches answers. It
// implements [Resolver] and [Querier] and is safe for concurrent use.
type Client struct {
	servers     []string
	timeout     time.Duration
	attempts    int
	udpSize     uint16
	maxCNAME    int
	maxTTL      time.Duration
	maxNegative time.Duration
	cache       *cache
	now         func() time.Time
	log         *slog.Logger

	mu    sync.Mutex
	calls map[cacheKey]*inflight

	// exchangeHook, set by tests only, replaces the network.
	exchangeHook func(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error)
}

var (
	_ Resolver = (*Client)(nil)
	_ Querier  = (*Client)(nil)
)

// NewClient returns a Client configured by opts (nil means defaults). It
// fails when an explicitly named ResolvConf cannot be read or when a
// server address is malformed.
func NewClient(opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	c := &Client{
		timeout:     o.Timeout,
		attempts:    o.Attempts,
		udpSize:     o.UDPSize,
		maxCNAME:    o.MaxCNAMEChain,
		maxTTL:      o.MaxTTL,
		maxNegative: o.MaxNegativeTTL,
		log:         o.Logger,
		calls:       make(map[cacheKey]*inflight),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.attempts <= 0 {
		c.attempts = DefaultAttempts
	}
	if c.udpSize == 0 {
		c.udpSize = DefaultUDPSize
	}
	if c.udpSize < dns.MinMsgSize {
		c.udpSize = dns.MinMsgSize
	}
	if c.maxCNAME <= 0 {
		c.maxCNAME = DefaultMaxCNAMEChain
	}
	if c.maxTTL <= 0 {
		c.maxTTL = DefaultMaxTTL
	}
	if c.maxNegative <= 0 {
		c.maxNegative = DefaultMaxNegativeTTL
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	servers := o.Servers
	if len(servers) == 0 {
		var err error
		servers, err = readResolvConf(o.ResolvConf)
		if err != nil {
			return nil, err
		}
	}
	for _, s := range servers {
		hp, err := serverAddr(s)
		if err != nil {
			return nil, err
		}
		c.servers = append(c.servers, hp)
	}
	c.now = o.Now
	if c.now == nil {
		c.now = time.Now
	}
	if o.CacheSize >= 0 {
		size := o.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		c.cache = newCache(size, c.now)
	}
	return c, nil
}

// Servers returns the servers the client asks, as "host:port".
func (c *Client) Servers() []string { return slices.Clone(c.servers) }

func readResolvConf(path string) ([]string, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultResolvConf
	}
	conf, err := dns.ClientConfigFromFile(path)
	if err != nil {
		if explicit {
			return nil, fmt.Errorf("dnsmx: reading %s: %w", path, err)
		}
		return []string{"127.0.0.1:53", "[::1]:53"}, nil
	}
	var out []string
	for _, s := range conf.Servers {
		out = append(out, net.JoinHostPort(s, conf.Port))
	}
	if len(out) == 0 {
		out = []string{"127.0.0.1:53", "[::1]:53"}
	}
	return out, nil
}

func serverAddr(s string) (string, error) {
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(ip, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("dnsmx: bad server address %q", s)
	}
	return s, nil
}

// result is a resolved, immutable answer as cached. Exactly one of the
// typed views is filled, by qtype; err is set for negative answers.
type result struct {
	name      string // asked, lower case, no trailing dot
	canonical string
	rrs       []dns.RR
	txt       []string
	addrs     []netip.Addr
	mx        []net.MX
	names     []string
	authentic bool
	ttl       time.Duration
	fetched   time.Time
	err       *Error
}

// LookupTXT implements [Resolver].
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r, err := c.resolve(ctx, "lookup TXT", name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.txt), nil
}

// LookupNetIP implements [Resolver]. With network "ip", IPv4 addresses
// come first; the lookup succeeds when either family has addresses.
func (c *Client) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var op string
	var qtype uint16 // 0 for both families
	switch network {
	case "ip":
		op = "lookup ip"
	case "ip4":
		op, qtype = "lookup ip4", dns.TypeA
	case "ip6":
		op, qtype = "lookup ip6", dns.TypeAAAA
	default:
		return nil, &Error{Op: "lookup " + network, Name: host, Rcode: RcodeNone, Kind: ErrInvalidName, Err: errors.New("unknown network")}
	}
	if ip, ok := parseIP(host); ok {
		ip = ip.Unmap()
		if (network == "ip4" && !ip.Is4()) || (network == "ip6" && !ip.Is6()) {
			return nil, &Error{Op: op, Name: host, Rcode: RcodeNone, Kind: ErrNoData}
		}
		return []netip.Addr{ip}, nil
	}
	if qtype != 0 {
		r, err := c.resolve(ctx, op, host, qtype)
		if err != nil {
			return nil, err
		}
		return slices.Clone(r.addrs), nil
	}
	r4, err4 := c.resolve(ctx, op, host, dns.TypeA)
	if err4 != nil && (errors.Is(err4, ErrInvalidName) || errors.Is(err4, ErrNotFound) || ctx.Err() != nil) {
		return nil, err4
	}
	r6, err6 := c.resolve(ctx, op, host, dns.TypeAAAA)
	n := 0
	if err4 == nil {
		n += len(r4.addrs)
	}
	if err6 == nil {
		n += len(r6.addrs)
	}
	out := make([]netip.Addr, 0, n)
	if err4 == nil {
		out = append(out, r4.addrs...)
	}
	if err6 == nil {
		out = append(out, r6.addrs...)
	}
	if len(out) > 0 {
		return out, nil
	}
	switch {
	case IsTemporary(err4):
		return nil, err4
	case IsTemporary(err6):
		return nil, err6
	case err6 != nil && !errors.Is(err6, ErrNoData):
		return nil, err6
	}
	return nil, err4
}

// parseIP parses an IP literal host, without the cost of a failed parse
// for names.
func parseIP(host string) (netip.Addr, bool) {
	if host == "" || (!strings.Contains(host, ":") && !isDigit(host[len(host)-1])) {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(host)
	return ip, err == nil
}

// LookupMX implements [Resolver].
func (c *Client) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	r, err := c.resolve(ctx, "lookup MX", name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	vals := slices.Clone(r.mx)
	out := make([]*net.MX, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out, nil
}

// LookupAddr implements [Resolver].
func (c *Client) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &Error{Op: "lookup PTR", Name: addr, Rcode: RcodeNone, Kind: ErrInvalidName, Err: err}
	}
	r, err := c.resolve(ctx, "lookup PTR", ReverseName(ip.WithZone(""), ptrZone(ip)), dns.TypePTR)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.names), nil
}

// Query implements [Querier].
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	r, err := c.resolve(ctx, "lookup "+dns.Type(qtype).String(), name, qtype)
	if err != nil {
		return nil, err
	}
	a := &Answer{
		Name:      r.name + ".",
		Canonical: r.canonical + ".",
		Records:   make([]dns.RR, len(r.rrs)),
		Authentic: r.authentic,
		TTL:       max(r.ttl-c.now().Sub(r.fetched).Truncate(time.Second), 0),
	}
	for i, rr := range r.rrs {
		a.Records[i] = dns.Copy(rr)
	}
	return a, nil
}

// resolve answers (name, qtype) from the cache or the network.
func (c *Client) resolve(ctx context.Context, op, name string, qtype uint16) (*result, error) {
	key, ok := normalizeName(name)
	if !ok {
		return nil, &Error{Op: op, Name: name, Rcode: RcodeNone, Kind: ErrInvalidName}
	}
	ck := cacheKey{name: key, qtype: qtype}
	if c.cache != nil {
		if r := c.cache.get(ck); r != nil {
			if r.err != nil {
				return nil, r.err
			}
			return r, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: op, Name: key, Rcode: RcodeNone, Kind: ErrTemporary, Err: err}
	}
	r := c.shared(ctx, op, ck, qtype)
	if r.err != nil {
		return nil, r.err
	}
	return r, nil
}

// inflight is a lookup under way that concurrent callers of the same
// (name, type) wait for instead of asking again.
type inflight struct {
	done chan struct{}
	res  *result
}

// shared runs one network lookup per (name, type) at a time and caches
// its result. A caller whose context ends stops waiting; a caller whose
// leader failed only because the leader's context ended asks again.
func (c *Client) shared(ctx context.Context, op string, ck cacheKey, qtype uint16) *result {
	c.mu.Lock()
	if call, ok := c.calls[ck]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			if e := call.res.err; e != nil && e.Temporary() && isContextError(e.Err) && ctx.Err() == nil {
				return c.lookup(ctx, op, ck.name, qtype)
			}
			return call.res
		case <-ctx.Done():
			return &result{err: &Error{Op: op, Name: ck.name, Rcode: RcodeNone, Kind: ErrTemporary, Err: ctx.Err()}}
		}
	}
	call := &inflight{done: make(chan struct{})}
	c.calls[ck] = call
	c.mu.Unlock()

	call.res = c.lookup(ctx, op, ck.name, qtype)
	if c.cache != nil && (call.res.err == nil || !call.res.err.Temporary()) {
		c.cache.put(ck, call.res, call.res.ttl)
	}
	c.mu.Lock()
	delete(c.calls, ck)
	c.mu.Unlock()
	close(call.done)
	return call.res
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// lookup asks the network for (name, qtype), following CNAMEs within an
// answer and, when a chain leaves the answer, with further queries.
func (c *Client) lookup(ctx context.Context, op, name string, qtype uint16) *result {
	res := &result{name: name, authentic: true, fetched: c.now()}
	fail := func(kind error, server string, rcode int, cause error, ttl time.Duration) *result {
		res.err = &Error{Op: op, Name: name, Server: server, Rcode: rcode, Kind: kind, Err: cause}
		res.ttl = ttl
		return res
	}
	cur := name
	visited := []string{name}
	hops := 0
	minTTL := c.maxTTL
	for {
		resp, server, err := c.exchange(ctx, cur, qtype)
		if err != nil {
			return fail(ErrTemporary, server, RcodeNone, err, 0)
		}
		if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
			return fail(ErrTemporary, server, resp.Rcode, nil, 0)
		}
		res.authentic = res.authentic && resp.AuthenticatedData
		target := cur
		for {
			var recs []dns.RR
			var cname *dns.CNAME
			for _, rr := range resp.Answer {
				h := rr.Header()
				if h.Class != dns.ClassINET || !sameName(h.Name, target) {
					continue
				}
				if h.Rrtype == qtype {
					recs = append(recs, rr)
				} else if cn, ok := rr.(*dns.CNAME); ok && cname == nil {
					cname = cn
				}
			}
			if len(recs) > 0 {
				for _, rr := range recs {
					minTTL = min(minTTL, time.Duration(rr.Header().Ttl)*time.Second)
				}
				res.canonical = target
				res.ttl = minTTL
				res.rrs = recs
				fillViews(res, qtype)
				return res
			}
			if cname == nil || qtype == dns.TypeCNAME {
				break
			}
			next, ok := normalizeName(cname.Target)
			if !ok {
				return fail(ErrInvalidName, server, RcodeNone, fmt.Errorf("bad CNAME target %q", cname.Target), 0)
			}
			hops++
			if hops > c.maxCNAME || slices.Contains(visited, next) {
				return fail(ErrCNAMELoop, server, RcodeNone, nil, 0)
			}
			visited = append(visited, next)
			minTTL = min(minTTL, time.Duration(cname.Hdr.Ttl)*time.Second)
			target = next
		}
		negTTL := min(minTTL, c.negativeTTL(resp))
		if resp.Rcode == dns.RcodeNameError {
			return fail(ErrNotFound, server, resp.Rcode, nil, negTTL)
		}
		if target != cur && !hasSOA(resp) {
			// The server stopped at a CNAME: ask for its target.
			cur = target
			continue
		}
		return fail(ErrNoData, server, resp.Rcode, nil, negTTL)
	}
}

// negativeTTL is the RFC 2308 section 5 lifetime of a negative answer: the
// smaller of the SOA's TTL and its MINIMUM field; without a SOA the answer
// is not cached.
func (c *Client) negativeTTL(resp *dns.Msg) time.Duration {
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second, c.maxNegative)
		}
	}
	return 0
}

func hasSOA(resp *dns.Msg) bool {
	for _, rr := range resp.Ns {
		if _, ok := rr.(*dns.SOA); ok {
			return true
		}
	}
	return false
}

// sameName compares an owner name from an answer with a normalised name.
func sameName(owner, name string) bool {
	owner = strings.TrimSuffix(owner, ".")
	return len(owner) == len(name) && strings.EqualFold(owner, name)
}

// fillViews builds the typed view of res.rrs for qtype.
func fillViews(res *result, qtype uint16) {
	for _, rr := range res.rrs {
		switch v := rr.(type) {
		case *dns.TXT:
			var b strings.Builder
			for _, s := range v.Txt {
				b.WriteString(unescapeTXT(s))
			}
			res.txt = append(res.txt, b.String())
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(v.A); ok {
				res.addrs = append(res.addrs, ip.Unmap())
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(v.AAAA); ok {
				res.addrs = append(res.addrs, ip)
			}
		case *dns.MX:
			res.mx = append(res.mx, net.MX{Host: v.Mx, Pref: v.Preference})
		case *dns.PTR:
			res.names = append(res.names, v.Ptr)
		}
	}
}

// exchange asks the servers in turn, Attempts rounds, and returns the first
// answer with RCODE NOERROR or NXDOMAIN, else the last answer received,
// else the last error.
func (c *Client) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if c.exchangeHook != nil {
		return c.exchangeHook(ctx, name, qtype)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.AuthenticatedData = true // RFC 6840 section 5.7: ask for the AD bit
	m.SetEdns0(c.udpSize, false)
	var (
		lastResp   *dns.Msg
		lastServer string
		lastErr    error
	)
	for range c.attempts {
		for _, server := range c.servers {
			if err := ctx.Err(); err != nil {
				return nil, "", err
			}
			m.Id = dns.Id()
			resp, err := c.try(ctx, server, m)
			if err == nil && resp.Rcode == dns.RcodeFormatError && m.IsEdns0() != nil {
				// An old server that does not know EDNS0 (RFC 6891
				// section 7): ask it again without.
				plain := m.Copy()
				plain.Extra = nil
				plain.Id = dns.Id()
				resp, err = c.try(ctx, server, plain)
			}
			if err != nil {
				c.log.DebugContext(ctx, "dns exchange failed", "server", server, "name", name, "type", dns.TypeToString[qtype], "err", err)
				lastErr, lastServer = err, server
				continue
			}
			if resp.Rcode == dns.RcodeSuccess || resp.Rcode == dns.RcodeNameError {
				return resp, server, nil
			}
			c.log.DebugContext(ctx, "dns server failure", "server", server, "name", name, "type", dns.TypeToString[qtype], "rcode", dns.RcodeToString[resp.Rcode])
			lastResp, lastServer = resp, server
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if lastResp != nil {
		return lastResp, lastServer, nil
	}
	return nil, lastServer, lastErr
}

// try does one exchange with one server: UDP, then TCP if truncated.
func (c *Client) try(ctx context.Context, server string, m *dns.Msg) (*dns.Msg, error) {
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	resp, err := c.roundTrip(tctx, "udp", server, m)
	cancel()
	if err == nil && resp.Truncated {
		tctx, cancel = context.WithTimeout(ctx, c.timeout)
		resp, err = c.roundTrip(tctx, "tcp", server, m)
		cancel()
	}
	if err != nil && isContextError(err) {
		// Whose deadline was it? The attempt's context shares the
		// caller's deadline, and may notice it first.
		switch dl, ok := ctx.Deadline(); {
		case ctx.Err() != nil:
			err = ctx.Err()
		case ok && !time.Now().Before(dl):
			err = context.DeadlineExceeded
		default:
			err = errAttemptTimeout
		}
	}
	return resp, err
}

// errAttemptTimeout reports that a server did not answer within
// ClientOptions.Timeout.
var errAttemptTimeout error = attemptTimeout{}

type attemptTimeout struct{}

func (attemptTimeout) Error() string   { return "no answer within the attempt timeout" }
func (attemptTimeout) Timeout() bool   { return true }
func (attemptTimeout) Temporary() bool { return true }

// errMismatch reports an answer over TCP that does not match the query.
var errMismatch = errors.New("answer does not match the query")

// roundTrip sends m to server over network and reads the matching answer.
// Over UDP, datagrams that do not match the query's ID and question are
// ignored (RFC 5452 section 9.1) until the context ends.
func (c *Client) roundTrip(ctx context.Context, network, server string, m *dns.Msg) (*dns.Msg, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	co := &dns.Conn{Conn: conn, UDPSize: c.udpSize}
	if err := co.WriteMsg(m); err != nil {
		return nil, err
	}
	udp := network == "udp"
	for {
		var h dns.Header
		p, err := co.ReadMsgHeader(&h)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			if udp && !isNetError(err) {
				continue // a datagram too short to be DNS
			}
			return nil, err
		}
		if h.Id != m.Id {
			if udp {
				continue
			}
			return nil, errMismatch
		}
		resp := new(dns.Msg)
		if err := resp.Unpack(p); err != nil {
			if udp {
				// Truncated (TC set), cut short by a datagram larger
				// than our buffer, or mangled in transit: TCP gets
				// the whole answer or a clear error.
				return &dns.Msg{MsgHdr: dns.MsgHdr{Id: h.Id, Response: true, Truncated: true}}, nil
			}
			return nil, fmt.Errorf("malformed answer: %w", err)
		}
		if !resp.Response || !sameQuestion(resp, m) {
			if udp {
				continue
			}
			return nil, errMismatch
		}
		return resp, nil
	}
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, os.ErrDeadlineExceeded)
}

func sameQuestion(resp, m *dns.Msg) bool {
	if len(resp.Question) != 1 {
		// A truncated answer may come without its question.
		return len(resp.Question) == 0 && resp.Truncated
	}
	q, want := resp.Question[0], m.Question[0]
	return q.Qtype == want.Qtype && q.Qclass == want.Qclass && strings.EqualFold(q.Name, want.Name)
}
