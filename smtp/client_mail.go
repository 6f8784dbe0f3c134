package smtp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/heraldmail/herald/internal/xtext"
)

// clientMaxEnvelopeID is the longest ENVID value, after xtext encoding
// (RFC 3461 section 4.4).
const clientMaxEnvelopeID = 100

// Mail sends MAIL FROM (RFC 5321 section 4.1.1.2) with the parameters of
// opts (nil means none) that the server supports:
//
//   - SIZE (RFC 1870) when announced; a Size over the server's limit fails
//     with ErrMessageTooLarge before anything is sent.
//   - BODY=8BITMIME needs 8BITMIME and BODY=BINARYMIME needs BINARYMIME and
//     CHUNKING (RFC 6152, RFC 3030); BODY=7BIT is sent only to servers
//     that know 8BITMIME.
//   - SMTPUTF8 (RFC 6531) is sent when opts.UTF8 is set or the
//     reverse-path is not ASCII, and needs the extension.
//   - REQUIRETLS (RFC 8689) needs the extension and a TLS connection whose
//     certificate was verified, by crypto/tls or by a VerifyConnection or
//     VerifyPeerCertificate callback (DANE, MTA-STS).
//   - RET and ENVID (RFC 3461) are sent when DSN is announced and
//     dropped otherwise, as section 4 of that RFC asks of a relay.
//   - AUTH (RFC 4954 section 5) is sent when AUTH is announced.
//
// A missing extension fails with an *ExtensionError before anything is
// sent. Send does all this and pipelines it; Mail is the single step.
func (c *Client) Mail(ctx context.Context, from Path, opts *MailOptions) error {
	if err := c.ensureHello(ctx); err != nil {
		return err
	}
	if opts == nil {
		opts = &MailOptions{}
	}
	line, err := c.mailLine(from, opts, false)
	if err != nil {
		return &CommandError{Command: "MAIL", Err: err}
	}
	if _, err := c.cmd(ctx, "MAIL", c.timeout(c.opts.MailTimeout, DefaultMailTimeout), 2, line); err != nil {
		return err
	}
	c.inTx, c.txRcpts = true, 0
	c.txUTF8 = opts.UTF8 || !from.IsASCII()
	return nil
}

// Rcpt sends RCPT TO (RFC 5321 section 4.1.1.3) with NOTIFY and ORCPT
// (RFC 3461) when the server announced DSN; they are dropped otherwise. A
// non-ASCII recipient needs a transaction started with SMTPUTF8. The
// server's refusal comes as an *Error inside a *CommandError and leaves the
// transaction open for other recipients.
func (c *Client) Rcpt(ctx context.Context, to Path, opts *RcptOptions) error {
	if err := c.ensureHello(ctx); err != nil {
		return err
	}
	if opts == nil {
		opts = &RcptOptions{}
	}
	line, err := c.rcptLine(to, opts, c.txUTF8)
	if err != nil {
		return &CommandError{Command: "RCPT", Err: err}
	}
	if _, err := c.cmd(ctx, "RCPT", c.timeout(c.opts.RcptTimeout, DefaultRcptTimeout), 2, line); err != nil {
		return err
	}
	c.txRcpts++
	return nil
}

// clientCheckPath validates a path for the wire and returns it formatted:
// well formed once formatted, so that no CR, LF or other surprise can reach
// the command line.
func clientCheckPath(p Path, null bool) (string, error) {
	if p.IsNull() {
		if null {
			return "<>", nil
		}
		return "", clientInvalidArg("null recipient")
	}
	s := p.String()
	if !utf8.ValidString(s) {
		return "", clientInvalidArg("path is not valid UTF-8")
	}
	if q, err := ParsePath(s, true); err != nil || q != p {
		return "", clientInvalidArg("malformed path " + clientQuote(s))
	}
	if p.Domain == "" && !p.IsPostmaster() {
		return "", clientInvalidArg("path without domain " + clientQuote(s))
	}
	return s, nil
}

