package smtp

// cmdRcpt handles RCPT (RFC 5321 section 4.1.1.3) and the DSN parameters.
func (c *conn) cmdRcpt(arg string) error {
	if !c.mail {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "Need MAIL before RCPT"}
	}
	if c.bdatUsed {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "RCPT not allowed after BDAT"}
	}
	to, opts, err := ParseRcpt(arg, c.mailOpts.UTF8)
	if err != nil {
		return err
	}
	if opts != (RcptOptions{}) {
		if !c.info.ESMTP {
			return &Error{Code: CodeParamsNotRecognized, Enhanced: EnhancedInvalidArguments, Message: "Parameters need EHLO"}
		}
		if !c.srv.enabled(ExtDSN) {
			return paramUnknown("NOTIFY/ORCPT")
		}
	}
	if len(c.rcpts) >= c.srv.maxRcpts() {
		return ErrTooManyRecipients
	}
	if err := c.sess.Rcpt(c.ctx, to, &opts); err != nil {
		return err
	}
	c.rcpts = append(c.rcpts, to)
	c.reply(CodeOK, EnhancedRecipientOK, "Recipient OK")
	return nil
}
