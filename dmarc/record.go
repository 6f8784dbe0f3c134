package dmarc

import (
	"math/bits"
	"net/url"
	"strconv"
	"strings"

	"github.com/heraldmail/herald/dnsmx"
)

// Defaults of RFC 7489 section 6.3 for tags a record leaves out.
const (
	// DefaultPercent is the pct= default: the policy applies to every
	// failing message.
	DefaultPercent = 100
	// DefaultReportInterval is the ri= default, one day, in seconds.
	DefaultReportInterval = 86400
)

// maxIgnored bounds Record.Ignored, so that a record of many broken tags
// costs no more than a few of them.
const maxIgnored = 16

// URI is one reporting URI of a rua= or ruf= tag (RFC 7489 section 6.2):
// a URI with an optional "!" and size limit.
type URI struct {
	// Raw is the URI as published, without the size suffix
	// ("mailto:dmarc@example.com").
	Raw string
	// Scheme is the URI scheme in lower case ("mailto"). Reports are
	// only sent to mailto URIs; other schemes are kept as parsed.
	Scheme string
	// Address is, for a mailto URI, the addr-spec it names with
	// %-escapes decoded and the domain in lower-case A-labels; empty for
	// other schemes.
	Address string
	// MaxSize is the largest report the Domain Owner accepts at this URI,
	// in octets (the "!10m" suffix is 10 MiB); 0 means no limit.
	MaxSize uint64
}

// Domain returns the domain of a mailto URI's Address, or "".
func (u URI) Domain() string {
	i := strings.LastIndexByte(u.Address, '@')
	if i < 0 {
		return ""
	}
	return u.Address[i+1:]
}

// String returns the URI as written in a record, with its size limit in
// the largest unit that divides it exactly.
func (u URI) String() string {
	if u.MaxSize == 0 {
		return u.Raw
	}
	n, unit := u.MaxSize, ""
	for _, x := range []string{"k", "m", "g", "t"} {
		if n%1024 != 0 {
			break
		}
		n /= 1024
		unit = x
	}
	return u.Raw + "!" + strconv.FormatUint(n, 10) + unit
}

// Record is a parsed DMARC policy record (RFC 7489 section 6.3, with the
// np= and t= tags of DMARCbis). Tags the record leaves out hold their
// defaults: sp= is p=, np= is sp=, pct=100, adkim=r, aspf=r, fo=0, rf=afrf,
// ri=86400.
type Record struct {
	// Policy is the p= tag: what to do with failing mail from the domain
	// the record was found at.
	Policy Disposition
	// SubdomainPolicy is the sp= tag, for failing mail from subdomains
	// when the record was found at their organizational domain; Policy
	// when absent.
	SubdomainPolicy Disposition
	// NonexistentPolicy is the np= tag of DMARCbis (from RFC 9091), for
	// subdomains that do not exist in DNS; SubdomainPolicy when absent.
	NonexistentPolicy Disposition
	// DKIMAlignment and SPFAlignment are the adkim= and aspf= tags.
	DKIMAlignment, SPFAlignment Alignment
	// Percent is the pct= tag (0 to 100): the share of failing messages
	// the policy applies to; the rest get the next lower policy.
	Percent int
	// Testing is the t=y tag of DMARCbis, which replaces pct=: the Domain
	// Owner is testing its policy and does not want it applied, so a
	// failing message gets DispositionNone (and is reported as
	// sampled_out). pct= is still honoured for records without t=.
	Testing bool
	// AggregateURIs and FailureURIs are the rua= and ruf= tags, at most
	// Limits.URIs each, invalid URIs left out.
	AggregateURIs, FailureURIs []URI
	// FailureOptions is the fo= tag, its colon-separated options in
	// lower case (["0"] by default; "0", "1", "d", "s").
	FailureOptions []string
	// ReportFormats is the rf= tag (["afrf"] by default).
	ReportFormats []string
	// ReportInterval is the ri= tag, in seconds.
	ReportInterval uint32
	// NoValidPolicy reports that the record had no valid p= tag, or an
	// invalid sp= tag, and is read as p=none (for the domain and its
	// subdomains) because it names a valid rua= URI (RFC 7489 section
	// 6.6.3, step 6).
	NoValidPolicy bool
	// Ignored lists, in order, the tags (or URIs) that were left out
	// because their value is invalid, they repeat an earlier tag, or
	// they exceed a limit (RFC 7489 section 6.3: such errors are
	// "discarded in favor of default values"). Each is an [*Error]
	// matching ErrSyntax or ErrTooLong and naming the tag. At most 16 are
	// kept. Unknown tags are ignored without a note.
	Ignored []*Error

	// set records which tags were present, for String.
	set tagSet
}

type tagSet uint16

