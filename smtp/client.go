package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Timeouts of the client, from RFC 5321 section 4.5.3.2. Each applies when
// the matching ClientOptions field is zero; the caller's context can only
// shorten them.
const (
	// DefaultGreetingTimeout bounds the wait for the 220 greeting
	// (section 4.5.3.2.1: 5 minutes).
	DefaultGreetingTimeout = 5 * time.Minute
	// DefaultMailTimeout bounds the wait for the reply to MAIL
	// (section 4.5.3.2.2: 5 minutes).
	DefaultMailTimeout = 5 * time.Minute
	// DefaultRcptTimeout bounds the wait for the reply to each RCPT
	// (section 4.5.3.2.3: 5 minutes).
	DefaultRcptTimeout = 5 * time.Minute
	// DefaultDataInitTimeout bounds the wait for the 354 reply to DATA
	// (section 4.5.3.2.4: 2 minutes).
	DefaultDataInitTimeout = 2 * time.Minute
	// DefaultDataBlockTimeout bounds each write of message data
	// (section 4.5.3.2.5: 3 minutes).
	DefaultDataBlockTimeout = 3 * time.Minute
	// DefaultDataTermTimeout bounds the wait for the reply after the
	// end of the data, or after the last BDAT chunk (section 4.5.3.2.6:
	// 10 minutes).
	DefaultDataTermTimeout = 10 * time.Minute
	// DefaultClientCommandTimeout bounds the other commands: EHLO, STARTTLS,
	// AUTH, RSET, NOOP and QUIT (5 minutes, as for MAIL).
	DefaultClientCommandTimeout = 5 * time.Minute
	// DefaultChunkSize is the largest BDAT chunk the client sends.
	DefaultChunkSize = 1 << 20
	// DefaultLocalName is the name the client announces in EHLO when
	// ClientOptions.LocalName is empty.
	DefaultLocalName = "localhost"
)

// TLSPolicy says what the client does about STARTTLS (RFC 3207).
type TLSPolicy int

// TLS policies. The zero value is TLSOpportunistic.
const (
	// TLSOpportunistic starts TLS when the server offers STARTTLS and
	// goes on in plain text when it does not, or when it refuses the
	// command (RFC 7435). A failed handshake is an error: the
	// connection cannot be used afterwards, and the caller decides
	// whether to try again without TLS.
	TLSOpportunistic TLSPolicy = iota
	// TLSRequired fails with ErrMissingExtension when the server does
	// not offer STARTTLS, and with the server's reply when it refuses.
	TLSRequired
	// TLSNone never sends STARTTLS.
	TLSNone
)

// String returns "opportunistic", "required" or "none".
func (p TLSPolicy) String() string {
	switch p {
	case TLSOpportunistic:
		return "opportunistic"
	case TLSRequired:
		return "required"
	case TLSNone:
		return "none"
	}
	return "TLSPolicy(" + strconv.Itoa(int(p)) + ")"
}

// LineEndings says what the client does with a bare CR or bare LF in
// message data sent without BINARYMIME.
type LineEndings int

// Line ending policies. The zero value is LineEndingsReject.
const (
	// LineEndingsReject fails the transaction with ErrBareLineEnding, so
	// that no receiver can read the message differently from another
	// (SMTP smuggling).
	LineEndingsReject LineEndings = iota
	// LineEndingsNormalize turns every bare LF and bare CR into CRLF.
	LineEndingsNormalize
)

