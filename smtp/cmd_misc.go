package smtp

import "strings"

// cmdRset handles RSET (RFC 5321 section 4.1.1.5).
func (c *conn) cmdRset(arg string) error {
	if strings.TrimSpace(arg) != "" {
		return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: "RSET takes no argument"}
	}
	c.resetTx(true)
	c.reply(CodeOK, EnhancedOK, "OK")
	return nil
}

// cmdVrfy handles VRFY (RFC 5321 section 3.5.3). Without a SessionVerify
// the server answers 252 and discloses nothing.
func (c *conn) cmdVrfy(arg string) error {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: "Syntax: VRFY <name>"}
	}
	v, ok := c.sess.(SessionVerify)
	if !ok {
		c.reply(CodeCannotVerify, EnhancedVerifyUnavailable, "Cannot VRFY user, but will accept message and attempt delivery")
		return nil
	}
	p, err := v.Verify(c.ctx, arg)
	if err != nil {
		return err
	}
	c.reply(CodeOK, EnhancedRecipientOK, p.String())
	return nil
}
