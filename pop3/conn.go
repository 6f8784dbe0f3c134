package pop3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/heraldmail/herald/internal/lifecycle"
	"github.com/heraldmail/herald/internal/wire"
	"github.com/heraldmail/herald/sasl"
)

// state is a session state of RFC 1939 section 3.
type state uint8

const (
	stateAuthorization state = iota // must be zero
	stateTransaction
	stateUpdate
)

// conn is one connection, touched only by the connection's goroutine.
type conn struct {
	srv  *Server
	lc   *lifecycle.Conn // the transport, its deadlines and idle flag
	r    *wire.Reader
	out  []byte // responses not yet written
	info ConnInfo
	ctx  context.Context

	closing    bool
	errCount   int
	loginFails int

	state     state
	timestamp string // APOP timestamp of the greeting, "" without APOP
	user      string // name given by USER, waiting for PASS
	mbox      Mailbox
	msgs      []MessageInfo
	deleted   []bool
	nDeleted  int
	sizeLeft  int64 // total size of the messages not deleted
}

// maxPendingResponses is how many bytes of responses may wait for the
// input to drain before they are written anyway.
const maxPendingResponses = 4096

var errShutdown = lifecycle.ErrShuttingDown

func newConn(s *Server, lc *lifecycle.Conn) *conn {
	c := &conn{srv: s, lc: lc, out: make([]byte, 0, 256), r: wire.NewReader(lc, &s.bufPool)}
	lc.SetTimeouts(orDefault(s.Timeout, DefaultTimeout), orDefault(s.WriteTimeout, DefaultWriteTimeout))
	c.info.RemoteAddr, c.info.LocalAddr, c.info.ProxyAddr, c.info.TLS = lc.Peer()
	return c
}

func (c *conn) log() *slog.Logger { return c.lc.Logger() }

func (c *conn) serve(ctx context.Context) {
	c.ctx = ctx
	defer func() {
		c.release()
		c.r.Release()
	}()
	greeting := "POP3 server ready"
	if _, ok := c.srv.Backend.(APOPBackend); ok {
		c.timestamp = newTimestamp(c.srv.hostname())
		greeting += " " + c.timestamp
	}
	c.ok(greeting)
	for !c.closing {
		line, err := c.readCommand()
		if err != nil {
			c.readFailed(err)
			continue
		}
		c.dispatch(string(line))
	}
	c.flush()
}

// newTimestamp makes the APOP timestamp of RFC 1939 section 7, a msg-id
// that is unique per greeting: random bits, the time and the host name.
func newTimestamp(host string) string {
	var b [8]byte
	rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "." + strconv.FormatInt(time.Now().UnixNano(), 10) + "@" + host + ">"
}

