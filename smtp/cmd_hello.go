package smtp

import (
	"strconv"
	"strings"
)

// cmdHello handles HELO, EHLO (RFC 5321 section 4.1.1.1) and LHLO
// (RFC 2033 section 4.1).
func (c *conn) cmdHello(verb, arg string) error {
	if c.srv.LMTP != (verb == "LHLO") {
		return &Error{Code: CodeSyntaxError, Enhanced: EnhancedInvalidCommand, Message: "Command unrecognized"}
	}
	name := strings.TrimRight(arg, " \t")
	if name == "" || strings.ContainsAny(name, " \t") || len(name) > MaxDomainLength {
		return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: "Syntax: " + verb + " hostname"}
	}
	c.resetTx(false)
	c.helo = false
	if h, ok := c.sess.(SessionHello); ok {
		if err := h.Hello(c.ctx, name); err != nil {
			return err
		}
	}
	c.helo = true
	c.info.HeloName = name
	c.info.ESMTP = verb != "HELO"
	if verb == "HELO" {
		c.reply(CodeOK, 0, c.srv.hostname())
		return nil
	}
	c.reply(CodeOK, 0, c.ehloText(name))
	return nil
}

// ehloText lists the extensions on offer, one per line.
func (c *conn) ehloText(name string) string {
	s := c.srv
	var b strings.Builder
	b.Grow(256)
	b.WriteString(s.hostname())
	b.WriteString(" Hello ")
	b.WriteString(name)
	line := func(ext string) {
		b.WriteByte('\n')
		b.WriteString(ext)
	}
	if s.enabled(ExtPipelining) {
		line("PIPELINING")
	}
	if m := s.maxMessage(); m > 0 {
		line("SIZE " + strconv.FormatInt(m, 10))
	} else {
		line("SIZE")
	}
	if s.enabled(Ext8BitMIME) {
		line("8BITMIME")
	}
	if s.enabled(ExtEnhancedStatusCodes) {
		line("ENHANCEDSTATUSCODES")
	}
	if s.enabled(ExtSMTPUTF8) {
		line("SMTPUTF8")
	}
	if s.enabled(ExtDSN) {
		line("DSN")
	}
	if s.enabled(ExtChunking) {
		line("CHUNKING")
		if s.enabled(ExtBinaryMIME) {
			line("BINARYMIME")
		}
	}
	if c.canStartTLS() {
		line("STARTTLS")
	}
	if c.info.TLS != nil && s.enabled(ExtRequireTLS) {
		line("REQUIRETLS")
	}
	if mechs := c.authMechanisms(); len(mechs) > 0 {
		line("AUTH " + strings.Join(mechs, " "))
	}
	if s.enabled(ExtLimits) {
		line("LIMITS RCPTMAX=" + strconv.Itoa(s.maxRcpts()))
	}
	if c.xclientAllowed() {
		line("XCLIENT ADDR PORT NAME HELO PROTO LOGIN DESTADDR DESTPORT")
	}
	line("HELP")
	return b.String()
}

func (c *conn) canStartTLS() bool {
	return c.srv.TLSConfig != nil && c.info.TLS == nil && c.srv.enabled(ExtStartTLS)
}
