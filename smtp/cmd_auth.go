package smtp

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/heraldmail/herald/sasl"
)

// authMechanisms returns the mechanisms to offer on this connection.
// Before TLS only mechanisms that send no reusable secret are offered,
// unless Server.AllowInsecureAuth is set.
func (c *conn) authMechanisms() []string {
	if !c.srv.enabled(ExtAuth) {
		return nil
	}
	sa, ok := c.sess.(SessionAuth)
	if !ok {
		return nil
	}
	all := sa.AuthMechanisms(c.ctx)
	if c.info.TLS != nil || c.srv.AllowInsecureAuth {
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

// cmdAuth handles AUTH (RFC 4954).
func (c *conn) cmdAuth(arg string) error {
	sa, ok := c.sess.(SessionAuth)
	if !ok || !c.srv.enabled(ExtAuth) {
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
		if c.info.TLS == nil && containsFold(sa.AuthMechanisms(c.ctx), mech) {
			return &Error{Code: CodeEncryptionRequired, Enhanced: EnhancedEncryptionRequired, Message: "Encryption required for requested authentication mechanism"}
		}
		return &Error{Code: CodeParamNotImplemented, Enhanced: EnhancedInvalidArguments, Message: "Unrecognized authentication type"}
	}
	var resp []byte
	if hasIR {
		var err error
		if resp, err = decodeSASL(ir); err != nil {
			return err
		}
	}
	server, err := sa.Auth(c.ctx, mech)
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
