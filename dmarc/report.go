package dmarc

import (
	"compress/gzip"
	"encoding/xml"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/spf"
)

// Feedback is an aggregate report, the <feedback> document of RFC 7489
// appendix C. Its types mirror the schema's: field order is element order,
// and encoding/xml reads and writes it. Values are the schema's strings
// ("pass", "quarantine", "mfrom").
type Feedback struct {
	XMLName         xml.Name        `xml:"feedback"`
	Version         string          `xml:"version"`
	ReportMetadata  ReportMetadata  `xml:"report_metadata"`
	PolicyPublished PolicyPublished `xml:"policy_published"`
	Records         []ReportRecord  `xml:"record"`
}

// ReportMetadata is the schema's ReportMetadataType.
type ReportMetadata struct {
	OrgName          string    `xml:"org_name"`
	Email            string    `xml:"email"`
	ExtraContactInfo string    `xml:"extra_contact_info,omitempty"`
	ReportID         string    `xml:"report_id"`
	DateRange        DateRange `xml:"date_range"`
	Errors           []string  `xml:"error,omitempty"`
}

// DateRange is the schema's DateRangeType, in seconds since the epoch, UTC.
type DateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

// PolicyPublished is the schema's PolicyPublishedType: the record that
// applied to the messages of the report.
type PolicyPublished struct {
	Domain string `xml:"domain"`
	ADKIM  string `xml:"adkim,omitempty"`
	ASPF   string `xml:"aspf,omitempty"`
	P      string `xml:"p"`
	SP     string `xml:"sp"`
	Pct    int    `xml:"pct"`
	FO     string `xml:"fo"`
}

// ReportRecord is the schema's RecordType: one row of identical results
// with its message count.
type ReportRecord struct {
	Row         Row         `xml:"row"`
	Identifiers Identifiers `xml:"identifiers"`
	AuthResults AuthResults `xml:"auth_results"`
}

// Row is the schema's RowType.
type Row struct {
	SourceIP        string          `xml:"source_ip"`
	Count           int             `xml:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated"`
}

// PolicyEvaluated is the schema's PolicyEvaluatedType.
type PolicyEvaluated struct {
	Disposition string                 `xml:"disposition"`
	DKIM        string                 `xml:"dkim"`
	SPF         string                 `xml:"spf"`
	Reasons     []PolicyOverrideReason `xml:"reason,omitempty"`
}

// PolicyOverrideReason is the schema's PolicyOverrideReason.
type PolicyOverrideReason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment,omitempty"`
}

// Identifiers is the schema's IdentifierType. RFC 7489's schema has no
// envelope_from element (RFC 9990 adds one); the MAIL FROM domain is the
// domain of the spf element of AuthResults.
type Identifiers struct {
	EnvelopeTo string `xml:"envelope_to,omitempty"`
	HeaderFrom string `xml:"header_from"`
}

// AuthResults is the schema's AuthResultType: the SPF and DKIM results as
// the receiver got them, before alignment.
type AuthResults struct {
	DKIM []DKIMAuthResult `xml:"dkim"`
	SPF  []SPFAuthResult  `xml:"spf"`
}

// DKIMAuthResult is the schema's DKIMAuthResultType.
type DKIMAuthResult struct {
	Domain      string `xml:"domain"`
	Selector    string `xml:"selector,omitempty"`
	Result      string `xml:"result"`
	HumanResult string `xml:"human_result,omitempty"`
}

// SPFAuthResult is the schema's SPFAuthResultType.
type SPFAuthResult struct {
	Domain string `xml:"domain"`
	Scope  string `xml:"scope"`
	Result string `xml:"result"`
}

// Report is the aggregate report of one policy domain for one period, as
// [Aggregator.Flush] returns it.
type Report struct {
	// Feedback is the report document.
	Feedback Feedback
	// Domain is the policy domain (where the record was found).
	Domain string
	// Receiver is the reporting receiver's domain (Aggregator.Receiver).
	Receiver string
	// URIs are the rua= URIs of the record, to pass through
	// [Report.Destinations].
	URIs []URI
}

