package managesieve

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/sasl"
)

// capLine queues one capability line, name and optional value.
func (c *conn) capLine(name string, value ...string) {
	c.out = appendString(c.out, name)
	for _, v := range value {
		c.out = append(c.out, ' ')
		c.out = appendString(c.out, v)
	}
	c.out = append(c.out, "\r\n"...)
}

// capabilities queues the capability lines of RFC 5804 section 1.7, for
// the greeting, CAPABILITY and after STARTTLS.
func (c *conn) capabilities() {
	impl := c.srv.Implementation
	if impl == "" {
		impl = DefaultImplementation
	}
	c.capLine("IMPLEMENTATION", impl)
	c.capLine("SASL", strings.Join(c.authenticator().Mechanisms(c.info.TLS), " "))
	c.capLine("SIEVE", strings.Join(c.srv.Extensions, " "))
	if c.srv.TLSConfig != nil && c.info.TLS == nil {
		c.capLine("STARTTLS")
	}
	if c.srv.MaxRedirects > 0 {
		c.capLine("MAXREDIRECTS", strconv.Itoa(c.srv.MaxRedirects))
	}
	if len(c.srv.NotifyMethods) > 0 {
		c.capLine("NOTIFY", strings.Join(c.srv.NotifyMethods, " "))
	}
	if c.store != nil {
		c.capLine("OWNER", c.info.Identity)
	}
	c.capLine("UNAUTHENTICATE")
	c.capLine("VERSION", "1.0")
}

func (c *conn) cmdCapability(cmd *Command) error {
	if len(cmd.Args) != 0 {
		return errSyntax
	}
	c.capabilities()
	c.ok("", "", "Capability completed")
	return nil
}

// cmdNoop answers NOOP, echoing its argument as TAG (RFC 5804 section
// 2.13).
func (c *conn) cmdNoop(cmd *Command) error {
	switch {
	case len(cmd.Args) > 1:
		return errSyntax
	case len(cmd.Args) == 1:
		if cmd.Args[0].Atom {
			return errSyntax
		}
		c.ok(CodeTag, cmd.Args[0].String(), "Done")
	default:
		c.ok("", "", "Done")
	}
	return nil
}

// cmdStartTLS runs STARTTLS (RFC 5804 section 2.2): the capabilities are
// sent again over TLS.
func (c *conn) cmdStartTLS(cmd *Command) error {
	switch {
	case len(cmd.Args) != 0:
		return errSyntax
	case c.srv.TLSConfig == nil:
		return syntaxError("STARTTLS not available")
	case c.info.TLS != nil:
		return syntaxError("TLS already active")
	}
	c.ok("", "", "Begin TLS negotiation now")
	if c.flush() != nil {
		return nil
	}
	// Anything the client pipelined after STARTTLS was sent in the clear
	// and must not be taken as coming over TLS.
	c.r.Discard()
	if err := c.lc.StartTLS(c.ctx, c.srv.TLSConfig); err != nil {
		c.log().Info("managesieve: TLS handshake after STARTTLS failed", "err", err)
		c.closing = true
		return nil
	}
	c.info.TLS = c.lc.TLS()
	c.r.Reset(c.lc)
	c.capabilities()
	c.ok("", "", "TLS negotiation successful")
	return nil
}

// authenticator returns Server.Auth, or one that offers nothing.
func (c *conn) authenticator() *sasl.Authenticator {
	if c.srv.Auth != nil {
		return c.srv.Auth
	}
	return &sasl.Authenticator{}
}

// cmdAuthenticate runs AUTHENTICATE (RFC 5804 section 2.1): challenges go
// out as strings, responses come in as strings, "*" aborts.
func (c *conn) cmdAuthenticate(cmd *Command) error {
	if len(cmd.Args) < 1 || len(cmd.Args) > 2 {
		return errSyntax
	}
	for _, arg := range cmd.Args {
		if arg.Atom {
			// auth-type and the initial response are strings (RFC
			// 5804 section 4), and Dovecot refuses atoms too.
			return errSyntax
		}
	}
	a := c.authenticator()
	mech := strings.ToUpper(cmd.Args[0].String())
	server, err := a.NewServer(mech, c.info.TLS)
	if err != nil {
		if c.info.TLS == nil {
			full := *a
			full.AllowInsecure, full.RequireTLS = true, false
			if _, err2 := full.NewServer(mech, nil); err2 == nil {
				return &Error{Code: CodeEncryptNeeded, Message: "Mechanism not available without TLS; use STARTTLS"}
			}
		}
		return &Error{Message: "Unsupported authentication mechanism"}
	}
	var resp []byte
	if len(cmd.Args) == 2 {
		if resp, err = decodeSASL(cmd.Args[1].Value); err != nil {
			return err
		}
	}
	for {
		chal, done, err := server.Next(c.ctx, resp)
		if err != nil {
			return c.loginFailed(err)
		}
		if done {
			return c.login(server.Identity(), mech, chal)
		}
		c.out = appendString(c.out, base64.StdEncoding.EncodeToString(chal))
		c.out = append(c.out, "\r\n"...)
		if c.flush() != nil {
			return nil
		}
		if resp, err = c.readSASL(); err != nil {
			if errors.Is(err, errAborted) {
				return nil
			}
			return err
		}
	}
}

