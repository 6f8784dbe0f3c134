package smtp

import (
	"strconv"
	"strings"
)

// MaxCapabilities bounds how many EHLO keywords ParseCapabilities keeps in
// Capabilities.Keywords; the reply itself is already bounded by
// ReplyReader.MaxLines.
const MaxCapabilities = 64

// Capabilities is what a server announced in its EHLO or LHLO reply
// (RFC 5321 section 4.1.1.1), parsed into typed values. Unknown keywords
// are kept in Keywords.
type Capabilities struct {
	// Domain is the first word of the reply's first line: the name the
	// server gives itself.
	Domain string

	Pipelining          bool // RFC 2920
	EightBitMIME        bool // RFC 6152
	SMTPUTF8            bool // RFC 6531
	EnhancedStatusCodes bool // RFC 2034
	DSN                 bool // RFC 3461
	Chunking            bool // RFC 3030 CHUNKING
	BinaryMIME          bool // RFC 3030 BINARYMIME
	StartTLS            bool // RFC 3207
	RequireTLS          bool // RFC 8689

	// Size is true when SIZE was announced (RFC 1870). MaxSize is its
	// limit in octets, 0 when the server gave none.
	Size    bool
	MaxSize int64

	// Auth lists the SASL mechanisms of AUTH (RFC 4954) in upper case,
	// in the server's order.
	Auth []string

	// RcptMax and MailMax are the LIMITS of RFC 9422: recipients per
	// transaction and transactions per connection, 0 when not given.
	RcptMax int
	MailMax int

	// Keywords maps every keyword in upper case to its parameters as
	// sent, at most MaxCapabilities of them.
	Keywords map[string]string
}

// Has reports whether the server announced keyword (any case).
func (c Capabilities) Has(keyword string) bool {
	_, ok := c.Keywords[strings.ToUpper(keyword)]
	return ok
}

// HasAuth reports whether mech is among the AUTH mechanisms (any case).
func (c Capabilities) HasAuth(mech string) bool {
	for _, m := range c.Auth {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

// ParseCapabilities reads the extensions from an EHLO or LHLO reply: one
// keyword per line after the first, each with optional parameters
// (RFC 5321 section 4.1.1.1). Malformed values are ignored rather than
// trusted: a SIZE that is not a number counts as SIZE without a limit, a
// keyword with characters outside the grammar is skipped. The old
// "AUTH=" form some servers still send is read like AUTH.
func ParseCapabilities(r *Reply) Capabilities {
	var c Capabilities
	if r == nil || len(r.Lines) == 0 {
		return c
	}
	c.Domain, _, _ = strings.Cut(strings.TrimSpace(r.Lines[0]), " ")
	for _, line := range r.Lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.HasPrefix(strings.ToUpper(kw), "AUTH=") {
			params = kw[5:] + " " + params
			kw = "AUTH"
		}
		if !clientIsKeyword(kw) {
			continue
		}
		kw = strings.ToUpper(kw)
		params = strings.TrimSpace(params)
		if c.Keywords == nil {
			c.Keywords = make(map[string]string, 16)
		}
		if _, dup := c.Keywords[kw]; !dup && len(c.Keywords) < MaxCapabilities {
			c.Keywords[kw] = params
		}
		c.apply(kw, params)
	}
	return c
}

func (c *Capabilities) apply(kw, params string) {
	switch kw {
	case "PIPELINING":
		c.Pipelining = true
	case "8BITMIME":
		c.EightBitMIME = true
	case "SMTPUTF8":
		c.SMTPUTF8 = true
	case "ENHANCEDSTATUSCODES":
		c.EnhancedStatusCodes = true
	case "DSN":
		c.DSN = true
	case "CHUNKING":
		c.Chunking = true
	case "BINARYMIME":
		c.BinaryMIME = true
	case "STARTTLS":
		c.StartTLS = true
	case "REQUIRETLS":
		c.RequireTLS = true
	case "SIZE":
		c.Size = true
		if n, err := strconv.ParseInt(params, 10, 64); err == nil && n > 0 {
			c.MaxSize = n
		}
	case "AUTH":
		for m := range strings.FieldsSeq(params) {
			if len(c.Auth) == MaxCapabilities || !clientIsMech(m) {
				continue
			}
			m = strings.ToUpper(m)
			if !c.HasAuth(m) {
				c.Auth = append(c.Auth, m)
			}
		}
	case "LIMITS":
		for p := range strings.FieldsSeq(params) {
			k, v, _ := strings.Cut(p, "=")
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || len(v) > 9 {
				continue
			}
			switch strings.ToUpper(k) {
			case "RCPTMAX":
				c.RcptMax = n
			case "MAILMAX":
				c.MailMax = n
			}
		}
	}
}

// clientIsKeyword checks ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
func clientIsKeyword(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// clientIsMech checks a SASL mechanism name: 1 to 20 of upper-case letters,
// digits, "-" and "_" (RFC 4422 section 3.1); lower case is accepted and
// folded by the caller.
func clientIsMech(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
