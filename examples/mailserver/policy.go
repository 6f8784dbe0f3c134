package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/heraldmail/herald/dkim"
	"github.com/heraldmail/herald/dnsmx"
	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/greylist/redisstore"
	"github.com/heraldmail/herald/smtp"
	"github.com/heraldmail/herald/spf"
)

// The inbound policy of the MX port, in the order a client meets it:
//
//   - Client checks, once per connection at its first MAIL FROM, when the
//     EHLO name is known: a DNS allowlist (-dnswl) first, whose listed
//     clients skip the rest; forward-confirmed reverse DNS (-fcrdns: off,
//     log, or reject with 550 5.7.25, RFC 7372 section 3.3) and the EHLO
//     name (logged, never refused: RFC 5321 section 4.1.4); the DNS
//     blocklists (-dnsbl), a listed client refused with 554 5.7.1 naming the
//     list and its TXT reason. A DNS failure fails open: it is logged, and
//     the check counts as "error".
//   - SPF of MAIL FROM (of the HELO name for the null sender, RFC 7208
//     section 2.4): fail is refused with 550 5.7.23 and the explanation;
//     temperror with 451 4.7.24, the code RFC 7372 section 3.2 registers
//     for SPF validation errors (RFC 7208 section 8.6 names 4.4.3, a
//     general network status, before X.7.24 existed); the other results
//     are recorded in Received-SPF and Authentication-Results (RFC 8601).
//   - Greylisting at each RCPT TO of a local recipient: 451 4.7.1 for an
//     unknown triplet until the retry after -greylist-delay.
//   - The junk filter at the end of the data (junk.go).
//
// Clients in -relay-networks skip every one of these, and authenticated
// submission never meets them; submission has the rate limit instead.
// Every decision is logged with its reason and counted in metrics.
type policy struct {
	cfg     *policyConfig
	host    string
	res     dnsmx.Resolver
	log     *slog.Logger
	metrics *metrics

	grey      *greylist.Policy
	greyStore *greylist.MemoryStore
	junk      *junkRules
	rate      rateCounter
	redis     *redis.Client

	dkimKeys dkim.KeyCache // key records of inbound signers, for their TTL
}

// rateCounter counts submitted messages per user: in memory (rateLimiter)
// or in Redis (redisRate).
type rateCounter interface {
	// allow reports whether user may start another message at now, how
	// many it sent in the window, and when not, how long until it may.
	allow(ctx context.Context, user string, now time.Time) (ok bool, sent int, wait time.Duration, err error)
	// add counts a message of user accepted at now.
	add(ctx context.Context, user string, now time.Time) error
}

// memoryRate is the in-memory rateCounter.
type memoryRate struct{ *rateLimiter }

func (m memoryRate) allow(_ context.Context, user string, now time.Time) (bool, int, time.Duration, error) {
	ok, sent := m.rateLimiter.allow(user, now)
	if ok {
		return true, sent, 0, nil
	}
	return false, sent, m.retryAfter(user, now), nil
}

func (m memoryRate) add(_ context.Context, user string, now time.Time) error {
	m.rateLimiter.add(user, now)
	return nil
}

// newPolicy sets up the checks the configuration turns on.
func newPolicy(cfg *config, res dnsmx.Resolver, log *slog.Logger) (*policy, error) {
	p := &policy{cfg: &cfg.policy, host: cfg.hostname, res: res, log: log, metrics: newMetrics(),
		rate: memoryRate{newRateLimiter(cfg.policy.rate)}}
	if p.cfg.redis != "" {
		opts, err := redis.ParseURL(p.cfg.redis)
		if err != nil {
			return nil, fmt.Errorf("-redis: %v", err)
		}
		p.redis = redis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = p.redis.Ping(ctx).Err()
		cancel()
		if err != nil {
			p.redis.Close()
			return nil, fmt.Errorf("-redis %s: %v", opts.Addr, err)
		}
		p.rate = newRedisRate(p.redis, cfg.policy.rate, cfg.hostname)
	}
	if p.cfg.greylist {
		var store greylist.Store
		if p.redis != nil {
			store = redisstore.New(p.redis, nil)
		} else {
			ms, err := greylist.NewMemoryStore(&greylist.MemoryOptions{
				SnapshotPath: filepath.Join(cfg.dataDir, "greylist.snapshot"),
			})
			if err != nil {
				return nil, fmt.Errorf("greylist: %w", err)
			}
			store, p.greyStore = ms, ms
		}
		var err error
		window := greylist.DefaultRetryWindow
		if window <= p.cfg.greylistDelay {
			window = 2 * p.cfg.greylistDelay
		}
		p.grey, err = greylist.New(&greylist.Options{
			Store:       store,
			Delay:       p.cfg.greylistDelay,
			RetryWindow: window,
			Hostname:    cfg.hostname,
		})
		if err != nil {
			return nil, fmt.Errorf("greylist: %w", err)
		}
	}
	if p.cfg.junk {
		rules, err := loadJunkRules(cfg.dataDir)
		if err != nil {
			return nil, err
		}
		p.junk = rules
	}
	return p, nil
}

