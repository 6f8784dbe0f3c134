package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldmail/herald/internal/lifecycle"
)

// connState is the protocol state of RFC 9051 section 3.
type connState uint8

const (
	stateNotAuth connState = iota
	stateAuth
	stateSelected
	stateLogout
)

// conn is one client connection. Everything but the idle flag and the
// transport's deadlines is touched only by the goroutine that holds wmu:
// the connection's, or NOTIFY's while the connection waits (notify.go).
type conn struct {
	srv *Server
	lc  *lifecycle.Conn
	nc  net.Conn // the current transport, TLS after STARTTLS
	br  *bufio.Reader
	bw  *bufio.Writer
	dec *decoder
	ctx context.Context
	lim limits

	info  ConnInfo
	state connState
	user  User
	sel   *selected
	rev2  bool      // IMAP4rev2 enabled
	utf8  bool      // UTF8=ACCEPT enabled (or IMAP4rev2, for quoted UTF-8)
	cond  condState // CONDSTORE and QRESYNC (condstore.go)

	idle *atomic.Bool    // waiting for a command with nothing buffered
	shut <-chan struct{} // closed by Shutdown

	// wmu is held by the connection's goroutine except while it waits
	// for a command or idles, when NOTIFY's goroutine may write
	// (notify.go).
	wmu    sync.Mutex
	ntf    *notifier // NOTIFY SET, nil without
	idling bool      // in IDLE with wmu released, where expunges may be sent

	authFails  int
	errCount   int
	okCode     string    // response code for the tagged OK of this command
	bye        bool      // end the connection after this command
	scratch    []byte    // a FETCH response being built, reused
	searchNow  time.Time // when the SEARCH started, for OLDER and YOUNGER
	compressed bool      // COMPRESS=DEFLATE is on
}

func newConn(s *Server, lc *lifecycle.Conn) *conn {
	c := &conn{srv: s, lc: lc, lim: s.limits(), idle: &lc.Idle, shut: lc.Done()}
	c.info.RemoteAddr = lc.RemoteAddr()
	c.info.ProxyAddr = lc.ProxyAddr()
	c.info.LocalAddr = lc.LocalAddr()
	c.info.TLS = lc.TLS()
	c.setTransport()
	return c
}

// handle runs the dialogue of one connection for the lifecycle.
func (s *Server) handle(ctx context.Context, lc *lifecycle.Conn) {
	newConn(s, lc).serve(ctx)
}

// deadlineConn gives every write a fresh deadline.
type deadlineWriter struct{ c *conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.nc.SetWriteDeadline(time.Now().Add(orDur(w.c.srv.WriteTimeout, DefaultWriteTimeout)))
	return w.c.nc.Write(p)
}

func (c *conn) setTransport() {
	c.nc = c.lc.NetConn()
	c.br = bufio.NewReaderSize(c.nc, 4096)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, 16<<10)
	c.dec = newDecoder(c.br, c.lim, c.continuation)
	c.dec.saved = c.savedSet
}

func (c *conn) shuttingDown() bool { return c.lc.ShuttingDown() }

func (c *conn) continuation(size int64) error {
	c.writeString("+ Ready for literal data\r\n")
	return c.bw.Flush()
}

func (c *conn) write(b []byte)       { c.bw.Write(b) }
func (c *conn) writeString(s string) { c.bw.WriteString(s) }

// untagged writes "* " + s + CRLF.
func (c *conn) untagged(s string) {
	c.bw.WriteString("* ")
	c.bw.WriteString(s)
	c.bw.WriteString("\r\n")
}

func (c *conn) timeout() time.Duration {
	if c.state == stateNotAuth {
		return orDur(c.srv.PreAuthTimeout, DefaultPreAuthTimeout)
	}
	return orDur(c.srv.Autologout, DefaultAutologout)
}

