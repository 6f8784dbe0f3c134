package dkim

// Status is the result of verifying one signature, one of the dkim results
// of RFC 8601 section 2.7.1. The zero value is [None].
type Status uint8

// The dkim results of RFC 8601 section 2.7.1.
const (
	// None: the message carries no signature. A [Result] of a signature is
	// never None; it is what [AuthenticationResults] writes for no result.
	None Status = iota
	// Pass: the signature verified.
	Pass
	// Fail: the signature was acceptable but did not verify: the body hash
	// or the signature is wrong, or the signature has expired.
	Fail
	// Neutral: the signature failed while its key record says the domain
	// is testing DKIM (t=y), which RFC 6376 section 3.6.1 asks verifiers
	// not to treat differently from an unsigned message.
	Neutral
	// TempError: the key could not be fetched for a reason that may go
	// away, such as a DNS timeout or SERVFAIL.
	TempError
	// PermError: the signature or its key cannot be used: a syntax error,
	// a missing required tag, an algorithm or key size this package
	// refuses (rsa-sha1, RSA below 1024 bits), no key, a revoked key, or
	// more signatures than the limit.
	PermError
)

var statusNames = [...]string{
	None:      "none",
	Pass:      "pass",
	Fail:      "fail",
	Neutral:   "neutral",
	TempError: "temperror",
	PermError: "permerror",
}

// String returns the lower-case result name of RFC 8601 ("pass",
// "temperror", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}
