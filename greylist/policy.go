package greylist

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// Defaults of [Options]. They are postgrey's; the package documentation says
// how they fit RFC 6647 section 5.
const (
	DefaultDelay         = 300 * time.Second
	DefaultRetryWindow   = 2 * 24 * time.Hour
	DefaultMaxAge        = 35 * 24 * time.Hour
	DefaultAutoWhitelist = 5
	DefaultIPv4Prefix    = 24
	DefaultIPv6Prefix    = 64
	// DefaultMaxAddressLength bounds the sender and the recipient: 256
	// octets, the longest path RFC 5321 section 4.5.3.1.3 allows.
	DefaultMaxAddressLength = 256
	// DefaultMaxHostNames bounds the PTR names checked for Whitelist.Hosts.
	DefaultMaxHostNames = 10
	// DefaultReplyCode is the reply code of a deferral.
	DefaultReplyCode = 451
)

// Options configure a [Policy]. The zero value means every default:
// postgrey's timings, a new in-memory store, /24 and /64 client networks,
// auto-whitelisting after 5 retries, no whitelist.
type Options struct {
	// Store holds the state. Nil means a new [MemoryStore] with default
	// options.
	Store Store

	// Delay is how long a new triplet is deferred. Zero means
	// DefaultDelay (300 s).
	Delay time.Duration
	// RetryWindow is how long after its first attempt a triplet must retry
	// to pass. Zero means DefaultRetryWindow (2 days).
	RetryWindow time.Duration
	// MaxAge is how long a passed triplet is remembered after it was last
	// seen. Zero means DefaultMaxAge (35 days).
	MaxAge time.Duration
	// AutoWhitelist is the number of successful retries after which a
	// client network passes without greylisting. Zero means
	// DefaultAutoWhitelist (5); a negative value turns it off.
	AutoWhitelist int

	// IPv4Prefix and IPv6Prefix are the prefix lengths client addresses
	// are masked to. Zero means DefaultIPv4Prefix (24) and
	// DefaultIPv6Prefix (64); 32 and 128 key every host on its own (what
	// postgrey calls --lookup-by-host).
	IPv4Prefix, IPv6Prefix int

	// Whitelist lists what passes without greylisting.
	Whitelist Whitelist
	// Resolver looks up the client's host name for Whitelist.Hosts when
	// the request carries no ClientName. Nil means no lookup.
	Resolver Resolver
	// MaxHostNames bounds the PTR names checked per client. Zero means
	// DefaultMaxHostNames.
	MaxHostNames int

	// Privacy makes the store hold only keyed hashes (HMAC-SHA-256,
	// truncated to 128 bits) of the client network and of the triplet,
	// never addresses. PrivacyKey is the HMAC key; every host sharing a
	// store must use the same key. An empty key still hashes, but then
	// anyone reading the store can test guesses.
	Privacy    bool
	PrivacyKey []byte

	// NormalizeSender maps an envelope sender to its greylisting form.
	// Nil means [NormalizeSender].
	NormalizeSender func(string) string
	// MaxAddressLength bounds the sender and the recipient in octets.
	// Zero means DefaultMaxAddressLength.
	MaxAddressLength int

	// ReplyCode is the code of the deferral reply: 450 or 451. Zero means
	// DefaultReplyCode (451).
	ReplyCode int
	// Hostname names this host in the X-Greylist header field. Empty means
	// it is left out.
	Hostname string

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives a debug record per decision. Nil means discard.
	Logger *slog.Logger
}

// Request is one envelope recipient to decide on.
type Request struct {
	// Client is the address of the SMTP client.
	Client netip.Addr
	// ClientName is the client's forward-confirmed reverse DNS name, when
	// the caller already knows it (as Postfix's client_name). Empty means
	// unknown: Options.Resolver is asked if Whitelist.Hosts is set.
	ClientName string
	// Sender is the envelope sender (MAIL FROM) without angle brackets;
	// empty for the null sender.
	Sender string
	// Recipient is the envelope recipient (RCPT TO) without angle
	// brackets.
	Recipient string
}

// Action is what to do with a recipient.
type Action uint8

// The actions.
const (
	Pass Action = iota + 1
	Defer
)

