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

// Message composes a complete delivery status notification (RFC 3461
// section 6, RFC 3464, RFC 6522): a multipart/report with
//
//  1. a text/plain part that tells the sender in plain words what
//     happened to each recipient and what to do about it;
//  2. the message/delivery-status part holding Report, or
//     message/global-delivery-status when the report holds UTF-8 (RFC 6533);
//  3. the original message as message/rfc822 (RET=FULL) or only its header
//     as text/rfc822-headers (RET=HDRS or no RET), or message/global and
//     message/global-headers when the original is internationalized.
//
// The notification carries "Auto-Submitted: auto-replied" (RFC 3834) and is
// meant to be sent with the null reverse path "<>", so that it is never
// bounced itself (see NeverBounce). Message values are not safe for
// concurrent use; Original is read once.
type Message struct {
	// Report holds the fields. Its Recipients are those the notification
	// is about; the caller selects them with Wanted.
	Report Report
	// To is the envelope sender of the original message, to whom the
	// notification goes. The null path fails with ErrNullSender.
	To smtp.Path
	// From is the header From; the zero value means "Mail Delivery System
	// <MAILER-DAEMON@host>" with the host of Report.ReportingMTA.
	From message.Address
	// Date is the Date field; zero means Now().
	Date time.Time
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MessageID is the Message-ID without angle brackets; "" means one made
	// with message.GenerateMessageID at the reporting MTA's host.
	MessageID string
	// Subject is the Subject field; "" means the one Postfix writes for the
	// action: "Undelivered Mail Returned to Sender", "Delayed Mail (still
	// being retried)" or "Successful Mail Delivery Report".
	Subject string
	// Text is the human-readable part; "" means the text HumanText writes.
	Text string
	// Original is the original message, header and body; nil (or an
	// empty message) returns nothing. Its line endings may be LF or CRLF;
	// they are written as CRLF.
	Original io.Reader
	// Return is the RET parameter of the original transaction; see
	// ReturnContent for what each value returns.
	Return smtp.DSNReturn
	// UTF8 is set when the original came with SMTPUTF8 (RFC 6531): the
	// original is then returned as message/global(-headers). A header with
	// non-ASCII bytes gives the same.
	UTF8 bool
	// Body is the BODY parameter of the original transaction. A returned
	// message is labelled 7bit only when it is Body7Bit and its header is
	// ASCII, and 8bit otherwise, since a message without BODY=8BITMIME
	// still often carries 8-bit bytes.
	Body smtp.BodyType
	// Boundary is the multipart boundary; "" means a fresh random one.
	Boundary string
}

