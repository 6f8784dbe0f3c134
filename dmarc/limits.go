package dmarc

// Default limits. Records come from DNS and are untrusted; reports are kept
// in memory for a whole reporting period.
const (
	// DefaultMaxRecordBytes is the longest DMARC record parsed, in
	// octets. Longer v=DMARC1 records are a permerror. Real records are
	// well under 512 octets.
	DefaultMaxRecordBytes = 4096
	// DefaultMaxURIs is how many URIs of one rua= or ruf= tag are kept;
	// the rest are ignored (RFC 7489 section 6.2 asks receivers to
	// support at least two).
	DefaultMaxURIs = 8
	// DefaultMaxReportRows is how many distinct rows (source IP and
	// results) one aggregate report holds; messages that would add a new
	// row beyond it are counted in the report's error element instead.
	DefaultMaxReportRows = 10000
	// DefaultMaxReportDomains is how many policy domains one [Aggregator]
	// collects reports for at a time; messages for further domains are
	// counted in Aggregator.Dropped.
	DefaultMaxReportDomains = 1000
	// DefaultMaxDKIMResults is how many DKIM results of one message are
	// evaluated and reported; signatures beyond it are ignored.
	DefaultMaxDKIMResults = 16
)

// Limits bounds the work done on hostile input. Each zero or negative field
// means its documented default.
type Limits struct {
	// RecordBytes: longest record parsed (DefaultMaxRecordBytes).
	RecordBytes int
	// URIs: URIs kept per rua= or ruf= tag (DefaultMaxURIs).
	URIs int
	// ReportRows: distinct rows per aggregate report
	// (DefaultMaxReportRows).
	ReportRows int
	// ReportDomains: policy domains per Aggregator
	// (DefaultMaxReportDomains).
	ReportDomains int
	// DKIMResults: DKIM results evaluated per message
	// (DefaultMaxDKIMResults).
	DKIMResults int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.RecordBytes, DefaultMaxRecordBytes)
	def(&l.URIs, DefaultMaxURIs)
	def(&l.ReportRows, DefaultMaxReportRows)
	def(&l.ReportDomains, DefaultMaxReportDomains)
	def(&l.DKIMResults, DefaultMaxDKIMResults)
	return l
}

func limitsOf(l *Limits) Limits {
	if l == nil {
		return Limits{}.withDefaults()
	}
	return l.withDefaults()
}
