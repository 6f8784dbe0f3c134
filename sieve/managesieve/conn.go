package managesieve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"github.com/heraldmail/herald/internal/lifecycle"
	"github.com/heraldmail/herald/internal/wire"
)

// conn is one connection, touched only by the connection's goroutine.
type conn struct {
	srv  *Server
	lc   *lifecycle.Conn
	r    *wire.Reader
	out  []byte // responses not yet written
	info ConnInfo
	ctx  context.Context
	lim  limits

	closing    bool
	errCount   int
	loginFails int
	store      Store // nil before login
}

// maxErrorsBeforeLogin caps MaxErrors before login: a peer that sends
// three bad commands then is most likely not a ManageSieve client (an HTTP
// request to port 4190), and Dovecot closes such a connection at the third
// too.
const maxErrorsBeforeLogin = 3

// maxPendingResponses is how many bytes of responses may wait for the
// input to drain before they are written anyway.
const maxPendingResponses = 4096

func (s *Server) handle(ctx context.Context, lc *lifecycle.Conn) {
	c := &conn{srv: s, lc: lc, out: make([]byte, 0, 512), ctx: ctx, lim: s.limits()}
	c.r = wire.NewReader(lc, &s.bufPool)
	lc.ReadTimeout = orDur(s.Timeout, DefaultTimeout)
	lc.WriteTimeout = orDur(s.WriteTimeout, DefaultWriteTimeout)
	c.info.RemoteAddr = lc.RemoteAddrPort()
	c.info.ProxyAddr = lc.ProxyAddr()
	c.info.LocalAddr = lc.LocalAddrPort()
	c.info.TLS = lc.TLS()
	c.serve()
}

func (c *conn) log() *slog.Logger {
	return c.srv.logger().With("remote", c.info.RemoteAddr.String())
}

func (c *conn) serve() {
	defer func() {
		c.release()
		c.r.Release()
	}()
	c.capabilities()
	c.ok("", "", "ManageSieve ready")
	for !c.closing {
		line, err := c.lc.ReadCommand(c.r, len(c.out), maxPendingResponses, c.flush, c.readLine)
		if err != nil {
			c.readFailed(err)
			continue
		}
		c.dispatch(line)
	}
	c.flush()
}

func (c *conn) readLine() ([]byte, error) {
	line, _, err := c.r.ReadLine(c.lim.line)
	if errors.Is(err, wire.ErrLineTooLong) {
		return nil, fatalError("Line too long")
	}
	return line, err
}