func (c *conn) serve(ctx context.Context) {
	c.ctx = ctx
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer c.close()
	c.writeString("* OK [CAPABILITY " + c.capabilities() + "] " + c.greeting() + "\r\n")
	if c.bw.Flush() != nil {
		return
	}
	for !c.bye {
		if err := c.readAndRun(); err != nil {
			if c.shuttingDown() {
				c.untagged("BYE Server shutting down")
				c.bw.Flush()
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.untagged("BYE Autologout; idle for too long")
				c.bw.Flush()
				return
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.srv.logger().Debug("imap: connection ended", "remote", c.info.RemoteAddr, "err", err)
			}
			return
		}
		if c.bw.Flush() != nil {
			return
		}
		if c.shuttingDown() && !c.bye {
			c.untagged("BYE Server shutting down")
			c.bw.Flush()
			return
		}
	}
}

func (c *conn) greeting() string {
	if c.srv.Greeting != "" {
		return c.srv.Greeting
	}
	return "Herald IMAP ready"
}

func (c *conn) close() {
	ctx := context.WithoutCancel(c.ctx)
	c.notifyOff()
	if c.sel != nil {
		c.sel.mb.Close(ctx)
		c.sel = nil
	}
	if c.user != nil {
		c.user.Logout(ctx)
		c.user = nil
	}
}

// handshake runs the server side of TLS on the current transport.
func (c *conn) handshake() error {
	if err := c.lc.StartTLS(c.ctx, c.srv.TLSConfig); err != nil {
		return err
	}
	c.info.TLS = c.lc.TLS()
	c.setTransport()
	return nil
}

// readAndRun reads one command and runs it. It returns an error only when
// the connection must end.
func (c *conn) readAndRun() error {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	if c.br.Buffered() == 0 {
		c.idle.Store(true)
		if c.shuttingDown() {
			c.idle.Store(false)
			return errShutdownConn
		}
		c.wmu.Unlock()
		_, err := c.br.Peek(1)
		c.wmu.Lock()
		c.idle.Store(false)
		if err != nil {
			return err
		}
	}
	c.dec.reset()
	cmd, err := c.dec.readCommand()
	if err != nil {
		return c.parseFailed(cmd, err)
	}
	c.okCode = ""
	err = c.run(cmd)
	if cmd.literal != nil {
		if ferr := c.dec.finishAppend(cmd); ferr != nil {
			var se *SyntaxError
			if !errors.As(ferr, &se) {
				return ferr
			}
			if err == nil {
				err = ferr
			}
			if serr := c.dec.skipLine(); serr != nil {
				return serr
			}
		}
	}
	if err != errReplied {
		c.reply(cmd, err)
	}
	return nil
}

var errShutdownConn = errors.New("imap: shutting down")

// parseFailed answers a command that could not be parsed.
func (c *conn) parseFailed(cmd *command, err error) error {
	var se *SyntaxError
	var ie *Error
	if !errors.As(err, &se) && !errors.As(err, &ie) {
		return err // I/O error
	}
	if c.dec.fatal {
		c.untagged("BYE [TOOBIG] Literal too big")
		c.bye = true
		return nil
	}
	if err := c.dec.skipLine(); err != nil {
		var se2 *SyntaxError
		if errors.As(err, &se2) && c.dec.fatal {
			c.untagged("BYE [TOOBIG] Literal too big")
			c.bye = true
			return nil
		}
		return err
	}
	if cmd == nil || cmd.tag == "" {
		c.untagged("BAD Invalid tag")
		return c.countError()
	}
	c.reply(cmd, err)
	return nil
}

func (c *conn) countError() error {
	c.errCount++
	if lim := c.srv.maxErrors(); lim > 0 && c.errCount >= lim {
		c.untagged("BYE Too many errors")
		c.bye = true
	}
	return nil
}

