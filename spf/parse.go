package spf

import (
	"net/netip"
	"strconv"
	"strings"
)

// Kind names a mechanism (RFC 7208 section 5).
type Kind uint8

// The eight mechanisms.
const (
	KindAll Kind = iota + 1
	KindInclude
	KindA
	KindMX
	KindPTR
	KindIP4
	KindIP6
	KindExists
)

var kindNames = [...]string{
	KindAll:     "all",
	KindInclude: "include",
	KindA:       "a",
	KindMX:      "mx",
	KindPTR:     "ptr",
	KindIP4:     "ip4",
	KindIP6:     "ip6",
	KindExists:  "exists",
}

// String returns the mechanism name as written in a record ("include").
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "invalid"
}

// queriesDNS reports whether the mechanism counts against the limit of
// DNS-querying terms (RFC 7208 section 4.6.4).
func (k Kind) queriesDNS() bool {
	switch k {
	case KindInclude, KindA, KindMX, KindPTR, KindExists:
		return true
	}
	return false
}

// Directive is one qualifier and mechanism of a record.
type Directive struct {
	// Qualifier is '+', '-', '~' or '?'; '+' when the record has none.
	Qualifier Qualifier
	// Kind is the mechanism.
	Kind Kind
	// DomainSpec is the domain-spec after the colon, unexpanded; empty when
	// absent (then a, mx and ptr use the current domain).
	DomainSpec string
	// Network is the network of ip4 and ip6, masked to its prefix length.
	Network netip.Prefix
	// IP4Bits and IP6Bits are the CIDR lengths of a and mx: 32 and 128
	// when the record gives none.
	IP4Bits, IP6Bits int

	spec macroString
}

// String returns the directive in canonical form, as it appears in
// Result.Mechanism: the qualifier only when it is not '+', then the
// mechanism and its arguments ("-all", "include:_spf.example.com",
// "a:mail.example.com/24", "ip6:2001:db8::/32").
func (d *Directive) String() string {
	var b strings.Builder
	if d.Qualifier != QualifierPass && d.Qualifier != 0 {
		b.WriteByte(byte(d.Qualifier))
	}
	b.WriteString(d.Kind.String())
	switch d.Kind {
	case KindIP4, KindIP6:
		b.WriteByte(':')
		full := 32
		if d.Kind == KindIP6 {
			full = 128
		}
		b.WriteString(d.Network.Addr().String())
		if d.Network.Bits() != full {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(d.Network.Bits()))
		}
		return b.String()
	}
	if d.DomainSpec != "" {
		b.WriteByte(':')
		b.WriteString(d.DomainSpec)
	}
	if d.Kind == KindA || d.Kind == KindMX {
		if d.IP4Bits != 32 {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(d.IP4Bits))
		}
		if d.IP6Bits != 128 {
			b.WriteString("//")
			b.WriteString(strconv.Itoa(d.IP6Bits))
		}
	}
	return b.String()
}

// Modifier is a name=value term other than redirect and exp, which RFC 7208
// section 6 says to ignore; it is kept for inspection.
type Modifier struct {
	Name  string
	Value string
}

// Record is a parsed SPF record (RFC 7208 section 4.6).
type Record struct {
	// Directives are the mechanisms in record order.
	Directives []Directive
	// Redirect is the domain-spec of the redirect= modifier, or empty.
	Redirect string
	// Explanation is the domain-spec of the exp= modifier, or empty.
	Explanation string
	// Modifiers are the unknown modifiers, in record order.
	Modifiers []Modifier

	redirect, exp macroString
}

// String returns the record in canonical form: "v=spf1", the directives,
// redirect=, exp= and the unknown modifiers, separated by single spaces.
// Parsing the result gives an equal Record.
func (r *Record) String() string {
	var b strings.Builder
	b.WriteString("v=spf1")
	for i := range r.Directives {
		b.WriteByte(' ')
		b.WriteString(r.Directives[i].String())
	}
	if r.Redirect != "" {
		b.WriteString(" redirect=")
		b.WriteString(r.Redirect)
	}
	if r.Explanation != "" {
		b.WriteString(" exp=")
		b.WriteString(r.Explanation)
	}
	for _, m := range r.Modifiers {
		b.WriteByte(' ')
		b.WriteString(m.Name)
		b.WriteByte('=')
		b.WriteString(m.Value)
	}
	return b.String()
}

