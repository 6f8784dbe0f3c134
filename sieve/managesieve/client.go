package managesieve

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/internal/wire"
	"github.com/heraldmail/herald/sasl"
)

// ClientOptions configure a Client; nil means the defaults.
type ClientOptions struct {
	// MaxLineLength bounds a response line. Default DefaultMaxLineLength.
	MaxLineLength int
	// MaxLiteral bounds a literal in a response, a script from
	// GETSCRIPT included. Default 16 MiB.
	MaxLiteral int64
}

// Capabilities are what a server announced (RFC 5804 section 1.7).
type Capabilities struct {
	Implementation string
	// SASL lists the mechanisms offered now.
	SASL []string
	// Sieve lists the Sieve extensions.
	Sieve []string
	// Notify lists the enotify methods.
	Notify         []string
	StartTLS       bool
	MaxRedirects   int
	Owner          string
	Version        string
	Unauthenticate bool
	// Other holds the capabilities not above, by upper-cased name.
	Other map[string]string
}

// Client is a ManageSieve client. Its methods must not be called
// concurrently.
type Client struct {
	nc   net.Conn
	r    *wire.Reader
	lim  int
	lit  int64
	caps Capabilities
}

// Dial connects to addr ("host:4190") and reads the greeting.
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(ctx, nc, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewClient reads the greeting on nc, which may already be TLS.
func NewClient(ctx context.Context, nc net.Conn, opts *ClientOptions) (*Client, error) {
	c := &Client{nc: nc, lim: DefaultMaxLineLength, lit: 16 << 20}
	if opts != nil && opts.MaxLineLength > 0 {
		c.lim = opts.MaxLineLength
	}
	if opts != nil && opts.MaxLiteral > 0 {
		c.lit = opts.MaxLiteral
	}
	c.r = wire.NewReader(nc, nil)
	stop := c.watch(ctx)
	defer stop()
	if err := c.readCapabilities(); err != nil {
		return nil, err
	}
	return c, nil
}

// watch applies ctx to the connection until stop is called.
func (c *Client) watch(ctx context.Context) (stop func()) {
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(dl)
	}
	var once sync.Once
	after := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		once.Do(func() {
			after()
			c.nc.SetDeadline(time.Time{})
		})
	}
}

// Capabilities returns the capabilities of the last greeting, STARTTLS or
// CAPABILITY.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Close closes the connection without LOGOUT.
func (c *Client) Close() error { return c.nc.Close() }

