package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"syscall"

	"github.com/heraldmail/herald/internal/lifecycle"
	"github.com/heraldmail/herald/internal/wire"
	"github.com/heraldmail/herald/sasl"
)

// conn is the state of one connection, touched only by the connection's
// goroutine.
type conn struct {
	srv  *Server
	lc   *lifecycle.Conn // the transport, its deadlines and idle flag
	r    *wire.Reader
	out  []byte // replies not yet written
	info ConnInfo
	sess Session
	ctx  context.Context

	closing  bool // end the connection after flushing
	errCount int
	pending  string // command line read while collecting BDAT chunks

	helo     bool
	mail     bool
	from     Path
	mailOpts MailOptions
	rcpts    []Path
	bdatUsed bool

	peer netip.Addr // the client as known before any XCLIENT
}

// maxPendingReplies is how many bytes of replies may wait for the input
// buffer to empty before they are written anyway (RFC 2920 section 3.1
// lets the server flush at any time).
const maxPendingReplies = 4096

// errShutdown ends the command loop when the server shuts down.
var errShutdown = lifecycle.ErrShuttingDown

func newConn(s *Server, lc *lifecycle.Conn) *conn {
	c := &conn{srv: s, lc: lc, out: make([]byte, 0, 256), r: wire.NewReader(lc, &s.bufPool)}
	lc.SetTimeouts(orDefault(s.CommandTimeout, DefaultCommandTimeout), orDefault(s.WriteTimeout, DefaultWriteTimeout))
	c.info.RemoteAddr, c.info.LocalAddr, c.info.ProxyAddr, c.info.TLS = lc.Peer()
	c.info.LMTP = s.LMTP
	c.peer = c.info.RemoteAddr.Addr()
	return c
}

// log is the connection's logger; after XCLIENT it names the client
// XCLIENT gave.
func (c *conn) log() *slog.Logger {
	if c.info.RemoteAddr == c.lc.RemoteAddrPort() {
		return c.lc.Logger()
	}
	return c.srv.logger().With("remote", c.info.RemoteAddr.String())
}

func (c *conn) serve(ctx context.Context) {
	c.ctx = ctx
	defer func() {
		if c.sess != nil {
			c.safeClose()
		}
		c.r.Release()
	}()
	if !c.start() {
		c.flush()
		return
	}
	c.loop()
}

// safeClose calls Session.Close and logs a panic instead of crashing.
func (c *conn) safeClose() {
	defer func() {
		if r := recover(); r != nil {
			c.log().Error("smtp: panic in Session.Close", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if err := c.sess.Close(); err != nil {
		c.log().Debug("smtp: Session.Close", "err", err)
	}
}

// start creates the session and sends the greeting; false means the
// connection was refused.
func (c *conn) start() (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log().Error("smtp: panic in Backend.NewSession", "panic", r, "stack", string(debug.Stack()))
			c.reply(CodeServiceUnavailable, 0, c.srv.hostname()+" Service not available")
			ok = false
		}
	}()
	sess, err := c.srv.Backend.NewSession(c.ctx, &c.info)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			c.replyErr(e.Code, 0, e.Message)
		} else {
			c.log().Error("smtp: NewSession", "err", err)
			c.reply(CodeServiceUnavailable, 0, c.srv.hostname()+" Service not available")
		}
		return false
	}
	if sess == nil {
		c.log().Error("smtp: NewSession returned a nil Session")
		c.reply(CodeServiceUnavailable, 0, c.srv.hostname()+" Service not available")
		return false
	}
	c.sess = sess
	proto := "ESMTP"
	if c.srv.LMTP {
		proto = "LMTP"
	}
	c.reply(CodeServiceReady, 0, c.srv.hostname()+" "+proto+" Service ready")
	return true
}

func (c *conn) loop() {
	for !c.closing {
		var line string
		if c.pending != "" {
			line, c.pending = c.pending, ""
		} else {
			b, err := c.readCommand()
			if err != nil {
				c.readFailed(err)
				continue
			}
			line = string(b)
		}
		c.dispatch(line)
	}
	c.flush()
}

// readCommand returns the next command line: see
// lifecycle.Conn.ReadCommand for when replies are flushed.
func (c *conn) readCommand() ([]byte, error) {
	return c.lc.ReadCommand(c.r, len(c.out), maxPendingReplies, c.flush, c.readLine)
}

