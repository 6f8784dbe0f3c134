package dsn

import (
	"encoding/json"
	"strings"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

// Bounce families. Before the generic heuristics, a bounce without a
// delivery-status part is offered to one reader per MTA family that
// recognises its family's documented format and reads it by that format's
// structure rather than by its wording:
//
//   - QSBMF, the qmail-send bounce message format (D. J. Bernstein), used by
//     qmail and its descendants (netqmail, notqmail, s/qmail, vpopmail and
//     hosting variants): the body begins with "Hi. This is the", or, for a
//     descendant that reworded the introduction, a bounce whose break
//     paragraph begins "--- Below this line is"; each recipient paragraph
//     begins with a line "<address>:"; the first paragraph that begins
//     with "-" ends the list. qmail bounces only for good, so every
//     recipient is failed, even one whose text ends in a temporary code
//     and "I'm not going to try again; this message has been in the queue
//     too long" (the status keeps that code; without one it is 4.4.7).
//   - Exim's bounce and delay-warning texts (deliver.c and the
//     bounce_message_file/warn_message_file templates): a line that ends
//     in "failed:" (bounce) or "delivered is:"/"delivered are:" (warning)
//     introduces the list; each recipient is a line indented by white
//     space that starts with the address, its reason the lines indented
//     deeper that follow; the list ends at the first line that is not
//     indented. Recipients of a warning are delayed, of a bounce failed.
//   - Amazon SES notifications in JSON, mailed by Amazon SNS or an event
//     destination: a body that is a JSON object with "notificationType" or
//     "eventType" of "Bounce", "Delivery" or "DeliveryDelay" (or the SNS
//     envelope with "Type": "Notification" holding that object in
//     "Message"); one recipient per entry of bounce.bouncedRecipients
//     (failed, status from "status", else the class of "bounceType":
//     Transient is 4, Permanent and Undetermined are 5),
//     deliveryDelay.delayedRecipients (delayed) or delivery.recipients
//     (delivered, the code of "smtpResponse"). Complaints and other events
//     are not bounces. SES bounces in mail form are RFC 3464 reports and
//     need no rule.
//   - The plain-text reports of Postfix, Sendmail, Microsoft Exchange and
//     Exchange Online, the DragonFly Mail Agent, au one net, OpenSMTPD,
//     Google Mail, Lotus Domino and Notes, read from an MTA's notice only (plaintext.go; the package doc gives each
//     format and its signs).
//
// Within a recipient's text, the status is the first RFC 3463 code of
// class 4 or 5; a success code (such as the 2.1.5 of an accepted RCPT in a
// transcript that goes on to fail after DATA) counts only when the text
// has no failure code at all.

// familyReader is the reader of one bounce family: nil when the message is
// not in its format.
type familyReader func(h *message.Header, text string, o ParseOptions) []Recipient

var familyReaders = []familyReader{readSES, readQSBMF, readExim}

func readFamilies(h *message.Header, text string, o ParseOptions) []Recipient {
	for _, read := range familyReaders {
		if rcpts := read(h, text, o); len(rcpts) > 0 {
			return rcpts
		}
	}
	return readPlainFamilies(h, text, o)
}

// failureCode returns the first RFC 3463 code of class 4 or 5 in s, else
// the first code of any class.
func failureCode(s string) smtp.EnhancedCode {
	first := smtp.EnhancedCode(0)
	for off := 0; off < len(s); {
		c, at := findCode(s[off:])
		if at < 0 {
			break
		}
		if c.Class() == 4 || c.Class() == 5 {
			return c
		}
		if !first.IsSet() {
			first = c
		}
		off += at + 5
	}
	return first
}

// paragraphs splits s into runs of non-blank lines.
func paragraphs(s string) [][]string {
	var out [][]string
	var cur []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func diagnostic(s string) TypedValue {
	d := strings.Join(strings.Fields(s), " ")
	if len(d) > 1000 {
		d = d[:1000]
	}
	return TypedValue{Value: strings.ToValidUTF8(d, "")}
}

// QSBMF.

const qsbmfStart = "hi. this is the"

func readQSBMF(h *message.Header, text string, o ParseOptions) []Recipient {
	body := strings.TrimLeft(text, " \t\r\n")
	low := strings.ToLower(body)
	if !strings.HasPrefix(low, qsbmfStart) &&
		!(looksLikeBounce(h) && strings.Contains(low, "\n--- below this line is")) {
		return nil
	}
	var out []Recipient
	for i, para := range paragraphs(body) {
		first := strings.TrimSpace(para[0])
		if strings.HasPrefix(first, "-") {
			break // the break paragraph
		}
		if i == 0 || !strings.HasPrefix(first, "<") {
			continue
		}
		end := strings.Index(first, ">:")
		if end < 0 {
			continue
		}
		addr := first[1:end]
		if !strings.Contains(addr, "@") || strings.ContainsAny(addr, " \t<>") {
			continue
		}
		reason := strings.TrimSpace(first[end+2:] + "\n" + strings.Join(para[1:], "\n"))
		code := failureCode(reason)
		if !code.IsSet() {
			switch c := replyClass(reason); {
			case c != 0:
				code = smtp.NewEnhancedCode(c, 0, 0)
			case strings.Contains(strings.ToLower(reason), "in the queue too long"):
				code = smtp.NewEnhancedCode(4, 4, 7)
			default:
				code = smtp.NewEnhancedCode(5, 0, 0)
			}
		}
		out = append(out, Recipient{
			FinalRecipient: addressValue(addr),
			Action:         ActionFailed,
			Status:         code,
			DiagnosticCode: diagnostic(reason),
		})
		if len(out) >= o.MaxRecipients {
			break
		}
	}
	return out
}

// Exim.

func readExim(h *message.Header, text string, o ParseOptions) []Recipient {
	low := strings.ToLower(text)
	if !strings.Contains(low, "this message was created automatically by mail delivery software") &&
		!h.Has("X-Failed-Recipients") {
		return nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) > maxHeuristicLines {
		lines = lines[:maxHeuristicLines]
	}
	var out []Recipient
	for i := 0; i < len(lines); i++ {
		intro := strings.ToLower(strings.TrimSpace(lines[i]))
		var act Action
		switch {
		case strings.HasSuffix(intro, "failed:"):
			act = ActionFailed
		case strings.HasSuffix(intro, "delivered is:") || strings.HasSuffix(intro, "delivered are:"):
			act = ActionDelayed
		default:
			continue
		}
		i++
		for i < len(lines) && len(out) < o.MaxRecipients {
			l := strings.TrimRight(lines[i], "\r")
			if strings.TrimSpace(l) == "" {
				i++
				continue
			}
			indent := len(l) - len(strings.TrimLeft(l, " \t"))
			if indent == 0 {
				break // the list ends
			}
			// The address line, then its deeper-indented reason.
			addr := eximAddress(strings.TrimSpace(l))
			var reason []string
			if rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), addrToken(strings.TrimSpace(l)))); rest != "" {
				reason = append(reason, strings.TrimLeft(rest, ": "))
			}
			i++
			for i < len(lines) {
				r := strings.TrimRight(lines[i], "\r")
				if strings.TrimSpace(r) == "" {
					break
				}
				if len(r)-len(strings.TrimLeft(r, " \t")) <= indent {
					break
				}
				reason = append(reason, strings.TrimSpace(r))
				i++
			}
			if addr == "" {
				continue
			}
			why := strings.Join(reason, "\n")
			code := failureCode(why)
			if !code.IsSet() {
				switch c := replyClass(why); {
				case c != 0:
					code = smtp.NewEnhancedCode(c, 0, 0)
				case act == ActionDelayed:
					code = smtp.NewEnhancedCode(4, 0, 0)
				default:
					code = smtp.NewEnhancedCode(5, 0, 0)
				}
			}
			out = append(out, Recipient{
				FinalRecipient: addressValue(addr),
				Action:         act,
				Status:         code,
				DiagnosticCode: diagnostic(why),
			})
		}
		if len(out) > 0 {
			return out
		}
	}
	return out
}