// close saves the greylist, so that a restart does not greylist again the
// triplets that passed or are waiting.
func (p *policy) close() error {
	var err error
	if p.greyStore != nil {
		err = p.greyStore.Close()
	}
	if p.redis != nil {
		p.redis.Close()
	}
	return err
}

// decide logs and counts one decision.
func (p *policy) decide(log *slog.Logger, check, result, action, reason string) {
	p.metrics.inc(check, result)
	log.Info("policy", "check", check, "result", result, "action", action, "reason", reason)
}

// clientState is what the client checks found for one connection.
type clientState struct {
	checked     bool
	allowlisted string // the DNSWL zone that lists the client
	fcrdns      string // pass, fail, temperror; "" when off or skipped
	ptrName     string // a forward-confirmed name
	helo        string // a dnsmx.HELOStatus in words, "" when not checked
	refusal     *smtp.Error
}

var (
	errFCrDNS      = &smtp.Error{Code: 550, Enhanced: 5_007_025, Message: "Reverse DNS validation failed: the address you connect from has no host name that resolves back to it (RFC 7372)"}
	errFCrDNSTemp  = &smtp.Error{Code: 451, Enhanced: 4_007_025, Message: "Reverse DNS of your address could not be checked now, please try again later"}
	errSPFTemp     = &smtp.Error{Code: 451, Enhanced: 4_007_024, Message: "SPF check of the sender could not be completed (temperror), please try again later"}
	errRateLimited = smtp.EnhancedCode(4_007_001)
)

// checkClient runs the client checks for a connection from ip that said
// helo.
func (p *policy) checkClient(ctx context.Context, log *slog.Logger, ip netip.Addr, helo string) clientState {
	st := clientState{checked: true}
	ip = ip.Unmap()
	if len(p.cfg.dnswl) > 0 {
		if zone, ok := p.allowlisted(ctx, log, ip); ok {
			st.allowlisted = zone
			return st
		}
	}
	if p.cfg.fcrdns != "off" {
		p.checkFCrDNS(ctx, log, ip, helo, &st)
		if st.refusal != nil {
			return st
		}
	}
	if len(p.cfg.dnsbl) > 0 {
		st.refusal = p.checkDNSBL(ctx, log, ip)
	}
	return st
}

func (p *policy) allowlisted(ctx context.Context, log *slog.Logger, ip netip.Addr) (string, bool) {
	listings, err := dnsmx.LookupDNSBL(ctx, p.res, ip, zones(p.cfg.dnswl), &dnsmx.DNSBLOptions{SkipTXT: true})
	if err != nil {
		p.decide(log, "dnswl", "error", "continue", err.Error())
		return "", false
	}
	for i, l := range listings {
		switch {
		case l.Err != nil:
			p.decide(log, "dnswl", "error", "continue", l.Zone+": "+l.Err.Error())
		case l.Listed && anyListed(p.cfg.dnswl[i], l.Addrs):
			p.decide(log, "dnswl", "listed", "skip-checks", fmt.Sprintf("%s lists %s as %v", l.Zone, ip, l.Addrs))
			return l.Zone, true
		}
	}
	p.decide(log, "dnswl", "unlisted", "continue", "not on any allowlist")
	return "", false
}