// IsRecord reports whether the TXT string s is an SPF version 1 record: it
// starts with "v=spf1" (in any case) followed by a space or the end (RFC
// 7208 section 4.5). Other TXT records are none of SPF's business.
func IsRecord(s string) bool {
	return len(s) >= 6 && equalFold(s[:6], "v=spf1") && (len(s) == 6 || s[6] == ' ')
}

// ParseRecord parses an SPF record. Any syntax error anywhere in the record
// makes it fail with an [*Error] matching [ErrSyntax] (RFC 7208 section
// 4.6): unknown mechanisms, bad CIDR lengths, invalid domain-specs or
// macros, repeated redirect= or exp=, and any octet outside printable
// ASCII. Terms are separated by one or more spaces only.
func ParseRecord(s string) (*Record, error) {
	if !IsRecord(s) {
		return nil, &Error{Err: ErrSyntax, Detail: "record does not start with v=spf1"}
	}
	r := &Record{Directives: make([]Directive, 0, strings.Count(s, " "))}
	var haveRedirect, haveExp bool
	rest := s[6:]
	for rest != "" {
		if rest[0] == ' ' {
			rest = rest[1:]
			continue
		}
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		term := rest[:end]
		rest = rest[end:]
		for i := 0; i < len(term); i++ {
			if c := term[i]; c < 0x21 || c > 0x7e {
				return nil, syntaxError(term, "octet outside printable ASCII")
			}
		}
		if name, value, ok := splitModifier(term); ok {
			switch {
			case equalFold(name, "redirect"):
				if haveRedirect {
					return nil, syntaxError(term, "redirect= given twice")
				}
				m, err := parseDomainSpec(value)
				if err != nil {
					return nil, withTerm(err, term)
				}
				haveRedirect = true
				r.Redirect, r.redirect = value, m
			case equalFold(name, "exp"):
				if haveExp {
					return nil, syntaxError(term, "exp= given twice")
				}
				m, err := parseDomainSpec(value)
				if err != nil {
					return nil, withTerm(err, term)
				}
				haveExp = true
				r.Explanation, r.exp = value, m
			default:
				if _, err := parseMacroString(value, modeDomain); err != nil {
					return nil, withTerm(err, term)
				}
				r.Modifiers = append(r.Modifiers, Modifier{Name: name, Value: value})
			}
			continue
		}
		d, err := parseDirective(term)
		if err != nil {
			return nil, err
		}
		r.Directives = append(r.Directives, d)
	}
	return r, nil
}

