package dnsmx

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"
	"golang.org/x/net/idna"
)

// Name limits from RFC 1035 section 2.3.4: a label holds at most 63
// octets and a name at most 255 octets on the wire, which is 253
// characters of text without the trailing dot.
const (
	MaxLabelLength = 63
	MaxNameLength  = 253
)

// Domain is a domain name normalised once: its ASCII form (A-labels, lower
// case, no trailing dot) for DNS and comparison, and its Unicode form
// (U-labels) for display and SMTPUTF8 (RFC 6531).
type Domain struct {
	ASCII   string
	Unicode string
}

// String returns the ASCII form.
func (d Domain) String() string { return d.ASCII }

// IsZero reports whether d is the zero Domain.
func (d Domain) IsZero() bool { return d.ASCII == "" }

// ParseDomain parses a host name as a mail domain: Unicode or ASCII,
// mapped and checked with the UTS #46 lookup profile (RFC 5890 IDNA, STD3
// rules: letters, digits and hyphens only), with one optional trailing
// dot. It fails with an [*Error] matching [ErrInvalidName].
func ParseDomain(s string) (Domain, error) {
	in := s
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1]
	}
	bad := func(err error) (Domain, error) {
		return Domain{}, &Error{Op: "parse domain", Name: in, Rcode: RcodeNone, Kind: ErrInvalidName, Err: err}
	}
	if s == "" || len(s) > 4*MaxNameLength || !utf8.ValidString(s) {
		return bad(nil)
	}
	a, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return bad(err)
	}
	a = strings.ToLower(a)
	if !checkLengths(a) {
		return bad(nil)
	}
	u, err := idna.Lookup.ToUnicode(a)
	if err != nil {
		return bad(err)
	}
	return Domain{ASCII: a, Unicode: u}, nil
}

// normalizeName returns the form in which name is asked and cached: ASCII,
// lower case, without the trailing dot. ASCII names may hold any printable
// character (underscores for _spf and _dmarc, '+', '=' or spaces from SPF
// macros); those that the DNS text form escapes come back as \DDD escapes
// (see presentationName), the rest are left alone; a name
// with non-ASCII characters goes through IDNA label by label with the UTS
// #46 lookup profile. A name that is already normal comes back without
// allocation.
func normalizeName(name string) (string, bool) {
	if strings.HasSuffix(name, ".") {
		name = name[:len(name)-1]
	}
	if name == "" || len(name) > 4*MaxNameLength {
		return "", false
	}
	clean, escaped := true, false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= utf8.RuneSelf {
			return idnaName(name)
		}
		switch {
		case 'A' <= c && c <= 'Z':
			clean = false
		case c == '.' || labelByteOK(c):
		case c < ' ' || c == 0x7f:
			return "", false
		default:
			// A space or a character that the text form escapes.
			escaped = true
		}
	}
	if escaped {
		return presentationName(name)
	}
	if !clean {
		name = strings.ToLower(name)
	}
	if !checkLengths(name) {
		return "", false
	}
	return name, true
}

// labelByteOK reports whether c may appear in a label asked by this
// package: printable ASCII other than the characters that the DNS text
// form escapes.
func labelByteOK(c byte) bool {
	if c <= ' ' || c > '~' {
		return false
	}
	switch c {
	case '.', '\'', '@', ';', '(', ')', '"', '\\':
		return false
	}
	return true
}

