package pop3

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/internal/wire"
	"github.com/heraldmail/herald/sasl"
)

// Client defaults.
const (
	// DefaultClientMaxLineLength bounds a response line without CRLF. RFC
	// 2449 section 4 sets 512 octets with CRLF; servers exceed it in
	// listings and greetings, so the client allows more.
	DefaultClientMaxLineLength = 4096
	// DefaultClientMaxMessageBytes bounds a message read with Retr or Top:
	// 64 MiB.
	DefaultClientMaxMessageBytes = 64 << 20
	// DefaultClientMaxListEntries bounds the lines of a LIST, UIDL or CAPA
	// response.
	DefaultClientMaxListEntries = 1 << 20
)

// ClientOptions configures a Client. A nil *ClientOptions means the
// defaults.
type ClientOptions struct {
	// TLSConfig is used by DialTLS and STLS. Nil means a config with
	// ServerName taken from the address.
	TLSConfig *tls.Config
	// MaxLineLength bounds response lines. Default
	// DefaultClientMaxLineLength.
	MaxLineLength int
	// MaxMessageBytes bounds a message read by Retr or Top; a longer one
	// fails with ErrMessageTooLarge. Default DefaultClientMaxMessageBytes;
	// negative means no limit.
	MaxMessageBytes int64
	// MaxListEntries bounds the lines of a listing. Default
	// DefaultClientMaxListEntries.
	MaxListEntries int
}

// Client is a POP3 client on one connection. Its methods must be called
// from one goroutine at a time. Every method takes a context that bounds
// the exchange: its deadline becomes the connection's, and cancelling it
// interrupts the I/O, which leaves the connection unusable.
type Client struct {
	nc       net.Conn
	r        *wire.Reader
	w        *bufio.Writer
	opts     ClientOptions
	host     string
	greeting Response
	body     *bodyReader // the multi-line body being read, if any
	broken   error       // sticky error once the stream is out of sync
	pool     sync.Pool
}

// Dial connects to addr ("host:port") over TCP and reads the greeting.
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
	c.host, _, _ = net.SplitHostPort(addr)
	return c, nil
}

// DialTLS connects to addr with implicit TLS (port 995, RFC 8314) and reads
// the greeting.
func DialTLS(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	host, _, _ := net.SplitHostPort(addr)
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	d := tls.Dialer{Config: tlsConfig(o.TLSConfig, host)}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(ctx, nc, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.host = host
	return c, nil
}

func tlsConfig(cfg *tls.Config, host string) *tls.Config {
	if cfg == nil {
		return &tls.Config{ServerName: host}
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	return cfg
}

// NewClient starts a client on an open connection and reads the greeting;
// a negative greeting is returned as an *Error. The Client owns nc.
func NewClient(ctx context.Context, nc net.Conn, opts *ClientOptions) (*Client, error) {
	c := &Client{nc: nc}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.MaxLineLength <= 0 {
		c.opts.MaxLineLength = DefaultClientMaxLineLength
	}
	if c.opts.MaxMessageBytes == 0 {
		c.opts.MaxMessageBytes = DefaultClientMaxMessageBytes
	}
	if c.opts.MaxListEntries <= 0 {
		c.opts.MaxListEntries = DefaultClientMaxListEntries
	}
	c.r = wire.NewReader(nc, &c.pool)
	c.w = bufio.NewWriter(nc)
	if h, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.host = h
	}
	defer c.watch(ctx)()
	r, err := c.readResponse()
	if err != nil {
		return nil, err
	}
	c.greeting = r
	if !r.OK {
		return nil, &Error{Code: r.Code, Message: r.Text}
	}
	return c, nil
}

// Greeting returns the server's greeting line.
func (c *Client) Greeting() Response { return c.greeting }

// watch applies ctx to the connection until the returned func is called.
func (c *Client) watch(ctx context.Context) func() {
	d, _ := ctx.Deadline()
	c.nc.SetDeadline(d)
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		if !stop() {
			// ctx ended: the deadline in the past stays, the connection
			// is done for.
			return
		}
		c.nc.SetDeadline(time.Time{})
	}
}

