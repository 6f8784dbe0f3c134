package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/sasl"
)

// Client defaults.
const (
	// DefaultClientMaxLiteral bounds a literal the client accepts in a
	// response: 64 MiB.
	DefaultClientMaxLiteral = 64 << 20
	// DefaultClientMaxLine bounds the text of a response line between
	// literals.
	DefaultClientMaxLine = 1 << 20
)

// ClientOptions configures a Client. The zero value means defaults.
type ClientOptions struct {
	// TLSConfig is used by DialTLS and StartTLS.
	TLSConfig *tls.Config
	// MaxLiteral bounds each literal of a response. Default
	// DefaultClientMaxLiteral.
	MaxLiteral int64
	// Dialer dials the connection; nil means a net.Dialer.
	Dialer interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	}
}

// Client is an IMAP client for one connection. Its methods send one
// command each and wait for its completion. They are safe for concurrent
// use, and concurrent calls are pipelined (RFC 9051 section 5.5): each
// command is sent at once, without waiting for those in flight, and the
// tagged responses are matched by tag. An untagged response goes to the
// oldest command in flight that it answers (FETCH data to a FETCH or
// STORE, SEARCH data to a SEARCH, and so on), else to the oldest command.
// The caller must not pipeline commands whose results depend on each
// other's order (section 5.5 lists them). STARTTLS, AUTHENTICATE, IDLE
// and a command with a literal the server must accept first wait for the
// commands in flight and run alone. A NO or BAD reply is returned as an
// *Error. Mailbox names are UTF-8; the client encodes them as modified
// UTF-7 unless UTF-8 is enabled.
type Client struct {
	excl sync.RWMutex // held for reading by a pipelined command, for writing by one that runs alone
	wmu  sync.Mutex   // one command written at a time
	rmu  sync.Mutex   // one goroutine reads responses at a time

	mu    sync.Mutex // guards what follows
	pend  []*pending // commands in flight, in the order sent
	tag   int
	caps  map[string]bool
	utf8  bool
	state connState

	conn net.Conn
	br   *bufio.Reader
	p    *respParser
	opts ClientOptions
}

// pending is a command in flight.
type pending struct {
	tag, name string
	fn        func(*response) error
	done      chan struct{}
	resp      *response
	err       error
}

// Dial connects to addr without TLS and reads the greeting.
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	return dial(ctx, addr, opts, false)
}

// DialTLS connects to addr with implicit TLS (port 993) and reads the
// greeting.
func DialTLS(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	return dial(ctx, addr, opts, true)
}

func dial(ctx context.Context, addr string, opts *ClientOptions, implicit bool) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	var d interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	} = &net.Dialer{}
	if o.Dialer != nil {
		d = o.Dialer
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if implicit {
		cfg := tlsConfigFor(o.TLSConfig, addr)
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	c, err := NewClient(ctx, conn, &o)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func tlsConfigFor(cfg *tls.Config, addr string) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	return cfg
}

// NewClient starts a client on an open connection and reads the greeting.
// A BYE greeting is returned as an *Error.
func NewClient(ctx context.Context, conn net.Conn, opts *ClientOptions) (*Client, error) {
	c := &Client{conn: conn}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.MaxLiteral <= 0 {
		c.opts.MaxLiteral = DefaultClientMaxLiteral
	}
	c.setConn(conn)
	stop := c.watch(ctx)
	defer stop()
	r, err := c.p.readResponse()
	if err != nil {
		return nil, err
	}
	switch r.name {
	case "OK":
	case "PREAUTH":
		c.state = stateAuth
	default:
		return nil, &Error{Type: StatusBye, Text: r.text}
	}
	c.noteCode(r.code)
	return c, nil
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 16<<10)
	c.p = &respParser{r: c.br, maxLit: c.opts.MaxLiteral, maxDepth: DefaultMaxDepth * 2, maxLine: DefaultClientMaxLine}
}

// watch makes the connection's I/O fail when ctx ends.
func (c *Client) watch(ctx context.Context) func() {
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		if !stop() {
			c.conn.SetDeadline(time.Time{})
		}
	}
}

// noteCode records capabilities announced in a response code.
func (c *Client) noteCode(code string) {
	if f := strings.Fields(code); len(f) > 0 && strings.EqualFold(f[0], "CAPABILITY") {
		c.setCaps(f[1:])
	}
}

func (c *Client) setCaps(list []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.caps = map[string]bool{}
	for _, s := range list {
		c.caps[strings.ToUpper(s)] = true
	}
}