// Aggregator collects evaluated messages over a reporting period, grouped
// by policy domain, and turns them into aggregate reports (RFC 7489 section
// 7.2). Messages with identical rows (source IP, disposition, aligned
// results, override reasons, header From, authentication results) are
// counted in one record.
//
// The zero value is not usable without OrgName, Email and Receiver; set
// them before the first Add. An Aggregator is safe for concurrent use.
// Memory is bounded by Limits.ReportDomains times Limits.ReportRows rows.
type Aggregator struct {
	// OrgName and Email are the report_metadata's org_name and email: who
	// sends the reports and where to write about them.
	OrgName, Email string
	// ExtraContactInfo is the optional extra_contact_info (a URL or
	// phone number).
	ExtraContactInfo string
	// Receiver is the receiver's domain, the first part of report file
	// names and the Submitter of report subjects (section 7.2.1.1).
	Receiver string
	// Limits bounds what is held; the zero value means the defaults.
	Limits Limits

	mu      sync.Mutex
	domains map[string]*collector
	order   []string
	dropped int
}

type collector struct {
	policy   PolicyPublished
	uris     []URI
	index    map[string]int
	records  []ReportRecord
	overflow int
}

// Dropped returns how many messages Add refused since the last Flush
// because Limits.ReportDomains domains were already being collected.
func (g *Aggregator) Dropped() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dropped
}

// Add records one evaluated message: res from [Evaluate] or
// [EvaluatePolicy], a the Args it was evaluated with, and ip the SMTP
// client's address. It reports whether the message was counted: messages
// whose policy has no record, or no rua= URI, are not reported and are
// skipped, as are messages beyond the limits (counted in Dropped, or in the
// report's error element when the domain's rows are full).
func (g *Aggregator) Add(ip netip.Addr, a Args, res Result) bool {
	rec := res.Policy.Record
	if rec == nil || len(rec.AggregateURIs) == 0 {
		return false
	}
	lim := g.Limits.withDefaults()
	row := makeRecord(ip, a, res, lim)
	key := rowKey(&row)

	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.domains[res.Policy.Domain]
	if c == nil {
		if len(g.domains) >= lim.ReportDomains {
			g.dropped++
			return false
		}
		if g.domains == nil {
			g.domains = make(map[string]*collector)
		}
		c = &collector{policy: publishedPolicy(res.Policy), uris: slices.Clone(rec.AggregateURIs), index: make(map[string]int)}
		g.domains[res.Policy.Domain] = c
		g.order = append(g.order, res.Policy.Domain)
	}
	if i, ok := c.index[key]; ok {
		c.records[i].Row.Count++
		return true
	}
	if len(c.records) >= lim.ReportRows {
		c.overflow++
		return false
	}
	row.Row.Count = 1
	c.index[key] = len(c.records)
	c.records = append(c.records, row)
	return true
}

// Flush returns the reports collected since the last Flush, one per policy
// domain in the order the domains were first seen, for the period from
// begin to end, and starts a new period.
func (g *Aggregator) Flush(begin, end time.Time) []*Report {
	g.mu.Lock()
	domains, order := g.domains, g.order
	g.domains, g.order, g.dropped = nil, nil, 0
	g.mu.Unlock()

	return buildReports(reportMeta{g.OrgName, g.Email, g.ExtraContactInfo, g.Receiver}, domains, order, begin, end)
}

// reportMeta is who makes the reports.
type reportMeta struct {
	orgName, email, extraContactInfo, receiver string
}

// buildReports makes the report of each policy domain of a period, in the
// order the domains were first seen.
func buildReports(m reportMeta, domains map[string]*collector, order []string, begin, end time.Time) []*Report {
	var out []*Report
	for _, d := range order {
		c := domains[d]
		fb := Feedback{
			Version: "1.0",
			ReportMetadata: ReportMetadata{
				OrgName:          m.orgName,
				Email:            m.email,
				ExtraContactInfo: m.extraContactInfo,
				ReportID:         strconv.FormatInt(begin.Unix(), 10) + "." + strconv.FormatInt(end.Unix(), 10) + "." + d + "@" + m.receiver,
				DateRange:        DateRange{Begin: begin.Unix(), End: end.Unix()},
			},
			PolicyPublished: c.policy,
			Records:         c.records,
		}
		if c.overflow > 0 {
			fb.ReportMetadata.Errors = []string{strconv.Itoa(c.overflow) + " messages not reported: more than " + strconv.Itoa(len(c.records)) + " distinct rows"}
		}
		out = append(out, &Report{Feedback: fb, Domain: d, Receiver: m.receiver, URIs: c.uris})
	}
	return out
}

func publishedPolicy(p Policy) PolicyPublished {
	r := p.Record
	return PolicyPublished{
		Domain: p.Domain,
		ADKIM:  r.DKIMAlignment.String(),
		ASPF:   r.SPFAlignment.String(),
		P:      r.Policy.String(),
		SP:     r.SubdomainPolicy.String(),
		Pct:    r.Percent,
		FO:     strings.Join(r.FailureOptions, ":"),
	}
}