// addrToken returns the first white-space separated token of l.
func addrToken(l string) string {
	if i := strings.IndexAny(l, " \t"); i >= 0 {
		return l[:i]
	}
	return l
}

// eximAddress returns the address that starts an Exim recipient line
// ("user@host", "<user@host>", "user@host:"), or "".
func eximAddress(l string) string {
	a := strings.TrimRight(strings.Trim(addrToken(l), "<>"), ":")
	a = strings.Trim(a, "<>")
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || !strings.Contains(a[at:], ".") {
		return ""
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c != '@' && !isLocalChar(c) {
			return ""
		}
	}
	return a
}

// Amazon SES.

type sesRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

type sesNotification struct {
	// The Amazon SNS envelope.
	Type    string `json:"Type"`
	Message string `json:"Message"`

	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           *struct {
		BounceType        string         `json:"bounceType"`
		BounceSubType     string         `json:"bounceSubType"`
		BouncedRecipients []sesRecipient `json:"bouncedRecipients"`
		ReportingMTA      string         `json:"reportingMTA"`
	} `json:"bounce"`
	DeliveryDelay *struct {
		DelayedRecipients []sesRecipient `json:"delayedRecipients"`
		ReportingMTA      string         `json:"reportingMTA"`
	} `json:"deliveryDelay"`
	Delivery *struct {
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
		ReportingMTA string   `json:"reportingMTA"`
	} `json:"delivery"`
}