// String returns "pass" or "defer".
func (a Action) String() string {
	switch a {
	case Pass:
		return "pass"
	case Defer:
		return "defer"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Reason says why a [Decision] was taken.
type Reason uint8

// The reasons.
const (
	// ReasonNew: first attempt of the triplet (or its record had
	// expired); deferred.
	ReasonNew Reason = iota + 1
	// ReasonEarly: retried before the delay was over; deferred.
	ReasonEarly
	// ReasonRetried: retried after the delay; passes, and the message
	// was delayed.
	ReasonRetried
	// ReasonKnown: the triplet passed before.
	ReasonKnown
	// ReasonAutoWhitelisted: the client network retried successfully
	// often enough.
	ReasonAutoWhitelisted
	// ReasonNetwork, ReasonHost, ReasonSender and ReasonRecipient: the
	// client network, client host name, sender domain or recipient is
	// whitelisted.
	ReasonNetwork
	ReasonHost
	ReasonSender
	ReasonRecipient
)

// String returns the reason in words, such as "early".
func (r Reason) String() string {
	switch r {
	case ReasonNew:
		return "new"
	case ReasonEarly:
		return "early"
	case ReasonRetried:
		return "retried"
	case ReasonKnown:
		return "known"
	case ReasonAutoWhitelisted:
		return "auto-whitelisted"
	case ReasonNetwork:
		return "whitelisted network"
	case ReasonHost:
		return "whitelisted host"
	case ReasonSender:
		return "whitelisted sender"
	case ReasonRecipient:
		return "whitelisted recipient"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Decision is the answer for one [Request].
type Decision struct {
	Action Action
	Reason Reason
	// Time is when the decision was taken, in whole milliseconds.
	Time time.Time
	// FirstSeen is when the triplet was first seen; zero when a whitelist
	// decided.
	FirstSeen time.Time
	// RetryAfter is, for Defer, how long until a retry passes.
	RetryAfter time.Duration
	// Delayed is, for ReasonRetried, how long the message was held back:
	// Time minus FirstSeen.
	Delayed time.Duration
}

// Errors of [Policy.Check]. Store errors are returned as they come.
var (
	// ErrInvalidRequest means the request cannot be greylisted: an invalid
	// client address, an address too long, or an address holding NUL, CR
	// or LF.
	ErrInvalidRequest = errors.New("greylist: invalid request")
)

// Policy takes greylisting decisions. It is safe for concurrent use.
type Policy struct {
	store      Store
	rules      Rules
	bits4      int
	bits6      int
	wl         *whitelist
	resolver   Resolver
	maxNames   int
	privacy    bool
	privacyKey []byte
	normSender func(string) string
	maxAddr    int
	replyCode  int
	hostname   string
	now        func() time.Time
	log        *slog.Logger
}

// New returns a Policy with the given options; nil means all defaults. It
// fails on inconsistent options, such as a retry window not longer than the
// delay.
func New(opts *Options) (*Policy, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	p := &Policy{
		store:      o.Store,
		bits4:      orDefault(o.IPv4Prefix, DefaultIPv4Prefix),
		bits6:      orDefault(o.IPv6Prefix, DefaultIPv6Prefix),
		resolver:   o.Resolver,
		maxNames:   orDefault(o.MaxHostNames, DefaultMaxHostNames),
		privacy:    o.Privacy,
		privacyKey: append([]byte(nil), o.PrivacyKey...),
		normSender: o.NormalizeSender,
		maxAddr:    orDefault(o.MaxAddressLength, DefaultMaxAddressLength),
		replyCode:  orDefault(o.ReplyCode, DefaultReplyCode),
		hostname:   sanitizeHeaderText(o.Hostname),
		now:        o.Now,
		log:        o.Logger,
	}
	p.rules = Rules{
		Delay:         orDefault(o.Delay, DefaultDelay),
		RetryWindow:   orDefault(o.RetryWindow, DefaultRetryWindow),
		MaxAge:        orDefault(o.MaxAge, DefaultMaxAge),
		AutoWhitelist: max(0, orDefault(o.AutoWhitelist, DefaultAutoWhitelist)),
	}
	if err := p.rules.Validate(); err != nil {
		return nil, err
	}
	if p.bits4 < 0 || p.bits4 > 32 || p.bits6 < 0 || p.bits6 > 128 {
		return nil, fmt.Errorf("greylist: prefix lengths /%d and /%d out of range", p.bits4, p.bits6)
	}
	if p.replyCode != 450 && p.replyCode != 451 {
		return nil, fmt.Errorf("greylist: reply code %d is neither 450 nor 451", p.replyCode)
	}
	if p.maxAddr < 0 || p.maxNames < 0 {
		return nil, fmt.Errorf("greylist: negative limit")
	}
	wl, err := compileWhitelist(o.Whitelist)
	if err != nil {
		return nil, err
	}
	p.wl = wl
	if p.store == nil {
		m, err := NewMemoryStore(nil)
		if err != nil {
			return nil, err
		}
		p.store = m
	}
	if p.normSender == nil {
		p.normSender = NormalizeSender
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Rules returns the timing rules the policy hands to its store.
func (p *Policy) Rules() Rules { return p.rules }

// Check decides on one recipient: whitelists first, then the store. It
// returns an error wrapping ErrInvalidRequest for a request that cannot be
// keyed, and the store's error when the store fails; the caller then
// usually answers with a temporary failure of its own.
func (p *Policy) Check(ctx context.Context, req Request) (Decision, error) {
	now := time.UnixMilli(p.now().UnixMilli())
	d, err := p.check(ctx, req, now)
	if err != nil {
		return Decision{}, err
	}
	if !p.log.Enabled(ctx, slog.LevelDebug) {
		return d, nil
	}
	p.log.LogAttrs(ctx, slog.LevelDebug, "greylist decision",
		slog.String("client", req.Client.String()),
		slog.String("sender", req.Sender),
		slog.String("recipient", req.Recipient),
		slog.String("action", d.Action.String()),
		slog.String("reason", d.Reason.String()),
		slog.Duration("retry_after", d.RetryAfter))
	return d, nil
}

func (p *Policy) check(ctx context.Context, req Request, now time.Time) (Decision, error) {
	if err := p.validate(req); err != nil {
		return Decision{}, err
	}
	pass := func(r Reason) (Decision, error) {
		return Decision{Action: Pass, Reason: r, Time: now}, nil
	}
	if p.wl.matchNetwork(req.Client) {
		return pass(ReasonNetwork)
	}
	rcpt := NormalizeRecipient(req.Recipient)
	if p.wl.matchRecipient(rcpt) {
		return pass(ReasonRecipient)
	}
	sender := p.normSender(req.Sender)
	if p.wl.matchSender(sender) {
		return pass(ReasonSender)
	}
	if len(p.wl.hosts) > 0 {
		if req.ClientName != "" {
			if p.wl.matchHost(req.ClientName) {
				return pass(ReasonHost)
			}
		} else if p.resolver != nil {
			for _, n := range verifiedNames(ctx, p.resolver, req.Client, p.maxNames) {
				if p.wl.matchHost(n) {
					return pass(ReasonHost)
				}
			}
		}
	}

	q := Query{Now: now, Rules: p.rules}
	q.Client, q.Envelope = p.keys(req.Client, sender, rcpt)
	out, err := p.store.Check(ctx, q)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Time: now, FirstSeen: out.FirstSeen}
	switch out.Verdict {
	case VerdictNew, VerdictEarly:
		d.Action, d.Reason = Defer, ReasonNew
		if out.Verdict == VerdictEarly {
			d.Reason = ReasonEarly
		}
		d.RetryAfter = max(out.FirstSeen.Add(p.rules.Delay).Sub(now), 0)
	case VerdictRetried:
		d.Action, d.Reason = Pass, ReasonRetried
		d.Delayed = now.Sub(out.FirstSeen)
	case VerdictKnown:
		d.Action, d.Reason = Pass, ReasonKnown
	case VerdictClientWhitelisted:
		d.Action, d.Reason = Pass, ReasonAutoWhitelisted
	default:
		return Decision{}, fmt.Errorf("greylist: store returned unknown verdict %v", out.Verdict)
	}
	return d, nil
}

// Keys returns the store keys of a request's client network and triplet,
// as Check builds them: the masked network (such as "192.0.2.0/24") and the
// normalised sender and recipient joined by a NUL byte, or their hashes in
// privacy mode. It is for tools that inspect, remove or preload store
// records; whitelists are not consulted.
func (p *Policy) Keys(req Request) (client, envelope string, err error) {
	if err := p.validate(req); err != nil {
		return "", "", err
	}
	client, envelope = p.keys(req.Client, p.normSender(req.Sender), NormalizeRecipient(req.Recipient))
	return client, envelope, nil
}

func (p *Policy) keys(addr netip.Addr, sender, rcpt string) (client, envelope string) {
	netw := ClientNetwork(addr, p.bits4, p.bits6).String()
	if p.privacy {
		return p.hash("c", netw), p.hash("t", netw+"\x00"+sender+"\x00"+rcpt)
	}
	return netw, sender + "\x00" + rcpt
}

// validate checks what a request must hold to be keyed.
func (p *Policy) validate(req Request) error {
	if !req.Client.IsValid() {
		return fmt.Errorf("%w: no client address", ErrInvalidRequest)
	}
	for _, a := range [...]string{req.Sender, req.Recipient} {
		if len(a) > p.maxAddr {
			return fmt.Errorf("%w: address of %d octets exceeds %d", ErrInvalidRequest, len(a), p.maxAddr)
		}
		if strings.ContainsAny(a, "\x00\r\n") {
			return fmt.Errorf("%w: address holds NUL, CR or LF", ErrInvalidRequest)
		}
	}
	if req.Recipient == "" {
		return fmt.Errorf("%w: empty recipient", ErrInvalidRequest)
	}
	return nil
}

// hash returns the privacy-mode key of s in the given domain.
func (p *Policy) hash(domain, s string) string {
	m := hmac.New(sha256.New, p.privacyKey)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(s))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:16])
}
