package imap

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/heraldmail/herald/internal/wire"
	"github.com/heraldmail/herald/sasl"
)

func (c *conn) cmdStartTLS(cmd *command) error {
	if c.srv.TLSConfig == nil || c.info.TLS != nil {
		return &Error{Type: StatusBad, Text: "STARTTLS not available"}
	}
	c.writeString(cmd.tag + " OK Begin TLS negotiation now\r\n")
	if err := c.bw.Flush(); err != nil {
		c.bye = true
		return errReplied
	}
	// Anything the client pipelined after STARTTLS was sent in the clear
	// and must not be taken as coming over TLS (RFC 9051 section 11.1).
	c.br.Discard(c.br.Buffered())
	if err := c.handshake(); err != nil {
		c.srv.logger().Info("imap: STARTTLS handshake failed", "remote", c.info.RemoteAddr, "err", err)
		c.bye = true
	}
	return errReplied
}

// errReplied means the handler sent the tagged response itself.
var errReplied = errors.New("imap: already replied")

func (c *conn) cmdLogin(cmd *command) error {
	if c.srv.Auth == nil || c.srv.Auth.Password == nil {
		return &Error{Type: StatusNo, Code: CodeCannot, Text: "LOGIN is not available"}
	}
	if !c.loginAllowed() {
		return &Error{Type: StatusNo, Code: CodePrivacyReq, Text: "LOGIN is disabled before TLS"}
	}
	id, err := c.srv.Auth.Password(c.ctx, "", cmd.user, cmd.pass)
	if err != nil {
		return c.authFailed(err)
	}
	if id == "" {
		id = cmd.user
	}
	return c.loggedIn(id)
}

// authFailed counts a failed login and maps its error.
func (c *conn) authFailed(err error) error {
	if errors.Is(err, sasl.ErrAuthFailed) || errors.Is(err, sasl.ErrMalformed) ||
		errors.Is(err, sasl.ErrUnexpected) || errors.Is(err, ErrAuthFailed) {
		c.authFails++
		if c.authFails >= orInt(c.srv.MaxAuthFailures, DefaultMaxAuthFailures) {
			c.bye = true
			c.writeString("* BYE Too many failed logins\r\n")
		}
		return &Error{Type: StatusNo, Code: CodeAuthFailed, Text: "Authentication failed"}
	}
	c.srv.logger().Error("imap: credential check failed", "remote", c.info.RemoteAddr, "err", err)
	return &Error{Type: StatusNo, Code: CodeUnavailable, Text: "Authentication temporarily unavailable"}
}

func (c *conn) loggedIn(identity string) error {
	u, err := c.srv.Backend.Open(c.ctx, &c.info, identity)
	if err != nil {
		return err
	}
	c.user = u
	c.state = stateAuth
	c.okCode = "CAPABILITY " + c.capabilities()
	return nil
}

// maxSASLLine bounds one AUTHENTICATE response line.
const maxSASLLine = 12288

func (c *conn) cmdAuthenticate(cmd *command) error {
	if c.srv.Auth == nil {
		return &Error{Type: StatusNo, Code: CodeCannot, Text: "Unsupported mechanism"}
	}
	srv, err := c.srv.Auth.NewServer(cmd.mech, c.info.TLS)
	if err != nil {
		if c.info.TLS == nil && c.srv.TLSConfig != nil {
			return &Error{Type: StatusNo, Code: CodePrivacyReq, Text: "Mechanism not available before TLS"}
		}
		return &Error{Type: StatusNo, Code: CodeCannot, Text: "Unsupported mechanism"}
	}
	var resp []byte
	if cmd.initial != nil {
		if *cmd.initial == "=" {
			resp = []byte{}
		} else if resp, err = base64.StdEncoding.DecodeString(*cmd.initial); err != nil {
			return &Error{Type: StatusBad, Text: "Invalid base64 in initial response"}
		}
	}
	for {
		challenge, done, err := srv.Next(c.ctx, resp)
		if err != nil {
			return c.authFailed(err)
		}
		if done {
			if challenge != nil {
				// Additional data with success is not in IMAP; send it
				// as a challenge and expect an empty response.
				if resp, err = c.saslStep(challenge); err != nil {
					return err
				}
				if len(resp) != 0 {
					return c.authFailed(sasl.ErrUnexpected)
				}
			}
			id := srv.Identity()
			return c.loggedIn(id)
		}
		if resp, err = c.saslStep(challenge); err != nil {
			return err
		}
	}
}

// saslStep sends a challenge and reads the client's response.
func (c *conn) saslStep(challenge []byte) ([]byte, error) {
	c.writeString("+ " + base64.StdEncoding.EncodeToString(challenge) + "\r\n")
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	line, _, err := wire.ReadLineBufio(c.br, maxSASLLine)
	if err != nil {
		if errors.Is(err, wire.ErrLineTooLong) {
			return nil, &Error{Type: StatusBad, Code: CodeTooBig, Text: "Response too long"}
		}
		c.bye = true
		return nil, &Error{Type: StatusBye, Text: "Connection lost"}
	}
	s := strings.TrimSpace(string(line))
	if s == "*" {
		return nil, &Error{Type: StatusBad, Text: "AUTHENTICATE cancelled"}
	}
	resp, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, &Error{Type: StatusBad, Text: "Invalid base64 in response"}
	}
	return resp, nil
}

func (c *conn) cmdEnable(cmd *command) error {
	// RFC 5161 section 3.1: ENABLED lists what this command turned on.
	var on []string
	for _, name := range cmd.caps {
		switch name {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2, c.utf8 = true, true
				on = append(on, "IMAP4rev2")
			}
		case "UTF8=ACCEPT":
			if !c.utf8 {
				c.utf8 = true
				on = append(on, "UTF8=ACCEPT")
			}
		case "CONDSTORE", "QRESYNC":
			on = append(on, c.enableCaps(name)...)
		}
	}
	c.untagged(strings.TrimSpace("ENABLED " + strings.Join(on, " ")))
	return nil
}