// makeRecord builds the report row of one message (Count left at 0).
func makeRecord(ip netip.Addr, a Args, res Result, lim Limits) ReportRecord {
	passFail := func(ok bool) string {
		if ok {
			return "pass"
		}
		return "fail"
	}
	rr := ReportRecord{
		Row: Row{
			SourceIP: formatIP(ip),
			PolicyEvaluated: PolicyEvaluated{
				Disposition: res.Disposition.String(),
				DKIM:        passFail(res.DKIMAligned),
				SPF:         passFail(res.SPFAligned),
			},
		},
		Identifiers: Identifiers{HeaderFrom: res.Policy.FromDomain},
	}
	if res.SampledOut {
		comment := "pct=" + strconv.Itoa(res.Policy.Record.Percent)
		if res.Policy.Record.Testing {
			comment = "t=y"
		}
		rr.Row.PolicyEvaluated.Reasons = []PolicyOverrideReason{{Type: "sampled_out", Comment: comment}}
	}
	for i, d := range a.DKIM {
		if i == lim.DKIMResults {
			break
		}
		rr.AuthResults.DKIM = append(rr.AuthResults.DKIM, DKIMAuthResult{
			Domain:   normalizeLoose(d.Domain),
			Selector: d.Selector,
			Result:   d.Status.String(),
		})
	}
	scope := "mfrom"
	if a.SPF.Identity == spf.IdentityHELO {
		scope = "helo"
	}
	rr.AuthResults.SPF = []SPFAuthResult{{Domain: normalizeLoose(a.spfDomain()), Scope: scope, Result: a.SPF.Status.String()}}
	return rr
}

// formatIP writes an address as the schema's IPAddress pattern wants it:
// dotted IPv4, or IPv6 as eight groups of hexadecimal digits (the pattern
// has no "::").
func formatIP(ip netip.Addr) string {
	ip = ip.Unmap()
	if !ip.Is6() {
		return ip.String()
	}
	b := ip.As16()
	var s strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	return s.String()
}

// rowKey identifies rows that are counted together.
func rowKey(r *ReportRecord) string {
	var b strings.Builder
	w := func(s string) {
		b.WriteString(s)
		b.WriteByte(0)
	}
	pe := &r.Row.PolicyEvaluated
	w(r.Row.SourceIP)
	w(pe.Disposition)
	w(pe.DKIM)
	w(pe.SPF)
	for _, re := range pe.Reasons {
		w(re.Type)
		w(re.Comment)
	}
	b.WriteByte(1)
	w(r.Identifiers.EnvelopeTo)
	w(r.Identifiers.HeaderFrom)
	for _, d := range r.AuthResults.DKIM {
		w(d.Domain)
		w(d.Selector)
		w(d.Result)
	}
	b.WriteByte(1)
	for _, s := range r.AuthResults.SPF {
		w(s.Domain)
		w(s.Scope)
		w(s.Result)
	}
	return b.String()
}

// WriteXML writes the report document, with an XML declaration, indented.
func (r *Report) WriteXML(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(&r.Feedback); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteGzip writes the report document compressed with gzip, as reports
// are sent (RFC 7489 section 7.2.1.1); the gzip header names the file
// FileName without ".gz".
func (r *Report) WriteGzip(w io.Writer) error {
	zw := gzip.NewWriter(w)
	zw.Name = strings.TrimSuffix(r.FileName(), ".gz")
	zw.ModTime = time.Unix(r.Feedback.ReportMetadata.DateRange.End, 0)
	if err := r.WriteXML(zw); err != nil {
		return err
	}
	return zw.Close()
}

// FileName returns the report's file name after RFC 7489 section 7.2.1.1:
// receiver "!" policy-domain "!" begin "!" end ".xml.gz", for example
// "mx.example.org!example.com!1796515200!1796601600.xml.gz".
func (r *Report) FileName() string {
	dr := r.Feedback.ReportMetadata.DateRange
	return fileSafe(r.Receiver) + "!" + fileSafe(r.Domain) + "!" + strconv.FormatInt(dr.Begin, 10) + "!" + strconv.FormatInt(dr.End, 10) + ".xml.gz"
}

// fileSafe keeps a domain usable in a file name and a MIME parameter:
// anything but letters, digits, '-', '.' and '_' becomes '_'.
func fileSafe(s string) string {
	ok := func(c byte) bool { return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' }
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = ok(s[i])
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i := range b {
		if !ok(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}