// readSASL reads one client response of an exchange: a string holding
// base64, or "*" to abort.
func (c *conn) readSASL() ([]byte, error) {
	line, _, err := c.r.ReadLine(c.lim.line)
	if err != nil {
		if errors.Is(err, ErrLineTooLong) {
			return nil, fatalError("Line too long")
		}
		c.readFailed(err)
		return nil, errAborted
	}
	l := &lexer{r: c.r, line: line, maxLine: c.lim.line, discard: c.lim.discard, sync: true,
		limit: func(int) (int64, bool) { return c.lim.str, false }}
	fail := func(err error) ([]byte, error) {
		if isSyntax(err) {
			l.pos = len(l.line)
			if err2 := l.skipRest(); err2 != nil {
				return nil, err2
			}
			return nil, &Error{Message: "Invalid SASL response"}
		}
		return nil, err
	}
	if l.atEnd() {
		return fail(errSyntax)
	}
	t, err := l.next()
	if err != nil {
		return fail(err)
	}
	if !l.atEnd() || t.kind != tokString {
		return fail(errSyntax)
	}
	if string(t.val) == "*" {
		return nil, &Error{Message: "Authentication aborted"}
	}
	return decodeSASL(t.val)
}

// errAborted ends an exchange whose connection is gone; readFailed has
// already answered.
var errAborted = errors.New("managesieve: connection lost during AUTHENTICATE")

// decodeSASL decodes a base64 response; "" and "=" are the empty one.
func decodeSASL(b []byte) ([]byte, error) {
	if len(b) == 0 || string(b) == "=" {
		return []byte{}, nil
	}
	out, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return nil, &Error{Message: "Invalid base64 in SASL response"}
	}
	return out, nil
}

// login ends a successful exchange: it opens the user's store.
func (c *conn) login(identity, mech string, extra []byte) error {
	if identity == "" {
		return c.loginFailed(ErrAuthFailed)
	}
	st, err := c.srv.Backend.Open(c.ctx, &c.info, identity)
	if err != nil {
		return err
	}
	if st == nil {
		return errors.New("managesieve: Backend.Open returned a nil Store")
	}
	c.store = st
	c.info.Identity, c.info.Mechanism = identity, mech
	c.log().Info("managesieve: login", "user", identity, "mechanism", mech)
	if extra != nil {
		c.ok(CodeSASL, base64.StdEncoding.EncodeToString(extra), "Logged in")
	} else {
		c.ok("", "", "Logged in")
	}
	return nil
}

// loginFailed answers a failed exchange: refused credentials wait
// LoginFailureDelay and count toward MaxLoginFailures.
func (c *conn) loginFailed(err error) error {
	if errors.Is(err, errAborted) {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if !errors.Is(err, ErrAuthFailed) && !errors.Is(err, sasl.ErrMalformed) && !errors.Is(err, sasl.ErrUnexpected) {
		c.log().Error("managesieve: credential check failed", "err", err)
		return &Error{Code: CodeTryLater, Message: "Authentication temporarily unavailable"}
	}
	c.loginFails++
	c.log().Info("managesieve: login failed")
	if d := c.srv.loginDelay(); d > 0 {
		c.flush()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
		}
	}
	if lim := orInt(c.srv.MaxLoginFailures, DefaultMaxLoginFailures); lim > 0 && c.loginFails >= lim {
		c.bye("", "Too many failed logins")
		return nil
	}
	return &Error{Message: "Authentication failed"}
}

// cmdUnauthenticate returns to the non-authenticated state (RFC 5804
// section 2.14), keeping TLS.
func (c *conn) cmdUnauthenticate(cmd *Command) error {
	if len(cmd.Args) != 0 {
		return errSyntax
	}
	c.release()
	c.info.Identity, c.info.Mechanism = "", ""
	c.ok("", "", "Unauthenticated")
	return nil
}