const (
	tagSP tagSet = 1 << iota
	tagNP
	tagADKIM
	tagASPF
	tagPct
	tagT
	tagRUA
	tagRUF
	tagFO
	tagRF
	tagRI
)

// String returns the record in a canonical form: v=DMARC1 first, then the
// tags that were present with valid values, in a fixed order, separated by
// "; ". It parses back to an equal Record, except for Ignored.
func (r *Record) String() string {
	var b strings.Builder
	b.WriteString("v=DMARC1; p=")
	b.WriteString(r.Policy.String())
	tag := func(bit tagSet, name, value string) {
		if r.set&bit != 0 {
			b.WriteString("; ")
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(value)
		}
	}
	tag(tagSP, "sp", r.SubdomainPolicy.String())
	tag(tagNP, "np", r.NonexistentPolicy.String())
	tag(tagADKIM, "adkim", r.DKIMAlignment.String())
	tag(tagASPF, "aspf", r.SPFAlignment.String())
	tag(tagPct, "pct", strconv.Itoa(r.Percent))
	if r.Testing {
		tag(tagT, "t", "y")
	} else {
		tag(tagT, "t", "n")
	}
	tag(tagRUA, "rua", joinURIs(r.AggregateURIs))
	tag(tagRUF, "ruf", joinURIs(r.FailureURIs))
	tag(tagFO, "fo", strings.Join(r.FailureOptions, ":"))
	tag(tagRF, "rf", strings.Join(r.ReportFormats, ":"))
	tag(tagRI, "ri", strconv.FormatUint(uint64(r.ReportInterval), 10))
	return b.String()
}

func joinURIs(us []URI) string {
	var b strings.Builder
	for i, u := range us {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(u.String())
	}
	return b.String()
}

// IsDMARCRecord reports whether the TXT record s starts with the version
// tag v=DMARC1, the test RFC 7489 section 6.6.3 uses to pick DMARC records
// among the TXT records of a _dmarc name: "v" (either case), optional white
// space, "=", optional white space, "DMARC1" (case-sensitive, as the ABNF's
// %x44.4d.41.52.43.31 is), then the end, white space or ";".
func IsDMARCRecord(s string) bool {
	if len(s) < 8 || (s[0] != 'v' && s[0] != 'V') {
		return false
	}
	i := skipWSP(s, 1)
	if i >= len(s) || s[i] != '=' {
		return false
	}
	i = skipWSP(s, i+1)
	if !strings.HasPrefix(s[i:], "DMARC1") {
		return false
	}
	i += len("DMARC1")
	return i == len(s) || s[i] == ';' || isWSP(s[i])
}

func skipWSP(s string, i int) int {
	for i < len(s) && isWSP(s[i]) {
		i++
	}
	return i
}