// reply sends the tagged response for err, the one place where errors
// become status responses.
func (c *conn) reply(cmd *command, err error) {
	name := cmd.name
	if cmd.uid {
		name = "UID " + name
	}
	if name == "" {
		name = "Command"
	}
	if err != nil {
		c.saveFailed(cmd)
	}
	if err == nil {
		if c.okCode != "" {
			c.writeString(cmd.tag + " OK [" + c.okCode + "] " + name + " completed\r\n")
		} else {
			c.writeString(cmd.tag + " OK " + name + " completed\r\n")
		}
		return
	}
	tryCreate := name == "APPEND" || strings.HasSuffix(name, "COPY") || strings.HasSuffix(name, "MOVE")
	st, known := statusFor(err, tryCreate)
	if !known {
		c.srv.logger().Error("imap: command failed", "command", name, "remote", c.info.RemoteAddr, "err", err)
	}
	if st.Type == StatusBye {
		c.untagged("BYE " + st.Text)
		c.bye = true
		return
	}
	if st.Type == "" {
		st.Type = StatusNo
	}
	line := cmd.tag + " " + string(st.Type) + " "
	if st.Code != "" {
		line += "[" + string(st.Code) + "] "
	}
	text := st.Text
	if text == "" {
		text = name + " failed"
	}
	c.writeString(line + sanitize(text) + "\r\n")
	if st.Type == StatusBad {
		c.countError()
	}
}

// sanitize keeps response text on one line.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// run checks the state and runs a command, answering backend panics.
func (c *conn) run(cmd *command) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.srv.logger().Error("imap: panic in command", "command", cmd.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = &Error{Type: StatusNo, Code: CodeServerBug, Text: "Internal server error"}
		}
	}()
	allowed, ok := commandStates[cmd.name]
	if !ok {
		return &Error{Type: StatusBad, Text: "Unknown command"}
	}
	if allowed&(1<<c.state) == 0 {
		return &Error{Type: StatusBad, Text: "Command not allowed in this state"}
	}
	err = c.dispatch(cmd)
	if c.state == stateSelected && c.sel != nil && !c.bye {
		expungeOK := cmd.uid || (cmd.name != "FETCH" && cmd.name != "STORE" && cmd.name != "SEARCH" &&
			cmd.name != "SORT" && cmd.name != "THREAD")
		before := c.modSeqBefore()
		if serr := c.sync(expungeOK); serr != nil && err == nil {
			err = serr
		}
		if err == nil {
			c.afterSync(cmd, before)
		}
	}
	if c.ntf != nil && !c.bye {
		c.notifyAfterCommand()
	}
	return err
}

const (
	inNotAuth  = 1 << stateNotAuth
	inAuth     = 1 << stateAuth
	inSelected = 1 << stateSelected
	inAny      = inNotAuth | inAuth | inSelected
	inLoggedIn = inAuth | inSelected
)

var commandStates = map[string]uint8{
	"CAPABILITY": inAny, "NOOP": inAny, "LOGOUT": inAny, "ID": inAny,
	"STARTTLS": inNotAuth, "AUTHENTICATE": inNotAuth, "LOGIN": inNotAuth,
	"ENABLE": inLoggedIn, "SELECT": inLoggedIn, "EXAMINE": inLoggedIn, "CREATE": inLoggedIn,
	"DELETE": inLoggedIn, "RENAME": inLoggedIn, "SUBSCRIBE": inLoggedIn, "UNSUBSCRIBE": inLoggedIn,
	"LIST": inLoggedIn, "LSUB": inLoggedIn, "NAMESPACE": inLoggedIn, "STATUS": inLoggedIn,
	"APPEND": inLoggedIn, "IDLE": inLoggedIn, "NOTIFY": inLoggedIn,
	"CHECK": inSelected, "CLOSE": inSelected, "UNSELECT": inSelected, "EXPUNGE": inSelected,
	"COMPRESS": inLoggedIn, "GETQUOTA": inLoggedIn, "GETQUOTAROOT": inLoggedIn, "SETQUOTA": inLoggedIn,
	"SEARCH": inSelected, "SORT": inSelected, "CANCELUPDATE": inSelected, "THREAD": inSelected, "FETCH": inSelected, "STORE": inSelected, "COPY": inSelected, "MOVE": inSelected,
}

