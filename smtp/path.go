package smtp

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Path is a reverse-path (MAIL FROM) or forward-path (RCPT TO) of
// RFC 5321 section 4.1.2. Local is the local part with quoting removed;
// Domain is the domain, or an address literal with its brackets
// ("[192.0.2.1]", "[IPv6:2001:db8::1]"). The null reverse-path "<>" has both
// empty; the special recipient "<Postmaster>" has an empty Domain.
// A source route ("<@a,@b:user@c>") is accepted and dropped, as RFC 5321
// section 4.1.1.3 requires.
type Path struct {
	Local  string
	Domain string
}

// Limits of RFC 5321 section 4.5.3.1.
const (
	MaxLocalPartLength = 64  // section 4.5.3.1.1
	MaxDomainLength    = 255 // section 4.5.3.1.2
	MaxPathLength      = 256 // section 4.5.3.1.3, brackets included
)

// IsNull reports whether p is the null reverse-path "<>".
func (p Path) IsNull() bool { return p.Local == "" && p.Domain == "" }

// IsPostmaster reports whether p is "<Postmaster>" without a domain
// (RFC 5321 section 4.1.1.3), compared without regard to case.
func (p Path) IsPostmaster() bool {
	return p.Domain == "" && strings.EqualFold(p.Local, "postmaster")
}

// Mailbox returns "local@domain" with the local part quoted when needed,
// without angle brackets; "" for the null path.
func (p Path) Mailbox() string {
	if p.IsNull() {
		return ""
	}
	l := quoteLocal(p.Local)
	if p.Domain == "" {
		return l
	}
	return l + "@" + p.Domain
}

// String returns the path in angle brackets, as sent in MAIL and RCPT.
func (p Path) String() string { return "<" + p.Mailbox() + ">" }

// IsASCII reports whether the path needs no SMTPUTF8.
func (p Path) IsASCII() bool { return isASCII(p.Local) && isASCII(p.Domain) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// quoteLocal returns l as a Dot-string when it is one, else as a
// Quoted-string.
func quoteLocal(l string) string {
	if isDotString(l) {
		return l
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(l); i++ {
		if l[i] == '"' || l[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(l[i])
	}
	b.WriteByte('"')
	return b.String()
}

func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && !isAtext(c) && c < 0x80 {
			return false
		}
	}
	return true
}

// isAtext reports whether c is an ASCII atext character (RFC 5322 section
// 3.2.3).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// pathError builds the reply for a malformed path: 501 with 5.1.7 for a
// sender and 5.1.3 for a recipient, or 553 5.6.7 for UTF-8 without
// SMTPUTF8 (RFC 6531 section 3.5).
func pathError(rcpt bool, msg string) *Error {
	enh := EnhancedBadSenderSyntax
	if rcpt {
		enh = EnhancedBadDestSyntax
	}
	return &Error{Code: CodeParamSyntaxError, Enhanced: enh, Message: msg}
}

func utf8PathError() *Error {
	return &Error{Code: CodeMailboxNameInvalid, Enhanced: EnhancedNonASCIIAddress, Message: "Non-ASCII address requires SMTPUTF8"}
}

// ParsePath parses a complete path in angle brackets. utf8 allows UTF-8 in
// the local part and domain (RFC 6531); without it a non-ASCII path fails
// with 553 5.6.7. The null path "<>" is accepted: callers that need a
// mailbox check IsNull. Errors are *Error values ready to be sent.
func ParsePath(s string, utf8 bool) (Path, error) {
	p, rest, err := parsePath(s, utf8, true)
	if err != nil {
		return Path{}, err
	}
	if rest != "" {
		return Path{}, pathError(true, "Unexpected text after address")
	}
	return p, nil
}

// parsePath parses "<...>" at the start of s and returns what follows.
func parsePath(s string, allowUTF8, rcpt bool) (Path, string, error) {
	if len(s) == 0 || s[0] != '<' {
		return Path{}, "", pathError(rcpt, "Address must be in angle brackets")
	}
	end, err := pathEnd(s)
	if err != nil {
		return Path{}, "", pathError(rcpt, err.Error())
	}
	inner := s[1:end]
	rest := s[end+1:]
	if end+1 > MaxPathLength {
		return Path{}, "", pathError(rcpt, "Address too long")
	}
	if inner == "" {
		return Path{}, rest, nil
	}
	if !allowUTF8 && !isASCII(inner) {
		return Path{}, "", utf8PathError()
	}
	if !utf8.ValidString(inner) {
		return Path{}, "", pathError(rcpt, "Address is not valid UTF-8")
	}
	// Drop a source route: "@a,@b:".
	if inner[0] == '@' {
		i := strings.IndexByte(inner, ':')
		if i < 0 || !validRoute(inner[:i]) {
			return Path{}, "", pathError(rcpt, "Bad source route")
		}
		inner = inner[i+1:]
		if inner == "" {
			return Path{}, "", pathError(rcpt, "Source route without mailbox")
		}
	}
	local, domain, err := splitMailbox(inner)
	if err != nil {
		return Path{}, "", pathError(rcpt, err.Error())
	}
	return Path{Local: local, Domain: domain}, rest, nil
}

type parseErr string

func (e parseErr) Error() string { return string(e) }

// pathEnd returns the index of the ">" that closes the path at s[0],
// skipping quoted strings.
func pathEnd(s string) (int, error) {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return i, nil
		case c < 0x20 || c == 0x7f:
			return 0, parseErr("Control character in address")
		}
	}
	return 0, parseErr("Unterminated address")
}