// readLine reads one response line as tokens, literals included.
func (c *Client) readLine() ([]token, error) {
	l := &lexer{r: c.r, maxLine: c.lim, discard: 0, sync: true,
		limit: func(int) (int64, bool) { return c.lit, false }}
	if err := l.readLine(); err != nil {
		return nil, err
	}
	var toks []token
	for !l.atEnd() {
		t, err := l.next()
		if err != nil {
			return nil, errors.Join(ErrProtocol, err)
		}
		if !t.literal {
			t.val = append([]byte{}, t.val...)
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// final parses toks as an OK, NO or BYE line; ok is false for a data line.
func final(toks []token) (r Response, ok bool, err error) {
	if len(toks) == 0 || toks[0].kind != tokAtom {
		return r, false, nil
	}
	r.Status = strings.ToUpper(string(toks[0].val))
	if r.Status != "OK" && r.Status != "NO" && r.Status != "BYE" {
		return Response{}, false, nil
	}
	toks = toks[1:]
	if len(toks) > 0 && toks[0].kind == tokOpen {
		if len(toks) < 3 || toks[1].kind != tokAtom {
			return r, true, ErrProtocol
		}
		r.Code = ResponseCode(strings.ToUpper(string(toks[1].val)))
		toks = toks[2:]
		if toks[0].kind == tokString {
			r.CodeArg = string(toks[0].val)
			toks = toks[1:]
		}
		if len(toks) == 0 || toks[0].kind != tokClose {
			return r, true, ErrProtocol
		}
		toks = toks[1:]
	}
	if len(toks) > 0 {
		if toks[0].kind != tokString {
			return r, true, ErrProtocol
		}
		r.Text = string(toks[0].val)
		toks = toks[1:]
	}
	if len(toks) > 0 {
		return r, true, ErrProtocol
	}
	return r, true, nil
}

// response reads data lines up to the final response; NO and BYE become
// an *Error.
func (c *Client) response() ([][]token, Response, error) {
	var data [][]token
	for {
		toks, err := c.readLine()
		if err != nil {
			return nil, Response{}, err
		}
		r, ok, err := final(toks)
		if err != nil {
			return nil, r, err
		}
		if !ok {
			data = append(data, toks)
			continue
		}
		if r.Status != "OK" {
			return data, r, &Error{Code: r.Code, Message: r.Text, Bye: r.Status == "BYE"}
		}
		return data, r, nil
	}
}

// readCapabilities reads capability lines and the OK after them.
func (c *Client) readCapabilities() error {
	data, _, err := c.response()
	if err != nil {
		return err
	}
	caps := Capabilities{Other: map[string]string{}}
	for _, toks := range data {
		if len(toks) == 0 || toks[0].kind != tokString {
			return ErrProtocol
		}
		name := strings.ToUpper(string(toks[0].val))
		val := ""
		if len(toks) > 1 {
			val = string(toks[1].val)
		}
		switch name {
		case "IMPLEMENTATION":
			caps.Implementation = val
		case "SASL":
			caps.SASL = strings.Fields(val)
		case "SIEVE":
			caps.Sieve = strings.Fields(val)
		case "NOTIFY":
			caps.Notify = strings.Fields(val)
		case "STARTTLS":
			caps.StartTLS = true
		case "MAXREDIRECTS":
			caps.MaxRedirects, _ = strconv.Atoi(val)
		case "OWNER":
			caps.Owner = val
		case "VERSION":
			caps.Version = val
		case "UNAUTHENTICATE":
			caps.Unauthenticate = true
		default:
			caps.Other[name] = val
		}
	}
	c.caps = caps
	return nil
}

// cmd sends a command built from name and string arguments.
func (c *Client) send(name string, args ...string) error {
	b := []byte(name)
	for _, a := range args {
		b = append(b, ' ')
		b = appendClientString(b, a)
	}
	b = append(b, "\r\n"...)
	_, err := c.nc.Write(b)
	return err
}

// simple runs a command answered by a bare OK or NO.
func (c *Client) simple(ctx context.Context, name string, args ...string) (Response, error) {
	stop := c.watch(ctx)
	defer stop()
	if err := c.send(name, args...); err != nil {
		return Response{}, err
	}
	_, r, err := c.response()
	return r, err
}

// Capability asks the server for its capabilities again.
func (c *Client) Capability(ctx context.Context) (Capabilities, error) {
	stop := c.watch(ctx)
	defer stop()
	if err := c.send("CAPABILITY"); err != nil {
		return Capabilities{}, err
	}
	err := c.readCapabilities()
	return c.caps, err
}

// StartTLS runs STARTTLS and reads the capabilities sent over TLS.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if _, err := c.simple(ctx, "STARTTLS"); err != nil {
		return err
	}
	stop := c.watch(ctx)
	defer stop()
	tc := tls.Client(c.nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	c.nc = tc
	c.r = wire.NewReader(tc, nil)
	return c.readCapabilities()
}

// Authenticate runs AUTHENTICATE with a SASL mechanism, sending its
// initial response with the command.
func (c *Client) Authenticate(ctx context.Context, sc sasl.Client) error {
	stop := c.watch(ctx)
	defer stop()
	mech, ir, err := sc.Start()
	if err != nil {
		return err
	}
	args := []string{mech}
	if ir != nil {
		args = append(args, base64.StdEncoding.EncodeToString(ir))
	}
	if err := c.send("AUTHENTICATE", args...); err != nil {
		return err
	}
	for {
		toks, err := c.readLine()
		if err != nil {
			return err
		}
		r, ok, err := final(toks)
		if err != nil {
			return err
		}
		if ok {
			if r.Status != "OK" {
				return &Error{Code: r.Code, Message: r.Text, Bye: r.Status == "BYE"}
			}
			if r.Code == CodeSASL {
				chal, err := base64.StdEncoding.DecodeString(r.CodeArg)
				if err != nil {
					return ErrProtocol
				}
				if _, err := sc.Next(chal); err != nil {
					return err
				}
			}
			return nil
		}
		if len(toks) != 1 || toks[0].kind != tokString {
			return ErrProtocol
		}
		chal, err := base64.StdEncoding.DecodeString(string(toks[0].val))
		if err != nil {
			return ErrProtocol
		}
		resp, err := sc.Next(chal)
		if err != nil {
			c.send("\"*\"")
			c.response()
			return err
		}
		b := appendClientString(nil, base64.StdEncoding.EncodeToString(resp))
		if _, err := c.nc.Write(append(b, "\r\n"...)); err != nil {
			return err
		}
	}
}

// Noop sends NOOP with tag (none when empty) and returns the tag echoed.
func (c *Client) Noop(ctx context.Context, tag string) (string, error) {
	var args []string
	if tag != "" {
		args = append(args, tag)
	}
	r, err := c.simple(ctx, "NOOP", args...)
	return r.CodeArg, err
}

// HaveSpace asks whether a script name of size octets would fit.
func (c *Client) HaveSpace(ctx context.Context, name string, size int64) error {
	stop := c.watch(ctx)
	defer stop()
	b := appendClientString([]byte("HAVESPACE "), name)
	b = strconv.AppendInt(append(b, ' '), size, 10)
	if _, err := c.nc.Write(append(b, "\r\n"...)); err != nil {
		return err
	}
	_, _, err := c.response()
	return err
}

// literalArg appends content as a {n+} literal.
func literalArg(b, content []byte) []byte {
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(content)), 10)
	b = append(b, "+}\r\n"...)
	return append(b, content...)
}

