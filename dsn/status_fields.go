package dsn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/heraldmail/herald/internal/xtext"
	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
	"github.com/heraldmail/herald/smtp"
)

// Default limits of ParseOptions. Each applies when the matching field is
// zero.
const (
	// DefaultMaxStatusBytes bounds the body of a delivery-status part.
	DefaultMaxStatusBytes = 1 << 20
	// DefaultMaxRecipients bounds the per-recipient groups of one report.
	DefaultMaxRecipients = 1000
	// DefaultMaxTextBytes bounds how much of the human-readable text is
	// kept in Notice.Text and searched by the heuristic parser.
	DefaultMaxTextBytes = 256 << 10
)

// Field names of RFC 3464 sections 2.2 and 2.3, lower case.
const (
	fReportingMTA      = "reporting-mta"
	fDSNGateway        = "dsn-gateway"
	fReceivedFromMTA   = "received-from-mta"
	fEnvelopeID        = "original-envelope-id"
	fArrivalDate       = "arrival-date"
	fOriginalRecipient = "original-recipient"
	fFinalRecipient    = "final-recipient"
	fAction            = "action"
	fStatus            = "status"
	fRemoteMTA         = "remote-mta"
	fDiagnosticCode    = "diagnostic-code"
	fLastAttemptDate   = "last-attempt-date"
	fFinalLogID        = "final-log-id"
	fWillRetryUntil    = "will-retry-until"
)

func isMessageField(name string) bool {
	switch name {
	case fReportingMTA, fDSNGateway, fReceivedFromMTA, fEnvelopeID, fArrivalDate:
		return true
	}
	return false
}

func isRecipientField(name string) bool {
	switch name {
	case fOriginalRecipient, fFinalRecipient, fAction, fStatus, fRemoteMTA,
		fDiagnosticCode, fLastAttemptDate, fFinalLogID, fWillRetryUntil:
		return true
	}
	return false
}