// ClientOptions configures a Client. A nil *ClientOptions and the zero
// value of every field mean the documented default.
type ClientOptions struct {
	// LocalName is announced in EHLO, HELO or LHLO. Default
	// DefaultLocalName. It must be a domain or an address literal
	// without spaces or control characters.
	LocalName string
	// LMTP makes the client speak LMTP (RFC 2033): LHLO instead of EHLO
	// and one reply per recipient after the data.
	LMTP bool

	// TLSConfig is used for STARTTLS and for DialTLS. When its
	// ServerName is empty, the host part of the address given to Dial
	// or DialTLS is used. Nil means a default configuration: with
	// TLSRequired and DialTLS it verifies the server's certificate for
	// that name; with TLSOpportunistic it does not verify, since
	// opportunistic TLS only protects against passive eavesdroppers and
	// an unverifiable certificate is better than plain text (RFC 7435).
	TLSConfig *tls.Config
	// TLSPolicy chooses whether STARTTLS is tried, required or never
	// sent. Default TLSOpportunistic. It has no effect on a connection
	// that is already TLS (DialTLS).
	TLSPolicy TLSPolicy

	// LineEndings chooses what happens to bare CR and LF in message data.
	// Default LineEndingsReject.
	LineEndings LineEndings
	// NoChunking makes Send use DATA even when the server offers
	// CHUNKING, except for BODY=BINARYMIME, which needs BDAT.
	NoChunking bool
	// ChunkSize bounds each BDAT chunk. Default DefaultChunkSize. The
	// client buffers at most one chunk.
	ChunkSize int

	// MaxReplyLineLength bounds each reply line read from the server.
	// Default DefaultMaxReplyLineLength.
	MaxReplyLineLength int
	// MaxReplyLines bounds the lines of one reply. Default
	// DefaultMaxReplyLines.
	MaxReplyLines int

	// The timeouts of RFC 5321 section 4.5.3.2. A context deadline that
	// comes earlier wins.

	// GreetingTimeout bounds the wait for the greeting. Default
	// DefaultGreetingTimeout.
	GreetingTimeout time.Duration
	// MailTimeout bounds the wait for the reply to MAIL. Default
	// DefaultMailTimeout.
	MailTimeout time.Duration
	// RcptTimeout bounds the wait for each RCPT reply. Default
	// DefaultRcptTimeout.
	RcptTimeout time.Duration
	// DataInitTimeout bounds the wait for the 354 reply to DATA.
	// Default DefaultDataInitTimeout.
	DataInitTimeout time.Duration
	// DataBlockTimeout bounds each write of message data. Default
	// DefaultDataBlockTimeout.
	DataBlockTimeout time.Duration
	// DataTermTimeout bounds the wait for the reply after the data or a
	// BDAT chunk. Default DefaultDataTermTimeout.
	DataTermTimeout time.Duration
	// CommandTimeout bounds EHLO, STARTTLS and the TLS handshake, AUTH,
	// RSET, NOOP and QUIT. Default DefaultClientCommandTimeout.
	CommandTimeout time.Duration

	// Logger receives the dialogue at level Debug: each command line
	// (AUTH responses replaced by "<SASL response>", message data left
	// out) and each reply. Nil discards.
	Logger *slog.Logger

	// DialContext opens the connection in Dial, DialTLS and SendMail,
	// for example through a proxy or with a chosen source address. Nil
	// means the DialContext method of a zero net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client is an SMTP or LMTP client for one connection. Create it with Dial,
// DialTLS or NewClient. Every method that talks to the server takes a
// context first: when it is cancelled or its deadline passes, the command
// fails and the connection is closed, since the dialogue can no longer be
// trusted to be in step. After any network error, protocol violation or a
// 421 reply the Client is broken: every later call returns the same error.
//
// A Client is not safe for concurrent use.
type Client struct {
	conn       net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	opts       ClientOptions
	serverName string // for TLS, from the dialled address

	greeted     bool // greeting read
	helloed     bool // EHLO/HELO/LHLO accepted
	caps        Capabilities
	greeting    *Reply
	tls         *tls.ConnectionState
	pendingTLS  *tls.Conn // implicit TLS whose handshake has not run
	tlsVerified bool      // the server's certificate was verified
	inTx        bool      // MAIL accepted and the transaction not finished
	txUTF8      bool      // the transaction uses SMTPUTF8

	broken  error     // sticky: the connection is unusable
	opened  time.Time // for ClientCache.MaxAge
	uses    int       // transactions given back to a ClientCache
	txRcpts int       // recipients accepted in the transaction (for LMTP)

	blockCtx     context.Context // during the data phase
	blockTimeout time.Duration   // per write, during the data phase
	chunk        []byte          // BDAT buffer, kept between messages
	prefix       []byte          // start of a body read ahead for pipelining
	batch        []byte          // pipelined commands, kept between messages
	copyBuf      []byte          // for copying bodies
}

// Dial connects to addr ("host:port") over TCP, reads the greeting, says
// EHLO (or LHLO), and starts TLS as ClientOptions.TLSPolicy says. The host
// part of addr is the TLS server name unless ClientOptions.TLSConfig sets
// one. On error the connection is closed.
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	return clientDial(ctx, addr, opts, false)
}

