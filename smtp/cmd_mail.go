package smtp

import (
	"crypto/rand"
	"encoding/base32"
)

// transactionIDEncoding is lower-case base32 without padding: an id reads
// the same in a log, a Received: field and a file name.
var transactionIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newTransactionID returns 16 characters of 80 random bits.
func newTransactionID() string {
	var b [10]byte
	rand.Read(b[:])
	return transactionIDEncoding.EncodeToString(b[:])
}

// cmdMail handles MAIL (RFC 5321 section 4.1.1.2) and its parameters.
func (c *conn) cmdMail(arg string) error {
	if !c.helo {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "Send HELO/EHLO first"}
	}
	if c.mail {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "Nested MAIL command"}
	}
	from, opts, err := ParseMail(arg)
	if err != nil {
		return err
	}
	if err := c.checkMailOptions(&opts); err != nil {
		return err
	}
	c.info.TransactionID = newTransactionID()
	if err := c.sess.Mail(c.ctx, from, &opts); err != nil {
		return err
	}
	c.mail = true
	c.from = from
	c.mailOpts = opts
	c.reply(CodeOK, EnhancedSenderOK, "Sender OK")
	return nil
}

// checkMailOptions refuses parameters of extensions that are off, not
// offered on this connection, or out of limits.
func (c *conn) checkMailOptions(o *MailOptions) error {
	s := c.srv
	unsupported := func(kw string) error { return paramUnknown(kw) }
	if !c.info.ESMTP && *o != (MailOptions{}) {
		return &Error{Code: CodeParamsNotRecognized, Enhanced: EnhancedInvalidArguments, Message: "Parameters need EHLO"}
	}
	switch o.Body {
	case Body8BitMIME:
		if !s.enabled(Ext8BitMIME) {
			return unsupported("BODY=8BITMIME")
		}
	case BodyBinaryMIME:
		if !s.enabled(ExtChunking) || !s.enabled(ExtBinaryMIME) {
			return unsupported("BODY=BINARYMIME")
		}
	}
	if o.UTF8 && !s.enabled(ExtSMTPUTF8) {
		return unsupported("SMTPUTF8")
	}
	if (o.Return != "" || o.EnvelopeID != "") && !s.enabled(ExtDSN) {
		return unsupported("RET/ENVID")
	}
	if o.RequireTLS {
		if !s.enabled(ExtRequireTLS) {
			return unsupported("REQUIRETLS")
		}
		if c.info.TLS == nil {
			return &Error{Code: CodeAuthRequired, Enhanced: NewEnhancedCode(5, 7, 10), Message: "REQUIRETLS needs a TLS connection"}
		}
	}
	if o.Auth != "" && c.info.AuthIdentity == "" {
		// RFC 4954 section 5: a server that does not trust the client
		// ignores the parameter.
		o.Auth = ""
	}
	if m := s.maxMessage(); m > 0 && o.Size > m {
		return &Error{Code: CodeExceededStorage, Enhanced: EnhancedMessageTooBig, Message: "Message size exceeds fixed maximum message size"}
	}
	return nil
}
