package delivery

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"

	"github.com/heraldmail/herald/smtp"
)

// Status is the outcome of a delivery attempt for one recipient.
type Status int

// Statuses of a RecipientResult.
const (
	// StatusTemporary means the recipient was not delivered and may be
	// tried again later (a 4yz reply, no host reachable, a TLS policy that
	// no host met). It is the zero value.
	StatusTemporary Status = iota
	// StatusDelivered means a server took responsibility for the message.
	StatusDelivered
	// StatusPermanent means the recipient failed for good (a 5yz reply, a
	// null MX, a domain that does not exist).
	StatusPermanent
)

// String returns "temporary", "delivered" or "permanent".
func (s Status) String() string {
	switch s {
	case StatusDelivered:
		return "delivered"
	case StatusPermanent:
		return "permanent"
	case StatusTemporary:
		return "temporary"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// RecipientResult is the outcome for one recipient of an envelope.
type RecipientResult struct {
	// To is the recipient as given in the envelope.
	To smtp.Path
	// Status says whether the recipient was delivered, failed for good or
	// may be tried again.
	Status Status
	// Code, Enhanced and Text are the last reply that concerns the
	// recipient: the remote server's, or a local one (Local set) when no
	// server answered, such as 556 5.1.10 for a null MX or 451 4.4.1 when
	// no host could be reached.
	Code     smtp.ReplyCode
	Enhanced smtp.EnhancedCode
	Text     string
	// Local is true when the reply was made up by this client rather than
	// sent by a server.
	Local bool
	// Host is the MX host name that gave the reply, "" when Local.
	Host string
	// Addr is the address of that host.
	Addr netip.AddrPort
	// TLS is true when the message or the refusal went over TLS, and
	// TLSVersion is then the version (tls.VersionTLS13...).
	TLS        bool
	TLSVersion uint16
	// DSNRelayed is true when the recipient was delivered to a server
	// that lacks the DSN extension, so that the NOTIFY parameter was not
	// passed on (RFC 3461 section 4.1: a "relayed" notification is owed).
	DSNRelayed bool
}

// Err returns the reply as an *smtp.Error for a failed recipient, nil for
// a delivered one.
func (r *RecipientResult) Err() error {
	if r.Status == StatusDelivered {
		return nil
	}
	return &smtp.Error{Code: r.Code, Enhanced: r.Enhanced, Message: r.Text}
}

// TLSVersionName returns "TLS1.3" and the like, "" without TLS.
func (r *RecipientResult) TLSVersionName() string {
	if !r.TLS {
		return ""
	}
	return tls.VersionName(r.TLSVersion)
}

// Result is the outcome of Deliver: one entry per recipient of the
// envelope, in the same order.
type Result struct {
	Recipients []RecipientResult
}

// Count returns how many recipients have status s.
func (r *Result) Count(s Status) int {
	n := 0
	for i := range r.Recipients {
		if r.Recipients[i].Status == s {
			n++
		}
	}
	return n
}

// Errors of Deliver. They concern the call itself; the outcome of each
// recipient is in the Result.
var (
	// ErrNoRecipients reports an envelope without recipients.
	ErrNoRecipients = errors.New("delivery: envelope has no recipients")
	// ErrNoResolver reports a Deliverer without a Resolver.
	ErrNoResolver = errors.New("delivery: no resolver")
)

// Local replies given to recipients when no server answered. Each is an
// RFC 3463 code with a reply code of the same class.
var (
	replyNullMX         = localReply{556, smtp.NewEnhancedCode(5, 1, 10), "recipient domain accepts no mail (null MX)"}
	replyNoDomain       = localReply{550, smtp.NewEnhancedCode(5, 1, 2), "recipient domain does not exist"}
	replyNoRoute        = localReply{550, smtp.NewEnhancedCode(5, 4, 4), "no usable mail exchanger for the recipient domain"}
	replyDNSTemp        = localReply{451, smtp.NewEnhancedCode(4, 4, 3), "temporary DNS failure for the recipient domain"}
	replyNoAnswer       = localReply{451, smtp.NewEnhancedCode(4, 4, 1), "no answer from any mail exchanger"}
	replyConnBroken     = localReply{451, smtp.NewEnhancedCode(4, 4, 2), "connection to the mail exchanger broke"}
	replyRequireTLS     = localReply{550, smtp.EnhancedRequireTLS, "REQUIRETLS: no mail exchanger offers REQUIRETLS over verified TLS"}
	replySTSNoMX        = localReply{451, smtp.NewEnhancedCode(4, 7, 5), "MTA-STS: no mail exchanger matches the policy"}
	replySTSTLS         = localReply{451, smtp.NewEnhancedCode(4, 7, 5), "MTA-STS: no mail exchanger offered valid TLS"}
	replyTooBig         = localReply{552, smtp.EnhancedMessageTooBig, "message exceeds the mail exchanger's size limit"}
	replyNeedsExtension = localReply{550, smtp.NewEnhancedCode(5, 5, 1), "the mail exchanger lacks an extension the message needs"}
	replyBadMessage     = localReply{554, smtp.EnhancedMediaError, "message cannot be sent as it is"}
	replyCanceled       = localReply{451, smtp.NewEnhancedCode(4, 4, 7), "delivery attempt was cut short"}
)

type localReply struct {
	code smtp.ReplyCode
	enh  smtp.EnhancedCode
	text string
}

func (l localReply) status() Status {
	if l.code.Permanent() {
		return StatusPermanent
	}
	return StatusTemporary
}