// DialTLS is like Dial but starts TLS right after connecting (implicit
// TLS, RFC 8314, as on the submission port 465). The certificate is
// verified unless ClientOptions.TLSConfig says otherwise.
func DialTLS(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	return clientDial(ctx, addr, opts, true)
}

func clientDial(ctx context.Context, addr string, opts *ClientOptions, implicitTLS bool) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &CommandError{Command: "connect", Err: err}
	}
	dialContext := (&net.Dialer{}).DialContext
	if opts != nil && opts.DialContext != nil {
		dialContext = opts.DialContext
	}
	nc, err := dialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &CommandError{Command: "connect", Err: err}
	}
	c := NewClient(nc, opts)
	c.serverName = host
	if implicitTLS {
		cfg := c.tlsConfig(true)
		tc := tls.Client(nc, cfg)
		if err := c.handshake(ctx, tc, cfg); err != nil {
			nc.Close()
			return nil, err
		}
	}
	if err := c.Hello(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// NewClient returns a Client on a connection that is already open; no I/O
// happens until the first command. The greeting is read by Hello, which
// every command calls first if it has not run yet. When conn is a
// *tls.Conn, STARTTLS is not used.
func NewClient(conn net.Conn, opts *ClientOptions) *Client {
	c := &Client{conn: conn, opened: time.Now()}
	if opts != nil {
		c.opts = *opts
	}
	// The buffer holds the longest line allowed: a reply line, or a SASL
	// challenge of up to 12288 octets (RFC 4954 section 4).
	c.r = bufio.NewReaderSize(clientReader{c}, max(c.opts.MaxReplyLineLength, clientMaxAuthLine+4)+2)
	c.w = bufio.NewWriterSize(clientWriter{c}, 8192)
	if tc, ok := conn.(*tls.Conn); ok {
		if cs := tc.ConnectionState(); cs.HandshakeComplete {
			c.tls = &cs
		} else {
			c.pendingTLS = tc
		}
	}
	return c
}

// Close closes the connection without QUIT. It is safe to call more than
// once.
func (c *Client) Close() error {
	if c.broken == nil {
		c.broken = ErrClientClosed
	}
	return c.conn.Close()
}

// Quit sends QUIT, waits for the reply and closes the connection. The
// connection is closed even when QUIT fails.
func (c *Client) Quit(ctx context.Context) error {
	if c.broken != nil {
		c.conn.Close()
		if c.broken == ErrClientClosed {
			return nil
		}
		return c.broken
	}
	_, err := c.cmd(ctx, "QUIT", c.timeout(c.opts.CommandTimeout, DefaultClientCommandTimeout), 2, "QUIT")
	c.Close()
	return err
}

// Greeting returns the server's greeting, nil before it has been read.
func (c *Client) Greeting() *Reply { return c.greeting }

// Capabilities returns what the server announced in its last EHLO or
// LHLO reply; the zero value after HELO or before Hello. Its Auth slice and
// Keywords map belong to the client and must not be modified.
func (c *Client) Capabilities() Capabilities { return c.caps }

// TLSConnectionState returns the state of the TLS layer, and false when
// the connection is not (yet) encrypted. It tells after a session whether
// and how the mail was protected.
func (c *Client) TLSConnectionState() (tls.ConnectionState, bool) {
	if c.tls == nil {
		return tls.ConnectionState{}, false
	}
	return *c.tls, true
}

// Hello reads the greeting, if it has not been read yet, and says EHLO (or
// LHLO). When the server refuses EHLO with a 5yz reply it falls back to
// HELO (RFC 5321 section 3.2). Then it sends STARTTLS as the TLSPolicy
// says, and EHLO again over TLS. Calling Hello again says EHLO again,
// which also ends any transaction in progress.
func (c *Client) Hello(ctx context.Context) error {
	if err := c.readGreeting(ctx); err != nil {
		return err
	}
	if err := c.hello(ctx); err != nil {
		return err
	}
	if c.tls != nil || c.opts.TLSPolicy == TLSNone {
		return nil
	}
	if !c.caps.StartTLS {
		if c.opts.TLSPolicy == TLSRequired {
			return c.fatal(&CommandError{Command: "STARTTLS", Err: &ExtensionError{Extension: "STARTTLS"}})
		}
		return nil
	}
	err := c.StartTLS(ctx, nil)
	var e *Error
	if err != nil && c.opts.TLSPolicy == TLSOpportunistic && c.broken == nil && errors.As(err, &e) {
		// Refused: go on in plain text.
		return nil
	}
	return err
}

func (c *Client) readGreeting(ctx context.Context) error {
	if c.broken != nil {
		return c.broken
	}
	if c.greeted {
		return nil
	}
	c.greeted = true
	if tc := c.pendingTLS; tc != nil {
		c.pendingTLS = nil
		if err := c.handshake(ctx, tc, nil); err != nil {
			return err
		}
	}
	reply, err := c.read(ctx, "greeting", c.timeout(c.opts.GreetingTimeout, DefaultGreetingTimeout))
	if err != nil {
		return err
	}
	c.greeting = reply
	if reply.Code != CodeServiceReady {
		// 554 (RFC 5321 section 3.1) or anything else: no service.
		return c.fatal(&CommandError{Command: "greeting", Err: clientReplyError(reply)})
	}
	return nil
}

func (c *Client) hello(ctx context.Context) error {
	name := c.opts.LocalName
	if name == "" {
		name = DefaultLocalName
	}
	if err := clientValidateArg(name, true); err != nil {
		return &CommandError{Command: "EHLO", Err: err}
	}
	verb := "EHLO"
	if c.opts.LMTP {
		verb = "LHLO"
	}
	c.helloed, c.caps, c.inTx = false, Capabilities{}, false
	d := c.timeout(c.opts.CommandTimeout, DefaultClientCommandTimeout)
	reply, err := c.cmd(ctx, verb, d, 2, verb, " ", name)
	if err == nil {
		c.helloed = true
		c.caps = ParseCapabilities(reply)
		return nil
	}
	var e *Error
	if c.opts.LMTP || c.broken != nil || !errors.As(err, &e) || !e.Code.Permanent() {
		return err
	}
	if _, err := c.cmd(ctx, "HELO", d, 2, "HELO ", name); err != nil {
		return err
	}
	c.helloed = true
	return nil
}

// ensureHello runs Hello if it has not succeeded yet.
func (c *Client) ensureHello(ctx context.Context) error {
	if c.broken != nil {
		return c.broken
	}
	if c.helloed {
		return nil
	}
	return c.Hello(ctx)
}

// Noop sends NOOP, which keeps the connection alive or checks that it
// still works.
func (c *Client) Noop(ctx context.Context) error {
	if err := c.ensureHello(ctx); err != nil {
		return err
	}
	_, err := c.cmd(ctx, "NOOP", c.timeout(c.opts.CommandTimeout, DefaultClientCommandTimeout), 2, "NOOP")
	return err
}

// Reset sends RSET, which aborts the current transaction.
func (c *Client) Reset(ctx context.Context) error {
	if err := c.ensureHello(ctx); err != nil {
		return err
	}
	_, err := c.cmd(ctx, "RSET", c.timeout(c.opts.CommandTimeout, DefaultClientCommandTimeout), 2, "RSET")
	if err == nil {
		c.inTx = false
	}
	return err
}

func (c *Client) timeout(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// cmd sends one command made of the concatenated parts, flushes, and reads
// its reply, which must be of class want (2 or 3) to count as success.
func (c *Client) cmd(ctx context.Context, name string, d time.Duration, want int, parts ...string) (*Reply, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if c.opts.Logger != nil {
		c.logSend(strings.Join(parts, ""))
	}
	for _, p := range parts {
		c.w.WriteString(p)
	}
	c.w.WriteString("\r\n")
	if err := c.flush(ctx, name, d); err != nil {
		return nil, err
	}
	reply, err := c.read(ctx, name, d)
	if err != nil {
		return nil, err
	}
	return reply, c.check(name, reply, want)
}

// check turns a reply into nil when it is of class want, an error with the
// server's reply for 4yz and 5yz, and a protocol error otherwise. A 421
// breaks the client.
func (c *Client) check(name string, reply *Reply, want int) error {
	switch cl := reply.Code.Class(); {
	case cl == want:
		return nil
	case cl == 4 || cl == 5:
		err := &CommandError{Command: name, Err: clientReplyError(reply)}
		if reply.Code == CodeServiceUnavailable {
			return c.fatal(err)
		}
		return err
	}
	return c.fatal(&CommandError{Command: name, Err: &ProtocolError{Reason: "unexpected reply " + reply.Code.String()}})
}

// clientReplyError returns the reply as an *Error.
func clientReplyError(r *Reply) *Error {
	return &Error{Code: r.Code, Enhanced: r.Enhanced, Message: strings.Join(r.Lines, "\n")}
}

// flush writes what is buffered within the timeout d and the context.
func (c *Client) flush(ctx context.Context, name string, d time.Duration) error {
	if c.broken != nil {
		return c.broken
	}
	armed := c.arm(ctx, d)
	err := c.w.Flush()
	if cerr := armed.disarm(); cerr != nil {
		err = cerr
	}
	if err != nil {
		return c.fatal(&CommandError{Command: name, Err: err})
	}
	return nil
}

// read reads one reply within the timeout d and the context.
func (c *Client) read(ctx context.Context, name string, d time.Duration) (*Reply, error) {
	return c.readLimit(ctx, name, d, c.opts.MaxReplyLineLength)
}

// readLimit is read with a line length limit of maxLine (0 for the
// default).
func (c *Client) readLimit(ctx context.Context, name string, d time.Duration, maxLine int) (*Reply, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	armed := c.arm(ctx, d)
	reply, err := ReplyReader{MaxLineLength: maxLine, MaxLines: c.opts.MaxReplyLines}.Read(c.r)
	if cerr := armed.disarm(); cerr != nil {
		err = cerr
	}
	if c.opts.Logger != nil {
		c.logReply(name, reply, err)
	}
	if err != nil {
		if errors.Is(err, ErrMalformedReply) || errors.Is(err, ErrLineTooLong) {
			err = &ProtocolError{Reason: "malformed reply", Err: err}
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, c.fatal(&CommandError{Command: name, Err: err})
	}
	return reply, nil
}

// clientArmed is an armed deadline: see arm.
type clientArmed struct {
	ctx        context.Context
	stop       func() bool // unregisters the AfterFunc; nil when none
	deadline   time.Time   // the context's deadline, when it set the limit
	ctxLimited bool
	done       bool
	err        error
}

// arm sets the connection deadline to now+d or the context's deadline,
// whichever is first, and makes a cancellation of ctx interrupt I/O. The
// disarm method of the result returns the context's error when the
// context ended meanwhile (or its deadline is what stopped the I/O), so
// that the caller reports that rather than a network timeout.
func (c *Client) arm(ctx context.Context, d time.Duration) clientArmed {
	a := clientArmed{ctx: ctx}
	dl := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && !dl.Before(cd) {
		dl, a.deadline, a.ctxLimited = cd, cd, true
	}
	c.conn.SetDeadline(dl)
	switch {
	case ctx.Done() == nil:
	case ctx.Err() != nil:
		c.conn.SetDeadline(time.Unix(1, 0))
	default:
		conn := c.conn
		a.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	}
	return a
}

// disarm stops watching the context and returns its error if it ended
// while armed. It may be called more than once.
func (a *clientArmed) disarm() error {
	if a.done {
		return a.err
	}
	a.done = true
	if a.stop != nil {
		a.stop()
	}
	if err := a.ctx.Err(); err != nil {
		a.err = err
	} else if a.ctxLimited && !time.Now().Before(a.deadline) {
		a.err = context.DeadlineExceeded
	}
	return a.err
}

// fatal marks the client broken with err, closes the connection and
// returns err.
func (c *Client) fatal(err error) error {
	if c.broken == nil {
		c.broken = err
		c.conn.Close()
	}
	return err
}

// appendLine appends one command line to a batch and logs it.
func (c *Client) appendLine(b []byte, line string) []byte {
	if c.opts.Logger != nil {
		c.logSend(line)
	}
	b = append(b, line...)
	return append(b, '\r', '\n')
}

// writeLine buffers one command line and logs it.
func (c *Client) writeLine(line string) {
	if c.opts.Logger != nil {
		c.logSend(line)
	}
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
}

func (c *Client) logSend(line string) {
	c.opts.Logger.Debug("smtp client: send", "line", line)
}

func (c *Client) logReply(name string, r *Reply, err error) {
	if err != nil {
		c.opts.Logger.Debug("smtp client: reply failed", "command", name, "err", err)
		return
	}
	c.opts.Logger.Debug("smtp client: reply", "command", name, "code", int(r.Code), "enhanced", r.Enhanced.String(), "text", strings.Join(r.Lines, "\n"))
}
