package dsn

import (
	"errors"
	"io"
	"strings"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
	"github.com/heraldmail/herald/smtp"
)

// ParseOptions configures Parse and ParseStatus. The zero value (or a nil
// pointer) means the defaults.
type ParseOptions struct {
	// MaxStatusBytes bounds the body of the delivery-status part;
	// 0 means DefaultMaxStatusBytes.
	MaxStatusBytes int
	// MaxRecipients bounds the recipients of one report, per-recipient
	// groups or heuristic findings; 0 means DefaultMaxRecipients.
	MaxRecipients int
	// MaxTextBytes bounds the human-readable text kept in Notice.Text and
	// searched by the heuristic parser; 0 means DefaultMaxTextBytes.
	MaxTextBytes int
	// NoHeuristics turns the heuristic parser off: a message without a
	// delivery-status part is then always ErrNotReport.
	NoHeuristics bool
	// MIME configures the walk over the message (limits, charsets).
	MIME hmime.ReaderOptions
}

func (o *ParseOptions) withDefaults() ParseOptions {
	var r ParseOptions
	if o != nil {
		r = *o
	}
	if r.MaxStatusBytes <= 0 {
		r.MaxStatusBytes = DefaultMaxStatusBytes
	}
	if r.MaxRecipients <= 0 {
		r.MaxRecipients = DefaultMaxRecipients
	}
	if r.MaxTextBytes <= 0 {
		r.MaxTextBytes = DefaultMaxTextBytes
	}
	return r
}

// Notice is a delivery status notification as Parse read it.
type Notice struct {
	// Report holds the delivery-status fields. For a heuristic parse it
	// holds only what the text gave: each recipient's Final-Recipient,
	// Action (failed or delayed), Status and the text as Diagnostic-Code.
	Report *Report
	// Heuristic is true when Report.Recipients were extracted from free
	// text (qmail, Exim, vendor formats) because the message had no
	// delivery-status part, or one without per-recipient groups. Such
	// results are best effort: treat them with care.
	Heuristic bool
	// Global is true for message/global-delivery-status (RFC 6533).
	Global bool
	// Header is the header of the notification itself.
	Header *message.Header
	// Text is the human-readable text of the notification, UTF-8, up to
	// ParseOptions.MaxTextBytes.
	Text string
	// Forwarded is true when the notification was found inside another
	// message: a message/rfc822 part holding a multipart/report of
	// report-type delivery-status, in a message without a delivery-status
	// part of its own (someone forwarded the bounce as an attachment).
	// Header, Text, Report and Original are then those of the forwarded
	// notification.
	Forwarded bool
	// Original is the header of the returned message (message/rfc822,
	// message/global, text/rfc822-headers or message/global-headers), or
	// nil when the notification returned none.
	Original *message.Header
}