// Close closes the connection without QUIT, so the server commits no
// deletion.
func (c *Client) Close() error { return c.nc.Close() }

// readLine reads one line, marking the client broken on failure.
func (c *Client) readLine() (string, error) {
	line, crlf, err := c.r.ReadLine(c.opts.MaxLineLength)
	if err == nil && !crlf {
		err = fmt.Errorf("%w: line not ended by CRLF", ErrProtocol)
	}
	if err != nil {
		c.broken = err
		return "", err
	}
	return string(line), nil
}

// readResponse reads a status line.
func (c *Client) readResponse() (Response, error) {
	line, err := c.readLine()
	if err != nil {
		return Response{}, err
	}
	r, err := ParseResponse(line)
	if err != nil {
		c.broken = err
	}
	return r, err
}

// cmd sends a command and reads its status line; a negative one is an
// *Error. Arguments must not contain CR, LF or NUL.
func (c *Client) cmd(ctx context.Context, line string) (Response, error) {
	if err := c.ready(); err != nil {
		return Response{}, err
	}
	if strings.ContainsAny(line, "\r\n\x00") {
		return Response{}, errors.New("pop3: CR, LF or NUL in a command argument")
	}
	defer c.watch(ctx)()
	if err := c.send(line); err != nil {
		return Response{}, err
	}
	r, err := c.readResponse()
	if err != nil {
		return r, err
	}
	if !r.OK {
		return r, &Error{Code: r.Code, Message: r.Text}
	}
	return r, nil
}

func (c *Client) send(line string) error {
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		c.broken = err
		return err
	}
	return nil
}

// ready finishes a body left unread and reports a broken connection.
func (c *Client) ready() error {
	if c.body != nil {
		b := c.body
		c.body = nil
		if err := b.finish(); err != nil {
			c.broken = err
		}
	}
	return c.broken
}

// Capa asks for the capabilities (RFC 2449 section 5). Each entry maps a
// capability name in upper case to its arguments.
func (c *Client) Capa(ctx context.Context) (map[string][]string, error) {
	lines, err := c.multiLineCmd(ctx, "CAPA")
	if err != nil {
		return nil, err
	}
	caps := make(map[string][]string, len(lines))
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		caps[strings.ToUpper(f[0])] = f[1:]
	}
	return caps, nil
}

// multiLineCmd sends a command whose positive response is a multi-line
// listing and returns its lines, dot-unstuffed.
func (c *Client) multiLineCmd(ctx context.Context, line string) ([]string, error) {
	if _, err := c.cmd(ctx, line); err != nil {
		return nil, err
	}
	defer c.watch(ctx)()
	var lines []string
	for {
		l, err := c.readLine()
		if err != nil {
			return nil, err
		}
		if l == "." {
			return lines, nil
		}
		if len(lines) >= c.opts.MaxListEntries {
			c.broken = fmt.Errorf("%w: listing longer than %d lines", ErrProtocol, c.opts.MaxListEntries)
			return nil, c.broken
		}
		lines = append(lines, strings.TrimPrefix(l, "."))
	}
}

// STLS upgrades the connection to TLS (RFC 2595 section 4).
func (c *Client) STLS(ctx context.Context) error {
	if _, err := c.cmd(ctx, "STLS"); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		c.broken = fmt.Errorf("%w: data after the STLS response", ErrProtocol)
		return c.broken
	}
	tc := tls.Client(c.nc, tlsConfig(c.opts.TLSConfig, c.host))
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = err
		return err
	}
	c.nc = tc
	c.r.Reset(tc)
	c.w.Reset(tc)
	return nil
}

// TLSConnectionState returns the TLS state, or false without TLS.
func (c *Client) TLSConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := c.nc.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// User sends USER.
func (c *Client) User(ctx context.Context, name string) error {
	_, err := c.cmd(ctx, "USER "+name)
	return err
}

