package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
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
// command each and wait for its completion; they are safe for concurrent
// use, one command at a time. A NO or BAD reply is returned as an *Error.
// Mailbox names are UTF-8; the client encodes them as modified UTF-7
// unless UTF-8 is enabled.
type Client struct {
	mu    sync.Mutex
	conn  net.Conn
	br    *bufio.Reader
	p     *respParser
	opts  ClientOptions
	tag   int
	caps  map[string]bool
	utf8  bool
	state connState
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
	c.caps = map[string]bool{}
	for _, s := range list {
		c.caps[strings.ToUpper(s)] = true
	}
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
	if name == "INBOX" || c.utf8 {
		return strArg(name)
	}
	enc, err := encodeUTF7(name)
	if err != nil {
		enc = name
	}
	return strArg(enc)
}

// do sends a command and reads its responses, calling each untagged one
// on fn (which may be nil). It returns the tagged OK response.
func (c *Client) do(ctx context.Context, name string, args []arg, fn func(*response) error) (*response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.watch(ctx)
	defer stop()
	c.tag++
	tag := "h" + strconv.Itoa(c.tag)
	w := bufio.NewWriter(c.conn)
	w.WriteString(tag + " " + name)
	for _, a := range args {
		w.WriteByte(' ')
		switch {
		case a.reader != nil:
			if err := c.literal(w, a.n, a.reader, fn); err != nil {
				return nil, err
			}
		case a.isStr && quotable(a.str, c.utf8) && a.str != "":
			w.Write(appendString(nil, a.str, c.utf8))
		case a.isStr:
			if err := c.literal(w, int64(len(a.str)), strings.NewReader(a.str), fn); err != nil {
				return nil, err
			}
		default:
			if strings.ContainsAny(a.raw, "\r\n") {
				return nil, errors.New("imap: line ending in a command argument")
			}
			w.WriteString(a.raw)
		}
	}
	w.WriteString("\r\n")
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return c.wait(tag, fn)
}

// literal writes a literal, waiting for the continuation request unless
// the server offers LITERAL+.
func (c *Client) literal(w *bufio.Writer, n int64, r io.Reader, fn func(*response) error) error {
	if c.caps["LITERAL+"] {
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
			if err := c.untagged(resp, fn); err != nil {
				return err
			}
		}
	}
	if _, err := io.CopyN(w, r, n); err != nil {
		return err
	}
	return nil
}

func (c *Client) wait(tag string, fn func(*response) error) (*response, error) {
	for {
		resp, err := c.p.readResponse()
		if err != nil {
			return nil, err
		}
		switch resp.tag {
		case tag:
			c.noteCode(resp.code)
			if resp.name != "OK" {
				return resp, statusError(resp)
			}
			return resp, nil
		case "*":
			if err := c.untagged(resp, fn); err != nil {
				return nil, err
			}
		case "+":
			return nil, &ProtocolError{Msg: "unexpected continuation request"}
		default:
			return nil, &ProtocolError{Msg: "response with unknown tag " + resp.tag}
		}
	}
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
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.caps {
		out = append(out, k)
	}
	return out, nil
}

// StartTLS upgrades the connection with TLS (RFC 9051 section 6.2.1) and
// asks for the capabilities again.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if _, err := c.do(ctx, "STARTTLS", nil, nil); err != nil {
		return err
	}
	if cfg == nil {
		cfg = c.opts.TLSConfig
	}
	cfg = tlsConfigFor(cfg, c.conn.RemoteAddr().String())
	c.mu.Lock()
	tc := tls.Client(c.conn, cfg)
	err := tc.HandshakeContext(ctx)
	if err == nil {
		c.setConn(tc)
		c.caps = nil
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = c.Capability(ctx)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.watch(ctx)
	defer stop()
	c.tag++
	tag := "h" + strconv.Itoa(c.tag)
	line := tag + " AUTHENTICATE " + name
	if ir != nil && c.caps["SASL-IR"] {
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
					c.utf8 = true
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
