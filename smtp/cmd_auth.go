package smtp

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/heraldmail/herald/sasl"
)

// authMechanisms returns the mechanisms to offer on this connection:
// those of a SessionAuth, else those of Server.Auth. Before TLS only
// mechanisms that send no reusable secret are offered, unless
// Server.Auth.AllowInsecure is set.
func (c *conn) authMechanisms() []string {
	if !c.srv.enabled(ExtAuth) {
		return nil
	}
	if sa, ok := c.sess.(SessionAuth); ok {
		all := sa.AuthMechanisms(c.ctx)
		if c.info.TLS != nil || c.srv.allowInsecureAuth() {
			return all
		}
		var safe []string
		for _, m := range all {
			if sasl.SafeWithoutTLS(m) {
				safe = append(safe, m)
			}
		}
		return safe
	}
	if c.srv.Auth != nil {
		return c.srv.Auth.Mechanisms(c.info.TLS)
	}
	return nil
}

// insecureOnly reports whether mech would be offered if the connection had
// TLS, so that its refusal is 538 rather than 504.
func (c *conn) insecureOnly(mech string) bool {
	if c.info.TLS != nil {
		return false
	}
	if sa, ok := c.sess.(SessionAuth); ok {
		return containsFold(sa.AuthMechanisms(c.ctx), mech)
	}
	full := *c.srv.Auth
	full.AllowInsecure = true
	return containsFold(full.Mechanisms(nil), mech)
}

// authAttempt records what a failed exchange tried, for the log: the
// server's Authenticator is copied with its checks wrapped to note the
// names the client gave.
type authAttempt struct {
	authzid, username string
}

// authenticator returns a copy of Server.Auth whose checks note the names
// tried in at.
func (c *conn) authenticator(at *authAttempt) *sasl.Authenticator {
	a := *c.srv.Auth
	if check := a.Password; check != nil {
		a.Password = func(ctx context.Context, authzid, username, password string) (string, error) {
			at.authzid, at.username = authzid, username
			return check(ctx, authzid, username, password)
		}
	}
	if lookup := a.Scram; lookup != nil {
		a.Scram = func(ctx context.Context, authzid, username string) (sasl.ScramUser, error) {
			at.authzid, at.username = authzid, username
			return lookup(ctx, authzid, username)
		}
	}
	if check := a.Token; check != nil {
		a.Token = func(ctx context.Context, req sasl.TokenRequest) (string, error) {
			at.authzid, at.username = "", req.Username
			return check(ctx, req)
		}
	}
	if check := a.External; check != nil {
		a.External = func(ctx context.Context, cs *tls.ConnectionState, authzid string) (string, error) {
			at.authzid = authzid
			return check(ctx, cs, authzid)
		}
	}
	return &a
}

// cmdAuth handles AUTH (RFC 4954).
func (c *conn) cmdAuth(arg string) error {
	sa, isSA := c.sess.(SessionAuth)
	if !c.srv.enabled(ExtAuth) || !isSA && c.srv.Auth == nil {
		return &Error{Code: CodeNotImplemented, Enhanced: EnhancedInvalidCommand, Message: "AUTH not available"}
	}
	switch {
	case !c.info.ESMTP:
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "Send EHLO first"}
	case c.info.AuthIdentity != "":
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "Already authenticated"}
	case c.mail:
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "AUTH not allowed during a mail transaction"}
	}
	mech, ir, hasIR := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	if mech == "" {
		return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: "Syntax: AUTH mechanism [initial-response]"}
	}
	if !containsFold(c.authMechanisms(), mech) {
		if c.insecureOnly(mech) {
			return &Error{Code: CodeEncryptionRequired, Enhanced: EnhancedEncryptionRequired, Message: "Encryption required for requested authentication mechanism"}
		}
		return &Error{Code: CodeParamNotImplemented, Enhanced: EnhancedInvalidArguments, Message: "Unrecognized authentication type"}
	}
	var at authAttempt
	err := c.authExchange(mech, ir, hasIR, func() (sasl.Server, error) {
		if isSA {
			return sa.Auth(c.ctx, mech)
		}
		return c.authenticator(&at).NewServer(mech, c.info.TLS)
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeAuthInvalid || errors.Is(err, sasl.ErrAuthFailed) ||
			errors.Is(err, sasl.ErrMalformed) || errors.Is(err, sasl.ErrUnexpected) {
			c.log().Info("smtp: authentication failed", "mechanism", mech,
				"username", at.username, "authzid", at.authzid, "err", err)
		}
	}
	return err
}

// authExchange runs the SASL exchange of mech with the server that
// newServer returns and, on success, sets the identity.
func (c *conn) authExchange(mech, ir string, hasIR bool, newServer func() (sasl.Server, error)) error {
	var resp []byte
	if hasIR {
		var err error
		if resp, err = decodeSASL(ir); err != nil {
			return err
		}
	}
	server, err := newServer()
	if err != nil {
		return authError(c, err)
	}
	for {
		chal, done, err := server.Next(c.ctx, resp)
		if err != nil {
			return authError(c, err)
		}
		if done && len(chal) == 0 {
			break
		}
		// A challenge, or additional data with success, which RFC 4954
		// section 4 says goes in a 334 reply that the client answers
		// with an empty line.
		c.reply(CodeAuthContinue, 0, base64.StdEncoding.EncodeToString(chal))
		if err := c.flush(); err != nil {
			return nil
		}
		c.lc.ReadTimeout = orDefault(c.srv.CommandTimeout, DefaultCommandTimeout)
		line, _, err := c.r.ReadLine(MaxAuthLineLength)
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				return &Error{Code: CodeSyntaxError, Enhanced: EnhancedAuthLineTooLong, Message: "Authentication exchange line is too long"}
			}
			c.ioFailed(err)
			return nil
		}
		if string(line) == "*" {
			return &Error{Code: CodeParamSyntaxError, Enhanced: NewEnhancedCode(5, 0, 0), Message: "Authentication cancelled"}
		}
		if resp, err = decodeSASL(string(line)); err != nil {
			return err
		}
		if done {
			if len(resp) != 0 {
				return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedSyntaxError, Message: "Expected an empty response"}
			}
			break
		}
	}
	id := mech
	if is, ok := server.(interface{ Identity() string }); ok && is.Identity() != "" {
		id = is.Identity()
	}
	c.info.AuthIdentity = id
	c.info.AuthMechanism = mech
	c.reply(CodeAuthSucceeded, EnhancedAuthOK, "Authentication succeeded")
	return nil
}

// authError keeps replies for the sasl sentinels and *Error, and turns
// anything else (a credential store that is down) into 454 4.7.0.
func authError(c *conn, err error) error {
	var e *Error
	if errors.As(err, &e) || errors.Is(err, sasl.ErrAuthFailed) || errors.Is(err, sasl.ErrMalformed) || errors.Is(err, sasl.ErrUnexpected) {
		return err
	}
	c.log().Error("smtp: authentication error", "err", err)
	return &Error{Code: CodeTempAuthFailure, Enhanced: EnhancedTempSecurity, Message: "Temporary authentication failure"}
}

// decodeSASL decodes a base64 response; "=" is the empty response.
func decodeSASL(s string) ([]byte, error) {
	if s == "=" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedSyntaxError, Message: "Cannot decode response"}
	}
	return b, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