// Pass sends PASS.
func (c *Client) Pass(ctx context.Context, password string) error {
	_, err := c.cmd(ctx, "PASS "+password)
	return err
}

// Login sends USER then PASS.
func (c *Client) Login(ctx context.Context, name, password string) error {
	if err := c.User(ctx, name); err != nil {
		return err
	}
	return c.Pass(ctx, password)
}

// APOP logs in with the digest of the greeting's timestamp and secret (RFC
// 1939 section 7). It fails when the greeting has no timestamp.
func (c *Client) APOP(ctx context.Context, name, secret string) error {
	text := c.greeting.Text
	i := strings.IndexByte(text, '<')
	j := strings.LastIndexByte(text, '>')
	if i < 0 || j < i {
		return errors.New("pop3: the server offers no APOP timestamp")
	}
	sum := md5.Sum([]byte(text[i:j+1] + secret))
	_, err := c.cmd(ctx, "APOP "+name+" "+hex.EncodeToString(sum[:]))
	return err
}

// Auth authenticates with a SASL mechanism (RFC 5034), sending the initial
// response with the command ("=" when empty).
func (c *Client) Auth(ctx context.Context, a sasl.Client) error {
	if err := c.ready(); err != nil {
		return err
	}
	mech, ir, err := a.Start()
	if err != nil {
		return err
	}
	line := "AUTH " + mech
	if ir != nil {
		if len(ir) == 0 {
			line += " ="
		} else {
			line += " " + base64.StdEncoding.EncodeToString(ir)
		}
	}
	defer c.watch(ctx)()
	if err := c.send(line); err != nil {
		return err
	}
	for {
		l, err := c.readLine()
		if err != nil {
			return err
		}
		if l == "+" || strings.HasPrefix(l, "+ ") {
			chal, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimPrefix(l, "+"), " "))
			if err != nil {
				c.send("*")
				c.readResponse()
				return fmt.Errorf("%w: bad base64 challenge", ErrProtocol)
			}
			resp, err := a.Next(chal)
			if err != nil {
				c.send("*")
				c.readResponse()
				return err
			}
			if err := c.send(base64.StdEncoding.EncodeToString(resp)); err != nil {
				return err
			}
			continue
		}
		r, err := ParseResponse(l)
		if err != nil {
			c.broken = err
			return err
		}
		if !r.OK {
			return &Error{Code: r.Code, Message: r.Text}
		}
		return nil
	}
}

// Stat is the answer to STAT.
type Stat struct {
	Count int
	Size  int64
}

// Stat sends STAT.
func (c *Client) Stat(ctx context.Context) (Stat, error) {
	r, err := c.cmd(ctx, "STAT")
	if err != nil {
		return Stat{}, err
	}
	f := strings.Fields(r.Text)
	if len(f) < 2 {
		return Stat{}, fmt.Errorf("%w: bad STAT response", ErrProtocol)
	}
	n, ok := parseNumber(f[0])
	size, err := strconv.ParseInt(f[1], 10, 64)
	if !ok || err != nil || size < 0 {
		return Stat{}, fmt.Errorf("%w: bad STAT response", ErrProtocol)
	}
	return Stat{Count: n, Size: size}, nil
}

// Entry is one line of a LIST or UIDL listing.
type Entry struct {
	// Number is the message number.
	Number int
	// Size is the message size (LIST).
	Size int64
	// UID is the unique-id (UIDL).
	UID string
}

// List sends LIST and returns one entry per message not deleted.
func (c *Client) List(ctx context.Context) ([]Entry, error) {
	return c.listing(ctx, "LIST", false)
}

// ListOne sends LIST n.
func (c *Client) ListOne(ctx context.Context, n int) (Entry, error) {
	return c.listOne(ctx, "LIST", n, false)
}

// Uidl sends UIDL and returns one entry per message not deleted.
func (c *Client) Uidl(ctx context.Context) ([]Entry, error) {
	return c.listing(ctx, "UIDL", true)
}

