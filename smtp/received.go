package smtp

import (
	"crypto/tls"
	"strings"
	"time"
)

// ReceivedOptions are the parts of a Received: trace field that the
// connection does not know.
type ReceivedOptions struct {
	// By is the receiving host's name. Empty means "localhost".
	By string
	// ID is the queue or message identifier, "" to leave it out.
	ID string
	// For is the single recipient to name; leave it zero when the
	// message has several recipients, so that none is disclosed to the
	// others (RFC 5321 section 7.2).
	For Path
	// UTF8 says the transaction used SMTPUTF8, which changes the WITH
	// protocol name (RFC 6531 section 3.7.3).
	UTF8 bool
	// Time is the date of receipt. Zero means time.Now().
	Time time.Time
}

// Received returns a Received: header field (RFC 5321 section 4.4,
// RFC 5322 section 3.6.7) for the backend to prepend to the message, with
// CRLF line endings and folded lines:
//
//	Received: from helo.example (name [192.0.2.1])
//		by mx.example.org with ESMTPS id 123
//		(TLS1.3 TLS_AES_128_GCM_SHA256)
//		for <rcpt@example.org>; Mon, 2 Jan 2006 15:04:05 -0700
//
// The WITH protocol name follows RFC 3848 and RFC 6531 (SMTP, ESMTP,
// ESMTPS, ESMTPA, ESMTPSA, LMTP..., UTF8SMTP...). Only values the client
// cannot forge into extra fields are used: the HELO name is reduced to
// printable characters without parentheses.
func Received(c *ConnInfo, opts ReceivedOptions) string {
	var b strings.Builder
	b.WriteString("Received: from ")
	helo := sanitizeTrace(c.HeloName)
	if helo == "" {
		helo = "unknown"
	}
	b.WriteString(helo)
	b.WriteString(" (")
	if c.RemoteName != "" {
		b.WriteString(sanitizeTrace(c.RemoteName))
		b.WriteByte(' ')
	}
	b.WriteByte('[')
	if a := c.RemoteAddr.Addr(); a.IsValid() {
		a = a.Unmap()
		if a.Is6() {
			b.WriteString("IPv6:")
		}
		b.WriteString(a.String())
	} else {
		b.WriteString("unknown")
	}
	b.WriteString("])\r\n\tby ")
	by := sanitizeTrace(opts.By)
	if by == "" {
		by = DefaultHostname
	}
	b.WriteString(by)
	b.WriteString(" with ")
	b.WriteString(withProtocol(c, opts.UTF8))
	if opts.ID != "" {
		b.WriteString(" id ")
		b.WriteString(sanitizeTrace(opts.ID))
	}
	if c.TLS != nil {
		b.WriteString("\r\n\t(")
		b.WriteString(tls.VersionName(c.TLS.Version))
		b.WriteByte(' ')
		b.WriteString(tls.CipherSuiteName(c.TLS.CipherSuite))
		b.WriteByte(')')
	}
	if !opts.For.IsNull() {
		b.WriteString("\r\n\tfor ")
		b.WriteString(opts.For.String())
	}
	t := opts.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString("; ")
	b.WriteString(t.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	b.WriteString("\r\n")
	return b.String()
}

// withProtocol returns the registered WITH value for the connection.
func withProtocol(c *ConnInfo, utf8 bool) string {
	p := "SMTP"
	switch {
	case c.LMTP:
		p = "LMTP"
	case c.ESMTP:
		p = "ESMTP"
	}
	if utf8 {
		p = "UTF8SMTP"
		if c.LMTP {
			p = "UTF8LMTP"
		}
	}
	if c.ESMTP || c.LMTP {
		if c.TLS != nil {
			p += "S"
		}
		if c.AuthIdentity != "" {
			p += "A"
		}
	}
	return p
}

// sanitizeTrace keeps the printable ASCII of s, dropping characters that
// would end a comment or field, and caps it at 255 bytes.
func sanitizeTrace(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 255; i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '\\' && c != ';' {
			b.WriteByte(c)
		} else if c >= 0x80 {
			b.WriteByte(c)
		}
	}
	return b.String()
}
