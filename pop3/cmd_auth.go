package pop3

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/sasl"
)

// secure reports whether secrets may travel on this connection: over TLS,
// or where Server.Auth.AllowInsecure says so.
func (c *conn) secure() bool { return c.info.TLS != nil || c.allowInsecure() }

func (c *conn) allowInsecure() bool { return c.srv.Auth != nil && c.srv.Auth.AllowInsecure }

// needTLS is the refusal of a password login without TLS: [SYS/PERM],
// since retrying the same way cannot work (RFC 3206 section 4).
func (c *conn) needTLS() error {
	if c.srv.TLSConfig == nil {
		return &Error{Code: CodeSysPerm, Message: "Plaintext authentication disallowed without TLS"}
	}
	return &Error{Code: CodeSysPerm, Message: "Plaintext authentication disallowed without TLS; use STLS"}
}

// cmdCapa answers CAPA (RFC 2449 section 5).
func (c *conn) cmdCapa(args []string) error {
	if len(args) != 0 {
		return errSyntax
	}
	c.ok("Capability list follows")
	c.line("TOP")
	c.line("UIDL")
	c.line("RESP-CODES")
	c.line("AUTH-RESP-CODE")
	c.line("PIPELINING")
	if c.state == stateAuthorization {
		if c.secure() {
			c.line("USER")
		}
		if mechs := c.mechanisms(); len(mechs) > 0 {
			c.line("SASL " + strings.Join(mechs, " "))
		}
		if c.srv.TLSConfig != nil && c.info.TLS == nil {
			c.line("STLS")
		}
	}
	if c.srv.LoginDelay > 0 {
		c.line("LOGIN-DELAY " + strconv.FormatInt(int64(c.srv.LoginDelay/time.Second), 10))
	}
	if c.srv.Expire != "" {
		c.line("EXPIRE " + c.srv.Expire)
	}
	if c.srv.Implementation != "" {
		c.line("IMPLEMENTATION " + c.srv.Implementation)
	}
	c.end()
	return nil
}

// authenticator returns Server.Auth, or one that offers nothing.
func (c *conn) authenticator() *sasl.Authenticator {
	if c.srv.Auth != nil {
		return c.srv.Auth
	}
	return &sasl.Authenticator{}
}

func (c *conn) mechanisms() []string { return c.authenticator().Mechanisms(c.info.TLS) }

// cmdUser handles USER (RFC 1939 section 7).
func (c *conn) cmdUser(args []string) error {
	if !c.secure() {
		return c.needTLS()
	}
	if len(args) != 1 {
		return errSyntax
	}
	c.user = args[0]
	c.ok("Send PASS")
	return nil
}

// cmdPass handles PASS.
func (c *conn) cmdPass(args []string) error {
	if !c.secure() {
		return c.needTLS()
	}
	user := c.user
	c.user = ""
	if user == "" {
		return &Error{Message: "Send USER first"}
	}
	if len(args) != 1 {
		return errSyntax
	}
	a := c.srv.Auth
	if a == nil || a.Password == nil {
		return c.login("", "USER", ErrAuthFailed)
	}
	id, err := a.Password(c.ctx, "", user, args[0])
	return c.login(id, "USER", err)
}

// cmdAPOP handles APOP (RFC 1939 section 7).
func (c *conn) cmdAPOP(args []string) error {
	ab, ok := c.srv.Backend.(APOPBackend)
	if !ok || c.timestamp == "" {
		return &Error{Message: "APOP not available"}
	}
	c.user = ""
	if len(args) != 2 || len(args[1]) != 32 {
		return errSyntax
	}
	digest, err := hex.DecodeString(strings.ToLower(args[1]))
	if err != nil {
		return errSyntax
	}
	secret, id, err := ab.SharedSecret(c.ctx, &c.info, args[0])
	if err == nil {
		want := md5.Sum([]byte(c.timestamp + secret))
		if subtle.ConstantTimeCompare(want[:], digest) != 1 {
			err = ErrAuthFailed
		}
	}
	return c.login(id, "APOP", err)
}

// login ends an authentication attempt: on success it opens the maildrop
// and enters TRANSACTION; on failure it waits LoginFailureDelay, answers
// and closes the connection after MaxLoginFailures.
func (c *conn) login(identity, mech string, err error) error {
	if err == nil {
		err = c.open(identity, mech)
		if err == nil {
			return nil
		}
	}
	if !errors.Is(err, ErrAuthFailed) {
		// Not a refusal of the credentials: IN-USE, LOGIN-DELAY, a store
		// that is down, a malformed exchange.
		return err
	}
	c.loginFails++
	if d := c.srv.loginDelay(); d > 0 {
		c.flush()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
		}
	}
	if lim := limit(c.srv.MaxLoginFailures, DefaultMaxLoginFailures); lim > 0 && c.loginFails >= lim {
		c.err(CodeAuth, "Authentication failed; too many failures, closing connection")
		c.closing = true
		return nil
	}
	return err
}

