package delivery

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// TLS-RPT result types (RFC 8460 section 4.3) that delivery records.
const (
	ResultSTARTTLSNotSupported    = "starttls-not-supported"
	ResultCertificateHostMismatch = "certificate-host-mismatch"
	ResultCertificateExpired      = "certificate-expired"
	ResultCertificateNotTrusted   = "certificate-not-trusted"
	ResultValidationFailure       = "validation-failure"
	ResultSTSPolicyFetchError     = "sts-policy-fetch-error"
	ResultSTSPolicyInvalid        = "sts-policy-invalid"
	ResultSTSWebPKIInvalid        = "sts-webpki-invalid"
)

// Policy types of a TLS-RPT report.
const (
	PolicyTypeSTS           = "sts"
	PolicyTypeNoPolicyFound = "no-policy-found"
)

// DefaultMaxReportPolicies bounds the (day, domain, policy) groups a
// TLSReporter keeps; sessions of new groups beyond it are not counted.
const DefaultMaxReportPolicies = 100000

// TLSReporter counts, per policy domain and UTC day, the TLS sessions of
// outbound delivery that succeeded and failed, with the failure result
// types of RFC 8460 section 4.3, and writes the JSON report of section 4.4
// for a date range. Sending the report (to the rua of the domain's
// _smtp._tls record) is the caller's job. It is safe for concurrent use.
type TLSReporter struct {
	// MaxPolicies bounds the groups kept. Default DefaultMaxReportPolicies.
	MaxPolicies int

	mu     sync.Mutex
	groups map[groupKey]*reportGroup
}

type groupKey struct {
	day    string // 2006-01-02, UTC
	domain string
	typ    string
	policy string // policy lines joined by "\n"
}

type failureKey struct {
	result    string
	mxHost    string
	receiving string
	sending   string
}

type reportGroup struct {
	policy   []string
	mx       []string
	success  int64
	failures map[failureKey]int64
}

// RecordSuccess counts a session to a host of domain that met its policy
// (policy nil: the domain has none).
func (r *TLSReporter) RecordSuccess(now time.Time, domain string, policy *STSPolicy) {
	r.record(now, domain, policy, func(g *reportGroup) { g.success++ })
}

// RecordFailure counts a failed session: result is one of the Result
// constants, mxHost and ip the host and address tried, sending the local
// address used (either address may be zero when unknown).
func (r *TLSReporter) RecordFailure(now time.Time, domain string, policy *STSPolicy, result, mxHost string, ip, sending netip.Addr) {
	k := failureKey{result: result, mxHost: mxHost}
	if ip.IsValid() {
		k.receiving = ip.String()
	}
	if sending.IsValid() {
		k.sending = sending.String()
	}
	r.record(now, domain, policy, func(g *reportGroup) { g.failures[k]++ })
}

