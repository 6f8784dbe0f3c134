package dmarc

// Status is the DMARC result of a message, one of the results RFC 8601
// section 2.7.1 and RFC 7489 section 11.2 define for the dmarc method. The
// zero value is [None].
type Status uint8

const (
	// None: no DMARC record applies (none published, several published,
	// or no usable From domain), so DMARC says nothing about the message.
	None Status = iota
	// Pass: an identifier aligned with the From domain passed SPF or
	// DKIM.
	Pass
	// Fail: a record applies and no aligned identifier passed.
	Fail
	// TempError: a DNS failure prevented discovery of the policy, or an
	// aligned identifier's SPF or DKIM check failed temporarily and no
	// other aligned identifier passed; a later attempt may succeed.
	TempError
	// PermError: the published record cannot be used (a v=DMARC1 record
	// with no valid p= and no valid rua=, or several v=DMARC1 records).
	PermError
)

var statusNames = [...]string{
	None:      "none",
	Pass:      "pass",
	Fail:      "fail",
	TempError: "temperror",
	PermError: "permerror",
}

// String returns the lower-case result name used in Authentication-Results
// ("pass", "fail", "temperror", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}

// Disposition is a policy a Domain Owner asks for (the p=, sp= and np= tags,
// RFC 7489 section 6.3) and what the receiver does with a message after
// pct= or t= sampling. The zero value is [DispositionNone].
type Disposition uint8

const (
	// DispositionNone: deliver as usual; the Domain Owner only wants
	// reports.
	DispositionNone Disposition = iota
	// Quarantine: treat the message as suspicious (spam folder, extra
	// scrutiny).
	Quarantine
	// Reject: refuse the message, preferably during the SMTP transaction
	// (RFC 7489 section 6.6.4, e.g. 550 5.7.1).
	Reject
)

var dispositionNames = [...]string{
	DispositionNone: "none",
	Quarantine:      "quarantine",
	Reject:          "reject",
}

// String returns the name used in records and reports: "none",
// "quarantine" or "reject".
func (d Disposition) String() string {
	if int(d) < len(dispositionNames) {
		return dispositionNames[d]
	}
	return "invalid"
}

// lower returns the next less strict disposition (RFC 7489 section 6.6.4:
// reject becomes quarantine, quarantine becomes none).
func (d Disposition) lower() Disposition {
	if d > DispositionNone {
		return d - 1
	}
	return DispositionNone
}

func parseDisposition(v string) (Disposition, bool) {
	switch {
	case equalFold(v, "none"):
		return DispositionNone, true
	case equalFold(v, "quarantine"):
		return Quarantine, true
	case equalFold(v, "reject"):
		return Reject, true
	}
	return DispositionNone, false
}

// Alignment is an identifier alignment mode (the adkim= and aspf= tags,
// RFC 7489 section 3.1). The zero value is [Relaxed], the default.
type Alignment uint8

const (
	// Relaxed: the identifiers align when their organizational domains
	// are equal.
	Relaxed Alignment = iota
	// Strict: the identifiers align only when they are the same domain.
	Strict
)

// String returns "r" or "s", as written in records and reports.
func (a Alignment) String() string {
	switch a {
	case Relaxed:
		return "r"
	case Strict:
		return "s"
	}
	return "invalid"
}

// DKIMStatus is the result of verifying one DKIM signature, as RFC 8601
// section 2.7.1 names them. The zero value is [DKIMNone]. Only [DKIMPass]
// authenticates a domain; [DKIMTempError] on an aligned domain can make the
// DMARC result temperror.
type DKIMStatus uint8

const (
	// DKIMNone: the message was not signed (RFC 8601 "none").
	DKIMNone DKIMStatus = iota
	// DKIMPass: the signature verified.
	DKIMPass
	// DKIMFail: the signature did not verify.
	DKIMFail
	// DKIMPolicy: the signature verified but is not acceptable to local
	// policy.
	DKIMPolicy
	// DKIMNeutral: the signature could not be processed (syntax).
	DKIMNeutral
	// DKIMTempError: verification failed temporarily (key lookup).
	DKIMTempError
	// DKIMPermError: verification failed permanently (no usable key).
	DKIMPermError
)

var dkimNames = [...]string{
	DKIMNone:      "none",
	DKIMPass:      "pass",
	DKIMFail:      "fail",
	DKIMPolicy:    "policy",
	DKIMNeutral:   "neutral",
	DKIMTempError: "temperror",
	DKIMPermError: "permerror",
}

// String returns the RFC 8601 result name ("pass", "temperror", ...).
func (s DKIMStatus) String() string {
	if int(s) < len(dkimNames) {
		return dkimNames[s]
	}
	return "invalid"
}

// ParseDKIMStatus returns the DKIMStatus named by s (ASCII case ignored), so
// that a verifier's result names map directly. The second result is false
// when s names no result.
func ParseDKIMStatus(s string) (DKIMStatus, bool) {
	for i, n := range dkimNames {
		if equalFold(s, n) {
			return DKIMStatus(i), true
		}
	}
	return DKIMNone, false
}

// DKIMResult is the outcome of verifying one DKIM signature of the message,
// as the caller's DKIM verifier reports it.
type DKIMResult struct {
	// Domain is the signing domain, the d= tag of the signature.
	Domain string
	// Selector is the s= tag; it is only reported in aggregate reports.
	Selector string
	// Status is the verification result.
	Status DKIMStatus
}

// Existence says whether the From domain exists in DNS, for the np= tag
// (DMARCbis; RFC 9091 section 2.7 defines a non-existent domain as one for
// which A, AAAA and MX queries all answer NXDOMAIN or NODATA). The zero
// value is [ExistenceUnknown].
type Existence uint8

const (
	// ExistenceUnknown: [Evaluate] looks the domain up itself when the
	// answer matters; [EvaluatePolicy] treats the domain as existing.
	ExistenceUnknown Existence = iota
	// DomainExists: the From domain has an A, AAAA or MX record.
	DomainExists
	// DomainMissing: the From domain has none of them.
	DomainMissing
)

// equalFold reports whether the ASCII strings a and b are equal without
// regard to ASCII case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != lowerByte(b[i]) {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