// UidlOne sends UIDL n.
func (c *Client) UidlOne(ctx context.Context, n int) (Entry, error) {
	return c.listOne(ctx, "UIDL", n, true)
}

func (c *Client) listing(ctx context.Context, verb string, uid bool) ([]Entry, error) {
	lines, err := c.multiLineCmd(ctx, verb)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(lines))
	for _, l := range lines {
		e, err := parseEntry(l, uid)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func (c *Client) listOne(ctx context.Context, verb string, n int, uid bool) (Entry, error) {
	r, err := c.cmd(ctx, verb+" "+strconv.Itoa(n))
	if err != nil {
		return Entry{}, err
	}
	return parseEntry(r.Text, uid)
}

// parseEntry parses a scan listing "n size" or a unique-id listing
// "n uid" (RFC 1939 sections 5 and 7); text after them is ignored.
func parseEntry(l string, uid bool) (Entry, error) {
	f := strings.Fields(l)
	if len(f) < 2 {
		return Entry{}, fmt.Errorf("%w: bad listing line", ErrProtocol)
	}
	n, ok := parseNumber(f[0])
	if !ok || n < 1 {
		return Entry{}, fmt.Errorf("%w: bad message number in listing", ErrProtocol)
	}
	e := Entry{Number: n}
	if uid {
		if !ValidUID(f[1]) {
			return Entry{}, fmt.Errorf("%w: bad unique-id in listing", ErrProtocol)
		}
		e.UID = f[1]
		return e, nil
	}
	size, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || size < 0 {
		return Entry{}, fmt.Errorf("%w: bad size in listing", ErrProtocol)
	}
	e.Size = size
	return e, nil
}

// Retr sends RETR n and returns the message as a reader that removes the
// dot-stuffing and ends at the terminating line. Read it to the end before
// the next command, or the next command discards the rest. ctx bounds the
// reading too.
func (c *Client) Retr(ctx context.Context, n int) (io.Reader, error) {
	return c.body1(ctx, "RETR "+strconv.Itoa(n))
}

// Top sends TOP n lines and returns the header and the first lines of the
// body as Retr does.
func (c *Client) Top(ctx context.Context, n, lines int) (io.Reader, error) {
	return c.body1(ctx, "TOP "+strconv.Itoa(n)+" "+strconv.Itoa(lines))
}

func (c *Client) body1(ctx context.Context, line string) (io.Reader, error) {
	if _, err := c.cmd(ctx, line); err != nil {
		return nil, err
	}
	b := &bodyReader{c: c, d: wire.NewDotReader(c.r, c.opts.MaxMessageBytes), stop: c.watch(ctx)}
	c.body = b
	return b, nil
}

// bodyReader reads one multi-line body.
type bodyReader struct {
	c    *Client
	d    *wire.DotReader
	stop func()
	done bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.d.Read(p)
	if err == io.EOF {
		b.end()
	} else if err != nil {
		b.c.broken = err
		b.end()
	}
	return n, err
}

func (b *bodyReader) end() {
	if !b.done {
		b.done = true
		b.stop()
		b.c.r.Shrink()
		if b.c.body == b {
			b.c.body = nil
		}
	}
}

// finish discards the rest of the body.
func (b *bodyReader) finish() error {
	if b.done {
		return nil
	}
	defer b.end()
	if err := b.d.Drain(); err != nil {
		return err
	}
	return nil
}

// Dele marks message n as deleted.
func (c *Client) Dele(ctx context.Context, n int) error {
	_, err := c.cmd(ctx, "DELE "+strconv.Itoa(n))
	return err
}

// Rset unmarks every deleted message.
func (c *Client) Rset(ctx context.Context) error {
	_, err := c.cmd(ctx, "RSET")
	return err
}

// Noop sends NOOP.
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.cmd(ctx, "NOOP")
	return err
}

// Quit sends QUIT, which makes the server commit the deletions, and closes
// the connection. A negative response (the deletions failed) is returned
// as an *Error.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.cmd(ctx, "QUIT")
	c.nc.Close()
	return err
}
