package dmarc

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/message"
)

// VerifyDestination reports whether the Domain Owner of policyDomain may
// have reports sent to u (RFC 7489 section 7.1): u must be a mailto URI,
// and its domain must share policyDomain's organizational domain or
// publish a v=DMARC1 record at <policyDomain>._report._dmarc.<its domain>.
// A temporary DNS failure is an error matching ErrDNS; any other lookup
// failure means no verification record.
//
// The size limit of a verification record's own rua= (the optional
// rewriting of destinations the section allows) is not used.
func VerifyDestination(ctx context.Context, r dnsmx.Resolver, policyDomain string, u URI) (bool, error) {
	if u.Scheme != "mailto" || u.Address == "" {
		return false, nil
	}
	dest := u.Domain()
	pd := normalizeLoose(policyDomain)
	if OrganizationalDomain(dest) == OrganizationalDomain(pd) {
		return true, nil
	}
	if r == nil {
		return false, &Error{Err: ErrInvalidArgs, Detail: "nil resolver"}
	}
	name := pd + "._report._dmarc." + dest
	txt, err := r.LookupTXT(ctx, name)
	if err != nil {
		if !dnsmx.IsTemporary(err) {
			return false, nil
		}
		return false, &Error{Err: ErrDNS, Domain: name, Cause: err}
	}
	for _, t := range txt {
		if IsDMARCRecord(t) {
			return true, nil
		}
	}
	return false, nil
}

// Destinations returns the report's URIs that [VerifyDestination] accepts,
// in order. URIs whose verification failed temporarily are left out and
// their errors joined into the error, so the caller may retry them later.
func (r *Report) Destinations(ctx context.Context, res dnsmx.Resolver) ([]URI, error) {
	var out []URI
	var errs []error
	for _, u := range r.URIs {
		ok, err := VerifyDestination(ctx, res, r.Domain, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, u)
		}
	}
	return out, errors.Join(errs...)
}

// OutgoingReport is the message of one report, ready to send.
type OutgoingReport struct {
	Report *Report
	// To are the envelope recipients: the rua= addresses that may
	// receive the report and accept its size.
	To []string
	// Message is the report message, lines ending in CRLF.
	Message []byte
}

// ReportMessages writes the message of each report for the rua=
// destinations that may receive it (RFC 7489 section 7.1 and 7.2.1.1):
// mailto URIs in the organizational domain of the policy domain, or in
// another one that [VerifyDestination] confirms, whose size limit ("!10m")
// the gzip'ed report fits. opts gives the From address and the Date; its
// To and MessageID are set per report.
//
// Each destination left out is logged to logger (nil means none): at Info
// level a URI that is not mailto: and a third party that does not confirm
// it takes the domain's reports,
// at Warn level a DNS failure while asking (the report is not sent there;
// reports are not retried) and a report larger than a destination's limit,
// with the report's size and the limit. A report left with no destination
// is not written and is logged at Warn level. Errors writing a message are
// logged too, so that one broken report does not hold back the others.
func ReportMessages(ctx context.Context, res dnsmx.Resolver, reports []*Report, opts MessageOptions, logger *slog.Logger) []OutgoingReport {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var out []OutgoingReport
	for _, r := range reports {
		log := logger.With("domain", r.Domain, "report_id", r.Feedback.ReportMetadata.ReportID)
		var size countWriter
		if err := r.WriteGzip(&size); err != nil {
			log.Error("DMARC report not sent: cannot compress it", "err", err)
			continue
		}
		var to []URI
		for _, u := range r.URIs {
			if u.Scheme != "mailto" || u.Address == "" {
				log.Info("DMARC report not sent to a destination that is not a mailto: URI", "uri", u.Raw)
				continue
			}
			ok, err := VerifyDestination(ctx, res, r.Domain, u)
			switch {
			case err != nil:
				log.Warn("DMARC report not sent to a destination: its verification failed", "uri", u.Raw, "err", err)
			case !ok:
				log.Info("DMARC report not sent to a destination that does not accept reports for the domain", "uri", u.Raw)
			case u.MaxSize != 0 && uint64(size) > u.MaxSize:
				log.Warn("DMARC report not sent to a destination: larger than its size limit", "uri", u.Raw, "size", int64(size), "limit", u.MaxSize)
			default:
				to = append(to, u)
			}
		}
		if len(to) == 0 {
			log.Warn("DMARC report not sent: no destination left", "rows", len(r.Feedback.Records))
			continue
		}
		o := opts
		o.To, o.MessageID = to, ""
		var msg bytes.Buffer
		rcpts, err := r.WriteMessage(&msg, o)
		if err != nil {
			log.Error("DMARC report not sent: cannot write its message", "err", err)
			continue
		}
		out = append(out, OutgoingReport{Report: r, To: rcpts, Message: msg.Bytes()})
	}
	return out
}