func validRoute(r string) bool {
	for _, hop := range strings.Split(r, ",") {
		if len(hop) < 2 || hop[0] != '@' || validDomain(hop[1:]) != nil {
			return false
		}
	}
	return true
}

// splitMailbox parses Mailbox = Local-part "@" ( Domain / address-literal ),
// or a bare "Postmaster".
func splitMailbox(s string) (local, domain string, err error) {
	var rest string
	if s[0] == '"' {
		local, rest, err = parseQuoted(s)
		if err != nil {
			return "", "", err
		}
	} else {
		// A Dot-string holds no "@", so the first one ends it; the domain
		// may hold more, in a general address literal ("[tag:a@b]").
		i := strings.IndexByte(s, '@')
		if i < 0 {
			if strings.EqualFold(s, "postmaster") {
				return s, "", nil
			}
			return "", "", parseErr("Address has no domain")
		}
		local, rest = s[:i], s[i:]
		if !isDotString(local) {
			return "", "", parseErr("Bad local part")
		}
	}
	if len(local) > MaxLocalPartLength {
		return "", "", parseErr("Local part too long")
	}
	if len(rest) == 0 || rest[0] != '@' {
		if rest == "" && strings.EqualFold(local, "postmaster") {
			return local, "", nil
		}
		return "", "", parseErr("Address has no domain")
	}
	domain = rest[1:]
	if err := validDomain(domain); err != nil {
		return "", "", err
	}
	return local, domain, nil
}

// parseQuoted parses a Quoted-string at the start of s (RFC 5321
// section 4.1.2) and returns its content unquoted.
func parseQuoted(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) || s[i+1] < 32 || s[i+1] > 126 {
				return "", "", parseErr("Bad quoted pair in local part")
			}
			i++
			b.WriteByte(s[i])
		case c == '"':
			if b.Len() == 0 {
				return "", "", parseErr("Empty local part")
			}
			return b.String(), s[i+1:], nil
		case c >= 32 && c <= 126 || c >= 0x80:
			b.WriteByte(c)
		default:
			return "", "", parseErr("Bad character in local part")
		}
	}
	return "", "", parseErr("Unterminated quoted local part")
}

// validDomain checks Domain or address-literal. U-labels (UTF-8) are
// accepted here; the caller has already refused UTF-8 when SMTPUTF8 is not
// in use.
func validDomain(d string) error {
	if d == "" {
		return parseErr("Empty domain")
	}
	if len(d) > MaxDomainLength {
		return parseErr("Domain too long")
	}
	if d[0] == '[' {
		return validAddressLiteral(d)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 {
			return parseErr("Bad domain")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return parseErr("Bad domain")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c >= 0x80
			if !ok {
				return parseErr("Bad domain")
			}
		}
	}
	return nil
}

// validAddressLiteral checks "[IPv4]", "[IPv6:addr]" and the
// General-address-literal "[tag:content]" of RFC 5321 section 4.1.3.
func validAddressLiteral(d string) error {
	if len(d) < 3 || d[len(d)-1] != ']' {
		return parseErr("Bad address literal")
	}
	inner := d[1 : len(d)-1]
	if tag, addr, ok := strings.Cut(inner, ":"); ok {
		if strings.EqualFold(tag, "IPv6") {
			a, err := netip.ParseAddr(addr)
			if err != nil || !a.Is6() || a.Zone() != "" {
				return parseErr("Bad IPv6 address literal")
			}
			return nil
		}
		if tag == "" || tag[len(tag)-1] == '-' || addr == "" {
			return parseErr("Bad address literal")
		}
		for i := 0; i < len(tag); i++ {
			c := tag[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return parseErr("Bad address literal")
			}
		}
		for i := 0; i < len(addr); i++ {
			if c := addr[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return parseErr("Bad address literal")
			}
		}
		return nil
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is4() {
		return parseErr("Bad IPv4 address literal")
	}
	return nil
}
