package dsn

import (
	"strings"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// Action is the value of the Action field of a per-recipient group (RFC
// 3464 section 2.3.3): what the reporting MTA did with the recipient.
type Action string

// Actions of RFC 3464 section 2.3.3.
const (
	// ActionFailed: the message could not be delivered and will not be.
	ActionFailed Action = "failed"
	// ActionDelayed: delivery has not succeeded yet and will be retried.
	ActionDelayed Action = "delayed"
	// ActionDelivered: the message was delivered to the recipient's mailbox.
	ActionDelivered Action = "delivered"
	// ActionRelayed: the message went on to a system that sends no DSNs.
	ActionRelayed Action = "relayed"
	// ActionExpanded: the message was delivered to an alias or list and
	// passed on to its members.
	ActionExpanded Action = "expanded"
)

// Valid reports whether a is one of the five actions of RFC 3464.
func (a Action) Valid() bool {
	switch a {
	case ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded:
		return true
	}
	return false
}

// TypedValue is a field value made of a type and a value separated by ";",
// as in "dns; mx.example.com" (an MTA name), "rfc822; user@example.com" (an
// address, RFC 3464 section 2.1.2) or "smtp; 550 5.1.1 unknown user" (a
// diagnostic). Type is lower case; Value is unfolded and trimmed. A field
// written without a type has Type "".
type TypedValue struct {
	Type  string
	Value string
}

// IsZero reports whether v is empty.
func (v TypedValue) IsZero() bool { return v.Type == "" && v.Value == "" }

// String formats v as it is written in a field: "type; value".
func (v TypedValue) String() string {
	if v.Type == "" {
		return v.Value
	}
	return v.Type + "; " + v.Value
}

// Address types and MTA name types of RFC 3464 and RFC 6533.
const (
	TypeRFC822  = "rfc822"  // an RFC 5322 addr-spec
	TypeUTF8    = "utf-8"   // an RFC 6531 address with UTF-8 (RFC 6533)
	TypeDNS     = "dns"     // an MTA host name
	TypeSMTP    = "smtp"    // a diagnostic that is an SMTP reply
	TypeUnknown = "unknown" // RFC 3464 section 2.3.1
)

// Field is a field that the report types do not model, such as
// "X-Postfix-Queue-ID", or a standard field whose value could not be
// parsed. Value is unfolded.
type Field struct {
	Name  string
	Value string
}

// Report is the content of a message/delivery-status (or
// message/global-delivery-status) part: the per-message fields and one group
// of per-recipient fields for each recipient the notification is about (RFC
// 3464 section 2).
type Report struct {
	// ReportingMTA names the MTA that wrote the report ("dns; mx.example.org").
	ReportingMTA TypedValue
	// DSNGateway names the gateway that translated a foreign notification.
	DSNGateway TypedValue
	// ReceivedFromMTA names the MTA the message came from.
	ReceivedFromMTA TypedValue
	// EnvelopeID is the ENVID the sender gave with MAIL (RFC 3461 section
	// 4.4), decoded from xtext; it is written back in xtext.
	EnvelopeID string
	// ArrivalDate is when the reporting MTA received the message; zero if
	// absent.
	ArrivalDate time.Time
	// Extensions holds the other per-message fields in order.
	Extensions []Field
	// Recipients holds one entry per per-recipient group, in order.
	Recipients []Recipient
}

// Recipient is one per-recipient group of a report (RFC 3464 section 2.3).
type Recipient struct {
	// OriginalRecipient is the recipient as the sender gave it (the ORCPT
	// parameter), such as "rfc822; user@example.com".
	OriginalRecipient TypedValue
	// FinalRecipient is the recipient the reporting MTA tried to deliver to;
	// it is required.
	FinalRecipient TypedValue
	// Action is what happened; it is required.
	Action Action
	// Status is the RFC 3463 status code; it is required. A Status field
	// that does not hold a code leaves Status zero and is kept in Extensions.
	Status smtp.EnhancedCode
	// RemoteMTA names the MTA that gave the diagnostic.
	RemoteMTA TypedValue
	// DiagnosticCode is what the remote MTA said ("smtp; 550 5.1.1 ...").
	DiagnosticCode TypedValue
	// LastAttemptDate is when delivery was last tried; zero if absent.
	LastAttemptDate time.Time
	// FinalLogID is the reporting MTA's log identifier for the recipient.
	FinalLogID string
	// WillRetryUntil is when a delayed delivery will be given up; zero if
	// absent.
	WillRetryUntil time.Time
	// Extensions holds the other fields of the group in order.
	Extensions []Field
}

// Addr returns the recipient's address without its type: the final
// recipient, or the original one when the final one is missing.
func (r *Recipient) Addr() string {
	v := r.FinalRecipient
	if v.Value == "" {
		v = r.OriginalRecipient
	}
	return strings.Trim(v.Value, "<> ")
}

// BestStatus returns the most specific status known for the recipient:
// the RFC 3463 code the remote server gave in an SMTP Diagnostic-Code when
// Status is missing, is only class.0.0, or disagrees with it within the
// same class (the server's own words are more precise than the reporting
// MTA's summary: "Status: 5.1.1" over "550 5.7.1 IP address blacklisted"
// is a mislabel); otherwise Status. The code in the diagnostic is the one
// right after a failure reply code ("550 5.7.1", "550-5.7.1", "550
// #5.1.0"), or else the first failure code in it; a success reply
// ("250 2.1.5" for an accepted RCPT in a transcript that failed later)
// counts only when the diagnostic holds no failure.
//
// When Status contradicts Action on the class (Action failed with a 4.x.x
// Status, or delayed with a 5.x.x one), Status's class stands, whatever the
// class of the diagnostic: a diagnostic of the other class is not used.
// The reporting MTA chose the Status: Postfix, for one, writes "Action:
// failed" with "Status: 4.0.0" and the remote "554" greeting when a message
// that was only ever deferred (Postfix treats a 5xx greeting as a reason to
// try another server, smtp_skip_5xx_greeting) expires in its queue. Action
// already tells that delivery is over; the status keeps that the failure
// itself was transient. So "Action: failed", "Status: 4.4.1",
// "Diagnostic-Code: smtp; 550 5.1.1 no such user" is 4.4.1.
func (r *Recipient) BestStatus() smtp.EnhancedCode {
	d := diagnosticCode(r.DiagnosticCode.Value)
	switch {
	case !d.Valid():
		return r.Status
	case !r.Status.Valid():
		return d
	case d.Class() == r.Status.Class() && Registered(d):
		return d
	}
	return r.Status
}

// diagnosticCode finds the enhanced code of an SMTP diagnostic, a failure
// before a success.
func diagnosticCode(s string) smtp.EnhancedCode {
	var success smtp.EnhancedCode
	for i := 0; i+3 < len(s); i++ {
		if (s[i] != '4' && s[i] != '5' && s[i] != '2') || !isDigit(s[i+1]) || !isDigit(s[i+2]) ||
			i > 0 && (isDigit(s[i-1]) || s[i-1] == '.') {
			continue
		}
		j := i + 3
		for k := 0; k < 3 && j < len(s) && strings.IndexByte(" -'#\"", s[j]) >= 0; k++ {
			j++
		}
		if j == i+3 {
			continue
		}
		if c, at := findCode(s[j:]); at == 0 && c.Class() == int(s[i]-'0') {
			if c.Class() != 2 {
				return c
			}
			if !success.IsSet() {
				success = c
			}
		}
	}
	c := failureCode(s)
	if success.IsSet() && (!c.IsSet() || c.Class() == 2) {
		return success
	}
	return c
}