// nextTag returns the tag of a command that runs alone.
func (c *Client) nextTag() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tag++
	return "h" + strconv.Itoa(c.tag)
}

// Close closes the connection without LOGOUT.
func (c *Client) Close() error { return c.conn.Close() }

// Has reports whether the server announced the capability name, such as
// "IDLE" or "AUTH=PLAIN", in its last capability list.
func (c *Client) Has(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caps[strings.ToUpper(name)]
}

// arg is one argument of a command: raw text, or a string to quote.
type arg struct {
	raw    string
	str    string
	isStr  bool
	reader io.Reader // an APPEND literal of size n
	n      int64
}

func rawArg(s string) arg { return arg{raw: s} }
func strArg(s string) arg { return arg{str: s, isStr: true} }
func (c *Client) mbox(name string) arg {
	if name == "INBOX" || c.utf8On() {
		return strArg(name)
	}
	enc, err := encodeUTF7(name)
	if err != nil {
		enc = name
	}
	return strArg(enc)
}

func (c *Client) utf8On() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.utf8
}

func (c *Client) has(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caps[name]
}

// do sends a command and waits for its tagged response, calling fn (which
// may be nil) for each untagged response routed to it. It returns the
// tagged OK response. A command with a synchronizing literal runs alone.
func (c *Client) do(ctx context.Context, name string, args []arg, fn func(*response) error) (*response, error) {
	alone := false
	utf8, lit := c.utf8On(), c.literalMode()
	for _, a := range args {
		switch {
		case a.reader != nil:
			alone = alone || !lit.nonSync(a.n)
		case a.isStr && (!quotable(a.str, utf8) || a.str == ""):
			alone = alone || !lit.nonSync(int64(len(a.str)))
		}
	}
	if alone {
		c.excl.Lock()
		defer c.excl.Unlock()
	} else {
		c.excl.RLock()
		defer c.excl.RUnlock()
	}
	return c.send(ctx, name, args, fn)
}

// send writes a command and waits for it; the caller holds excl.
func (c *Client) send(ctx context.Context, name string, args []arg, fn func(*response) error) (*response, error) {
	stop := c.watch(ctx)
	defer stop()
	utf8, lit := c.utf8On(), c.literalMode()
	c.wmu.Lock()
	p := c.enqueue(name, fn)
	w := bufio.NewWriter(c.conn)
	err := func() error {
		w.WriteString(p.tag + " " + name)
		for _, a := range args {
			w.WriteByte(' ')
			switch {
			case a.reader != nil:
				if err := c.literal(w, a.n, a.reader, lit, p); err != nil {
					return err
				}
			case a.isStr && quotable(a.str, utf8) && a.str != "":
				w.Write(appendString(nil, a.str, utf8))
			case a.isStr:
				if err := c.literal(w, int64(len(a.str)), strings.NewReader(a.str), lit, p); err != nil {
					return err
				}
			default:
				if strings.ContainsAny(a.raw, "\r\n") {
					return errors.New("imap: line ending in a command argument")
				}
				w.WriteString(a.raw)
			}
		}
		w.WriteString("\r\n")
		return w.Flush()
	}()
	c.wmu.Unlock()
	if err != nil {
		c.dequeue(p)
		return nil, err
	}
	return c.wait(p)
}

// literalMode is what the server accepts of non-synchronizing literals
// (RFC 7888): any (LITERAL+), up to 4096 bytes (LITERAL-, part of
// IMAP4rev2), or none.
type literalMode uint8

const (
	literalSync literalMode = iota
	literalMinus
	literalPlus
)

func (m literalMode) nonSync(n int64) bool {
	return m == literalPlus || m == literalMinus && n <= literalMinusMax
}

func (c *Client) literalMode() literalMode {
	switch {
	case c.has("LITERAL+"):
		return literalPlus
	case c.has("LITERAL-") || c.has("IMAP4REV2"):
		return literalMinus
	}
	return literalSync
}

// enqueue gives a command its tag and puts it in flight.
func (c *Client) enqueue(name string, fn func(*response) error) *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tag++
	p := &pending{tag: "h" + strconv.Itoa(c.tag), name: name, fn: fn, done: make(chan struct{})}
	c.pend = append(c.pend, p)
	return p
}

func (c *Client) dequeue(p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.pend, p); i >= 0 {
		c.pend = slices.Delete(c.pend, i, i+1)
	}
}