func (c *conn) dispatch(cmd *command) error {
	switch cmd.name {
	case "CAPABILITY":
		c.untagged("CAPABILITY " + c.capabilities())
		return nil
	case "NOOP", "CHECK":
		return nil
	case "ID":
		c.untagged(c.idResponse())
		return nil
	case "LOGOUT":
		c.untagged("BYE Logging out")
		c.state = stateLogout
		c.bye = true
		return nil
	case "STARTTLS":
		return c.cmdStartTLS(cmd)
	case "LOGIN":
		return c.cmdLogin(cmd)
	case "AUTHENTICATE":
		return c.cmdAuthenticate(cmd)
	case "ENABLE":
		return c.cmdEnable(cmd)
	case "SELECT", "EXAMINE":
		return c.cmdSelect(cmd)
	case "CREATE":
		return c.cmdCreate(cmd)
	case "DELETE":
		return c.cmdDelete(cmd)
	case "RENAME":
		return c.cmdRename(cmd)
	case "SUBSCRIBE", "UNSUBSCRIBE":
		return c.cmdSubscribe(cmd)
	case "LIST", "LSUB":
		return c.cmdList(cmd)
	case "NAMESPACE":
		c.untagged(`NAMESPACE (("" "/")) NIL NIL`)
		return nil
	case "STATUS":
		return c.cmdStatus(cmd)
	case "APPEND":
		return c.cmdAppend(cmd)
	case "IDLE":
		return c.cmdIdle(cmd)
	case "NOTIFY":
		return c.cmdNotify(cmd)
	case "CLOSE", "UNSELECT":
		return c.cmdClose(cmd)
	case "EXPUNGE":
		return c.cmdExpunge(cmd)
	case "SEARCH":
		return c.cmdSearch(cmd)
	case "COMPRESS":
		return c.cmdCompress(cmd)
	case "GETQUOTA", "GETQUOTAROOT", "SETQUOTA":
		return c.cmdQuota(cmd)
	case "SORT":
		return c.cmdSort(cmd)
	case "CANCELUPDATE":
		return c.cmdCancelUpdate(cmd)
	case "THREAD":
		return c.cmdThread(cmd)
	case "FETCH":
		return c.cmdFetch(cmd)
	case "STORE":
		return c.cmdStore(cmd)
	case "COPY", "MOVE":
		return c.cmdCopy(cmd)
	}
	return &Error{Type: StatusBad, Text: "Unknown command"}
}

// capabilities lists what the connection is offered now.
func (c *conn) capabilities() string {
	caps := []string{"IMAP4rev2", "IMAP4rev1"}
	tlsOn := c.info.TLS != nil
	if c.state == stateNotAuth {
		if c.srv.TLSConfig != nil && !tlsOn {
			caps = append(caps, "STARTTLS")
		}
		if !c.loginAllowed() {
			caps = append(caps, "LOGINDISABLED")
		}
		if c.srv.Auth != nil {
			for _, m := range c.srv.Auth.Mechanisms(c.info.TLS) {
				caps = append(caps, "AUTH="+m)
			}
		}
		caps = append(caps, "SASL-IR")
	}
	lit := "LITERAL+"
	if c.srv.LiteralMinus {
		lit = "LITERAL-"
	}
	caps = append(caps, "ID", lit, "ENABLE", "WITHIN", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE",
		"SPECIAL-USE", "CREATE-SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "ESEARCH",
		"STATUS=SIZE", "BINARY", "UTF8=ACCEPT", "CHILDREN", "CONDSTORE", "QRESYNC",
		"APPENDLIMIT="+strconv.FormatInt(c.lim.literal, 10))
	caps = append(caps, c.extCapabilities()...)
	return strings.Join(caps, " ")
}

// idResponse is the answer to ID (RFC 2971): Server.ID in the order of
// its fields' names, NIL for an empty map.
func (c *conn) idResponse() string {
	id := c.srv.ID
	if id == nil {
		id = map[string]string{"name": "Herald"}
	}
	if len(id) == 0 {
		return "ID NIL"
	}
	keys := make([]string, 0, len(id))
	for k := range id {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := []byte("ID (")
	for i, k := range keys {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendString(b, k, false)
		b = append(b, ' ')
		b = appendNString(b, id[k], false)
	}
	return string(append(b, ')'))
}

// loginAllowed reports whether LOGIN and plain-text mechanisms may be used.
func (c *conn) loginAllowed() bool {
	return c.srv.Auth != nil && c.srv.Auth.Password != nil && (c.info.TLS != nil || c.srv.Auth.AllowInsecure)
}