func (p *policy) checkFCrDNS(ctx context.Context, log *slog.Logger, ip netip.Addr, helo string, st *clientState) {
	reject := p.cfg.fcrdns == "reject"
	action := func(bad bool) string {
		if bad && reject {
			return "reject"
		}
		return "accept"
	}
	hs, herr := dnsmx.CheckHELO(ctx, p.res, ip, helo)
	st.helo = heloResult(hs)
	if herr != nil {
		st.helo = "temperror"
		p.decide(log, "helo", "temperror", "accept", herr.Error())
	} else {
		p.decide(log, "helo", st.helo, "accept", fmt.Sprintf("EHLO %q is %s for %s", helo, hs, ip))
	}

	f, err := dnsmx.VerifyFCrDNS(ctx, p.res, ip, nil)
	switch {
	case err != nil:
		st.fcrdns = "temperror"
		p.decide(log, "fcrdns", "temperror", action(true), err.Error())
		if reject {
			st.refusal = errFCrDNSTemp
		}
	case f.OK():
		st.fcrdns, st.ptrName = "pass", f.Confirmed[0]
		p.decide(log, "fcrdns", "pass", "accept", fmt.Sprintf("%s is %s", ip, f.Confirmed[0]))
	default:
		st.fcrdns = "fail"
		reason := "no PTR record for " + ip.String()
		if len(f.Names) > 0 {
			reason = fmt.Sprintf("PTR names %v of %s do not resolve back to it", f.Names, ip)
		}
		p.decide(log, "fcrdns", "fail", action(true), reason)
		if reject {
			st.refusal = errFCrDNS
		}
	}
}

func heloResult(s dnsmx.HELOStatus) string {
	switch s {
	case dnsmx.HELOMatch:
		return "match"
	case dnsmx.HELOLiteralMatch:
		return "literal-match"
	case dnsmx.HELOMismatch:
		return "mismatch"
	case dnsmx.HELONotFound:
		return "notfound"
	}
	return "invalid"
}

func (p *policy) checkDNSBL(ctx context.Context, log *slog.Logger, ip netip.Addr) *smtp.Error {
	listings, err := dnsmx.LookupDNSBL(ctx, p.res, ip, zones(p.cfg.dnsbl), nil)
	if err != nil {
		p.decide(log, "dnsbl", "error", "accept", err.Error())
		return nil
	}
	for i, l := range listings {
		switch {
		case l.Err != nil:
			p.decide(log, "dnsbl", "error", "accept", l.Zone+": "+l.Err.Error()+" (failing open)")
		case l.Listed && anyListed(p.cfg.dnsbl[i], l.Addrs):
			text := fmt.Sprintf("Client %s is listed in %s", ip, l.Zone)
			if len(l.TXT) > 0 {
				text += ": " + safeText(l.TXT[0], 200)
			}
			p.decide(log, "dnsbl", "listed", "reject", fmt.Sprintf("%s lists %s as %v %q", l.Zone, ip, l.Addrs, l.TXT))
			return &smtp.Error{Code: 554, Enhanced: 5_007_001, Message: text}
		case l.Listed:
			p.decide(log, "dnsbl", "clean", "accept", fmt.Sprintf("%s answers %v, not a code configured as listed", l.Zone, l.Addrs))
		default:
			p.decide(log, "dnsbl", "clean", "accept", l.Zone+" does not list "+ip.String())
		}
	}
	return nil
}

func zones(lists []dnsList) []string {
	z := make([]string, len(lists))
	for i, l := range lists {
		z[i] = l.zone
	}
	return z
}

func anyListed(l dnsList, addrs []netip.Addr) bool {
	for _, a := range addrs {
		if l.lists(a) {
			return true
		}
	}
	return false
}

