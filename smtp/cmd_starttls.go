package smtp

// cmdStartTLS handles STARTTLS (RFC 3207). Whatever the client sent after
// the command before the handshake is discarded, so that plaintext
// commands can never be injected into the TLS session (CVE-2011-0411 and
// its relatives).
func (c *conn) cmdStartTLS(arg string) error {
	if !c.canStartTLS() {
		if c.info.TLS != nil {
			return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "TLS already active"}
		}
		return &Error{Code: CodeNotImplemented, Enhanced: EnhancedInvalidCommand, Message: "STARTTLS not available"}
	}
	if arg != "" {
		return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: "STARTTLS takes no argument"}
	}
	c.reply(CodeServiceReady, EnhancedOK, "Ready to start TLS")
	if err := c.flush(); err != nil {
		return nil
	}
	if n := c.r.Discard(); n > 0 {
		c.log().Warn("smtp: discarded data pipelined after STARTTLS", "bytes", n)
	}
	if err := c.handshake(); err != nil {
		c.log().Info("smtp: STARTTLS handshake failed", "err", err)
		c.closing = true
		return nil
	}
	// RFC 3207 section 4.2: forget everything learnt before TLS.
	c.resetTx(false)
	c.helo = false
	c.info.HeloName = ""
	c.info.ESMTP = false
	c.info.AuthIdentity = ""
	c.info.AuthMechanism = ""
	return nil
}
