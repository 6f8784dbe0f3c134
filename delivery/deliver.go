package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/smtp"
)

// Defaults of Deliverer. Each applies when the matching field is zero.
const (
	// DefaultPort is the SMTP port of mail exchangers (RFC 5321 section 4.5.4).
	DefaultPort = 25
	// DefaultMaxHosts bounds the MX hosts tried for one domain.
	DefaultMaxHosts = 5
	// DefaultMaxAddrsPerHost bounds the addresses tried for one host, so that
	// both an IPv6 and an IPv4 address are tried.
	DefaultMaxAddrsPerHost = 2
	// DefaultMaxAttempts bounds the connections opened for one domain in one
	// call, over all hosts and addresses.
	DefaultMaxAttempts = 10
	// DefaultConnectTimeout bounds the TCP connection. RFC 5321 gives
	// none; the greeting then has its own 5 minutes (section 4.5.3.2.1).
	DefaultConnectTimeout = 30 * time.Second
	// DefaultSessionTimeout bounds one whole SMTP session with one host,
	// on top of the per-command timeouts of RFC 5321 section 4.5.3.2 that
	// package smtp applies.
	DefaultSessionTimeout = 30 * time.Minute
)

// Deliverer delivers envelopes to the mail exchangers of the recipients'
// domains (RFC 5321 section 5.1). The zero value needs only Resolver.
// A Deliverer is safe for concurrent use once its fields are set.
type Deliverer struct {
	// Resolver looks up MX records, addresses and the MTA-STS TXT record.
	// Required.
	Resolver dnsmx.Resolver
	// Port is the port of the mail exchangers. Default DefaultPort; tests
	// set a free port.
	Port int
	// LocalName is announced in EHLO. Default smtp.DefaultLocalName.
	LocalName string
	// Prefer chooses the address families and their order. Default
	// dnsmx.PreferIPv6, which tries IPv6 and IPv4 alternately.
	Prefer dnsmx.AddressPreference
	// MaxHosts bounds the MX hosts tried per domain. Default
	// DefaultMaxHosts.
	MaxHosts int
	// MaxAddrsPerHost bounds the addresses tried per host. Default
	// DefaultMaxAddrsPerHost.
	MaxAddrsPerHost int
	// MaxAttempts bounds the connections per domain. Default
	// DefaultMaxAttempts.
	MaxAttempts int
	// ConnectTimeout bounds each TCP connection. Default
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// SessionTimeout bounds each whole session. Default
	// DefaultSessionTimeout.
	SessionTimeout time.Duration
	// Client holds the SMTP client's timeouts (RFC 5321 section 4.5.3.2)
	// and limits. Its LocalName, TLSPolicy, TLSConfig and DialContext are
	// set by the Deliverer.
	Client smtp.ClientOptions
	// RootCAs verifies certificates where a policy requires it (MTA-STS
	// enforce, REQUIRETLS). Nil means the system's roots.
	RootCAs *x509.CertPool
	// MTASTS, when set, applies the MTA-STS policies of recipient domains
	// (RFC 8461).
	MTASTS *STSResolver
	// TLSRPT, when set, records the result of every TLS session for
	// reporting (RFC 8460).
	TLSRPT *TLSReporter
	// Cache, when set, keeps connections open after a message for the
	// next one to the same host, address and TLS rules (see
	// smtp.ClientCache); a queue working through a backlog for one
	// destination then pays for TCP, EHLO and TLS once. Nil means a new
	// connection for every session.
	Cache *smtp.ClientCache
	// DialContext opens connections. Nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives one line per session at level Info and errors.
	// Nil discards.
	Logger *slog.Logger
	// Now returns the current time, for TLS-RPT records. Nil means
	// time.Now.
	Now func() time.Time
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Deliverer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Deliver sends the message body to every recipient of env, grouped by
// domain: for each domain it resolves the mail exchangers, tries them in
// preference order and each of their addresses, and sends all the domain's
// recipients over one connection. A 4yz reply moves the recipient on to the
// next host, a 5yz reply is final for it, and connection or TLS failures move
// on to the next address. Domains are delivered one after another; a caller
// that wants them in parallel calls Deliver once per domain.
//
// body is read once per transaction. env.Options.Size is set from body when
// it is zero and body knows its size. The error is non-nil only for an
// unusable call (no recipients, no resolver) or a cancelled ctx; the outcome
// of each recipient is in the Result.
func (d *Deliverer) Deliver(ctx context.Context, env *smtp.Envelope, body Body) (*Result, error) {
	if d.Resolver == nil {
		return nil, ErrNoResolver
	}
	if len(env.To) == 0 {
		return nil, ErrNoRecipients
	}
	res := &Result{Recipients: make([]RecipientResult, len(env.To))}
	var order []string
	groups := map[string][]int{}
	for i, rc := range env.To {
		res.Recipients[i].To = rc.Path
		key := domainKey(rc.Path.Domain)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, dom := range order {
		if err := ctx.Err(); err != nil {
			for _, i := range groups[dom] {
				setLocal(&res.Recipients[i], replyCanceled)
			}
			continue
		}
		d.deliverDomain(ctx, dom, env, body, groups[dom], res)
	}
	return res, ctx.Err()
}

// domainKey normalises a recipient domain for grouping: IDNA to ASCII
// through dnsmx, lower case; address literals and names that do not parse
// are kept as given, for LookupTargets to judge.
func domainKey(domain string) string {
	if strings.HasPrefix(domain, "[") {
		return domain
	}
	if dom, err := dnsmx.ParseDomain(domain); err == nil {
		return dom.ASCII
	}
	return strings.ToLower(domain)
}

func setLocal(r *RecipientResult, l localReply) {
	r.Status = l.status()
	r.Code, r.Enhanced, r.Text, r.Local = l.code, l.enh, l.text, true
	r.Host, r.Addr = "", netip.AddrPort{}
}

// hostGroup is one MX host with the addresses to try.
type hostGroup struct {
	name  string
	addrs []netip.Addr
}

// tlsMode is what one domain's policy demands of a session.
type tlsMode struct {
	// verify requires STARTTLS with a certificate valid for the MX host.
	verify bool
	// policy is the MTA-STS policy in force, nil without one.
	policy *STSPolicy
	// requireTLS is set for REQUIRETLS envelopes.
	requireTLS bool
}

func (d *Deliverer) deliverDomain(ctx context.Context, domain string, env *smtp.Envelope, body Body, idx []int, res *Result) {
	log := d.logger().With("domain", domain)
	mode := tlsMode{requireTLS: env.Options.RequireTLS}
	if d.MTASTS != nil && !strings.HasPrefix(domain, "[") {
		pol, err := d.MTASTS.Lookup(ctx, domain)
		if err != nil {
			log.Warn("MTA-STS policy unavailable", "err", err)
			d.recordPolicyFailure(domain, err)
		}
		if pol != nil && pol.Mode != STSModeNone {
			mode.policy = pol
			mode.verify = pol.Mode == STSModeEnforce
		}
	}
	if mode.requireTLS {
		mode.verify = true
	}

	targets, err := dnsmx.LookupTargets(ctx, d.Resolver, domain, &dnsmx.TargetOptions{
		Prefer:          d.Prefer,
		MaxAddrsPerHost: orDefault(d.MaxAddrsPerHost, DefaultMaxAddrsPerHost),
		MX:              dnsmx.MXOptions{MaxHosts: orDefault(d.MaxHosts, DefaultMaxHosts)},
	})
	if err != nil {
		l := lookupFailure(err)
		log.Info("no mail exchanger", "err", err)
		for _, i := range idx {
			setLocal(&res.Recipients[i], l)
		}
		return
	}
	hosts := groupTargets(targets, orDefault(d.MaxHosts, DefaultMaxHosts))
	if mode.policy != nil {
		var kept []hostGroup
		for _, h := range hosts {
			if mode.policy.Match(h.name) {
				kept = append(kept, h)
				continue
			}
			log.Warn("MX host does not match the MTA-STS policy", "host", h.name, "mode", mode.policy.Mode)
			d.recordFailure(domain, mode.policy, h.name, netip.Addr{}, netip.Addr{}, ResultValidationFailure)
		}
		if mode.policy.Mode == STSModeEnforce {
			hosts = kept
		}
	}
	if len(hosts) == 0 {
		for _, i := range idx {
			setLocal(&res.Recipients[i], replySTSNoMX)
		}
		return
	}

	pending := append([]int(nil), idx...)
	for _, i := range pending {
		setLocal(&res.Recipients[i], replyNoAnswer)
	}
	attempts := orDefault(d.MaxAttempts, DefaultMaxAttempts)
hosts:
	for _, h := range hosts {
		for _, addr := range h.addrs {
			if len(pending) == 0 || attempts == 0 || ctx.Err() != nil {
				break hosts
			}
			attempts--
			pending = d.session(ctx, domain, h.name, addr, mode, env, body, pending, res)
		}
	}
	if ctx.Err() != nil {
		for _, i := range pending {
			if res.Recipients[i].Local {
				setLocal(&res.Recipients[i], replyCanceled)
			}
		}
	}
}

// lookupFailure maps a LookupTargets error to the local reply for the
// domain's recipients.
func lookupFailure(err error) localReply {
	switch {
	case errors.Is(err, dnsmx.ErrNullMX):
		return replyNullMX
	case errors.Is(err, dnsmx.ErrTemporary):
		return replyDNSTemp
	case errors.Is(err, dnsmx.ErrNotFound), errors.Is(err, dnsmx.ErrInvalidName):
		return replyNoDomain
	default:
		return replyNoRoute
	}
}

// groupTargets turns LookupTargets' ordered addresses back into hosts in
// order, each with its addresses.
func groupTargets(targets []dnsmx.Target, maxHosts int) []hostGroup {
	var hosts []hostGroup
	pos := map[string]int{}
	for _, t := range targets {
		i, ok := pos[t.Host]
		if !ok {
			if len(hosts) == maxHosts {
				continue
			}
			i = len(hosts)
			pos[t.Host] = i
			hosts = append(hosts, hostGroup{name: t.Host})
		}
		hosts[i].addrs = append(hosts[i].addrs, t.Addr)
	}
	return hosts
}

// session runs one SMTP session with one address of host and returns the
// recipients still pending (not delivered, not permanently failed).
func (d *Deliverer) session(ctx context.Context, domain, host string, addr netip.Addr, mode tlsMode, env *smtp.Envelope, body Body, pending []int, res *Result) []int {
	ap := netip.AddrPortFrom(addr, uint16(orDefault(d.Port, DefaultPort)))
	log := d.logger().With("domain", domain, "host", host, "addr", ap.String())
	ctx, cancel := context.WithTimeout(ctx, orDefault(d.SessionTimeout, DefaultSessionTimeout))
	defer cancel()

	c, info, fellBack, reused, err := d.open(ctx, log, domain, host, ap, mode)
	if err != nil {
		log.Info("session failed", "err", err)
		d.noteSessionError(domain, mode, host, addr, err, info, pending, res)
		return pending
	}
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	cs, isTLS := c.TLSConnectionState()
	if mode.requireTLS && !c.Capabilities().RequireTLS {
		for _, i := range pending {
			setLocal(&res.Recipients[i], replyRequireTLS)
		}
		_ = c.Quit(ctx)
		return pending
	}
	switch {
	case reused:
		// Recorded when the connection was opened.
	case fellBack:
		// Recorded as the handshake failure in open.
	case mode.policy != nil:
		if !isTLS {
			d.recordFailure(domain, mode.policy, host, addr, info.local, ResultSTARTTLSNotSupported)
		} else if info.verifyErr != nil {
			d.recordFailure(domain, mode.policy, host, addr, info.local, tlsFailureType(nil, info.verifyErr))
		} else {
			d.recordSuccess(domain, mode.policy)
		}
	case isTLS:
		d.recordSuccess(domain, nil)
	default:
		d.recordFailure(domain, nil, host, addr, info.local, ResultSTARTTLSNotSupported)
	}

	sent := false // a transaction ended with the server's reply
	for rounds := len(pending); len(pending) > 0 && rounds > 0; rounds-- {
		sub := *env
		sub.To = make([]smtp.Recipient, len(pending))
		for k, i := range pending {
			sub.To[k] = env.To[i]
		}
		if sub.Options.Size == 0 {
			sub.Options.Size = bodySize(body)
		}
		r, err := body.Reader()
		if err != nil {
			log.Error("message unreadable", "err", err)
			return pending
		}
		sr, err := c.Send(ctx, &sub, r)
		if cl, ok := r.(io.Closer); ok {
			cl.Close()
		}
		if reused && smtp.ConnectionLost(sr, err) {
			// The server closed the cached connection before this
			// transaction: once more, on a new one.
			log.Info("cached connection closed by the server, reconnecting", "err", err)
			reused = false
			c.Close()
			if c, info, fellBack, _, err = d.open(ctx, log, domain, host, ap, mode); err != nil {
				log.Info("session failed", "err", err)
				d.noteSessionError(domain, mode, host, addr, err, info, pending, res)
				return pending
			}
			cs, isTLS = c.TLSConnectionState()
			rounds++
			continue
		}
		next, progress := d.applySend(host, ap, pending, sr, err, isTLS, cs.Version, res)
		log.Info("transaction", "recipients", len(pending), "pending", len(next), "tls", isTLS, "err", err)
		pending = next
		if err == nil {
			sent = true
		}
		if !progress || !onlyRcptMax(pending, res) {
			break
		}
	}
	if d.Cache != nil && sent {
		d.Cache.Put(cacheKey(host, ap, mode, fellBack), c)
		c = nil // the cache's now
		return pending
	}
	_ = c.Quit(ctx)
	return pending
}

// open returns a connection to ap for mode: one from Cache when there is
// one (reused), or a new one. A new connection whose opportunistic TLS
// handshake fails is opened again in cleartext (fellBack), as RFC 7435
// wants, and the failure recorded for TLS-RPT.
func (d *Deliverer) open(ctx context.Context, log *slog.Logger, domain, host string, ap netip.AddrPort, mode tlsMode) (c *smtp.Client, info *connInfo, fellBack, reused bool, err error) {
	if d.Cache != nil {
		if c = d.Cache.Get(cacheKey(host, ap, mode, false)); c != nil {
			return c, &connInfo{}, false, true, nil
		}
		if !mode.verify {
			if c = d.Cache.Get(cacheKey(host, ap, mode, true)); c != nil {
				return c, &connInfo{}, true, true, nil
			}
		}
	}
	c, info, err = d.connect(ctx, host, ap, mode, false)
	if err != nil && !mode.verify && isHandshakeFailure(err) {
		fellBack = true
		// RFC 7435: a failed opportunistic handshake must not stop the
		// mail; try the same address again in cleartext.
		log.Info("TLS handshake failed, retrying in cleartext", "err", err)
		d.recordFailure(domain, mode.policy, host, ap.Addr(), info.local, tlsFailureType(err, info.verifyErr))
		c, info, err = d.connect(ctx, host, ap, mode, true)
	}
	return c, info, fellBack, false, err
}

// cacheKey names what a cached connection must match to be reused: the
// host (its TLS name), the address, and the TLS rules it was opened under.
func cacheKey(host string, ap netip.AddrPort, mode tlsMode, plain bool) string {
	return host + " " + ap.String() + " verify=" + strconv.FormatBool(mode.verify) + " policy=" + strconv.FormatBool(mode.policy != nil) +
		" requiretls=" + strconv.FormatBool(mode.requireTLS) + " plain=" + strconv.FormatBool(plain)
}

// onlyRcptMax reports whether every pending recipient was left out by the
// client because of the server's RCPTMAX, so that another transaction on the
// same connection can take them.
func onlyRcptMax(pending []int, res *Result) bool {
	for _, i := range pending {
		r := &res.Recipients[i]
		if r.Code != smtp.ReplyCode(452) || r.Enhanced != smtp.EnhancedTooManyRecipients {
			return false
		}
	}
	return len(pending) > 0
}

// connInfo is what connect learnt besides the client.
type connInfo struct {
	// verifyErr is the outcome of the certificate check made for MTA-STS
	// testing mode, or of the verification a policy requires.
	verifyErr error
	// local is the sending address, for TLS-RPT.
	local netip.Addr
}

// connect opens a connection to ap and says EHLO, with STARTTLS as mode
// says; plain forces cleartext. The connInfo is never nil.
func (d *Deliverer) connect(ctx context.Context, host string, ap netip.AddrPort, mode tlsMode, plain bool) (*smtp.Client, *connInfo, error) {
	info := &connInfo{}
	verifyErr := &info.verifyErr
	dial := d.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, orDefault(d.ConnectTimeout, DefaultConnectTimeout))
	conn, err := dial(dctx, "tcp", ap.String())
	cancel()
	if err != nil {
		return nil, info, &smtp.CommandError{Command: "connect", Err: err}
	}
	if la, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		info.local = la.AddrPort().Addr().Unmap()
	}
	opts := d.Client
	opts.LocalName = d.LocalName
	opts.DialContext = nil
	switch {
	case plain:
		opts.TLSPolicy = smtp.TLSNone
	case mode.verify:
		opts.TLSPolicy = smtp.TLSRequired
		opts.TLSConfig = d.verifyingConfig(host, verifyErr, true)
	case mode.policy != nil:
		opts.TLSPolicy = smtp.TLSOpportunistic
		opts.TLSConfig = d.verifyingConfig(host, verifyErr, false)
	default:
		opts.TLSPolicy = smtp.TLSOpportunistic
		opts.TLSConfig = &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}
	}
	c := smtp.NewClient(conn, &opts)
	if err := c.Hello(ctx); err != nil {
		c.Close()
		return nil, info, err
	}
	return c, info, nil
}