func (r *TLSReporter) record(now time.Time, domain string, policy *STSPolicy, f func(*reportGroup)) {
	k := groupKey{day: now.UTC().Format(time.DateOnly), domain: strings.ToLower(domain), typ: PolicyTypeNoPolicyFound}
	if policy != nil {
		k.typ = PolicyTypeSTS
		k.policy = strings.Join(policy.Lines, "\n")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups == nil {
		r.groups = map[groupKey]*reportGroup{}
	}
	g := r.groups[k]
	if g == nil {
		if len(r.groups) >= orDefault(r.MaxPolicies, DefaultMaxReportPolicies) {
			return
		}
		g = &reportGroup{failures: map[failureKey]int64{}}
		if policy != nil {
			g.policy = slices.Clone(policy.Lines)
			g.mx = slices.Clone(policy.MX)
		}
		r.groups[k] = g
	}
	f(g)
}

// Prune forgets the days before t.
func (r *TLSReporter) Prune(t time.Time) {
	day := t.UTC().Format(time.DateOnly)
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.groups {
		if k.day < day {
			delete(r.groups, k)
		}
	}
}

// TLSReport is the JSON report of RFC 8460 section 4.4.
type TLSReport struct {
	OrganizationName string         `json:"organization-name"`
	DateRange        ReportRange    `json:"date-range"`
	ContactInfo      string         `json:"contact-info"`
	ReportID         string         `json:"report-id"`
	Policies         []PolicyReport `json:"policies"`
}

// ReportRange is the date-range of a report.
type ReportRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// PolicyReport is one entry of the policies array.
type PolicyReport struct {
	Policy         ReportPolicy    `json:"policy"`
	Summary        ReportSummary   `json:"summary"`
	FailureDetails []FailureDetail `json:"failure-details,omitempty"`
}

// ReportPolicy describes the policy applied.
type ReportPolicy struct {
	Type   string   `json:"policy-type"`
	String []string `json:"policy-string,omitempty"`
	Domain string   `json:"policy-domain"`
	MXHost []string `json:"mx-host,omitempty"`
}

// ReportSummary counts the sessions.
type ReportSummary struct {
	Successful int64 `json:"total-successful-session-count"`
	Failed     int64 `json:"total-failure-session-count"`
}

// FailureDetail counts the failed sessions of one kind.
type FailureDetail struct {
	ResultType          string `json:"result-type"`
	SendingMTAIP        string `json:"sending-mta-ip,omitempty"`
	ReceivingMXHostname string `json:"receiving-mx-hostname,omitempty"`
	ReceivingIP         string `json:"receiving-ip,omitempty"`
	FailedSessionCount  int64  `json:"failed-session-count"`
}

// ReportOptions are the report's own fields.
type ReportOptions struct {
	OrganizationName string
	ContactInfo      string
	ReportID         string
}

// Report returns the report for policyDomain covering the UTC days from
// start (inclusive) to end (exclusive), usually one day. A domain without
// sessions in the range gives a report with no policies.
func (r *TLSReporter) Report(policyDomain string, start, end time.Time, opts ReportOptions) *TLSReport {
	rep := &TLSReport{
		OrganizationName: opts.OrganizationName,
		ContactInfo:      opts.ContactInfo,
		ReportID:         opts.ReportID,
		DateRange:        ReportRange{Start: start.UTC(), End: end.UTC()},
		Policies:         []PolicyReport{},
	}
	from, to := start.UTC().Format(time.DateOnly), end.UTC().Format(time.DateOnly)
	policyDomain = strings.ToLower(policyDomain)
	merged := map[[2]string]*PolicyReport{}
	var order [][2]string
	r.mu.Lock()
	keys := make([]groupKey, 0, len(r.groups))
	for k := range r.groups {
		if k.domain == policyDomain && k.day >= from && k.day < to {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		return strings.Compare(a.day+a.typ+a.policy, b.day+b.typ+b.policy)
	})
	for _, k := range keys {
		g := r.groups[k]
		mk := [2]string{k.typ, k.policy}
		pr := merged[mk]
		if pr == nil {
			pr = &PolicyReport{Policy: ReportPolicy{Type: k.typ, String: g.policy, Domain: policyDomain, MXHost: g.mx}}
			merged[mk] = pr
			order = append(order, mk)
		}
		pr.Summary.Successful += g.success
		for fk, n := range g.failures {
			pr.Summary.Failed += n
			i := slices.IndexFunc(pr.FailureDetails, func(d FailureDetail) bool {
				return d.ResultType == fk.result && d.ReceivingMXHostname == fk.mxHost && d.ReceivingIP == fk.receiving && d.SendingMTAIP == fk.sending
			})
			if i < 0 {
				pr.FailureDetails = append(pr.FailureDetails, FailureDetail{ResultType: fk.result, SendingMTAIP: fk.sending, ReceivingMXHostname: fk.mxHost, ReceivingIP: fk.receiving})
				i = len(pr.FailureDetails) - 1
			}
			pr.FailureDetails[i].FailedSessionCount += n
		}
	}
	r.mu.Unlock()
	for _, mk := range order {
		pr := merged[mk]
		slices.SortFunc(pr.FailureDetails, func(a, b FailureDetail) int {
			return strings.Compare(a.ResultType+a.ReceivingMXHostname+a.ReceivingIP+a.SendingMTAIP, b.ResultType+b.ReceivingMXHostname+b.ReceivingIP+b.SendingMTAIP)
		})
		rep.Policies = append(rep.Policies, *pr)
	}
	return rep
}

// WriteTo writes the report as JSON.
func (rep *TLSReport) WriteTo(w io.Writer) (int64, error) {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return 0, err
	}
	b = append(b, '\n')
	n, err := w.Write(b)
	return int64(n), err
}

// tlsFailureType maps a failed handshake or certificate check to a result
// type.
func tlsFailureType(handshakeErr, verifyErr error) string {
	err := verifyErr
	if err == nil {
		err = handshakeErr
	}
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &hn):
		return ResultCertificateHostMismatch
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return ResultCertificateExpired
	case errors.As(err, &ua):
		return ResultCertificateNotTrusted
	}
	return ResultValidationFailure
}

func (d *Deliverer) recordSuccess(domain string, policy *STSPolicy) {
	if d.TLSRPT != nil {
		d.TLSRPT.RecordSuccess(d.now(), domain, policy)
	}
}

func (d *Deliverer) recordFailure(domain string, policy *STSPolicy, host string, ip, sending netip.Addr, result string) {
	if d.TLSRPT != nil {
		d.TLSRPT.RecordFailure(d.now(), domain, policy, result, host, ip, sending)
	}
}

func (d *Deliverer) recordPolicyFailure(domain string, err error) {
	if d.TLSRPT == nil {
		return
	}
	result := ResultSTSPolicyFetchError
	switch {
	case errors.Is(err, ErrPolicyInvalid):
		result = ResultSTSPolicyInvalid
	case errors.Is(err, ErrPolicyWebPKI):
		result = ResultSTSWebPKIInvalid
	}
	k := failureKey{result: result}
	d.TLSRPT.record(d.now(), domain, &STSPolicy{}, func(g *reportGroup) { g.failures[k]++ })
}