// open locks and lists the maildrop of identity and enters TRANSACTION.
func (c *conn) open(identity, mech string) error {
	if identity == "" {
		return ErrAuthFailed
	}
	mb, err := c.srv.Backend.Open(c.ctx, &c.info, identity)
	if err != nil {
		return err
	}
	if mb == nil {
		return errors.New("pop3: Backend.Open returned a nil Mailbox")
	}
	c.mbox = mb
	msgs, err := mb.List(c.ctx)
	if err == nil {
		err = checkList(msgs)
	}
	if err != nil {
		c.release()
		return err
	}
	c.msgs = msgs
	c.deleted = make([]bool, len(msgs))
	c.sizeLeft = 0
	for _, m := range msgs {
		c.sizeLeft += m.Size
	}
	c.info.Identity = identity
	c.info.Mechanism = mech
	c.state = stateTransaction
	c.ok("Logged in, " + plural(len(msgs), "message") + " (" + strconv.FormatInt(c.sizeLeft, 10) + " octets)")
	return nil
}

// checkList refuses a listing the protocol cannot carry.
func checkList(msgs []MessageInfo) error {
	for i, m := range msgs {
		if m.Size < 0 || !ValidUID(m.UID) {
			return errors.New("pop3: Mailbox.List: message " + strconv.Itoa(i+1) + " has a negative size or an invalid UID")
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// cmdSTLS handles STLS (RFC 2595 section 4).
func (c *conn) cmdSTLS(args []string) error {
	switch {
	case len(args) != 0:
		return errSyntax
	case c.srv.TLSConfig == nil:
		return &Error{Message: "STLS not available"}
	case c.info.TLS != nil:
		return &Error{Message: "Already using TLS"}
	}
	c.user = ""
	c.ok("Begin TLS negotiation")
	if err := c.flush(); err != nil {
		return nil
	}
	// Anything the client pipelined after STLS was sent in the clear and
	// must not be acted on (RFC 2595 section 4, the STARTTLS injection).
	c.r.Discard()
	if err := c.handshake(); err != nil {
		c.log().Info("pop3: TLS handshake after STLS failed", "err", err)
		c.closing = true
	}
	return nil
}

// cmdAuth handles AUTH (RFC 5034).
func (c *conn) cmdAuth(args []string) error {
	a := c.authenticator()
	if len(args) == 0 {
		// The mechanism list of RFC 1734, which clients still probe.
		c.ok("Mechanisms follow")
		for _, m := range a.Mechanisms(c.info.TLS) {
			c.line(m)
		}
		c.end()
		return nil
	}
	if len(args) > 2 {
		return errSyntax
	}
	c.user = ""
	mech := strings.ToUpper(args[0])
	server, err := a.NewServer(mech, c.info.TLS)
	if err != nil {
		if c.info.TLS == nil && !c.allowInsecure() {
			full := *a
			full.AllowInsecure = true
			if _, err2 := full.NewServer(mech, c.info.TLS); err2 == nil {
				return c.needTLS()
			}
		}
		return err
	}
	var resp []byte
	if len(args) == 2 {
		if resp, err = decodeSASL(args[1]); err != nil {
			return err
		}
	}
	for {
		chal, done, err := server.Next(c.ctx, resp)
		if err != nil {
			return c.login("", mech, err)
		}
		if done && len(chal) == 0 {
			break
		}
		// A challenge, or additional data with success that POP3 cannot
		// carry in its +OK, sent as one more challenge to be answered
		// with an empty line (RFC 5034 section 4).
		c.out = append(c.out, "+ "...)
		c.out = append(c.out, base64.StdEncoding.EncodeToString(chal)...)
		c.out = append(c.out, "\r\n"...)
		if c.flush() != nil {
			return nil
		}
		line, _, err := c.r.ReadLine(MaxAuthLineLength)
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				return &Error{Message: "Authentication line too long"}
			}
			c.readFailed(err)
			return nil
		}
		if string(line) == "*" {
			return &Error{Message: "Authentication cancelled"}
		}
		if resp, err = decodeSASL(string(line)); err != nil {
			return err
		}
		if done {
			if len(resp) != 0 {
				return errSyntax
			}
			break
		}
	}
	return c.login(server.Identity(), mech, nil)
}

// decodeSASL decodes a base64 response; "=" is the empty response.
func decodeSASL(s string) ([]byte, error) {
	if s == "=" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, &Error{Message: "Cannot decode base64 response"}
	}
	return b, nil
}

// cmdQuit handles QUIT: in TRANSACTION it enters UPDATE and commits the
// deletions (RFC 1939 section 6).
func (c *conn) cmdQuit(args []string) error {
	if len(args) != 0 {
		return errSyntax
	}
	c.closing = true
	if c.state != stateTransaction {
		c.ok("Bye")
		return nil
	}
	c.state = stateUpdate
	var del []int
	for i, d := range c.deleted {
		if d {
			del = append(del, i+1)
		}
	}
	if len(del) > 0 {
		if err := c.mbox.Commit(c.ctx, del); err != nil {
			code, text := c.errorResponse(err)
			if code == "" {
				code = CodeSysTemp
			}
			c.err(code, "Messages not removed: "+text)
			return nil
		}
	}
	c.ok("Bye, " + plural(len(del), "message") + " deleted")
	return nil
}
