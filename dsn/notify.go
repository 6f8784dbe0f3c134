package dsn

import (
	"errors"
	"strings"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
	"github.com/heraldmail/herald/smtp"
)

// Wanted reports whether the sender asked for a notification of action a
// for a recipient with the NOTIFY parameter n (RFC 3461 section 4.1):
//
//   - NEVER: no notification at all;
//   - failed: with FAILURE;
//   - delayed: with DELAY;
//   - delivered, relayed, expanded: with SUCCESS.
//
// A recipient that came without NOTIFY (n == 0) gets the RFC 3461 default
// of FAILURE,DELAY: notifications of failure and delay, never of success.
func Wanted(n smtp.DSNNotify, a Action) bool {
	if n == 0 {
		n = smtp.NotifyFailure | smtp.NotifyDelay
	}
	if n&smtp.NotifyNever != 0 {
		return false
	}
	switch a {
	case ActionFailed:
		return n&smtp.NotifyFailure != 0
	case ActionDelayed:
		return n&smtp.NotifyDelay != 0
	case ActionDelivered, ActionRelayed, ActionExpanded:
		return n&smtp.NotifySuccess != 0
	}
	return false
}

// ReturnContent reports whether a notification returns the whole original
// message (true) or only its header (false) for the RET parameter ret
// (RFC 3461 section 4.3). Only a failure returns the whole message: with
// RET=FULL, and also without RET, where the choice is the MTA's and Herald
// does what Postfix does. RET=HDRS, and notifications of delay and of
// success whatever RET says, return the header only, which keeps them small
// and keeps content private.
func ReturnContent(ret smtp.DSNReturn, a Action) bool {
	if a != ActionFailed {
		return false
	}
	return ret == "" || strings.EqualFold(string(ret), string(smtp.ReturnFull))
}

// NeverBounce reports whether a message must get no delivery status
// notification at all, whatever its NOTIFY parameters say:
//
//   - its reverse path is null (RFC 5321 section 4.5.5, RFC 3461 section
//     6.1): it is itself a notification and a bounce of it would loop;
//   - its header (h may be nil) marks it as a delivery report
//     (multipart/report with report-type delivery-status or
//     global-delivery-status) or as an automatic reply (Auto-Submitted:
//     auto-replied, RFC 3834 section 5), as every notification this
//     package writes is, in case it was relayed with a reverse path.
//
// Herald's delivery queue checks this before composing a Message; a
// message that is never bounced is dropped or handed to the postmaster.
func NeverBounce(reversePath smtp.Path, h *message.Header) bool {
	if reversePath.IsNull() {
		return true
	}
	if h == nil {
		return false
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))), "auto-replied") {
		return true
	}
	mt, err := hmime.ParseMediaType(h.Get("Content-Type"))
	if err == nil && mt.Essence() == "multipart/report" {
		switch strings.ToLower(mt.Params.Get("report-type")) {
		case "delivery-status", "global-delivery-status":
			return true
		}
	}
	return false
}

// RecipientFromError fills a per-recipient group from the outcome of a
// delivery attempt: err is what the SMTP client returned (an *smtp.Error,
// possibly wrapped) and remoteMTA the host that answered ("" when the
// failure was local). The Action is failed for a permanent error and
// delayed for a temporary one; Status is the reply's enhanced code, or
// class.0.0 of its reply code; Diagnostic-Code is "smtp; <code> <enhanced>
// <text>". An error that is not an *smtp.Error gives Status 4.4.1 or
// 5.4.4 (no answer from host, unable to route) as temporary says, and its
// text is not reported, since internal error text never goes to a peer.
func RecipientFromError(final string, err error, remoteMTA string, temporary bool) Recipient {
	r := Recipient{FinalRecipient: addressValue(final)}
	if remoteMTA != "" {
		r.RemoteMTA = TypedValue{Type: TypeDNS, Value: remoteMTA}
	}
	var se *smtp.Error
	if errors.As(err, &se) {
		code := se.Enhanced
		class := int(se.Code) / 100
		if class != 4 && class != 5 {
			class = 5
		}
		if !code.Valid() {
			code = smtp.NewEnhancedCode(class, 0, 0)
		}
		r.Status = code
		r.Action = ActionFailed
		if class == 4 {
			r.Action = ActionDelayed
		}
		msg := strings.Join(strings.Fields(se.Message), " ")
		r.DiagnosticCode = TypedValue{Type: TypeSMTP, Value: strings.TrimSpace(itoa3(int(se.Code)) + " " + code.String() + " " + msg)}
		return r
	}
	if temporary {
		r.Action, r.Status = ActionDelayed, smtp.NewEnhancedCode(4, 4, 1)
	} else {
		r.Action, r.Status = ActionFailed, smtp.NewEnhancedCode(5, 4, 4)
	}
	return r
}

func itoa3(n int) string {
	if n < 100 || n > 999 {
		return "550"
	}
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// addressValue types an address: rfc822 for ASCII, utf-8 otherwise (RFC
// 6533 section 3).
func addressValue(addr string) TypedValue {
	for i := 0; i < len(addr); i++ {
		if addr[i] >= 0x80 {
			return TypedValue{Type: TypeUTF8, Value: addr}
		}
	}
	return TypedValue{Type: TypeRFC822, Value: addr}
}

// OriginalRecipient returns the Original-Recipient value for a recipient
// that came with the RCPT parameters o: the ORCPT type and address as the
// client gave them (RFC 3461 section 4.2), or the zero value when there was
// no ORCPT, in which case the field is left out (RFC 3464 section 2.3.1).
func OriginalRecipient(o smtp.RcptOptions) TypedValue {
	if o.OriginalRecipient == "" {
		return TypedValue{}
	}
	t := strings.ToLower(o.OriginalRecipientType)
	if t == "" {
		t = TypeRFC822
	}
	return TypedValue{Type: t, Value: o.OriginalRecipient}
}