// presentationName returns a printable ASCII name that holds a space or a
// character special in the DNS text form ('"', ';', '\\', ...) in the
// canonical text form of github.com/miekg/dns, the form in which answers
// come back and are matched against the question: special octets escaped
// as \X, other octets outside printable ASCII as \DDD, letters in lower
// case. RFC 2181 section 11 lets a label hold any octet, and SPF macros
// (RFC 7208 section 7.3, %_ is a space) build such names. An escape
// already in name is read as one octet, so the result normalises to
// itself; lengths are checked on the wire form.
func presentationName(name string) (string, bool) {
	for i := 0; i < len(name); i++ {
		// miekg/dns wraps \DDD above 255 around; refuse it instead.
		if name[i] == '\\' && i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]) {
			if int(name[i+1]-'0')*100+int(name[i+2]-'0')*10+int(name[i+3]-'0') > 255 {
				return "", false
			}
			i += 3
		} else if name[i] == '\\' {
			i++
		}
	}
	var wire [MaxNameLength + 2]byte
	if _, err := dns.PackDomainName(name+".", wire[:], 0, nil, false); err != nil {
		return "", false
	}
	text, _, err := dns.UnpackDomainName(wire[:], 0)
	if err != nil {
		return "", false
	}
	// Escapes hold digits and specials only, so lower-casing the whole
	// text touches letters alone.
	return strings.ToLower(strings.TrimSuffix(text, ".")), true
}

// idnaName converts a name with non-ASCII characters, label by label.
func idnaName(name string) (string, bool) {
	if !utf8.ValidString(name) {
		return "", false
	}
	// UTS #46 maps these full stops to '.'.
	name = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".").Replace(name)
	labels := strings.Split(name, ".")
	for i, l := range labels {
		ascii := true
		for j := 0; j < len(l); j++ {
			if l[j] >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			labels[i] = strings.ToLower(l)
			continue
		}
		a, err := idna.Lookup.ToASCII(l)
		if err != nil || a == "" || strings.Contains(a, ".") {
			return "", false
		}
		labels[i] = strings.ToLower(a)
	}
	out := strings.Join(labels, ".")
	if strings.HasSuffix(out, ".") {
		out = out[:len(out)-1]
	}
	for i := 0; i < len(out); i++ {
		if out[i] != '.' && !labelByteOK(out[i]) {
			return "", false
		}
	}
	if out == "" || !checkLengths(out) {
		return "", false
	}
	return out, true
}

// checkLengths checks label and name lengths of a name without the
// trailing dot.
func checkLengths(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLength {
		return false
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if n := i - start; n == 0 || n > MaxLabelLength {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// hostName reports whether a name received in DNS data (an MX target, a
// PTR or CNAME target) is usable as a host name, and returns it lower case
// without the trailing dot. Names with escapes or characters outside
// letters, digits, hyphens and underscores are refused, as the standard
// library does.
func hostName(s string) (string, bool) {
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1]
	}
	if !checkLengths(s) {
		return "", false
	}
	lower := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		case 'A' <= c && c <= 'Z':
			lower = false
		default:
			return "", false
		}
	}
	if !lower {
		s = strings.ToLower(s)
	}
	return s, true
}

// ReverseName returns the name under zone at which the address ip is
// listed: the reversed octets of an IPv4 address ("4.3.2.1.zone") or the
// reversed nibbles of an IPv6 address (RFC 3596 section 2.5, RFC 5782
// section 2.4). With zone "in-addr.arpa" or "ip6.arpa" it is the PTR name.
// An IPv4-mapped IPv6 address is treated as IPv4. The result has no
// trailing dot.
func ReverseName(ip netip.Addr, zone string) string {
	ip = ip.Unmap()
	zone = strings.TrimSuffix(zone, ".")
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		b.Grow(16 + len(zone))
		for i := 3; i >= 0; i-- {
			writeDecimal(&b, a[i])
			b.WriteByte('.')
		}
	} else {
		const hex = "0123456789abcdef"
		a := ip.As16()
		b.Grow(64 + len(zone))
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[a[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hex[a[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(zone)
	return strings.TrimSuffix(b.String(), ".")
}

func writeDecimal(b *strings.Builder, v byte) {
	if v >= 100 {
		b.WriteByte('0' + v/100)
	}
	if v >= 10 {
		b.WriteByte('0' + v/10%10)
	}
	b.WriteByte('0' + v%10)
}

// ptrZone returns the reverse zone for ip's family.
func ptrZone(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "in-addr.arpa"
	}
	return "ip6.arpa"
}

// unescapeTXT turns a character-string in the text form of
// github.com/miekg/dns (with \" \\ and \DDD escapes) back into raw bytes.
func unescapeTXT(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v <= 255 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