// release gives the maildrop back, recovering a panic in Close.
func (c *conn) release() {
	if c.mbox == nil {
		return
	}
	mb := c.mbox
	c.mbox = nil
	defer func() {
		if r := recover(); r != nil {
			c.log().Error("pop3: panic in Mailbox.Close", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if err := mb.Close(); err != nil {
		c.log().Warn("pop3: Mailbox.Close", "err", err)
	}
}

// readCommand returns the next command line: see
// lifecycle.Conn.ReadCommand for when responses are flushed.
func (c *conn) readCommand() ([]byte, error) {
	return c.lc.ReadCommand(c.r, len(c.out), maxPendingResponses, c.flush, c.readLine)
}

// readLine reads a command line within MaxLineLength, or
// MaxAuthLineLength for AUTH.
func (c *conn) readLine() ([]byte, error) {
	c.lc.ReadTimeout = orDefault(c.srv.Timeout, DefaultTimeout)
	lim := c.srv.maxLine()
	line, _, err := c.r.ReadLine(max(lim, MaxAuthLineLength))
	if err != nil {
		return nil, err
	}
	if len(line) > lim && !isAuth(line) {
		return nil, ErrLineTooLong
	}
	return line, nil
}

// isAuth reports whether line is an AUTH command, whose initial response
// may be longer than a command line.
func isAuth(line []byte) bool {
	return len(line) >= 5 && line[4] == ' ' &&
		(line[0]|0x20) == 'a' && (line[1]|0x20) == 'u' && (line[2]|0x20) == 't' && (line[3]|0x20) == 'h'
}

// readFailed handles an error from readCommand.
func (c *conn) readFailed(err error) {
	switch {
	case errors.Is(err, ErrLineTooLong):
		c.fail(&Error{Message: "Line too long"})
		return
	case errors.Is(err, errShutdown) || c.lc.ShuttingDown() && isTimeout(err):
		c.err(CodeSysTemp, "Server shutting down, closing connection")
	case isTimeout(err):
		c.err("", "Autologout; idle for too long")
	}
	c.closing = true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// flush writes the pending responses.
func (c *conn) flush() error {
	var err error
	if c.out, err = c.lc.Flush(c.out); err != nil {
		c.closing = true
	}
	return err
}

// ok queues a positive response.
func (c *conn) ok(text string) {
	c.out = append(c.out, "+OK"...)
	if text != "" {
		c.out = append(c.out, ' ')
		c.out = append(c.out, text...)
	}
	c.out = append(c.out, "\r\n"...)
}

// line queues one line of a multi-line response, dot-stuffed.
func (c *conn) line(s string) {
	if len(s) > 0 && s[0] == '.' {
		c.out = append(c.out, '.')
	}
	c.out = append(c.out, s...)
	c.out = append(c.out, "\r\n"...)
}

// end queues the line that ends a multi-line response.
func (c *conn) end() { c.out = append(c.out, ".\r\n"...) }

// err queues a negative response.
func (c *conn) err(code ResponseCode, text string) {
	c.out = append(c.out, Response{Code: code, Text: text}.String()...)
	c.out = append(c.out, "\r\n"...)
}

// fail sends the response for err and counts it toward MaxErrors.
func (c *conn) fail(err error) {
	code, text := c.errorResponse(err)
	c.err(code, text)
	c.errCount++
	if lim := limit(c.srv.MaxErrors, DefaultMaxErrors); lim > 0 && c.errCount >= lim && !c.closing {
		c.err("", "Too many errors, closing connection")
		c.closing = true
	}
}

// errorResponse is the one place that maps an error to a response. An
// *Error is sent as given; category sentinels have fixed responses;
// anything else is logged and answered "-ERR [SYS/TEMP]" without its text.
func (c *conn) errorResponse(err error) (ResponseCode, string) {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code, e.Message
	case errors.Is(err, ErrSyntax):
		return "", "Syntax error"
	case errors.Is(err, ErrAuthFailed):
		return CodeAuth, "Authentication failed"
	case errors.Is(err, sasl.ErrUnsupportedMechanism):
		return "", "Unsupported authentication mechanism"
	case errors.Is(err, sasl.ErrMalformed), errors.Is(err, sasl.ErrUnexpected):
		return "", "Malformed authentication exchange"
	}
	c.log().Error("pop3: backend error", "err", err)
	return CodeSysTemp, "Internal error, try again later"
}

// dispatch runs one command, recovering a panic.
func (c *conn) dispatch(line string) {
	defer func() {
		if r := recover(); r != nil {
			c.log().Error("pop3: panic while handling command", "panic", r, "stack", string(debug.Stack()))
			c.err(CodeSysTemp, "Internal error, closing connection")
			c.closing = true
		}
	}()
	cmd, err := ParseCommand(line)
	if err != nil {
		c.fail(err)
		return
	}
	if err := c.handle(cmd); err != nil {
		c.fail(err)
	}
}

// errBadState answers a command not valid in the current state.
var errBadState = &Error{Message: "Command not valid in this state"}

func (c *conn) handle(cmd Command) error {
	switch cmd.Verb {
	case "CAPA":
		return c.cmdCapa(cmd.Args)
	case "QUIT":
		return c.cmdQuit(cmd.Args)
	}
	if c.state == stateAuthorization {
		switch cmd.Verb {
		case "USER":
			return c.cmdUser(cmd.Args)
		case "PASS":
			return c.cmdPass(cmd.Args)
		case "APOP":
			return c.cmdAPOP(cmd.Args)
		case "AUTH":
			return c.cmdAuth(cmd.Args)
		case "STLS":
			return c.cmdSTLS(cmd.Args)
		case "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL":
			return errBadState
		}
		return &Error{Message: "Unknown command"}
	}
	switch cmd.Verb {
	case "STAT":
		return c.cmdStat(cmd.Args)
	case "LIST":
		return c.cmdList(cmd.Args)
	case "UIDL":
		return c.cmdUidl(cmd.Args)
	case "RETR":
		return c.cmdRetr(cmd.Args)
	case "TOP":
		return c.cmdTop(cmd.Args)
	case "DELE":
		return c.cmdDele(cmd.Args)
	case "RSET":
		return c.cmdRset(cmd.Args)
	case "NOOP":
		if len(cmd.Args) != 0 {
			return errSyntax
		}
		c.ok("")
		return nil
	case "USER", "PASS", "APOP", "AUTH", "STLS":
		return errBadState
	}
	return &Error{Message: "Unknown command"}
}

var errSyntax = &Error{Message: "Syntax error"}

// handshake runs the server side of TLS on the current transport.
func (c *conn) handshake() error {
	if err := c.lc.StartTLS(c.ctx, c.srv.TLSConfig); err != nil {
		return err
	}
	c.info.TLS = c.lc.TLS()
	c.r.Reset(c.lc)
	return nil
}