// ParseStatus parses the body of a message/delivery-status or
// message/global-delivery-status part (RFC 3464 section 2, RFC 6533 section
// 6) into a Report. It is tolerant of what real reports get wrong: field
// names in any case, folded values, more than one blank line between groups,
// no blank line at all between groups (a new recipient group starts when a
// field of the current one repeats), a missing per-message group, a group
// encoded in base64 after a Content-Transfer-Encoding line, and a report
// that runs on into the next MIME part (a line starting with "--" ends it).
// Lines that are not fields are skipped, and so are groups without any
// per-recipient field of RFC 3464. Values that do not parse (a date, a
// status) are kept in Extensions under their field name.
//
// opts may be nil. The body is read up to MaxStatusBytes, and more than
// MaxRecipients groups fail with an *Error wrapping ErrTooLarge. A body
// without a single field fails with ErrSyntax.
func ParseStatus(r io.Reader, opts *ParseOptions) (*Report, error) {
	o := opts.withDefaults()
	b, err := io.ReadAll(io.LimitReader(r, int64(o.MaxStatusBytes)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > o.MaxStatusBytes {
		return nil, &Error{Op: "parse status", Err: ErrTooLarge, Msg: "delivery-status body over " + strconv.Itoa(o.MaxStatusBytes) + " bytes"}
	}
	return parseStatus(b, o)
}

type statusParser struct {
	rep       *Report
	o         ParseOptions
	inMessage bool
	cur       *Recipient
	seen      map[string]bool // standard fields of the current recipient
	fields    int
	stopped   bool // a MIME delimiter ended the report
}

func parseStatus(b []byte, o ParseOptions) (*Report, error) {
	p := &statusParser{rep: &Report{}, o: o, inMessage: true, seen: map[string]bool{}}
	if err := p.feed(b, 0); err != nil {
		return nil, err
	}
	if err := p.blank(); err != nil {
		return nil, err
	}
	if p.fields == 0 {
		return nil, &Error{Op: "parse status", Err: ErrSyntax, Msg: "no fields"}
	}
	return p.rep, nil
}

// feed parses the lines of b. Some MTAs put a MIME header
// ("Content-Transfer-Encoding: base64", "Content-Length: 712") among the
// fields and encode the next group in base64; feed decodes such a group and
// parses its fields in place (depth bounds this to one level).
func (p *statusParser) feed(b []byte, depth int) error {
	var name string
	var value []byte
	pending, b64 := false, false
	flush := func() error {
		if !pending {
			return nil
		}
		pending = false
		v := bytes.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-transfer-encoding":
			b64 = depth == 0 && strings.EqualFold(string(v), "base64")
			return nil
		case "content-length", "content-type":
			return nil // MIME header lines, not report fields
		}
		return p.field(name, string(v))
	}
	for len(b) > 0 && !p.stopped {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			if err := flush(); err != nil {
				return err
			}
			if b64 {
				b64 = false
				block := b
				if end := bytes.Index(b, []byte("\n\n")); end >= 0 {
					block, b = b[:end], b[end:]
				} else if end := bytes.Index(b, []byte("\n\r\n")); end >= 0 {
					block, b = b[:end], b[end:]
				} else {
					b = nil
				}
				dec, _ := hmime.NewDecoder(hmime.EncodingBase64, bytes.NewReader(block))
				raw, err := io.ReadAll(io.LimitReader(dec, int64(p.o.MaxStatusBytes)))
				if err != nil {
					return err
				}
				if err := p.blank(); err != nil {
					return err
				}
				if err := p.feed(raw, depth+1); err != nil {
					return err
				}
				continue
			}
			if err := p.blank(); err != nil {
				return err
			}
			continue
		}
		if bytes.HasPrefix(line, []byte("--")) {
			// A MIME delimiter: the enclosing multipart's boundary did
			// not match (anonymised or broken mail) and the status part
			// runs on into the next part. The report ends here.
			if err := flush(); err != nil {
				return err
			}
			p.stopped = true
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if pending {
				value = append(value, ' ')
				value = append(value, bytes.TrimSpace(line)...)
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue // not a field: skipped
		}
		n := bytes.TrimSpace(line[:colon])
		if !validFieldName(n) {
			continue
		}
		name = string(n)
		value = append(value[:0], line[colon+1:]...)
		pending = true
	}
	return flush()
}

func validFieldName(n []byte) bool {
	if len(n) == 0 || len(n) > 128 {
		return false
	}
	for _, c := range n {
		if c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// blank ends the current group.
func (p *statusParser) blank() error {
	if p.cur != nil {
		return p.closeRecipient()
	}
	if p.inMessage && p.fields > 0 {
		p.inMessage = false
	}
	return nil
}

func (p *statusParser) closeRecipient() error {
	if p.cur == nil {
		return nil
	}
	if len(p.seen) == 0 {
		// Only unknown fields: not a recipient group (often the header
		// of a returned message that follows without a delimiter).
		p.cur = nil
		return nil
	}
	if len(p.rep.Recipients) >= p.o.MaxRecipients {
		return &Error{Op: "parse status", Err: ErrTooLarge, Msg: "more than " + strconv.Itoa(p.o.MaxRecipients) + " recipients"}
	}
	p.rep.Recipients = append(p.rep.Recipients, *p.cur)
	p.cur = nil
	clear(p.seen)
	return nil
}

func (p *statusParser) field(name, value string) error {
	p.fields++
	lname := strings.ToLower(name)
	if p.inMessage && !isRecipientField(lname) {
		setMessageField(p.rep, name, lname, value)
		return nil
	}
	p.inMessage = false
	if p.cur == nil && isMessageField(lname) && len(p.rep.Recipients) == 0 {
		// A per-message field after an early blank line.
		setMessageField(p.rep, name, lname, value)
		return nil
	}
	if p.cur != nil && isRecipientField(lname) && p.seen[lname] {
		if err := p.closeRecipient(); err != nil {
			return err
		}
	}
	if p.cur == nil {
		p.cur = &Recipient{}
	}
	if isRecipientField(lname) {
		p.seen[lname] = true
	}
	setRecipientField(p.cur, name, lname, value)
	return nil
}

func setMessageField(r *Report, name, lname, value string) {
	switch lname {
	case fReportingMTA:
		r.ReportingMTA = parseTyped(value)
		return
	case fDSNGateway:
		r.DSNGateway = parseTyped(value)
		return
	case fReceivedFromMTA:
		r.ReceivedFromMTA = parseTyped(value)
		return
	case fEnvelopeID:
		if v, err := xtext.Decode(value); err == nil {
			r.EnvelopeID = v
		} else {
			r.EnvelopeID = value
		}
		return
	case fArrivalDate:
		if t, err := message.ParseDate(value); err == nil {
			r.ArrivalDate = t
			return
		}
	}
	r.Extensions = append(r.Extensions, Field{Name: name, Value: value})
}

func setRecipientField(r *Recipient, name, lname, value string) {
	switch lname {
	case fOriginalRecipient:
		r.OriginalRecipient = parseAddressValue(value)
		return
	case fFinalRecipient:
		r.FinalRecipient = parseAddressValue(value)
		return
	case fAction:
		// "failed (bad destination)" has been seen; the comment is dropped.
		a, _, _ := strings.Cut(strings.ToLower(value), " ")
		a, _, _ = strings.Cut(a, "(")
		if Action(a).Valid() {
			r.Action = Action(a)
			return
		}
	case fStatus:
		if c, ok := parseStatusCode(value); ok {
			r.Status = c
			return
		}
	case fRemoteMTA:
		r.RemoteMTA = parseTyped(value)
		return
	case fDiagnosticCode:
		r.DiagnosticCode = parseTyped(value)
		return
	case fLastAttemptDate:
		if t, err := message.ParseDate(value); err == nil {
			r.LastAttemptDate = t
			return
		}
	case fFinalLogID:
		r.FinalLogID = value
		return
	case fWillRetryUntil:
		if t, err := message.ParseDate(value); err == nil {
			r.WillRetryUntil = t
			return
		}
	}
	r.Extensions = append(r.Extensions, Field{Name: name, Value: value})
}

// parseStatusCode reads the code at the start of a Status value; a comment
// after it ("5.1.1 (unknown user)") is ignored.
func parseStatusCode(v string) (smtp.EnhancedCode, bool) {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && (v[end] == '.' || v[end] >= '0' && v[end] <= '9') {
		end++
	}
	c, err := smtp.ParseEnhancedCode(v[:end])
	if err != nil {
		return 0, false
	}
	return c, true
}

func parseTyped(v string) TypedValue {
	t, rest, ok := strings.Cut(v, ";")
	if !ok {
		return TypedValue{Value: strings.TrimSpace(v)}
	}
	return TypedValue{Type: strings.ToLower(strings.TrimSpace(t)), Value: strings.TrimSpace(rest)}
}

// parseAddressValue parses an address-type ";" generic-address; for the
// utf-8 type the \x{HHHH} escapes of RFC 6533 section 3 are decoded.
func parseAddressValue(v string) TypedValue {
	tv := parseTyped(v)
	if tv.Type == TypeUTF8 {
		tv.Value = decodeUTF8Addr(tv.Value)
	}
	return tv
}

// decodeUTF8Addr decodes the embedded-unicode-char escapes "\x{HHHH}" of
// RFC 6533 section 3 (utf-8-addr-xtext and utf-8-addr-unitext). A malformed
// escape is kept as written.
func decodeUTF8Addr(s string) string {
	if !strings.Contains(s, `\x{`) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, `\x{`)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		// The escape is at most \x{HHHHHH}: look for "}" that far only,
		// so that a run of unterminated escapes stays linear.
		end := strings.IndexByte(s[:min(len(s), 10)], '}')
		if end < 4 || end > 9 {
			b.WriteString(s[:3])
			s = s[3:]
			continue
		}
		n, err := strconv.ParseUint(s[3:end], 16, 32)
		if err != nil || !utf8.ValidRune(rune(n)) {
			b.WriteString(s[:3])
			s = s[3:]
			continue
		}
		b.WriteRune(rune(n))
		s = s[end+1:]
	}
}

// Validate reports whether r can be written as a delivery-status body:
// Reporting-MTA set, at least one recipient, each with a Final-Recipient,
// a valid Action and a valid Status whose class fits the action (2 for
// delivered, relayed and expanded, 4 for delayed, 4 or 5 for failed), and
// no CR, LF or NUL in any value. The error is an *Error wrapping
// ErrInvalidReport.
func (r *Report) Validate() error {
	bad := func(msg string) error { return &Error{Op: "validate", Err: ErrInvalidReport, Msg: msg} }
	if r.ReportingMTA.Value == "" {
		return bad("no Reporting-MTA")
	}
	if len(r.Recipients) == 0 {
		return bad("no recipient")
	}
	check := func(vals ...string) error {
		for _, v := range vals {
			if strings.ContainsAny(v, "\r\n\x00") {
				return bad(fmt.Sprintf("line break or NUL in %q", v))
			}
		}
		return nil
	}
	if err := check(r.ReportingMTA.String(), r.DSNGateway.String(), r.ReceivedFromMTA.String(), r.EnvelopeID); err != nil {
		return err
	}
	for _, f := range r.Extensions {
		if err := check(f.Name, f.Value); err != nil {
			return err
		}
	}
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		if rc.FinalRecipient.Value == "" {
			return bad(fmt.Sprintf("recipient %d has no Final-Recipient", i+1))
		}
		if !rc.Action.Valid() {
			return bad(fmt.Sprintf("recipient %d has action %q", i+1, rc.Action))
		}
		if !rc.Status.Valid() {
			return bad(fmt.Sprintf("recipient %d has no valid status", i+1))
		}
		// RFC 3464 section 2.3.3 and RFC 3463 section 3.1: success
		// actions carry a 2.X.X status, a delay a 4.X.X one, a failure
		// 4.X.X (given up on a transient failure) or 5.X.X.
		switch class := rc.Status.Class(); {
		case rc.Action == ActionFailed && class == 2,
			rc.Action == ActionDelayed && class != 4,
			(rc.Action == ActionDelivered || rc.Action == ActionRelayed || rc.Action == ActionExpanded) && class != 2:
			return bad(fmt.Sprintf("recipient %d: action %s with status %s", i+1, rc.Action, rc.Status))
		}
		if err := check(rc.OriginalRecipient.String(), rc.FinalRecipient.String(), rc.RemoteMTA.String(),
			rc.DiagnosticCode.String(), rc.FinalLogID); err != nil {
			return err
		}
		for _, f := range rc.Extensions {
			if err := check(f.Name, f.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// NeedsGlobal reports whether r holds non-ASCII text and so must be sent as
// message/global-delivery-status (RFC 6533 section 6).
func (r *Report) NeedsGlobal() bool {
	ascii := func(vals ...string) bool {
		for _, v := range vals {
			for i := 0; i < len(v); i++ {
				if v[i] >= 0x80 {
					return false
				}
			}
		}
		return true
	}
	if !ascii(r.ReportingMTA.String(), r.DSNGateway.String(), r.ReceivedFromMTA.String()) {
		return true
	}
	for _, f := range r.Extensions {
		if !ascii(f.Value) {
			return true
		}
	}
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		if !ascii(rc.OriginalRecipient.String(), rc.FinalRecipient.String(), rc.RemoteMTA.String(), rc.DiagnosticCode.String(), rc.FinalLogID) {
			return true
		}
		for _, f := range rc.Extensions {
			if !ascii(f.Value) {
				return true
			}
		}
	}
	return false
}

// WriteTo writes r as the body of a delivery-status part: the per-message
// fields, then each recipient's fields, the groups separated by an empty line
// (RFC 3464 section 2.1), with CRLF line endings and long values folded.
// Extension fields follow the standard ones of their group. It checks r with
// Validate first and writes nothing if that fails.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	var h message.Header
	h.Add("Reporting-MTA", r.ReportingMTA.String())
	if !r.DSNGateway.IsZero() {
		h.Add("DSN-Gateway", r.DSNGateway.String())
	}
	if !r.ReceivedFromMTA.IsZero() {
		h.Add("Received-From-MTA", r.ReceivedFromMTA.String())
	}
	if r.EnvelopeID != "" {
		h.Add("Original-Envelope-Id", xtext.Encode(r.EnvelopeID))
	}
	if !r.ArrivalDate.IsZero() {
		h.Add("Arrival-Date", message.FormatDate(r.ArrivalDate))
	}
	for _, f := range r.Extensions {
		h.Add(f.Name, f.Value)
	}
	if _, err := h.WriteTo(&buf); err != nil {
		return 0, wrapWrite(err)
	}
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		var h message.Header
		if !rc.OriginalRecipient.IsZero() {
			h.Add("Original-Recipient", rc.OriginalRecipient.String())
		}
		h.Add("Final-Recipient", rc.FinalRecipient.String())
		h.Add("Action", string(rc.Action))
		h.Add("Status", rc.Status.String())
		if !rc.RemoteMTA.IsZero() {
			h.Add("Remote-MTA", rc.RemoteMTA.String())
		}
		if !rc.DiagnosticCode.IsZero() {
			h.Add("Diagnostic-Code", rc.DiagnosticCode.String())
		}
		if !rc.LastAttemptDate.IsZero() {
			h.Add("Last-Attempt-Date", message.FormatDate(rc.LastAttemptDate))
		}
		if rc.FinalLogID != "" {
			h.Add("Final-Log-ID", rc.FinalLogID)
		}
		if !rc.WillRetryUntil.IsZero() {
			h.Add("Will-Retry-Until", message.FormatDate(rc.WillRetryUntil))
		}
		for _, f := range rc.Extensions {
			h.Add(f.Name, f.Value)
		}
		if _, err := h.WriteTo(&buf); err != nil {
			return 0, wrapWrite(err)
		}
	}
	// The groups are separated by empty lines; the last one needs none.
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\r\n"))
	n, err := w.Write(out)
	return int64(n), err
}

// wrapWrite wraps an invalid field name reported by package message; I/O
// errors pass unchanged.
func wrapWrite(err error) error {
	var me *message.Error
	if errors.As(err, &me) {
		return &Error{Op: "write", Err: ErrInvalidReport, Msg: me.Error()}
	}
	return err
}