// isWSP reports white space within a record: space and tab, and CR and LF,
// which appear when a record was published folded.
func isWSP(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimWSP(s string) string {
	for len(s) > 0 && isWSP(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isWSP(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// ParseRecord parses a DMARC record, bounded by lim (nil means the
// defaults).
//
// It follows RFC 7489 sections 6.3, 6.4 and 6.6.3, with DMARCbis where that
// settles a question:
//
//   - The record must start with v=DMARC1 (see [IsDMARCRecord]) followed by
//     ";" or the end; otherwise it is an ErrSyntax error for tag "v".
//   - Tags after v= may come in any order (DMARCbis; RFC 7489's grammar
//     wants p= second, which real records do not always honour). Tag names
//     and keyword values are matched without regard to case.
//   - A tag with an invalid value, a repeated tag (the later one) or a
//     malformed tag-spec is ignored and listed in Record.Ignored; the
//     default applies. Unknown tags are ignored.
//   - A record without a valid p=, or with an invalid sp=, is an ErrSyntax
//     error for that tag, unless rua= holds at least one valid URI: then it
//     is read as p=none and Record.NoValidPolicy is set.
//   - A record longer than lim.RecordBytes is an ErrTooLong error.
//
// ParseRecord never panics, and its work is linear in the length of s.
func ParseRecord(s string, lim *Limits) (*Record, error) {
	l := limitsOf(lim)
	if len(s) > l.RecordBytes {
		return nil, &Error{Err: ErrTooLong, Tag: "v", Detail: "record of " + strconv.Itoa(len(s)) + " octets exceeds the limit of " + strconv.Itoa(l.RecordBytes)}
	}
	if !IsDMARCRecord(s) {
		return nil, tagError("v", "record does not start with v=DMARC1")
	}
	first, rest, _ := strings.Cut(s, ";")
	// first is v=DMARC1 (IsDMARCRecord held), possibly with text after it.
	if !IsDMARCRecord(trimWSP(first)) || trimWSP(first[strings.IndexByte(first, '=')+1:]) != "DMARC1" {
		return nil, tagError("v", "v=DMARC1 must be followed by \";\"")
	}
	r := &Record{
		Percent:        DefaultPercent,
		FailureOptions: []string{"0"},
		ReportFormats:  []string{"afrf"},
		ReportInterval: DefaultReportInterval,
	}
	// seen holds the bits of knownTags already read; v= was.
	seen := knownTagBit("v")
	var (
		hasP, badP, badSP    bool
		badPDetail, spDetail string
	)
	ignore := func(e *Error) {
		if len(r.Ignored) < maxIgnored {
			r.Ignored = append(r.Ignored, e)
		}
	}
	for rest != "" {
		var spec string
		spec, rest, _ = strings.Cut(rest, ";")
		spec = trimWSP(spec)
		if spec == "" {
			continue
		}
		name, value, ok := strings.Cut(spec, "=")
		name, value = trimWSP(name), trimWSP(value)
		if !ok || !validTagName(name) {
			ignore(tagError(boundTag(name), "malformed tag-spec"))
			continue
		}
		name = lowerTag(name)
		bit := knownTagBit(name)
		if bit == 0 {
			continue // unknown tags are ignored (section 6.3)
		}
		if seen&bit != 0 {
			ignore(tagError(name, "repeated tag ignored"))
			continue
		}
		seen |= bit
		switch name {
		case "p":
			d, ok := parseDisposition(value)
			if !ok {
				badP, badPDetail = true, "invalid policy "+quoteText(value, 32)
				continue
			}
			r.Policy, hasP = d, true
		case "sp":
			d, ok := parseDisposition(value)
			if !ok {
				badSP, spDetail = true, "invalid policy "+quoteText(value, 32)
				continue
			}
			r.SubdomainPolicy = d
			r.set |= tagSP
		case "np":
			d, ok := parseDisposition(value)
			if !ok {
				ignore(tagError(name, "invalid policy "+quoteText(value, 32)))
				continue
			}
			r.NonexistentPolicy = d
			r.set |= tagNP
		case "adkim", "aspf":
			var a Alignment
			switch {
			case equalFold(value, "r"):
				a = Relaxed
			case equalFold(value, "s"):
				a = Strict
			default:
				ignore(tagError(name, "alignment must be r or s"))
				continue
			}
			if name == "adkim" {
				r.DKIMAlignment = a
				r.set |= tagADKIM
			} else {
				r.SPFAlignment = a
				r.set |= tagASPF
			}
		case "pct":
			n, ok := parseDecimal(value, 100)
			if !ok {
				ignore(tagError(name, "must be an integer from 0 to 100"))
				continue
			}
			r.Percent = int(n)
			r.set |= tagPct
		case "t":
			switch {
			case equalFold(value, "y"):
				r.Testing = true
			case equalFold(value, "n"):
				r.Testing = false
			default:
				ignore(tagError(name, "must be y or n"))
				continue
			}
			r.set |= tagT
		case "ri":
			n, ok := parseDecimal(value, 1<<32-1)
			if !ok {
				ignore(tagError(name, "must be an integer from 0 to 4294967295"))
				continue
			}
			r.ReportInterval = uint32(n)
			r.set |= tagRI
		case "fo":
			opts, ok := parseColonList(value, func(v string) bool {
				return v == "0" || v == "1" || v == "d" || v == "s"
			})
			if !ok {
				ignore(tagError(name, "options must be 0, 1, d or s separated by \":\""))
				continue
			}
			r.FailureOptions = opts
			r.set |= tagFO
		case "rf":
			formats, ok := parseColonList(value, validKeyword)
			if !ok {
				ignore(tagError(name, "formats must be keywords separated by \":\""))
				continue
			}
			r.ReportFormats = formats
			r.set |= tagRF
		case "rua", "ruf":
			uris := parseURIList(name, value, l.URIs, ignore)
			if name == "rua" {
				r.AggregateURIs = uris
				if len(uris) > 0 {
					r.set |= tagRUA
				}
			} else {
				r.FailureURIs = uris
				if len(uris) > 0 {
					r.set |= tagRUF
				}
			}
		}
	}
	if !hasP || badSP {
		tag, detail := "p", "required tag missing"
		switch {
		case badP:
			detail = badPDetail
		case hasP:
			tag, detail = "sp", spDetail
		}
		if len(r.AggregateURIs) == 0 {
			return nil, tagError(tag, detail)
		}
		// RFC 7489 section 6.6.3, step 6.1: act as if the record were
		// "v=DMARC1; p=none", keeping its reporting tags.
		ignore(tagError(tag, detail+"; read as p=none because rua= is valid"))
		r.NoValidPolicy = true
		r.Policy = DispositionNone
		r.SubdomainPolicy, r.NonexistentPolicy = DispositionNone, DispositionNone
		r.set &^= tagSP | tagNP
		return r, nil
	}
	if r.set&tagSP == 0 {
		r.SubdomainPolicy = r.Policy
	}
	if r.set&tagNP == 0 {
		r.NonexistentPolicy = r.SubdomainPolicy
	}
	return r, nil
}

// knownTags are the tags ParseRecord reads; "v" is first so that a second
// v= counts as a repeated tag.
var knownTags = [...]string{"v", "p", "sp", "np", "adkim", "aspf", "pct", "t", "ri", "fo", "rf", "rua", "ruf"}

func knownTagBit(name string) uint32 {
	for i, t := range knownTags {
		if t == name {
			return 1 << i
		}
	}
	return 0
}

// lowerTag lower-cases a tag name, without allocating when it already is.
func lowerTag(name string) string {
	for i := 0; i < len(name); i++ {
		if 'A' <= name[i] && name[i] <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// validTagName reports whether name is a tag-name of RFC 6376 section 3.2:
// ALPHA *ALNUMPUNC.
func validTagName(name string) bool {
	if name == "" || len(name) > 32 || !isAlpha(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlpha(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

func boundTag(name string) string {
	if len(name) > 32 {
		name = name[:32]
	}
	return name
}

func validKeyword(v string) bool {
	if v == "" || len(v) > 64 || !isAlpha(v[0]) {
		return false
	}
	for i := 1; i < len(v); i++ {
		if c := v[i]; !isAlpha(c) && !isDigit(c) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseDecimal parses 1*DIGIT no greater than max.
func parseDecimal(v string, max uint64) (uint64, bool) {
	if v == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

// parseColonList splits a colon-separated list, trims and lower-cases its
// items and checks each with ok.
func parseColonList(v string, ok func(string) bool) ([]string, bool) {
	var out []string
	for item := range strings.SplitSeq(v, ":") {
		item = strings.ToLower(trimWSP(item))
		if !ok(item) || len(out) >= 16 {
			return nil, false
		}
		out = append(out, item)
	}
	return out, len(out) > 0
}

// parseURIList parses the comma-separated dmarc-uri list of a rua= or ruf=
// tag, keeping at most max URIs.
func parseURIList(tag, v string, max int, ignore func(*Error)) []URI {
	var out []URI
	for item := range strings.SplitSeq(v, ",") {
		item = trimWSP(item)
		if item == "" {
			continue
		}
		if len(out) == max {
			ignore(&Error{Err: ErrTooLong, Tag: tag, Detail: "more than " + strconv.Itoa(max) + " URIs; the rest are ignored"})
			break
		}
		u, detail := parseURI(item)
		if detail != "" {
			ignore(tagError(tag, detail+": "+quoteText(item, 64)))
			continue
		}
		out = append(out, u)
	}
	return out
}

// parseURI parses a dmarc-uri: URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
// (RFC 7489 section 6.4). It returns a non-empty detail when s is invalid.
func parseURI(s string) (URI, string) {
	var u URI
	if i := strings.LastIndexByte(s, '!'); i >= 0 {
		if n, ok := parseSize(s[i+1:]); ok {
			u.MaxSize = n
			s = s[:i]
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return u, "URI holds white space, control or non-ASCII characters"
		}
	}
	p, err := url.Parse(s)
	if err != nil || p.Scheme == "" {
		return u, "not an absolute URI"
	}
	u.Raw = s
	u.Scheme = strings.ToLower(p.Scheme)
	if u.Scheme != "mailto" {
		return u, ""
	}
	addr := p.Opaque
	if addr == "" {
		addr = p.Path // "mailto:/..." is not an address; checked below
	}
	if i := strings.IndexByte(addr, '?'); i >= 0 {
		addr = addr[:i]
	}
	if un, err := url.PathUnescape(addr); err == nil {
		addr = un
	} else {
		return u, "invalid %-escape in mailto URI"
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr[:at], "@,<>") {
		return u, "mailto URI does not name one address"
	}
	d, err := dnsmx.ParseDomain(addr[at+1:])
	if err != nil {
		return u, "mailto URI has an invalid domain"
	}
	u.Address = addr[:at+1] + d.ASCII
	return u, ""
}

// parseSize parses 1*DIGIT [ "k" / "m" / "g" / "t" ] as a number of octets
// (the units are powers of 1024, RFC 7489 section 6.2).
func parseSize(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	shift := 0
	switch lowerByte(s[len(s)-1]) {
	case 'k':
		shift = 10
	case 'm':
		shift = 20
	case 'g':
		shift = 30
	case 't':
		shift = 40
	}
	if shift > 0 {
		s = s[:len(s)-1]
	}
	n, ok := parseDecimal(s, 1<<63)
	if !ok || bits.LeadingZeros64(n) < shift {
		return 0, false
	}
	return n << shift, true
}