// WriteTo writes the notification to w with CRLF line endings. It checks
// Report with Validate and fails before writing anything when the report is
// invalid or To is the null path. The original is streamed: only its header
// is held in memory.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	if m.To.IsNull() {
		return 0, &Error{Op: "write", Err: ErrNullSender, Msg: "a notification is never sent to <>"}
	}
	rep := &m.Report
	if err := rep.Validate(); err != nil {
		return 0, err
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	host := reportingHost(rep)
	global := rep.NeedsGlobal() || !isASCII(m.To.Mailbox())

	// The original's header decides between message/rfc822 and
	// message/global, so it is read before anything is written.
	var origHeader *message.Header
	var origBody io.Reader
	full := ReturnContent(m.Return, firstAction(rep))
	if m.Original != nil {
		h, body, err := message.ReadHeader(m.Original, nil)
		var me *message.Error
		if errors.As(err, &me) {
			return 0, &Error{Op: "write", Err: ErrInvalidReport, Msg: "reading the original: " + err.Error()}
		} else if err != nil {
			return 0, err
		}
		if h.Len() > 0 {
			origHeader, origBody = h, body
		}
	}
	origGlobal := origHeader != nil && (m.UTF8 || !isASCII(origHeader.String()))

	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	mw := hmime.NewMultipartWriter(bw, m.Boundary)

	subject := m.Subject
	if subject == "" {
		subject = defaultSubject(rep)
	}
	date := m.Date
	if date.IsZero() {
		date = now()
	}
	h := notificationHeader(host, m.From, m.To.Mailbox(), subject, date, m.MessageID)
	h.Add("Auto-Submitted", "auto-replied")
	h.Add("MIME-Version", "1.0")
	reportType := "delivery-status"
	if global {
		reportType = "global-delivery-status"
	}
	h.Add("Content-Type", hmime.FormatMediaType(hmime.MediaType{Type: "multipart", Subtype: "report",
		Params: hmime.Params{{Name: "report-type", Value: reportType}, {Name: "boundary", Value: mw.Boundary()}}}))
	full = full && origHeader != nil
	eightBit := global || origGlobal || (full && m.Body != smtp.Body7Bit)
	cte := "7bit"
	if eightBit {
		cte = "8bit"
	}
	h.Add("Content-Transfer-Encoding", cte)
	if _, err := h.WriteTo(bw); err != nil {
		return cw.n, wrapWrite(err)
	}
	if err := mw.WritePreamble("This is a MIME-encapsulated message.\r\n"); err != nil {
		return cw.n, err
	}

	// 1. Human-readable part.
	text := m.Text
	if text == "" {
		text = HumanText(rep, origHeader != nil, full)
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	if err := writeTextPart(mw, text, "Notification"); err != nil {
		return cw.n, err
	}

	// 2. The report.
	var sh message.Header
	if global {
		sh.Add("Content-Type", "message/global-delivery-status")
		sh.Add("Content-Transfer-Encoding", "8bit")
	} else {
		sh.Add("Content-Type", "message/delivery-status")
	}
	sh.Add("Content-Description", "Delivery report")
	pw, err := mw.CreatePart(&sh)
	if err != nil {
		return cw.n, err
	}
	if _, err := rep.WriteTo(pw); err != nil {
		return cw.n, err
	}

	// 3. The original, or its header.
	if origHeader != nil {
		var oh message.Header
		ct, desc := "text/rfc822-headers", "Undelivered Message Headers"
		switch {
		case full && origGlobal:
			ct, desc = "message/global", "Undelivered Message"
		case full:
			ct, desc = "message/rfc822", "Undelivered Message"
		case origGlobal:
			ct = "message/global-headers"
		}
		if firstAction(rep) != ActionFailed {
			desc = strings.Replace(desc, "Undelivered ", "", 1)
		}
		oh.Add("Content-Type", ct)
		oh.Add("Content-Description", desc)
		if origGlobal || (full && m.Body != smtp.Body7Bit) {
			oh.Add("Content-Transfer-Encoding", "8bit")
		}
		pw, err = mw.CreatePart(&oh)
		if err != nil {
			return cw.n, err
		}
		lw := &crlfWriter{w: pw}
		var hb bytes.Buffer
		if _, err := origHeader.WriteTo(&hb); err != nil {
			return cw.n, wrapWrite(err)
		}
		hdr := hb.Bytes()
		if !full {
			// text/rfc822-headers holds the fields; the empty line that
			// ended the header is not part of it.
			hdr = bytes.TrimSuffix(bytes.TrimSuffix(hdr, []byte("\n")), []byte("\r"))
		}
		if _, err := lw.Write(hdr); err != nil {
			return cw.n, err
		}
		if full {
			if _, err := io.Copy(lw, origBody); err != nil {
				return cw.n, err
			}
			if err := lw.finish(); err != nil {
				return cw.n, err
			}
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

// notificationHeader starts the header of a report sent by host: From
// (from, or the host's MAILER-DAEMON), To, Subject (encoded as needed),
// Date and Message-ID (id, or a new one).
func notificationHeader(host string, from message.Address, to, subject string, date time.Time, id string) *message.Header {
	var h message.Header
	if from.Addr == "" {
		from = message.Address{Name: "Mail Delivery System", Addr: "MAILER-DAEMON@" + host}
	}
	h.Add("From", from.String())
	h.Add("To", to)
	h.Add("Subject", message.EncodeWord(subject))
	h.Add("Date", message.FormatDate(date))
	if id == "" {
		var err error
		if id, err = message.GenerateMessageID(host); err != nil {
			id, _ = message.GenerateMessageID("localhost")
		}
	}
	h.Add("Message-ID", message.FormatMessageID(id))
	return &h
}

// writeTextPart writes the human-readable part of a report: text (with
// CRLF line ends) as text/plain, us-ascii or utf-8, in the encoding that
// suits it; description, when not empty, as its Content-Description.
func writeTextPart(mw *hmime.MultipartWriter, text, description string) error {
	enc := hmime.ChooseEncoding([]byte(text), true)
	var th message.Header
	charset := "us-ascii"
	if !isASCII(text) {
		charset = "utf-8"
	}
	th.Add("Content-Type", "text/plain; charset="+charset)
	if description != "" {
		th.Add("Content-Description", description)
	}
	th.Add("Content-Transfer-Encoding", string(enc))
	pw, err := mw.CreatePart(&th)
	if err != nil {
		return err
	}
	ew, err := hmime.NewEncoder(enc, pw)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(ew, text); err != nil {
		return err
	}
	return ew.Close()
}

func firstAction(r *Report) Action {
	if len(r.Recipients) == 0 {
		return ActionFailed
	}
	a := r.Recipients[0].Action
	for _, rc := range r.Recipients {
		if rc.Action == ActionFailed {
			return ActionFailed
		}
		if rc.Action == ActionDelayed {
			a = ActionDelayed
		}
	}
	return a
}

func reportingHost(r *Report) string {
	v := strings.TrimSpace(r.ReportingMTA.Value)
	if v == "" || strings.ContainsAny(v, " \t;<>@\"") {
		return "localhost"
	}
	return v
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func defaultSubject(r *Report) string {
	switch firstAction(r) {
	case ActionFailed:
		return "Undelivered Mail Returned to Sender"
	case ActionDelayed:
		return "Delayed Mail (still being retried)"
	}
	return "Successful Mail Delivery Report"
}

// HumanText returns the plain-language part of a notification: what
// happened to each recipient of r, the meaning of its status code, what the
// remote server said, and what the sender can do. returned says whether the
// original (full, or only its header) is attached.
func HumanText(r *Report, returned, full bool) string {
	var b strings.Builder
	host := reportingHost(r)
	fmt.Fprintf(&b, "This is the mail system at %s.\n\n", host)
	groups := map[Action][]*Recipient{}
	var order []Action
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		if groups[rc.Action] == nil {
			order = append(order, rc.Action)
		}
		groups[rc.Action] = append(groups[rc.Action], rc)
	}
	for _, a := range order {
		switch a {
		case ActionFailed:
			b.WriteString("Your message could not be delivered to the following recipients.\nThis is a permanent error: the mail system has given up.\n")
		case ActionDelayed:
			b.WriteString("Your message has not been delivered yet to the following recipients.\nThis is only a warning: the mail system keeps trying, and you do not\nneed to send the message again.\n")
		case ActionDelivered:
			b.WriteString("Your message was delivered to the following recipients:\n")
		case ActionRelayed:
			b.WriteString("Your message was passed on to the following recipients' mail systems,\nwhich do not send delivery notifications; you will get no further\nnotice about them:\n")
		case ActionExpanded:
			b.WriteString("Your message was delivered to the following lists or aliases, which\npassed it on to their members:\n")
		}
		for _, rc := range groups[a] {
			fmt.Fprintf(&b, "\n  <%s>\n", rc.Addr())
			if t := StatusText(rc.Status); t != "" && rc.Status.Class() != 2 {
				fmt.Fprintf(&b, "    Reason: %s (%s)\n", t, rc.Status)
			}
			if rc.DiagnosticCode.Value != "" {
				who := "The mail system"
				if rc.RemoteMTA.Value != "" {
					who = rc.RemoteMTA.Value
				}
				fmt.Fprintf(&b, "    %s said: %s\n", who, rc.DiagnosticCode.Value)
			}
			if !rc.WillRetryUntil.IsZero() {
				fmt.Fprintf(&b, "    It will keep trying until %s.\n", message.FormatDate(rc.WillRetryUntil))
			}
		}
		if advice := adviceFor(a, groups[a]); advice != "" {
			b.WriteString("\n" + advice + "\n")
		}
		b.WriteString("\n")
	}
	if returned {
		if full {
			b.WriteString("Your original message is attached.\n")
		} else {
			b.WriteString("The header of your original message is attached.\n")
		}
	}
	return b.String()
}

// adviceFor says what the sender can do, from the status of the first
// recipient of the group (RFC 3463 subjects).
func adviceFor(a Action, rcs []*Recipient) string {
	if a != ActionFailed || len(rcs) == 0 {
		return ""
	}
	c := rcs[0].Status
	switch c.Subject() {
	case 1:
		return "What you can do: check the address for typing errors, or ask the\nrecipient for their current address, then send the message again."
	case 2:
		return "What you can do: the recipient's mailbox cannot take the message now;\ntell them by other means, or send a smaller message later."
	case 3:
		if c.Detail() == 4 {
			return "What you can do: send a smaller message, or share large files by a link."
		}
		return "What you can do: send the message again later; if it keeps failing,\ncontact the recipient's mail administrator."
	case 4:
		return "What you can do: check the recipient's domain name; if it is right,\nsend the message again later."
	case 7:
		return "What you can do: the recipient's system refused the message for policy\nor security reasons; contact the recipient or your mail administrator."
	}
	return "What you can do: contact your mail administrator and include this report."
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// crlfWriter writes every line break (CRLF, bare LF, bare CR) as CRLF, as
// the 7bit and 8bit encodings require (RFC 2045 section 2.7); finish ends
// the content with a line break so the following delimiter starts a line.
type crlfWriter struct {
	w       io.Writer
	pending bool // a CR was seen last; its line break is not written yet
	last    byte // last byte written
	any     bool
}

var crlf = []byte("\r\n")

func (c *crlfWriter) Write(p []byte) (int, error) {
	start := 0
	if c.pending {
		// A CR ended the previous write: it and an LF starting this one
		// are one CRLF.
		c.pending = false
		if err := c.emit(crlf); err != nil {
			return 0, err
		}
		if len(p) > 0 && p[0] == '\n' {
			start = 1
		}
	}
	// CRLF pairs pass through in one chunk; only bare CR and LF break it.
	for i := start; i < len(p); i++ {
		switch p[i] {
		case '\r':
			if i+1 < len(p) && p[i+1] == '\n' {
				i++
				continue
			}
			if err := c.emit(p[start:i]); err != nil {
				return start, err
			}
			start = i + 1
			if i+1 == len(p) {
				c.pending = true // an LF may start the next write
				return len(p), nil
			}
			if err := c.emit(crlf); err != nil {
				return i, err
			}
		case '\n':
			if err := c.emit(p[start:i]); err != nil {
				return start, err
			}
			if err := c.emit(crlf); err != nil {
				return i, err
			}
			start = i + 1
		}
	}
	if err := c.emit(p[start:]); err != nil {
		return start, err
	}
	return len(p), nil
}

func (c *crlfWriter) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	c.last, c.any = b[len(b)-1], true
	_, err := c.w.Write(b)
	return err
}

func (c *crlfWriter) finish() error {
	if c.pending {
		c.pending = false
		return c.emit(crlf)
	}
	if !c.any || c.last == '\n' {
		return nil
	}
	return c.emit(crlf)
}
