package spf

import (
	"net/netip"
	"time"
)

// Default limits of RFC 7208 section 4.6.4, and the default bound on an
// explanation's length.
const (
	// DefaultMaxDNSTerms is the number of mechanisms and modifiers that
	// query DNS (include, a, mx, ptr, exists, redirect) one check may
	// evaluate, across all included and redirected records.
	DefaultMaxDNSTerms = 10
	// DefaultMaxVoidLookups is the number of DNS lookups answering with no
	// record (NXDOMAIN or no data) one check tolerates.
	DefaultMaxVoidLookups = 2
	// DefaultMaxMXNames is the number of MX hosts one mx mechanism may
	// name; more is a permerror.
	DefaultMaxMXNames = 10
	// DefaultMaxPTRNames is the number of PTR names that ptr and %{p}
	// look at; the rest are ignored.
	DefaultMaxPTRNames = 10
	// DefaultMaxExplanation is the longest explanation returned, in
	// octets. Longer ones are cut at a word boundary when possible.
	DefaultMaxExplanation = 256
)

// MaxNesting caps how deeply include and redirect may nest, whatever
// Limits.DNSTerms allows, so that a record including itself cannot exhaust
// the stack under a raised term limit. Deeper nesting is a PermError
// matching ErrTooManyDNSTerms. With the default limits it is never
// reached.
const MaxNesting = 64

// Limits bounds the work and the output of one check. Each zero or negative
// field means its documented default.
type Limits struct {
	// DNSTerms: DNS-querying terms per check (DefaultMaxDNSTerms).
	DNSTerms int
	// VoidLookups: void lookups per check (DefaultMaxVoidLookups).
	VoidLookups int
	// MXNames: MX hosts per mx mechanism (DefaultMaxMXNames).
	MXNames int
	// PTRNames: PTR names looked at per ptr mechanism or %{p}
	// (DefaultMaxPTRNames).
	PTRNames int
	// Explanation: longest explanation in octets (DefaultMaxExplanation).
	Explanation int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.DNSTerms, DefaultMaxDNSTerms)
	def(&l.VoidLookups, DefaultMaxVoidLookups)
	def(&l.MXNames, DefaultMaxMXNames)
	def(&l.PTRNames, DefaultMaxPTRNames)
	def(&l.Explanation, DefaultMaxExplanation)
	return l
}

// Identity is the identity a check authorizes (RFC 7208 section 2).
type Identity uint8

const (
	// IdentityMailFrom checks the domain of the MAIL FROM reverse-path
	// (Args.Sender), or "postmaster@" the HELO name when it is null
	// (RFC 7208 section 2.4). It is the zero value.
	IdentityMailFrom Identity = iota
	// IdentityHELO checks the HELO or EHLO name (RFC 7208 section 2.3).
	IdentityHELO
)

// String returns "mailfrom" or "helo", the names used in Received-SPF and
// Authentication-Results.
func (i Identity) String() string {
	switch i {
	case IdentityMailFrom:
		return "mailfrom"
	case IdentityHELO:
		return "helo"
	}
	return "invalid"
}

// Args are the inputs of one check.
type Args struct {
	// IP is the SMTP client's address. It is required. An IPv4-mapped
	// IPv6 address is checked as the IPv4 address.
	IP netip.Addr
	// Sender is the MAIL FROM reverse-path without angle brackets, empty
	// for the null reverse-path. A missing local-part ("@example.com")
	// becomes "postmaster" (RFC 7208 section 4.3). An internationalized
	// domain is checked in its A-label form.
	Sender string
	// HELO is the domain given in HELO or EHLO. It is the checked domain
	// for IdentityHELO and for a null Sender, and the value of %{h}.
	HELO string
	// Identity selects what is checked; the zero value is
	// IdentityMailFrom.
	Identity Identity
	// Receiver is the receiving MTA's host name, for %{r} in explanations
	// and for Received-SPF; empty means "unknown".
	Receiver string
	// Now is the time for %{t} in explanations; the zero value means
	// time.Now() at the moment of the check.
	Now time.Time
	// DefaultExplanation is the explanation of a fail result when the
	// record has no usable exp= modifier. It is a macro-string like an
	// explanation record ("%{i} is not one of %{d}'s designated mail
	// servers") and is expanded the same way; text that does not parse is
	// used literally. Empty means no explanation.
	DefaultExplanation string
	// Limits bounds the evaluation; the zero value means the RFC 7208
	// defaults.
	Limits Limits
}

// Result is the outcome of one check. Every outcome, errors included, is
// a Status; Problem says why a TempError or PermError happened.
type Result struct {
	// Status is the SPF result.
	Status Status
	// Identity is the checked identity.
	Identity Identity
	// Domain is the checked domain (the <domain> of check_host()).
	Domain string
	// Sender is the <sender> of check_host(): the reverse-path, with
	// "postmaster" supplied for a missing local-part or a null path.
	Sender string
	// Mechanism is the directive that matched, in canonical form ("-all",
	// "include:_spf.example.com", "ip4:192.0.2.0/24"). When the result
	// comes from a redirect= it is the directive matched in the target
	// record; it is empty when no directive matched (neutral by default)
	// and for none, temperror and permerror.
	Mechanism string
	// Explanation is, for a Fail only, the expanded exp= text or else the
	// expanded Args.DefaultExplanation. It holds printable ASCII only and
	// is at most Limits.Explanation octets, so it is safe in an SMTP
	// reply.
	Explanation string
	// Problem is an [*Error] telling why the status is TempError or
	// PermError, and nil otherwise.
	Problem error
	// DNSTerms is how many DNS-querying terms were evaluated.
	DNSTerms int
	// VoidLookups is how many lookups answered with no record.
	VoidLookups int
}
