package dmarc

import (
	"context"
	"errors"
	"math/rand/v2"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/spf"
)

// Rand is the source of randomness for pct= sampling. *rand.Rand of
// math/rand/v2 satisfies it; tests pass a fixed source.
type Rand interface {
	// IntN returns a number in [0, n).
	IntN(n int) int
}

// Args are the inputs of one evaluation: plain data that the caller maps
// from its own SPF and DKIM verifiers.
type Args struct {
	// From is the RFC5322.From domain, as [FromDomain] extracts it.
	From string
	// SPF is the result of the SPF check of the message: Status and
	// Domain (the MAIL FROM domain, or the HELO name when MAIL FROM was
	// null and the check used it, RFC 7208 section 2.4) are used, and
	// Identity is reported as the scope in aggregate reports. A zero
	// Result is SPF none for no domain.
	SPF spf.Result
	// SPFDomain, when not empty, replaces SPF.Domain as the domain SPF
	// authenticated, for callers whose SPF result comes from elsewhere.
	SPFDomain string
	// DKIM holds the result of every DKIM signature of the message, in
	// the order they appear; at most Limits.DKIMResults are looked at.
	DKIM []DKIMResult
	// FromExists says whether the From domain exists, for np=. When it
	// is ExistenceUnknown, Evaluate looks it up (A, AAAA, then MX) only
	// when the answer changes the policy: the message fails, the record
	// came from the organizational domain and its np= differs from sp=.
	FromExists Existence
	// Rand draws the pct= sample; nil means math/rand/v2's global
	// source. It is called at most once, and only for a failing message
	// whose record has 0 < pct < 100.
	Rand Rand
	// Limits bounds the work; the zero value means the defaults.
	Limits Limits
}

// spfDomain returns the domain SPF authenticated.
func (a *Args) spfDomain() string {
	if a.SPFDomain != "" {
		return a.SPFDomain
	}
	return a.SPF.Domain
}

// Result is the outcome of one evaluation. Every outcome, DNS failures and
// broken records included, is a Status; Problem says why it is none,
// temperror or permerror.
type Result struct {
	// Status is the DMARC result.
	Status Status
	// Policy is what policy discovery found; Policy.Record is nil when
	// no record applies.
	Policy Policy
	// Requested is the policy the record asks for this message: p=, or
	// sp= or np= for a subdomain of the domain the record was found at.
	// It is DispositionNone when no record applies.
	Requested Disposition
	// Disposition is what the receiver should do: Requested for a
	// failing message, one step less strict when pct= sampled the message
	// out (RFC 7489 section 6.6.4), DispositionNone when the record has
	// t=y (DMARCbis: the policy is not to be applied), and
	// DispositionNone for any other Status.
	Disposition Disposition
	// SampledOut reports that Disposition is less strict than Requested
	// because of pct= or t=y (the sampled_out reason of aggregate
	// reports).
	SampledOut bool
	// SPFAligned reports that SPF passed for a domain aligned with the
	// From domain.
	SPFAligned bool
	// DKIMAligned reports that a DKIM signature of an aligned domain
	// passed; DKIMDomain is that signature's d=.
	DKIMAligned bool
	DKIMDomain  string
	// Problem is an [*Error] telling why the status is None, TempError
	// or PermError, and nil otherwise (and for Pass and Fail).
	Problem error
}