// verifyingConfig returns a TLS configuration that checks the certificate
// against RootCAs and the MX host name (RFC 8461 section 4.2). The outcome
// goes to *verifyErr; with enforce, a failure also fails the handshake.
func (d *Deliverer) verifyingConfig(host string, verifyErr *error, enforce bool) *tls.Config {
	roots := d.RootCAs
	now := d.Now
	return &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true, // verified below, so that testing mode can go on
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := verifyChain(cs, host, roots, now)
			*verifyErr = err
			if enforce {
				return err
			}
			return nil
		},
	}
}

func verifyChain(cs tls.ConnectionState, host string, roots *x509.CertPool, now func() time.Time) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("delivery: no server certificate")
	}
	opts := x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: x509.NewCertPool()}
	if now != nil {
		opts.CurrentTime = now()
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// isHandshakeFailure reports whether err is a failed TLS handshake after
// STARTTLS, rather than a refusal or a lost connection before it.
func isHandshakeFailure(err error) bool {
	var ce *smtp.CommandError
	return errors.As(err, &ce) && ce.Command == "TLS handshake"
}

// noteSessionError records why a session could not start for every pending
// recipient, keeping the most telling reply.
func (d *Deliverer) noteSessionError(domain string, mode tlsMode, host string, addr netip.Addr, err error, info *connInfo, pending []int, res *Result) {
	var ce *smtp.CommandError
	errors.As(err, &ce)
	if ce != nil && ce.Reply() != nil {
		// A refusal of the greeting or EHLO: 4yz and 5yz alike only say
		// that this host does not take mail now.
		rep := ce.Reply()
		for _, i := range pending {
			r := &res.Recipients[i]
			r.Status = StatusTemporary
			r.Code, r.Enhanced, r.Text, r.Local = rep.Code, rep.Enhanced, rep.Message, false
			if r.Code.Permanent() {
				r.Code, r.Enhanced = smtp.ReplyCode(451), r.Enhanced.WithClass(4)
				if !rep.Enhanced.IsSet() {
					r.Enhanced = smtp.NewEnhancedCode(4, 0, 0)
				}
			}
			r.Host, r.Addr = host, netip.AddrPortFrom(addr, uint16(orDefault(d.Port, DefaultPort)))
		}
		return
	}
	l := replyNoAnswer
	switch {
	case errors.Is(err, smtp.ErrMissingExtension) || isHandshakeFailure(err):
		if mode.policy != nil || mode.verify {
			typ := ResultSTARTTLSNotSupported
			if isHandshakeFailure(err) {
				typ = tlsFailureType(err, info.verifyErr)
			}
			d.recordFailure(domain, mode.policy, host, addr, info.local, typ)
		}
		l = replySTSTLS
		if mode.requireTLS {
			l = replyRequireTLS
		}
	case ce != nil && ce.Command != "connect":
		l = replyConnBroken
	}
	for _, i := range pending {
		r := &res.Recipients[i]
		// Keep a server's reply from an earlier host over a local one.
		if r.Local {
			setLocal(r, l)
		}
	}
}

// applySend records the outcome of one transaction and returns the
// recipients still pending, and whether the transaction settled any.
func (d *Deliverer) applySend(host string, ap netip.AddrPort, pending []int, sr *smtp.SendResult, err error, isTLS bool, version uint16, res *Result) ([]int, bool) {
	var ce *smtp.CommandError
	errors.As(err, &ce)
	var txReply *smtp.Error
	if ce != nil {
		txReply = ce.Reply()
	}
	var next []int
	progress := false
	for k, i := range pending {
		r := &res.Recipients[i]
		var rr *smtp.RecipientResult
		if sr != nil && k < len(sr.Recipients) {
			rr = &sr.Recipients[k]
		}
		server := func(code smtp.ReplyCode, enh smtp.EnhancedCode, text string) {
			r.Code, r.Enhanced, r.Text, r.Local = code, enh, text, false
			r.Host, r.Addr, r.TLS = host, ap, isTLS
			r.TLSVersion = 0
			if isTLS {
				r.TLSVersion = version
			}
		}
		switch {
		case rr != nil && rr.Delivered:
			rep := rr.Reply
			if rep == nil {
				rep = sr.Data
			}
			if rep != nil {
				server(rep.Code, rep.Enhanced, strings.Join(rep.Lines, "\n"))
			} else {
				server(250, smtp.EnhancedOK, "")
			}
			r.Status = StatusDelivered
			r.DSNRelayed = sr.DSNDropped
			progress = true
			continue
		case rr != nil && rr.Reply != nil && !rr.Reply.Code.Positive():
			rep := rr.Reply
			server(rep.Code, rep.Enhanced, strings.Join(rep.Lines, "\n"))
		case txReply != nil:
			server(txReply.Code, txReply.Enhanced, txReply.Message)
		case err != nil:
			setLocal(r, localSendFailure(err))
			r.Host, r.Addr = host, ap
		default:
			setLocal(r, replyConnBroken)
		}
		if r.Code.Permanent() {
			r.Status = StatusPermanent
			progress = true
			continue
		}
		r.Status = StatusTemporary
		next = append(next, i)
	}
	return next, progress
}

// localSendFailure maps an error of Send that carries no reply.
func localSendFailure(err error) localReply {
	var ee *smtp.ExtensionError
	switch {
	case errors.As(err, &ee) && strings.HasPrefix(ee.Extension, "REQUIRETLS"):
		return replyRequireTLS
	case errors.As(err, &ee):
		return localReply{replyNeedsExtension.code, replyNeedsExtension.enh, "the mail exchanger lacks " + ee.Extension}
	case errors.Is(err, smtp.ErrMessageTooLarge):
		return replyTooBig
	case errors.Is(err, smtp.ErrBareLineEnding), errors.Is(err, smtp.ErrInvalidArgument):
		return replyBadMessage
	case errors.Is(err, context.Canceled):
		return replyCanceled
	}
	return replyConnBroken
}