// literal writes a literal, waiting for the continuation request unless
// the server offers LITERAL+ (the command then runs alone: nothing else is
// in flight and this goroutine reads the responses).
func (c *Client) literal(w *bufio.Writer, n int64, r io.Reader, lit literalMode, p *pending) error {
	if lit.nonSync(n) {
		w.WriteString("{" + strconv.FormatInt(n, 10) + "+}\r\n")
	} else {
		w.WriteString("{" + strconv.FormatInt(n, 10) + "}\r\n")
		if err := w.Flush(); err != nil {
			return err
		}
		for {
			resp, err := c.p.readResponse()
			if err != nil {
				return err
			}
			if resp.tag == "+" {
				break
			}
			if resp.tag != "*" {
				return statusError(resp)
			}
			if err := c.untagged(resp, p.fn); err != nil {
				return err
			}
		}
	}
	if _, err := io.CopyN(w, r, n); err != nil {
		return err
	}
	return nil
}

// wait reads responses, for p and for the other commands in flight, until
// p's tagged response has come.
func (c *Client) wait(p *pending) (*response, error) {
	for {
		select {
		case <-p.done:
			return p.resp, p.err
		default:
		}
		c.rmu.Lock()
		select {
		case <-p.done:
			c.rmu.Unlock()
			return p.resp, p.err
		default:
		}
		resp, err := c.p.readResponse()
		if err != nil {
			c.failAll(err)
		} else {
			c.dispatch(resp)
		}
		c.rmu.Unlock()
	}
}

// failAll ends every command in flight with err: the connection cannot
// go on.
func (c *Client) failAll(err error) {
	c.mu.Lock()
	pend := c.pend
	c.pend = nil
	c.mu.Unlock()
	for _, p := range pend {
		if p.err == nil {
			p.err = err
		}
		close(p.done)
	}
}

// dispatch hands a response to the command in flight it belongs to.
func (c *Client) dispatch(resp *response) {
	switch resp.tag {
	case "*":
		c.mu.Lock()
		p := route(c.pend, resp.name)
		c.mu.Unlock()
		var fn func(*response) error
		if p != nil {
			fn = p.fn
		}
		if err := c.untagged(resp, fn); err != nil && p != nil && p.err == nil {
			p.err = err
		}
	case "+":
		c.failAll(&ProtocolError{Msg: "unexpected continuation request"})
	default:
		c.mu.Lock()
		i := slices.IndexFunc(c.pend, func(p *pending) bool { return p.tag == resp.tag })
		var p *pending
		if i >= 0 {
			p = c.pend[i]
			c.pend = slices.Delete(c.pend, i, i+1)
		}
		c.mu.Unlock()
		if p == nil {
			c.failAll(&ProtocolError{Msg: "response with unknown tag " + resp.tag})
			return
		}
		c.noteCode(resp.code)
		if resp.name != "OK" && p.err == nil {
			p.err = statusError(resp)
		}
		p.resp = resp
		close(p.done)
	}
}

// route picks the command in flight an untagged response answers: the
// oldest one of a kind that expects it, else the oldest. c.mu is held.
func route(pend []*pending, name string) *pending {
	if len(pend) == 0 {
		return nil
	}
	var kinds []string
	switch name {
	case "FETCH":
		kinds = []string{"FETCH", "STORE"}
	case "SEARCH", "ESEARCH":
		kinds = []string{"SEARCH"}
	case "LIST", "LSUB":
		kinds = []string{"LIST", "LSUB"}
	case "STATUS":
		kinds = []string{"STATUS", "LIST"}
	case "ENABLED":
		kinds = []string{"ENABLE"}
	case "EXPUNGE":
		kinds = []string{"EXPUNGE", "MOVE"}
	case "VANISHED":
		kinds = []string{"FETCH", "SELECT", "EXAMINE", "EXPUNGE", "MOVE"}
	case "EXISTS", "RECENT", "FLAGS":
		kinds = []string{"SELECT", "EXAMINE"}
	case "CAPABILITY":
		kinds = []string{"CAPABILITY"}
	case "SORT", "THREAD", "ID":
		kinds = []string{name}
	}
	for _, p := range pend {
		verb := strings.TrimPrefix(p.name, "UID ")
		if slices.Contains(kinds, verb) {
			return p
		}
	}
	return pend[0]
}

func (c *Client) untagged(resp *response, fn func(*response) error) error {
	switch resp.name {
	case "CAPABILITY":
		caps := make([]string, len(resp.fields))
		for i, f := range resp.fields {
			caps[i] = f.String()
		}
		c.setCaps(caps)
	case "OK", "NO", "BAD":
		c.noteCode(resp.code)
	case "BYE":
		if fn == nil {
			return nil
		}
	}
	if fn != nil {
		return fn(resp)
	}
	return nil
}

