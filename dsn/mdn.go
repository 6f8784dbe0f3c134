package dsn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
	"github.com/heraldmail/herald/smtp"
)

// DispositionDeleted is the disposition of a message a filter refused
// after it was accepted, the one RFC 5429 section 2.1.1 asks a Sieve
// reject to report.
const DispositionDeleted = "automatic-action/MDN-sent-automatically; deleted"

// MDN composes a message disposition notification (RFC 8098): a
// multipart/report of report-type disposition-notification with
//
//  1. a text/plain part, Text (the reason of a Sieve reject);
//  2. the message/disposition-notification part with the Reporting-UA,
//     Original-Recipient, Final-Recipient, Original-Message-ID and
//     Disposition fields, or message/global-disposition-notification when
//     an address is UTF-8 (RFC 6533);
//  3. the header of the original as text/rfc822-headers (or
//     message/global-headers), when Original is set.
//
// It is the rejection message of a Sieve reject (RFC 5429 section
// 2.1.1). Like a DSN it carries "Auto-Submitted: auto-replied" and is
// meant to be sent with the null reverse path; the null To fails with
// ErrNullSender. The original's body is never returned.
type MDN struct {
	// To is the envelope sender of the original message.
	To smtp.Path
	// From is the header From; the zero value means "Mail Delivery
	// System <MAILER-DAEMON@ReportingUA>".
	From message.Address
	// ReportingUA is the host name of the reporting agent; Product, when
	// set, follows it in the Reporting-UA field.
	ReportingUA string
	Product     string
	// OriginalRecipient is the ORCPT address, if any; FinalRecipient the
	// recipient whose filter disposed of the message (required).
	OriginalRecipient string
	FinalRecipient    string
	// Disposition is the Disposition field; "" means DispositionDeleted.
	Disposition string
	// Subject is the Subject; "" means "Rejected: " and the original's.
	Subject string
	// Text is the human-readable part.
	Text string
	// Original is the original message, of which only the header is
	// read; nil returns nothing.
	Original io.Reader
	// Date is the Date field; zero means now. MessageID is the
	// Message-ID without angle brackets; "" means a fresh one. Boundary
	// is the multipart boundary; "" means a random one.
	Date      time.Time
	MessageID string
	Boundary  string
}