// safeText makes text from DNS fit an SMTP reply: printable ASCII only,
// at most max octets.
func safeText(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkSPF evaluates SPF for the transaction and returns the refusal for
// fail and temperror, nil for the other results. An allowlisted client is
// never refused.
func (p *policy) checkSPF(ctx context.Context, log *slog.Logger, ip netip.Addr, helo string, from smtp.Path, allowlisted bool) (spf.Result, spf.Args, *smtp.Error) {
	a := spf.Args{IP: ip.Unmap(), HELO: helo, Receiver: p.host,
		DefaultExplanation: "%{i} is not one of %{d}'s designated mail servers"}
	if !from.IsNull() {
		a.Sender = from.Local + "@" + from.Domain
	}
	res, err := spf.Check(ctx, p.res, a)
	if err != nil && !errors.Is(err, context.Canceled) {
		res.Status = spf.TempError
	}
	result := res.Status.String()
	reason := fmt.Sprintf("domain %s, client %s", res.Domain, a.IP)
	if res.Mechanism != "" {
		reason += ", mechanism " + res.Mechanism
	}
	if res.Problem != nil {
		reason += ": " + res.Problem.Error()
	}
	switch {
	case allowlisted:
		p.decide(log, "spf", result, "accept", reason+" (allowlisted client)")
	case res.Status == spf.Fail:
		text := "SPF check failed: " + res.Domain + " does not allow " + a.IP.String() + " to send its mail"
		if res.Explanation != "" {
			text += ": " + res.Explanation
		}
		p.decide(log, "spf", result, "reject", reason)
		return res, a, &smtp.Error{Code: 550, Enhanced: 5_007_023, Message: text}
	case res.Status == spf.TempError:
		p.decide(log, "spf", result, "defer", reason)
		return res, a, errSPFTemp
	default:
		p.decide(log, "spf", result, "accept", reason)
	}
	return res, a, nil
}

// checkGreylist decides on one recipient; a store failure passes (fails
// open) and is logged.
func (p *policy) checkGreylist(ctx context.Context, log *slog.Logger, ip netip.Addr, ptrName string, from, to smtp.Path) (greylist.Decision, *smtp.Error) {
	req := greylist.Request{Client: ip.Unmap(), ClientName: ptrName, Recipient: to.Local + "@" + to.Domain}
	if !from.IsNull() {
		req.Sender = from.Local + "@" + from.Domain
	}
	d, err := p.grey.Check(ctx, req)
	if err != nil {
		p.decide(log, "greylist", "error", "accept", err.Error()+" (failing open)")
		return d, nil
	}
	reason := fmt.Sprintf("%s: %s from %s to %s", d.Reason, req.Sender, greylist.ClientNetwork(req.Client, greylist.DefaultIPv4Prefix, greylist.DefaultIPv6Prefix), req.Recipient)
	if rep, deferred := p.grey.Reply(d); deferred {
		p.decide(log, "greylist", "defer", "defer", reason)
		enh, err := smtp.ParseEnhancedCode(rep.Enhanced)
		if err != nil {
			enh = 4_007_001
		}
		return d, &smtp.Error{Code: smtp.ReplyCode(rep.Code), Enhanced: enh, Message: rep.Text}
	}
	p.decide(log, "greylist", "pass", "accept", reason)
	return d, nil
}

// checkRate is the submission rate limit of user at MAIL FROM. A Redis
// failure defers the message (fails closed) and is logged: the limit is
// what stops a stolen password from sending a spam run, and a real user's
// client tries again, while greylisting, which only delays strangers,
// fails open.
func (p *policy) checkRate(ctx context.Context, log *slog.Logger, user string) *smtp.Error {
	if p.cfg.rate.Max == 0 {
		return nil
	}
	ok, sent, wait, err := p.rate.allow(ctx, user, time.Now())
	if err != nil {
		p.decide(log, "ratelimit", "error", "defer", err.Error()+" (failing closed)")
		return errRateUnknown
	}
	if ok {
		p.metrics.inc("ratelimit", "allowed")
		log.Info("policy", "check", "ratelimit", "result", "allowed", "action", "accept", "user", user, "sent", sent,
			"limit", p.cfg.rate.String(), "reason", fmt.Sprintf("%s sent %d messages within %s", user, sent, p.cfg.rate.Window))
		return nil
	}
	p.metrics.inc("ratelimit", "limited")
	log.Info("policy", "check", "ratelimit", "result", "limited", "action", "defer", "user", user, "sent", sent,
		"limit", p.cfg.rate.String(), "reason", fmt.Sprintf("%s sent %d messages within %s", user, sent, p.cfg.rate.Window))
	return &smtp.Error{Code: 451, Enhanced: errRateLimited, Message: fmt.Sprintf(
		"Rate limit reached: %s has sent %d messages in the last %s (limit %s); please try again in %s",
		user, sent, periodText(p.cfg.rate.Window), p.cfg.rate, waitText(wait))}
}

// errRateUnknown answers a submission whose rate cannot be checked.
var errRateUnknown = &smtp.Error{Code: 451, Enhanced: 4_003_000, Message: "Cannot check the sending rate limit now; please try again later"}

// countRate counts an accepted message of user.
func (p *policy) countRate(ctx context.Context, log *slog.Logger, user string) {
	if p.cfg.rate.Max == 0 {
		return
	}
	if err := p.rate.add(ctx, user, time.Now()); err != nil {
		log.Warn("rate limit: message not counted", "user", user, "err", err)
	}
}

// periodText names a window in words: "hour", "day", or "30m0s".
func periodText(d time.Duration) string {
	switch d {
	case time.Second:
		return "second"
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	}
	return d.String()
}

// waitText says how long to wait, rounded up to whole minutes (seconds
// under a minute).
func waitText(d time.Duration) string {
	if d < time.Minute {
		n := int((d + time.Second - 1) / time.Second)
		return fmt.Sprintf("%d seconds", max(n, 1))
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}