func statusError(resp *response) error {
	code := resp.code
	if i := strings.IndexByte(code, ' '); i >= 0 {
		code = code[:i]
	}
	t := StatusType(resp.name)
	if t != StatusNo && t != StatusBad && t != StatusBye {
		t = StatusBad
	}
	return &Error{Type: t, Code: ResponseCode(strings.ToUpper(code)), Text: resp.text}
}

// Capability asks for the capability list.
func (c *Client) Capability(ctx context.Context) ([]string, error) {
	_, err := c.do(ctx, "CAPABILITY", nil, nil)
	if err != nil {
		return nil, err
	}
	return c.capList(), nil
}

func (c *Client) capList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.caps {
		out = append(out, k)
	}
	return out
}

// StartTLS upgrades the connection with TLS (RFC 9051 section 6.2.1) and
// asks for the capabilities again.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	c.excl.Lock()
	defer c.excl.Unlock()
	if _, err := c.send(ctx, "STARTTLS", nil, nil); err != nil {
		return err
	}
	if cfg == nil {
		cfg = c.opts.TLSConfig
	}
	cfg = tlsConfigFor(cfg, c.conn.RemoteAddr().String())
	tc := tls.Client(c.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	c.setConn(tc)
	c.mu.Lock()
	c.caps = nil
	c.mu.Unlock()
	_, err := c.send(ctx, "CAPABILITY", nil, nil)
	return err
}

// Login logs in with LOGIN.
func (c *Client) Login(ctx context.Context, user, password string) error {
	_, err := c.do(ctx, "LOGIN", []arg{strArg(user), strArg(password)}, nil)
	return err
}

// Authenticate logs in with a SASL mechanism, sending the initial response
// with the command when the server offers SASL-IR.
func (c *Client) Authenticate(ctx context.Context, mech sasl.Client) error {
	name, ir, err := mech.Start()
	if err != nil {
		return err
	}
	c.excl.Lock()
	defer c.excl.Unlock()
	stop := c.watch(ctx)
	defer stop()
	tag := c.nextTag()
	line := tag + " AUTHENTICATE " + name
	if ir != nil && c.has("SASL-IR") {
		if len(ir) == 0 {
			line += " ="
		} else {
			line += " " + base64.StdEncoding.EncodeToString(ir)
		}
		ir = nil
	}
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return err
	}
	first := true
	for {
		resp, err := c.p.readResponse()
		if err != nil {
			return err
		}
		switch resp.tag {
		case "+":
			var out []byte
			if first && ir != nil {
				out = ir
			} else {
				chal, err := base64.StdEncoding.DecodeString(strings.TrimSpace(resp.text))
				if err != nil {
					io.WriteString(c.conn, "*\r\n")
					continue
				}
				if out, err = mech.Next(chal); err != nil {
					io.WriteString(c.conn, "*\r\n")
					continue
				}
			}
			first = false
			if _, err := io.WriteString(c.conn, base64.StdEncoding.EncodeToString(out)+"\r\n"); err != nil {
				return err
			}
		case "*":
			c.untagged(resp, nil)
		case tag:
			c.noteCode(resp.code)
			if resp.name != "OK" {
				return statusError(resp)
			}
			return nil
		default:
			return &ProtocolError{Msg: "response with unknown tag " + resp.tag}
		}
	}
}

// Enable turns on extensions (RFC 5161) and returns those the server
// enabled. Enabling IMAP4rev2 or UTF8=ACCEPT makes mailbox names UTF-8.
func (c *Client) Enable(ctx context.Context, caps ...string) ([]string, error) {
	args := make([]arg, len(caps))
	for i, s := range caps {
		args[i] = rawArg(s)
	}
	var on []string
	_, err := c.do(ctx, "ENABLE", args, func(r *response) error {
		if r.name == "ENABLED" {
			for _, f := range r.fields {
				on = append(on, f.String())
				if s := strings.ToUpper(f.String()); s == "IMAP4REV2" || s == "UTF8=ACCEPT" {
					c.mu.Lock()
					c.utf8 = true
					c.mu.Unlock()
				}
			}
		}
		return nil
	})
	return on, err
}

// Logout ends the session and closes the connection.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.do(ctx, "LOGOUT", nil, func(*response) error { return nil })
	c.conn.Close()
	return err
}

// Noop sends NOOP, which lets the server report changes.
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.do(ctx, "NOOP", nil, nil)
	return err
}