// countWriter counts what is written to it.
type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) {
	*w += countWriter(len(p))
	return len(p), nil
}

// MessageOptions are the envelope and header of a report message.
type MessageOptions struct {
	// From is the address the report is sent from, such as
	// "dmarc-reports@mx.example.org". Required.
	From string
	// To are the destinations, normally from [Report.Destinations]. Those
	// whose size limit is smaller than the compressed report are left
	// out (RFC 7489 section 7.2.1.1).
	To []URI
	// Date is the message date; the zero value means time.Now().
	Date time.Time
	// MessageID is the msg-id without angle brackets; empty means one
	// generated for the Receiver domain.
	MessageID string
}

// WriteMessage writes the report as a message ready to send to the rua=
// addresses (RFC 7489 section 7.2.1.1): a multipart/mixed message with a
// short text/plain part and the gzip'ed report as an application/gzip
// attachment named [Report.FileName], base64-encoded, with the Subject
// "Report Domain: <domain> Submitter: <receiver> Report-ID: <id>". Lines end
// in CRLF.
//
// It returns the envelope recipients: the addresses of opts.To that accept
// the report's size. When none does, or opts.From is empty, nothing is
// written and the error matches ErrTooLong or ErrInvalidArgs.
func (r *Report) WriteMessage(w io.Writer, opts MessageOptions) ([]string, error) {
	if opts.From == "" {
		return nil, &Error{Err: ErrInvalidArgs, Detail: "no From address"}
	}
	var gz bytes.Buffer
	if err := r.WriteGzip(&gz); err != nil {
		return nil, err
	}
	var to []string
	for _, u := range opts.To {
		if u.Scheme != "mailto" || u.Address == "" {
			continue
		}
		if u.MaxSize != 0 && uint64(gz.Len()) > u.MaxSize {
			continue
		}
		if !containsFold(to, u.Address) {
			to = append(to, u.Address)
		}
	}
	if len(to) == 0 {
		return nil, &Error{Err: ErrTooLong, Domain: r.Domain, Detail: "no destination accepts a report of " + strconv.Itoa(gz.Len()) + " octets"}
	}
	date := opts.Date
	if date.IsZero() {
		date = time.Now()
	}
	mid := opts.MessageID
	if mid == "" {
		var err error
		if mid, err = message.GenerateMessageID(r.Receiver); err != nil {
			return nil, err
		}
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	dr := r.Feedback.ReportMetadata.DateRange
	text := "This is an aggregate DMARC report (RFC 7489) from " + r.Receiver + " for " + r.Domain + ",\r\n" +
		"covering " + time.Unix(dr.Begin, 0).UTC().Format(time.RFC3339) + " to " + time.Unix(dr.End, 0).UTC().Format(time.RFC3339) + ".\r\n"
	pw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=us-ascii"},
		"Content-Transfer-Encoding": {"7bit"},
	})
	if err != nil {
		return nil, err
	}
	io.WriteString(pw, text)
	name := r.FileName()
	pw, err = mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {`application/gzip; name="` + name + `"`},
		"Content-Disposition":       {`attachment; filename="` + name + `"`},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return nil, err
	}
	writeBase64Lines(pw, gz.Bytes())
	if err := mw.Close(); err != nil {
		return nil, err
	}

	var h message.Header
	h.Add("From", opts.From)
	h.Add("To", strings.Join(to, ", "))
	h.Add("Date", message.FormatDate(date))
	h.Add("Subject", "Report Domain: "+r.Domain+" Submitter: "+r.Receiver+" Report-ID: <"+r.Feedback.ReportMetadata.ReportID+">")
	h.Add("Message-ID", message.FormatMessageID(mid))
	h.Add("MIME-Version", "1.0")
	h.Add("Content-Type", `multipart/mixed; boundary="`+mw.Boundary()+`"`)
	if _, err := h.WriteTo(w); err != nil {
		return nil, err
	}
	if _, err := w.Write(body.Bytes()); err != nil {
		return nil, err
	}
	return to, nil
}

// writeBase64Lines writes data in base64, 76 characters a line, CRLF
// (RFC 2045 section 6.8). bytes.Buffer writes do not fail.
func writeBase64Lines(w io.Writer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		io.WriteString(w, enc[:76]+"\r\n")
		enc = enc[76:]
	}
	io.WriteString(w, enc+"\r\n")
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