// release closes the store, recovering a panic in Close.
func (c *conn) release() {
	if c.store == nil {
		return
	}
	st := c.store
	c.store = nil
	defer func() {
		if r := recover(); r != nil {
			c.log().Error("managesieve: panic in Store.Close", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if err := st.Close(); err != nil {
		c.log().Warn("managesieve: Store.Close", "err", err)
	}
}

// readFailed handles an error reading a command; every one ends the
// connection.
func (c *conn) readFailed(err error) {
	var fe fatalError
	switch {
	case errors.As(err, &fe):
		c.bye("", string(fe))
	case errors.Is(err, lifecycle.ErrShuttingDown) || c.lc.ShuttingDown() && isTimeout(err):
		c.bye(CodeTryLater, "Server shutting down")
	case isTimeout(err):
		c.bye("", "Disconnected for inactivity")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
	default:
		c.log().Debug("managesieve: read failed", "err", err)
	}
	c.closing = true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// flush writes the pending responses.
func (c *conn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.lc.Write(c.out)
	if cap(c.out) > 64<<10 {
		c.out = make([]byte, 0, 512)
	} else {
		c.out = c.out[:0]
	}
	if err != nil {
		c.closing = true
	}
	return err
}

func (c *conn) ok(code ResponseCode, codeArg, text string) {
	c.out = Response{Status: "OK", Code: code, CodeArg: codeArg, Text: text}.appendTo(c.out)
}

func (c *conn) no(code ResponseCode, text string) {
	c.out = Response{Status: "NO", Code: code, Text: text}.appendTo(c.out)
}

func (c *conn) bye(code ResponseCode, text string) {
	c.out = Response{Status: "BYE", Code: code, Text: text}.appendTo(c.out)
	c.closing = true
}

// fail answers a failed command; syntax errors and unknown commands count
// toward MaxErrors.
func (c *conn) fail(err error) {
	var fe fatalError
	if errors.As(err, &fe) {
		c.bye("", string(fe))
		return
	}
	code, text := c.errorResponse(err)
	if isSyntax(err) {
		// Only bad commands count: the failure of a well-formed one (a
		// missing script, a quota) is the client's business, not abuse.
		c.errCount++
		lim := orInt(c.srv.MaxErrors, DefaultMaxErrors)
		if c.store == nil && lim > maxErrorsBeforeLogin {
			lim = maxErrorsBeforeLogin
		}
		if lim > 0 && c.errCount >= lim {
			// The BYE answers the last one, as Dovecot does.
			c.bye("", "Too many errors")
			return
		}
	}
	c.no(code, text)
}

// errorResponse is the one place that maps an error to a NO response. An
// *Error is sent as given, sentinels and parse errors have fixed texts;
// anything else is logged and answered NO (TRYLATER) without its text.
func (c *conn) errorResponse(err error) (ResponseCode, string) {
	var (
		e  *Error
		se syntaxError
		tl tooLargeError
		ce checkError
	)
	switch {
	case errors.As(err, &ce):
		return "", ce.text
	case errors.As(err, &e):
		return e.Code, e.Message
	case errors.As(err, &se):
		return "", string(se)
	case errors.As(err, &tl):
		if tl.script {
			return CodeQuotaMaxSize, "Script too large"
		}
		return "", "String too long"
	case errors.Is(err, ErrNonexistent):
		return CodeNonexistent, "Script does not exist"
	case errors.Is(err, ErrAlreadyExists):
		return CodeAlreadyExists, "A script of that name already exists"
	case errors.Is(err, ErrActive):
		return CodeActive, "Cannot delete the active script"
	case errors.Is(err, ErrQuotaMaxScripts):
		return CodeQuotaMaxScripts, "Too many scripts"
	case errors.Is(err, ErrQuotaMaxSize):
		return CodeQuotaMaxSize, "Script too large"
	case errors.Is(err, ErrQuota):
		return CodeQuota, "Quota exceeded"
	case errors.Is(err, ErrInvalidName):
		return "", "Invalid script name"
	case errors.Is(err, ErrAuthFailed):
		return "", "Authentication failed"
	case errors.Is(err, ErrTryLater):
		return CodeTryLater, "Temporary failure, try again later"
	}
	c.log().Error("managesieve: backend error", "err", err)
	return CodeTryLater, "Internal error, try again later"
}

// checkError is a script the checker refused; its text goes on the wire.
type checkError struct{ text string }

func (e checkError) Error() string { return e.text }

// dispatch parses and runs one command, recovering a panic.
func (c *conn) dispatch(line []byte) {
	defer func() {
		if r := recover(); r != nil {
			c.log().Error("managesieve: panic while handling command", "panic", r, "stack", string(debug.Stack()))
			c.bye(CodeTryLater, "Internal error")
		}
	}()
	cmd, err := readCommand(c.r, line, c.lim)
	if err != nil {
		if isSyntax(err) {
			c.fail(err)
		} else {
			c.readFailed(err)
		}
		return
	}
	if err := c.run(&cmd); err != nil {
		c.fail(err)
	}
}

// isSyntax reports whether err is a parse error after which the
// connection is in sync.
func isSyntax(err error) bool {
	var se syntaxError
	var tl tooLargeError
	return errors.As(err, &se) || errors.As(err, &tl)
}

var (
	errSyntax   = syntaxError("Syntax error")
	errAuthNeed = syntaxError("Authenticate first")
	errUnknown  = syntaxError("Unknown command")
)

// run dispatches a command by name and state.
func (c *conn) run(cmd *Command) error {
	switch cmd.Name {
	case "CAPABILITY":
		return c.cmdCapability(cmd)
	case "LOGOUT":
		if len(cmd.Args) != 0 {
			return errSyntax
		}
		c.ok("", "", "Logout completed")
		c.closing = true
		return nil
	case "NOOP":
		return c.cmdNoop(cmd)
	}
	if c.store == nil {
		switch cmd.Name {
		case "AUTHENTICATE":
			return c.cmdAuthenticate(cmd)
		case "STARTTLS":
			return c.cmdStartTLS(cmd)
		case "HAVESPACE", "PUTSCRIPT", "CHECKSCRIPT", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT",
			"DELETESCRIPT", "RENAMESCRIPT", "UNAUTHENTICATE":
			return errAuthNeed
		}
		return errUnknown
	}
	switch cmd.Name {
	case "HAVESPACE":
		return c.cmdHaveSpace(cmd)
	case "PUTSCRIPT":
		return c.cmdPutScript(cmd)
	case "CHECKSCRIPT":
		return c.cmdCheckScript(cmd)
	case "LISTSCRIPTS":
		return c.cmdListScripts(cmd)
	case "SETACTIVE":
		return c.cmdSetActive(cmd)
	case "GETSCRIPT":
		return c.cmdGetScript(cmd)
	case "DELETESCRIPT":
		return c.cmdDeleteScript(cmd)
	case "RENAMESCRIPT":
		return c.cmdRenameScript(cmd)
	case "UNAUTHENTICATE":
		return c.cmdUnauthenticate(cmd)
	case "AUTHENTICATE":
		return syntaxError("Already authenticated")
	case "STARTTLS":
		return syntaxError("STARTTLS not available after login")
	}
	return errUnknown
}
