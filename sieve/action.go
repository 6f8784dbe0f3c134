package sieve

import (
	"time"
)

// An Action is one thing the script asks for: [Keep], [FileInto],
// [Redirect], [Discard], [Reject] or [Vacation]. The interpreter performs
// none of them; the caller does.
type Action interface {
	action()
}

// Keep stores the message in the user's default mailbox (INBOX), with
// Flags as its IMAP flags (RFC 5232; nil means none). Implicit is true for
// the implicit keep of RFC 5228 section 2.10.2, which applies when no
// action cancelled it and after a run-time error.
type Keep struct {
	Flags    []string
	Implicit bool
}

// FileInto stores the message in Mailbox (RFC 5228 section 4.1), a name
// checked by [ValidMailbox], in UTF-8 with '/' between hierarchy levels as
// the script wrote it. Create asks for the mailbox to be created if it
// does not exist (RFC 5490 section 3.2); without it a missing mailbox is
// the caller's error, which RFC 5228 says should end in a keep. Copy
// records :copy (RFC 3894); the implicit keep then still applies.
type FileInto struct {
	Mailbox string
	Flags   []string
	Create  bool
	Copy    bool
}

// Redirect sends the message on to Address (RFC 5228 section 4.2), an
// addr-spec, with the envelope sender unchanged and the header as it
// stands (with the edits of [Result.Header]). Copy records :copy.
type Redirect struct {
	Address string
	Copy    bool
}

// Discard silently drops the message (RFC 5228 section 4.4). It is in the
// result only when no other action delivers the message.
type Discard struct{}

// Reject refuses the message with Reason (RFC 5429): Extended false is
// "reject" (an MDN or DSN after acceptance, or a refusal in the SMTP
// dialogue), true is "ereject" (a refusal in the SMTP or LMTP dialogue
// where possible).
type Reject struct {
	Reason   string
	Extended bool
}

// Vacation is an auto-reply to send (RFC 5230). Message is the reply,
// header and body with CRLF line endings, ready to be sent to To with the
// null reverse-path as RFC 3834 section 3.3 advises. After sending it, the
// caller records it with VacationStore.Record(ctx, Key, now), so that the
// next reply to the same sender with the same handle waits for Period.
type Vacation struct {
	To      string // the original envelope sender
	From    string // the From of the reply
	Subject string
	Reason  string // the reason as the script gave it, variables expanded
	MIME    bool   // Reason is a MIME entity (:mime)
	Key     VacationKey
	Period  time.Duration
	Message []byte
}

func (Keep) action()     {}
func (FileInto) action() {}
func (Redirect) action() {}
func (Discard) action()  {}
func (Reject) action()   {}
func (Vacation) action() {}