// splitModifier splits a modifier term into name and value: name is ALPHA
// *( ALPHA / DIGIT / "-" / "_" / "." ) and is followed by "=".
func splitModifier(term string) (name, value string, ok bool) {
	if term == "" || !isAlpha(term[0]) {
		return "", "", false
	}
	for i := 1; i < len(term); i++ {
		c := term[i]
		switch {
		case c == '=':
			return term[:i], term[i+1:], true
		case isAlnum(c) || c == '-' || c == '_' || c == '.':
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// withTerm sets the Term of a syntax error.
func withTerm(err error, term string) error {
	if e, ok := err.(*Error); ok {
		e.Term = term
		return e
	}
	return err
}

// parseDirective parses [ qualifier ] mechanism.
func parseDirective(term string) (Directive, error) {
	d := Directive{Qualifier: QualifierPass, IP4Bits: 32, IP6Bits: 128}
	s := term
	switch s[0] {
	case '+', '-', '~', '?':
		d.Qualifier = Qualifier(s[0])
		s = s[1:]
	}
	n := 0
	for n < len(s) && isAlnum(s[n]) {
		n++
	}
	name, arg := s[:n], s[n:]
	switch {
	case equalFold(name, "all"):
		d.Kind = KindAll
		if arg != "" {
			return d, syntaxError(term, "all takes no argument")
		}
	case equalFold(name, "include"), equalFold(name, "exists"):
		d.Kind = KindInclude
		if lower(name[0]) == 'e' {
			d.Kind = KindExists
		}
		if len(arg) < 2 || arg[0] != ':' {
			return d, syntaxError(term, d.Kind.String()+" needs :domain-spec")
		}
		if err := d.setSpec(arg[1:]); err != nil {
			return d, withTerm(err, term)
		}
	case equalFold(name, "a"), equalFold(name, "mx"):
		d.Kind = KindA
		if len(name) == 2 {
			d.Kind = KindMX
		}
		spec, v4, v6, err := splitDualCIDR(arg)
		if err != nil {
			return d, withTerm(err, term)
		}
		d.IP4Bits, d.IP6Bits = v4, v6
		if spec != "" {
			if spec[0] != ':' || len(spec) < 2 {
				return d, syntaxError(term, "invalid argument to "+d.Kind.String())
			}
			if err := d.setSpec(spec[1:]); err != nil {
				return d, withTerm(err, term)
			}
		}
	case equalFold(name, "ptr"):
		d.Kind = KindPTR
		if arg != "" {
			if arg[0] != ':' || len(arg) < 2 {
				return d, syntaxError(term, "invalid argument to ptr")
			}
			if err := d.setSpec(arg[1:]); err != nil {
				return d, withTerm(err, term)
			}
		}
	case equalFold(name, "ip4"), equalFold(name, "ip6"):
		d.Kind = KindIP4
		if name[2] == '6' {
			d.Kind = KindIP6
		}
		if len(arg) < 2 || arg[0] != ':' {
			return d, syntaxError(term, d.Kind.String()+" needs :network")
		}
		p, err := parseNetwork(arg[1:], d.Kind == KindIP6)
		if err != nil {
			return d, withTerm(err, term)
		}
		d.Network = p
	default:
		return d, syntaxError(term, "unknown mechanism")
	}
	return d, nil
}

func (d *Directive) setSpec(s string) error {
	m, err := parseDomainSpec(s)
	if err != nil {
		return err
	}
	d.DomainSpec, d.spec = s, m
	return nil
}

// parseDomainSpec parses domain-spec = macro-string domain-end, where
// domain-end is "." toplabel [ "." ] or a macro-expand.
func parseDomainSpec(s string) (macroString, error) {
	if s == "" {
		return macroString{}, &Error{Err: ErrSyntax, Detail: "empty domain-spec"}
	}
	m, err := parseMacroString(s, modeDomain)
	if err != nil {
		return macroString{}, err
	}
	if m.endsWithExpand {
		return m, nil
	}
	t := strings.TrimSuffix(m.tail, ".")
	dot := strings.LastIndexByte(t, '.')
	if dot < 0 || !isTopLabel(t[dot+1:]) {
		return macroString{}, &Error{Err: ErrSyntax, Detail: "domain-spec does not end in a valid top label"}
	}
	return m, nil
}

// isTopLabel reports whether s is a toplabel: alphanumeric with at least
// one letter, or alphanumeric with inner hyphens.
func isTopLabel(s string) bool {
	if s == "" {
		return false
	}
	alpha, hyphen := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c):
			alpha = true
		case isDigit(c):
		case c == '-':
			hyphen = true
		default:
			return false
		}
	}
	if hyphen {
		return s[0] != '-' && s[len(s)-1] != '-'
	}
	return alpha
}

// splitDualCIDR splits the optional dual-cidr-length off the end of the
// argument of a or mx.
func splitDualCIDR(s string) (rest string, v4, v6 int, err error) {
	v4, v6 = 32, 128
	if i := strings.LastIndex(s, "//"); i >= 0 && allDigits(s[i+2:]) {
		v6, err = parseCIDR(s[i+2:], 128)
		if err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && allDigits(s[i+1:]) {
		v4, err = parseCIDR(s[i+1:], 32)
		if err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	return s, v4, v6, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseCIDR parses a CIDR length: "0" or a number without leading zero, at
// most max.
func parseCIDR(s string, max int) (int, error) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, &Error{Err: ErrSyntax, Detail: "invalid CIDR length"}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, &Error{Err: ErrSyntax, Detail: "CIDR length out of range"}
	}
	return n, nil
}

// parseNetwork parses ip4-network [ ip4-cidr-length ] or the IPv6 form.
func parseNetwork(s string, v6 bool) (netip.Prefix, error) {
	addr, bits := s, -1
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		addr = s[:i]
		max := 32
		if v6 {
			max = 128
		}
		n, err := parseCIDR(s[i+1:], max)
		if err != nil {
			return netip.Prefix{}, err
		}
		bits = n
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" || ip.Is4() == v6 {
		return netip.Prefix{}, &Error{Err: ErrSyntax, Detail: "invalid IP network"}
	}
	if !v6 && strings.Count(addr, ".") != 3 {
		return netip.Prefix{}, &Error{Err: ErrSyntax, Detail: "invalid IP network"}
	}
	if bits < 0 {
		bits = ip.BitLen()
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, &Error{Err: ErrSyntax, Detail: "invalid IP network"}
	}
	return p, nil
}