// readLine reads a command line within the limits: MaxLineLength, or
// MaxAuthLineLength for AUTH.
func (c *conn) readLine() ([]byte, error) {
	c.lc.ReadTimeout = orDefault(c.srv.CommandTimeout, DefaultCommandTimeout)
	limit := max(c.srv.maxLine(), MaxAuthLineLength)
	line, _, err := c.r.ReadLine(limit)
	if err != nil {
		return nil, err
	}
	if len(line) > c.srv.maxLine() {
		if cmd, err := ParseCommand(string(line[:min(len(line), MaxVerbLength+1)])); err != nil || cmd.Verb != "AUTH" {
			return nil, ErrLineTooLong
		}
	}
	return line, nil
}

// readFailed handles an error from readCommand.
func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, ErrLineTooLong):
		c.fail(&Error{Code: CodeSyntaxError, Enhanced: EnhancedSyntaxError, Message: "Line too long"})
		return
	case errors.Is(err, errShutdown) || c.lc.ShuttingDown() && errors.As(err, &ne) && ne.Timeout():
		c.reply(CodeServiceUnavailable, EnhancedNotAccepting, c.srv.hostname()+" Service shutting down, closing connection")
	case errors.As(err, &ne) && ne.Timeout():
		c.reply(CodeServiceUnavailable, EnhancedConnectionTimeout, c.srv.hostname()+" Timeout, closing connection")
	}
	c.closing = true
}

// flush writes the pending replies.
func (c *conn) flush() error {
	var err error
	if c.out, err = c.lc.Flush(c.out); err != nil {
		c.closing = true
	}
	return err
}

// reply queues a reply. The enhanced code is dropped when the extension
// is disabled or the client has not said EHLO/LHLO (RFC 2034 section 3).
func (c *conn) reply(code ReplyCode, enh EnhancedCode, text string) {
	if !c.srv.enabled(ExtEnhancedStatusCodes) || !c.info.ESMTP {
		enh = 0
	}
	c.out = AppendReply(c.out, code, enh, text)
}

// replyErr queues an error reply, filling in the default enhanced code.
func (c *conn) replyErr(code ReplyCode, enh EnhancedCode, text string) {
	if enh == 0 && code.Class() >= 4 {
		enh = NewEnhancedCode(code.Class(), 0, 0)
	}
	if text == "" {
		text = defaultText(code)
	}
	c.reply(code, enh, text)
}

// fail sends the reply for err and counts it toward MaxErrors.
func (c *conn) fail(err error) {
	code, enh, text := c.errorReply(err)
	c.replyErr(code, enh, text)
	if errors.Is(err, ErrTooManyRecipients) {
		return
	}
	c.errCount++
	if lim := c.srv.maxErrors(); lim > 0 && c.errCount >= lim && !c.closing {
		c.reply(CodeServiceUnavailable, EnhancedTempSecurity, c.srv.hostname()+" Too many errors, closing connection")
		c.closing = true
	}
}

// errorReply is the one place that maps an error to a reply. An *Error is
// sent as given; category sentinels have fixed replies; anything else is
// logged and answered 451 4.3.0 without its text.
func (c *conn) errorReply(err error) (ReplyCode, EnhancedCode, string) {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code, e.Enhanced, e.Message
	case errors.Is(err, ErrMessageTooLarge):
		return CodeExceededStorage, EnhancedMessageTooBig, "Message too big for system"
	case errors.Is(err, ErrTooManyRecipients):
		return CodeInsufficientStorage, EnhancedTooManyRecipients, "Too many recipients"
	case errors.Is(err, ErrLineTooLong):
		return CodeSyntaxError, EnhancedSyntaxError, "Line too long"
	case errors.Is(err, ErrBareLineEnding):
		return CodeNoMailHere, EnhancedSyntaxError, "Bare CR or LF in message data not allowed"
	case errors.Is(err, sasl.ErrAuthFailed):
		return CodeAuthInvalid, EnhancedAuthInvalid, "Authentication credentials invalid"
	case errors.Is(err, sasl.ErrMalformed), errors.Is(err, sasl.ErrUnexpected):
		return CodeParamSyntaxError, EnhancedSyntaxError, "Malformed authentication response"
	case errors.Is(err, sasl.ErrUnsupportedMechanism):
		return CodeParamNotImplemented, EnhancedInvalidArguments, "Unrecognized authentication type"
	}
	// Storage errors a backend passes up, whatever store it uses: the
	// client learns whether retrying can help.
	if se := StorageError(err); se != nil {
		c.log().Warn("smtp: session storage error", "err", err)
		return se.Code, se.Enhanced, se.Message
	}
	c.log().Error("smtp: session error", "err", err)
	return CodeLocalError, EnhancedMailSystemTemp, "Requested action aborted: local error in processing"
}