// PutScript uploads a script; warnings is the text of an OK (WARNINGS).
func (c *Client) PutScript(ctx context.Context, name string, content []byte) (warnings string, err error) {
	stop := c.watch(ctx)
	defer stop()
	b := appendClientString([]byte("PUTSCRIPT "), name)
	b = literalArg(append(b, ' '), content)
	if _, err := c.nc.Write(append(b, "\r\n"...)); err != nil {
		return "", err
	}
	return c.checked()
}

// CheckScript asks the server to check a script without storing it.
func (c *Client) CheckScript(ctx context.Context, content []byte) (warnings string, err error) {
	stop := c.watch(ctx)
	defer stop()
	b := literalArg([]byte("CHECKSCRIPT "), content)
	if _, err := c.nc.Write(append(b, "\r\n"...)); err != nil {
		return "", err
	}
	return c.checked()
}

func (c *Client) checked() (string, error) {
	_, r, err := c.response()
	if err != nil {
		return "", err
	}
	if r.Code == CodeWarnings {
		return r.Text, nil
	}
	return "", nil
}

// ListScripts lists the scripts.
func (c *Client) ListScripts(ctx context.Context) ([]Script, error) {
	stop := c.watch(ctx)
	defer stop()
	if err := c.send("LISTSCRIPTS"); err != nil {
		return nil, err
	}
	data, _, err := c.response()
	if err != nil {
		return nil, err
	}
	var out []Script
	for _, toks := range data {
		if len(toks) == 0 || len(toks) > 2 || toks[0].kind != tokString {
			return nil, ErrProtocol
		}
		s := Script{Name: string(toks[0].val)}
		if len(toks) == 2 {
			if !strings.EqualFold(string(toks[1].val), "ACTIVE") {
				return nil, ErrProtocol
			}
			s.Active = true
		}
		out = append(out, s)
	}
	return out, nil
}

// GetScript downloads a script.
func (c *Client) GetScript(ctx context.Context, name string) ([]byte, error) {
	stop := c.watch(ctx)
	defer stop()
	if err := c.send("GETSCRIPT", name); err != nil {
		return nil, err
	}
	data, _, err := c.response()
	if err != nil {
		return nil, err
	}
	if len(data) != 1 || len(data[0]) != 1 || data[0][0].kind != tokString {
		return nil, ErrProtocol
	}
	return data[0][0].val, nil
}

// SetActive makes name the active script; "" deactivates.
func (c *Client) SetActive(ctx context.Context, name string) error {
	_, err := c.simple(ctx, "SETACTIVE", name)
	return err
}

// DeleteScript deletes a script.
func (c *Client) DeleteScript(ctx context.Context, name string) error {
	_, err := c.simple(ctx, "DELETESCRIPT", name)
	return err
}

// RenameScript renames a script.
func (c *Client) RenameScript(ctx context.Context, oldName, newName string) error {
	_, err := c.simple(ctx, "RENAMESCRIPT", oldName, newName)
	return err
}

// Unauthenticate returns to the non-authenticated state.
func (c *Client) Unauthenticate(ctx context.Context) error {
	_, err := c.simple(ctx, "UNAUTHENTICATE")
	return err
}

// Logout sends LOGOUT and closes the connection.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.simple(ctx, "LOGOUT")
	c.nc.Close()
	return err
}