// mailLine builds the MAIL command line; utf8 says a recipient needs
// SMTPUTF8.
func (c *Client) mailLine(from Path, opts *MailOptions, rcptUTF8 bool) (string, error) {
	fromStr, err := clientCheckPath(from, true)
	if err != nil {
		return "", err
	}
	if !from.IsNull() && from.Domain == "" {
		return "", clientInvalidArg("sender without domain")
	}
	caps := &c.caps
	b := make([]byte, 0, 64+len(from.Local)+len(from.Domain))
	b = append(b, "MAIL FROM:"...)
	b = append(b, fromStr...)
	if opts.Size < 0 {
		return "", clientInvalidArg("negative SIZE")
	}
	if caps.MaxSize > 0 && opts.Size > caps.MaxSize {
		return "", fmt.Errorf("%w: %d octets, server limit %d", ErrMessageTooLarge, opts.Size, caps.MaxSize)
	}
	if caps.Size && opts.Size > 0 {
		b = append(b, " SIZE="...)
		b = strconv.AppendInt(b, opts.Size, 10)
	}
	switch opts.Body {
	case "":
	case Body7Bit:
		if caps.EightBitMIME {
			b = append(b, " BODY=7BIT"...)
		}
	case Body8BitMIME:
		if !caps.EightBitMIME {
			return "", &ExtensionError{Extension: "8BITMIME"}
		}
		b = append(b, " BODY=8BITMIME"...)
	case BodyBinaryMIME:
		if !caps.BinaryMIME || !caps.Chunking {
			return "", &ExtensionError{Extension: "BINARYMIME"}
		}
		b = append(b, " BODY=BINARYMIME"...)
	default:
		return "", clientInvalidArg("BODY " + clientQuote(string(opts.Body)))
	}
	if opts.UTF8 || rcptUTF8 || !from.IsASCII() {
		if !caps.SMTPUTF8 {
			return "", &ExtensionError{Extension: "SMTPUTF8"}
		}
		b = append(b, " SMTPUTF8"...)
	}
	if opts.RequireTLS {
		if !caps.RequireTLS || c.tls == nil {
			return "", &ExtensionError{Extension: "REQUIRETLS"}
		}
		if !c.tlsVerified {
			// RFC 8689 section 4.2.1: the message may only go to a
			// server whose certificate was checked.
			return "", &ExtensionError{Extension: "REQUIRETLS over TLS with a verified certificate"}
		}
		b = append(b, " REQUIRETLS"...)
	}
	if caps.DSN {
		switch opts.Return {
		case "":
		case ReturnFull, ReturnHeaders:
			b = append(b, " RET="...)
			b = append(b, opts.Return...)
		default:
			return "", clientInvalidArg("RET " + clientQuote(string(opts.Return)))
		}
		if opts.EnvelopeID != "" {
			id := xtext.Encode(opts.EnvelopeID)
			if len(id) > clientMaxEnvelopeID {
				return "", clientInvalidArg("ENVID longer than 100 characters")
			}
			b = append(b, " ENVID="...)
			b = append(b, id...)
		}
	}
	if opts.Auth != "" && len(caps.Auth) > 0 {
		b = append(b, " AUTH="...)
		b = append(b, xtext.Encode(opts.Auth)...)
	}
	return string(b), nil
}

// rcptLine builds the RCPT command line; utf8 says the transaction uses
// SMTPUTF8.
func (c *Client) rcptLine(to Path, opts *RcptOptions, utf8 bool) (string, error) {
	toStr, err := clientCheckPath(to, false)
	if err != nil {
		return "", err
	}
	if !utf8 && !to.IsASCII() {
		return "", &ExtensionError{Extension: "SMTPUTF8"}
	}
	b := make([]byte, 0, 48+len(to.Local)+len(to.Domain))
	b = append(b, "RCPT TO:"...)
	b = append(b, toStr...)
	if !c.caps.DSN {
		return string(b), nil
	}
	if n := opts.Notify; n != 0 {
		if n&^(NotifyNever|NotifySuccess|NotifyFailure|NotifyDelay) != 0 || n&NotifyNever != 0 && n != NotifyNever {
			return "", clientInvalidArg("NOTIFY: NEVER excludes other values")
		}
		b = append(b, " NOTIFY="...)
		b = append(b, n.String()...)
	}
	if opts.OriginalRecipient != "" {
		v, err := clientEncodeORCPT(opts.OriginalRecipientType, opts.OriginalRecipient, utf8)
		if err != nil {
			return "", err
		}
		b = append(b, " ORCPT="...)
		b = append(b, v...)
	}
	return string(b), nil
}

// clientEncodeORCPT formats the ORCPT value "addr-type;address". An "rfc822"
// address (the default type) is xtext-encoded (RFC 3461 section 4.2); a
// non-ASCII address takes the "utf-8" type of RFC 6533 section 3, written
// as utf-8-addr-unitext when the transaction uses SMTPUTF8 and as
// utf-8-addr-xtext otherwise.
func clientEncodeORCPT(typ, addr string, smtputf8 bool) (string, error) {
	if !utf8.ValidString(addr) || len(addr) > 500 {
		return "", clientInvalidArg("ORCPT address")
	}
	for i := 0; i < len(addr); i++ {
		if addr[i] < 0x20 || addr[i] == 0x7f {
			return "", clientInvalidArg("control character in ORCPT")
		}
	}
	if typ == "" {
		typ = "rfc822"
		if !clientIsASCII(addr) {
			typ = "utf-8"
		}
	}
	if !clientIsKeyword(typ) {
		return "", clientInvalidArg("ORCPT type " + clientQuote(typ))
	}
	if !strings.EqualFold(typ, "utf-8") {
		if !clientIsASCII(addr) {
			return "", clientInvalidArg("non-ASCII ORCPT of type " + typ)
		}
		return typ + ";" + xtext.Encode(addr), nil
	}
	var b strings.Builder
	b.WriteString(typ)
	b.WriteByte(';')
	for _, r := range addr {
		switch {
		case r > 0x7f && smtputf8:
			b.WriteRune(r)
		case r <= 0x20 || r > 0x7e || r == '+' || r == '=' || r == '\\':
			fmt.Fprintf(&b, `\x{%X}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func clientIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