// StorageError returns the reply the server sends when a Session method
// fails with the system error of a store that cannot take a message, nil
// for any other error: a quota (EDQUOT, which maildir.ErrQuotaExceeded
// matches) is 452 4.2.2, a file size limit (EFBIG, maildir.ErrTooLarge)
// 552 5.3.4 and a full disk (ENOSPC) 452 4.3.1. Code that delivers outside
// a session, such as a queue's local transport, uses it to reply the same.
func StorageError(err error) *Error {
	switch {
	case errors.Is(err, syscall.EDQUOT):
		return &Error{Code: CodeInsufficientStorage, Enhanced: EnhancedMailboxFullTemp, Message: "Mailbox full"}
	case errors.Is(err, syscall.EFBIG):
		return &Error{Code: CodeExceededStorage, Enhanced: EnhancedMessageTooBig, Message: "Message too big for the mailbox"}
	case errors.Is(err, syscall.ENOSPC):
		return &Error{Code: CodeInsufficientStorage, Enhanced: EnhancedSystemFull, Message: "Insufficient system storage"}
	}
	return nil
}

// dispatch runs one command, recovering a panic with 421.
func (c *conn) dispatch(line string) {
	defer func() {
		if r := recover(); r != nil {
			c.log().Error("smtp: panic while handling command", "panic", r, "stack", string(debug.Stack()))
			c.reply(CodeServiceUnavailable, EnhancedMailSystemTemp, c.srv.hostname()+" Internal error, closing connection")
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

func (c *conn) handle(cmd Command) error {
	switch cmd.Verb {
	case "HELO", "EHLO", "LHLO":
		return c.cmdHello(cmd.Verb, cmd.Arg)
	case "MAIL":
		return c.cmdMail(cmd.Arg)
	case "RCPT":
		return c.cmdRcpt(cmd.Arg)
	case "DATA":
		return c.cmdData(cmd.Arg)
	case "BDAT":
		return c.cmdBdat(cmd.Arg)
	case "RSET":
		return c.cmdRset(cmd.Arg)
	case "NOOP":
		c.reply(CodeOK, EnhancedOK, "OK")
		return nil
	case "QUIT":
		c.reply(CodeServiceClosing, EnhancedOK, c.srv.hostname()+" Service closing transmission channel")
		c.closing = true
		return nil
	case "VRFY":
		return c.cmdVrfy(cmd.Arg)
	case "EXPN":
		return &Error{Code: CodeNotImplemented, Enhanced: EnhancedInvalidCommand, Message: "EXPN not available"}
	case "HELP":
		c.reply(CodeHelp, EnhancedOK, "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP AUTH STARTTLS\nSee RFC 5321")
		return nil
	case "AUTH":
		return c.cmdAuth(cmd.Arg)
	case "STARTTLS":
		return c.cmdStartTLS(cmd.Arg)
	case "XCLIENT":
		return c.cmdXClient(cmd.Arg)
	}
	return &Error{Code: CodeSyntaxError, Enhanced: EnhancedInvalidCommand, Message: "Command unrecognized"}
}

// resetTx ends the current transaction; the session hears about it when
// one was open or always is true.
func (c *conn) resetTx(always bool) {
	if c.mail || always {
		c.sess.Reset(c.ctx)
	}
	c.mail = false
	c.from = Path{}
	c.mailOpts = MailOptions{}
	c.rcpts = c.rcpts[:0]
	c.bdatUsed = false
}

// handshake runs the server side of TLS on the current transport.
func (c *conn) handshake() error {
	if err := c.lc.StartTLS(c.ctx, c.srv.TLSConfig); err != nil {
		return err
	}
	c.info.TLS = c.lc.TLS()
	c.r.Reset(c.lc)
	return nil
}

func (c *conn) isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// ioFailed ends the connection after a read error in the middle of a
// command; a timeout gets 421 first.
func (c *conn) ioFailed(err error) {
	if errors.Is(err, errShutdown) || c.lc.ShuttingDown() && c.isTimeout(err) {
		c.reply(CodeServiceUnavailable, EnhancedNotAccepting, c.srv.hostname()+" Service shutting down, closing connection")
	} else if c.isTimeout(err) {
		c.reply(CodeServiceUnavailable, EnhancedConnectionTimeout, c.srv.hostname()+" Timeout, closing connection")
	}
	c.closing = true
}

// discard reads and drops n bytes of chunk data.
func (c *conn) discard(n int64) error {
	_, err := io.CopyN(io.Discard, c.r, n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func plural(n int64, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