// Parse reads a delivery status notification: a multipart/report message
// with a message/delivery-status or message/global-delivery-status part
// (RFC 6522, RFC 3464, RFC 6533), wherever that part sits in the MIME tree
// outside of a returned message. It returns the report with both field
// groups and every recipient, the human-readable text and the header of the
// returned message.
//
// A message without such a part of its own that carries a delivery report
// as a message/rfc822 attachment (a forwarded bounce) gives that report,
// marked Forwarded: a notification is sent with the null reverse path and
// never bounced (RFC 3461 section 6.2), so an encapsulated report is one
// that someone passed on, not the original of a bounce.
//
// A message without such a part is handed to a heuristic parser that knows
// the wording of qmail, Exim, Sendmail, Exchange and other MTAs, unless
// opts.NoHeuristics is set; the result is then marked Heuristic. So is a
// report without per-recipient groups, whose recipients are then taken from
// the text or from the returned message's To. A message
// that is neither (a reply, a feedback report, ordinary mail) fails with an
// *Error wrapping ErrNotReport. The message is read once, streamed; only the
// status part (up to MaxStatusBytes), the text (up to MaxTextBytes) and
// headers are kept. opts may be nil.
func Parse(r io.Reader, opts *ParseOptions) (*Notice, error) {
	o := opts.withDefaults()
	mr := hmime.NewReader(r, &o.MIME)
	outer := &collector{}
	var fwd *collector // a notification forwarded inside the returned message
	for {
		p, err := mr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, wrapRead(err)
		}
		outer.parts++
		if p.Parent == nil {
			outer.header = p.Header().Clone()
			outer.top = p
		}
		if m := outer.rfc822; inside(p, m) {
			if p.Parent == m {
				if outer.original == nil {
					outer.original = p.Header().Clone()
				}
				if fwd == nil && isDeliveryReport(p) {
					fwd = &collector{header: p.Header().Clone(), top: p}
				}
			}
			if fwd != nil && (p == fwd.top || inside(p, fwd.top)) {
				fwd.parts++
				if err := fwd.visit(p, &o); err != nil {
					return nil, err
				}
			}
			continue
		}
		outer.rfc822 = nil
		if err := outer.visit(p, &o); err != nil {
			return nil, err
		}
	}
	c := outer
	n := &Notice{}
	if outer.report == nil && fwd != nil && fwd.report != nil {
		c, n.Forwarded = fwd, true
	}
	n.Header, n.Report, n.Global, n.Original = c.header, c.report, c.global, c.original
	if n.Header == nil {
		return nil, &Error{Op: "parse", Err: ErrNotReport, Msg: "empty input"}
	}
	if c.top != nil && c.top.MediaType.IsMultipart() && c.parts == 1 && len(c.top.Preamble) > 0 {
		// A multipart without a single delimiter: its whole body is
		// the preamble, and the text to read.
		c.text.Write(c.top.Preamble[:min(len(c.top.Preamble), o.MaxTextBytes)])
	}
	n.Text = strings.ToValidUTF8(c.text.String(), "\uFFFD")
	if n.Report != nil {
		if len(n.Report.Recipients) == 0 && !o.NoHeuristics {
			// A report without per-recipient groups: the recipients
			// come from the text, or else from the returned message.
			rcpts := heuristicRecipients(n.Header, n.Text, o, true)
			if len(rcpts) == 0 && n.Original != nil {
				rcpts = originalRecipients(n.Original, n.Text, o)
			}
			if len(rcpts) > 0 {
				n.Report.Recipients, n.Heuristic = rcpts, true
			}
		}
		return n, nil
	}
	if o.NoHeuristics {
		return nil, &Error{Op: "parse", Err: ErrNotReport, Msg: "no delivery-status part"}
	}
	rep := heuristic(n.Header, n.Text, o)
	if rep == nil {
		return nil, &Error{Op: "parse", Err: ErrNotReport, Msg: "no delivery-status part and no bounce text"}
	}
	n.Report, n.Heuristic = rep, true
	return n, nil
}

// collector gathers the parts of one notification as the walk visits
// them: the message itself, or a notification forwarded inside it.
type collector struct {
	header   *message.Header
	top      *hmime.Part
	parts    int
	report   *Report
	global   bool
	text     strings.Builder
	original *message.Header
	rfc822   *hmime.Part // the returned message, while the walk is inside it
}