// decodeSES reads the JSON object at the start of s. Mail software may
// have wrapped its long lines, putting line breaks inside JSON strings,
// where JSON allows none; a second try reads it without them.
func decodeSES(s string) (*sesNotification, bool) {
	s = strings.TrimLeft(s, " \t\r\n")
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	var n sesNotification
	if err := json.NewDecoder(strings.NewReader(s)).Decode(&n); err != nil {
		n = sesNotification{}
		flat := strings.NewReplacer("\r", "", "\n", "").Replace(s)
		if err := json.NewDecoder(strings.NewReader(flat)).Decode(&n); err != nil {
			return nil, false
		}
	}
	return &n, true
}

func readSES(_ *message.Header, text string, o ParseOptions) []Recipient {
	n, ok := decodeSES(text)
	if !ok {
		return nil
	}
	if n.Type == "Notification" && n.NotificationType == "" && n.EventType == "" {
		if n, ok = decodeSES(n.Message); !ok {
			return nil
		}
	}
	kind := n.NotificationType
	if kind == "" {
		kind = n.EventType
	}
	var out []Recipient
	add := func(r Recipient) {
		if len(out) < o.MaxRecipients && r.FinalRecipient.Value != "" {
			out = append(out, r)
		}
	}
	switch {
	case kind == "Bounce" && n.Bounce != nil:
		class := 5
		if strings.EqualFold(n.Bounce.BounceType, "Transient") {
			class = 4
		}
		for _, r := range n.Bounce.BouncedRecipients {
			add(sesToRecipient(r, ActionFailed, class))
		}
	case kind == "DeliveryDelay" && n.DeliveryDelay != nil:
		for _, r := range n.DeliveryDelay.DelayedRecipients {
			add(sesToRecipient(r, ActionDelayed, 4))
		}
	case kind == "Delivery" && n.Delivery != nil:
		code := failureCode(n.Delivery.SMTPResponse)
		if !code.IsSet() {
			code = smtp.NewEnhancedCode(2, 0, 0)
		}
		for _, a := range n.Delivery.Recipients {
			add(Recipient{
				FinalRecipient: addressValue(a),
				Action:         ActionDelivered,
				Status:         code,
				DiagnosticCode: TypedValue{Type: "smtp", Value: n.Delivery.SMTPResponse},
			})
		}
	}
	return out
}

func sesToRecipient(r sesRecipient, act Action, class int) Recipient {
	if a := Action(strings.ToLower(r.Action)); a == ActionFailed || a == ActionDelayed {
		act = a
	}
	code, err := smtp.ParseEnhancedCode(strings.TrimSpace(r.Status))
	if err != nil {
		code = failureCode(r.DiagnosticCode)
		if !code.IsSet() {
			code = smtp.NewEnhancedCode(class, 0, 0)
		}
	}
	rc := Recipient{FinalRecipient: addressValue(r.EmailAddress), Action: act, Status: code}
	if typ, val, ok := strings.Cut(r.DiagnosticCode, ";"); ok && !strings.ContainsAny(typ, " \t") {
		rc.DiagnosticCode = TypedValue{Type: strings.ToLower(typ), Value: strings.TrimSpace(val)}
	} else if r.DiagnosticCode != "" {
		rc.DiagnosticCode = TypedValue{Value: r.DiagnosticCode}
	}
	return rc
}