// WriteTo writes the notification to w with CRLF line endings. It fails
// before writing anything when To is null or a field would be malformed.
func (m *MDN) WriteTo(w io.Writer) (int64, error) {
	if m.To.IsNull() {
		return 0, &Error{Op: "write", Err: ErrNullSender, Msg: "a notification is never sent to <>"}
	}
	host := strings.TrimSpace(m.ReportingUA)
	if host == "" || strings.ContainsAny(host, " \t;<>@\"\r\n") {
		return 0, &Error{Op: "write", Err: ErrInvalidReport, Msg: fmt.Sprintf("bad Reporting-UA %q", m.ReportingUA)}
	}
	if m.FinalRecipient == "" {
		return 0, &Error{Op: "write", Err: ErrInvalidReport, Msg: "no Final-Recipient"}
	}
	for _, v := range []string{m.Product, m.OriginalRecipient, m.FinalRecipient, m.Disposition, m.Subject} {
		if strings.ContainsAny(v, "\r\n\x00") {
			return 0, &Error{Op: "write", Err: ErrInvalidReport, Msg: fmt.Sprintf("line break in field value %q", v)}
		}
	}
	var origHeader *message.Header
	if m.Original != nil {
		h, _, err := message.ReadHeader(m.Original, nil)
		var me *message.Error
		if errors.As(err, &me) {
			return 0, &Error{Op: "write", Err: ErrInvalidReport, Msg: "reading the original: " + err.Error()}
		} else if err != nil {
			return 0, err
		}
		if h.Len() > 0 {
			origHeader = h
		}
	}
	global := !isASCII(m.To.Mailbox()) || !isASCII(m.FinalRecipient) || !isASCII(m.OriginalRecipient)
	origGlobal := origHeader != nil && !isASCII(origHeader.String())

	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	mw := hmime.NewMultipartWriter(bw, m.Boundary)
	subject := m.Subject
	if subject == "" {
		subject = "Rejected"
		if origHeader != nil {
			if s, _ := origHeader.Text("Subject"); strings.TrimSpace(s) != "" {
				subject = "Rejected: " + strings.Join(strings.Fields(s), " ")
			}
		}
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	h := notificationHeader(host, m.From, m.To.Mailbox(), subject, date, m.MessageID)
	var origID string
	if origHeader != nil {
		if oid, err := origHeader.MessageID(); err == nil && oid != "" {
			origID = message.FormatMessageID(oid)
			h.Add("In-Reply-To", origID)
		}
	}
	h.Add("Auto-Submitted", "auto-replied")
	h.Add("MIME-Version", "1.0")
	reportType := "disposition-notification"
	h.Add("Content-Type", hmime.FormatMediaType(hmime.MediaType{Type: "multipart", Subtype: "report",
		Params: hmime.Params{{Name: "report-type", Value: reportType}, {Name: "boundary", Value: mw.Boundary()}}}))
	if global || origGlobal {
		h.Add("Content-Transfer-Encoding", "8bit")
	}
	if _, err := h.WriteTo(bw); err != nil {
		return cw.n, wrapWrite(err)
	}
	if err := mw.WritePreamble("This is a MIME-encapsulated message.\r\n"); err != nil {
		return cw.n, err
	}

	// 1. The text.
	text := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(text, "\r\n") {
		text += "\r\n"
	}
	if err := writeTextPart(mw, text, ""); err != nil {
		return cw.n, err
	}

	// 2. The disposition fields (RFC 8098 section 3.1).
	var sh message.Header
	if global {
		sh.Add("Content-Type", "message/global-disposition-notification")
		sh.Add("Content-Transfer-Encoding", "8bit")
	} else {
		sh.Add("Content-Type", "message/disposition-notification")
	}
	pw, err := mw.CreatePart(&sh)
	if err != nil {
		return cw.n, err
	}
	addrType := func(a string) string {
		if isASCII(a) {
			return "rfc822;" + a
		}
		return "utf-8;" + a
	}
	var fb bytes.Buffer
	ua := host
	if m.Product != "" {
		ua += "; " + m.Product
	}
	fmt.Fprintf(&fb, "Reporting-UA: %s\r\n", ua)
	if m.OriginalRecipient != "" {
		fmt.Fprintf(&fb, "Original-Recipient: %s\r\n", addrType(m.OriginalRecipient))
	}
	fmt.Fprintf(&fb, "Final-Recipient: %s\r\n", addrType(m.FinalRecipient))
	if origID != "" {
		fmt.Fprintf(&fb, "Original-Message-ID: %s\r\n", origID)
	}
	disp := m.Disposition
	if disp == "" {
		disp = DispositionDeleted
	}
	fmt.Fprintf(&fb, "Disposition: %s\r\n", disp)
	if _, err := pw.Write(fb.Bytes()); err != nil {
		return cw.n, err
	}

	// 3. The original's header.
	if origHeader != nil {
		var oh message.Header
		if origGlobal {
			oh.Add("Content-Type", "message/global-headers")
			oh.Add("Content-Transfer-Encoding", "8bit")
		} else {
			oh.Add("Content-Type", "text/rfc822-headers")
		}
		if pw, err = mw.CreatePart(&oh); err != nil {
			return cw.n, err
		}
		var hb bytes.Buffer
		if _, err := origHeader.WriteTo(&hb); err != nil {
			return cw.n, wrapWrite(err)
		}
		hdr := bytes.TrimSuffix(bytes.TrimSuffix(hb.Bytes(), []byte("\n")), []byte("\r"))
		lw := &crlfWriter{w: pw}
		if _, err := lw.Write(hdr); err != nil {
			return cw.n, err
		}
	}
	if err := mw.Close(); err != nil {
		return cw.n, err
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}