// Evaluate runs DMARC for one message: policy discovery with
// [LookupPolicy], then [EvaluatePolicy], and, when the np= tag makes it
// matter, the existence check of the From domain.
//
// Every DMARC outcome is reported in Result.Status: no record (or an invalid
// From domain) is None, a DNS failure during discovery is TempError, and
// several records or an unusable record are PermError, each with
// Result.Problem saying why. The error is non-nil only when r is nil (an
// error matching [ErrInvalidArgs]) or ctx ended during a lookup
// (ctx.Err(), with a TempError Result).
//
// Evaluate is safe for concurrent use as long as r and a.Rand are.
func Evaluate(ctx context.Context, r dnsmx.Resolver, a Args) (Result, error) {
	if r == nil {
		return Result{}, &Error{Err: ErrInvalidArgs, Detail: "nil resolver"}
	}
	pol, err := LookupPolicy(ctx, r, a.From, &a.Limits)
	var res Result
	if err != nil {
		res = Result{Status: errorStatus(err), Policy: pol, Problem: err}
	} else {
		res = evaluate(ctx, r, pol, &a)
	}
	if res.Status == TempError && ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// errorStatus maps a policy discovery error to the DMARC result.
func errorStatus(err error) Status {
	switch {
	case errors.Is(err, ErrDNS):
		return TempError
	case errors.Is(err, ErrNoRecord), errors.Is(err, ErrInvalidDomain), errors.Is(err, ErrInvalidArgs):
		return None
	}
	return PermError
}

// EvaluatePolicy evaluates a message against a policy found earlier by
// [LookupPolicy] (a cached one, for example), without DNS: an unknown
// a.FromExists counts as existing, so np= never applies unless the caller
// says the domain is missing. A Policy without a Record gives None.
func EvaluatePolicy(p Policy, a Args) Result {
	if p.Record == nil {
		return Result{Status: None, Policy: p, Problem: &Error{Err: ErrNoRecord, Domain: p.FromDomain}}
	}
	return evaluate(context.Background(), nil, p, &a)
}

// evaluate does identifier alignment (RFC 7489 section 3.1), picks the
// policy (section 6.6.2 and 6.3 sp=, DMARCbis np=) and applies pct= or t=
// (section 6.6.4). r may be nil: then the From domain's existence is not
// looked up.
func evaluate(ctx context.Context, r dnsmx.Resolver, p Policy, a *Args) Result {
	rec := p.Record
	res := Result{Policy: p, Requested: rec.Policy}
	from, fromOrg := p.FromDomain, p.OrgDomain

	tempAligned := false
	if d := a.spfDomain(); d != "" && (a.SPF.Status == spf.Pass || a.SPF.Status == spf.TempError) {
		if aligned(normalizeLoose(d), from, fromOrg, rec.SPFAlignment) {
			res.SPFAligned = a.SPF.Status == spf.Pass
			tempAligned = a.SPF.Status == spf.TempError
		}
	}
	max := a.Limits.withDefaults().DKIMResults
	for i, d := range a.DKIM {
		if i == max {
			break
		}
		if d.Status != DKIMPass && d.Status != DKIMTempError {
			continue
		}
		dd := normalizeLoose(d.Domain)
		if !aligned(dd, from, fromOrg, rec.DKIMAlignment) {
			continue
		}
		if d.Status == DKIMPass {
			res.DKIMAligned, res.DKIMDomain = true, dd
			break
		}
		tempAligned = true
	}
	switch {
	case res.SPFAligned || res.DKIMAligned:
		res.Status = Pass
	case tempAligned:
		res.Status = TempError
		res.Problem = &Error{Err: ErrDNS, Domain: from, Detail: "an aligned SPF or DKIM check failed temporarily"}
	default:
		res.Status = Fail
	}

	if p.Subdomain() {
		res.Requested = rec.SubdomainPolicy
		if res.Status == Fail && rec.NonexistentPolicy != rec.SubdomainPolicy {
			ex := a.FromExists
			if ex == ExistenceUnknown && r != nil {
				var err error
				if ex, err = lookupExistence(ctx, r, from); err != nil {
					res.Status, res.Problem = TempError, err
					return res
				}
			}
			if ex == DomainMissing {
				res.Requested = rec.NonexistentPolicy
			}
		}
	}
	if res.Status != Fail {
		return res
	}
	res.Disposition = res.Requested
	if res.Requested == DispositionNone {
		return res
	}
	switch {
	case rec.Testing:
		// DMARCbis: the Domain Owner "does not want the handling policy
		// to be applied".
		res.SampledOut = true
		res.Disposition = DispositionNone
		return res
	case rec.Percent <= 0:
		res.SampledOut = true
	case rec.Percent < 100:
		var n int
		if a.Rand != nil {
			n = a.Rand.IntN(100)
		} else {
			n = rand.IntN(100)
		}
		res.SampledOut = n >= rec.Percent
	}
	if res.SampledOut {
		res.Disposition = res.Disposition.lower()
	}
	return res
}
