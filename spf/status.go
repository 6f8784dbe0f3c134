package spf

// Status is the result of an SPF evaluation, one of the seven results of
// RFC 7208 section 2.6. The zero value is [None].
type Status uint8

// The results of RFC 7208 section 2.6.
const (
	// None: no syntactically valid domain, or no SPF record for it.
	None Status = iota
	// Neutral: the domain owner makes no assertion about the client.
	Neutral
	// Pass: the client is authorized to use the domain.
	Pass
	// Fail: the client is explicitly not authorized to use the domain.
	Fail
	// SoftFail: the client is probably not authorized to use the domain.
	SoftFail
	// TempError: a transient (usually DNS) error happened during the check.
	TempError
	// PermError: the domain's records cannot be interpreted correctly.
	PermError
)

var statusNames = [...]string{
	None:      "none",
	Neutral:   "neutral",
	Pass:      "pass",
	Fail:      "fail",
	SoftFail:  "softfail",
	TempError: "temperror",
	PermError: "permerror",
}

// String returns the lower-case result name used by RFC 7208 and RFC 8601
// ("pass", "softfail", "temperror", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}

// ParseStatus returns the Status named by s, compared without regard to
// case. The second result is false when s names no result.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if equalFold(s, n) {
			return Status(i), true
		}
	}
	return None, false
}

// Qualifier is the prefix of a directive that gives its result on a match
// (RFC 7208 section 4.6.2).
type Qualifier byte

// The four qualifiers; a directive without one is [QualifierPass].
const (
	QualifierPass     Qualifier = '+'
	QualifierFail     Qualifier = '-'
	QualifierSoftFail Qualifier = '~'
	QualifierNeutral  Qualifier = '?'
)

// Status returns the result a matching directive with this qualifier
// produces.
func (q Qualifier) Status() Status {
	switch q {
	case QualifierFail:
		return Fail
	case QualifierSoftFail:
		return SoftFail
	case QualifierNeutral:
		return Neutral
	default:
		return Pass
	}
}

// equalFold reports whether the ASCII strings a and b are equal without
// regard to ASCII case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