// visit reads one part of the notification.
func (c *collector) visit(p *hmime.Part, o *ParseOptions) error {
	if m := c.rfc822; inside(p, m) {
		if c.original == nil && p.Parent == m {
			c.original = p.Header().Clone()
		}
		return nil
	}
	c.rfc822 = nil
	switch ess := p.MediaType.Essence(); {
	case c.report == nil && (ess == "message/delivery-status" || ess == "message/global-delivery-status"):
		body, err := p.Body()
		if err != nil {
			return wrapRead(err)
		}
		rep, err := ParseStatus(body, o)
		if err != nil {
			if errors.Is(err, ErrSyntax) {
				return nil // an empty status part; look for another
			}
			return err
		}
		c.report, c.global = rep, ess == "message/global-delivery-status"
	case p.MediaType.IsMessage():
		if p.IsContainer() {
			c.rfc822 = p
			return nil
		}
		if c.original == nil {
			c.original = readOriginal(p)
		}
	case ess == "text/rfc822-headers" || ess == "message/global-headers":
		if c.original == nil {
			c.original = readOriginal(p)
		}
	case p.MediaType.Type == "text" && !p.IsContainer() && p.Kind() != hmime.KindAttachment:
		if c.text.Len() >= o.MaxTextBytes {
			return nil
		}
		if ess == "text/html" && c.text.Len() > 0 {
			return nil
		}
		tr, _ := p.Text() // an unknown charset still gives text
		if tr == nil {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(tr, int64(o.MaxTextBytes-c.text.Len())))
		if err != nil {
			return wrapRead(err)
		}
		if ess == "text/html" {
			b = []byte(stripHTML(string(b)))
		}
		if c.text.Len() > 0 {
			c.text.WriteByte('\n')
		}
		c.text.Write(b)
	}
	return nil
}

// isDeliveryReport reports whether p is a multipart/report of report-type
// delivery-status or global-delivery-status.
func isDeliveryReport(p *hmime.Part) bool {
	if p.MediaType.Essence() != "multipart/report" {
		return false
	}
	rt := strings.ToLower(p.MediaType.Params.Get("report-type"))
	return rt == "delivery-status" || rt == "global-delivery-status"
}

// inside reports whether p lies within the encapsulated message part m.
func inside(p, m *hmime.Part) bool {
	if m == nil {
		return false
	}
	for q := p.Parent; q != nil; q = q.Parent {
		if q == m {
			return true
		}
	}
	return false
}

// readOriginal reads the header of a returned message that is a leaf: a
// text/rfc822-headers part, or a message/rfc822 in base64 or
// quoted-printable.
func readOriginal(p *hmime.Part) *message.Header {
	body, err := p.Body()
	if err != nil {
		return nil
	}
	h, _, err := message.ReadHeader(body, nil)
	if err != nil || h.Len() == 0 {
		return nil
	}
	return h
}

func wrapRead(err error) error {
	var me *hmime.Error
	var mge *message.Error
	if errors.As(err, &me) || errors.As(err, &mge) {
		if errors.Is(err, hmime.ErrTooDeep) || errors.Is(err, hmime.ErrTooManyParts) ||
			errors.Is(err, hmime.ErrHeaderTooLarge) || errors.Is(err, message.ErrHeaderTooLarge) ||
			errors.Is(err, message.ErrTooManyFields) || errors.Is(err, message.ErrLineTooLong) {
			return &Error{Op: "parse", Err: ErrTooLarge, Msg: err.Error()}
		}
		return &Error{Op: "parse", Err: ErrSyntax, Msg: err.Error()}
	}
	return err
}

// RecipientStatus returns the most specific status known for the i-th
// recipient of the report: [Recipient.BestStatus], or, when that is only
// class.0.0, the code of the same class on a line of the human-readable
// text that names the recipient (OpenSMTPD, for one, gives the remote
// server's reply only there).
func (n *Notice) RecipientStatus(i int) smtp.EnhancedCode {
	rc := &n.Report.Recipients[i]
	best := rc.BestStatus()
	if best.Valid() && (best.Subject() != 0 || best.Detail() != 0) {
		return best
	}
	addr := lowerASCII(rc.Addr())
	if addr == "" {
		return best
	}
	text := cutOriginal(n.Text)
	low := lowerASCII(text)
	for off := 0; off < len(low); {
		j := strings.Index(low[off:], addr)
		if j < 0 {
			break
		}
		start := strings.LastIndexByte(text[:off+j], '\n') + 1
		end := strings.IndexByte(text[off+j:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += off + j
		}
		if c := diagnosticCode(text[start:end]); c.Valid() && Registered(c) && (!best.Valid() || c.Class() == best.Class()) {
			return c
		}
		off = end
	}
	return best
}
