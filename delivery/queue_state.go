package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// Limits of the queue's state files.
const (
	// MaxStateBytes bounds a state file.
	MaxStateBytes = 1 << 20
	// DefaultMaxQueueRecipients bounds the recipients of one queued
	// message.
	DefaultMaxQueueRecipients = 1000
	// maxIDLength bounds an item ID.
	maxIDLength = 64
	// maxStateText bounds a stored reply text.
	maxStateText = 4096
)

// ErrBadState reports a state file that cannot be trusted: malformed,
// over a limit, or inconsistent. The queue never sends such an item; it
// moves it aside (see Queue.Quarantined).
var ErrBadState = errors.New("delivery: bad queue state file")

// RecipientState is where one recipient of a queued message stands.
type RecipientState string

// States of a queued recipient.
const (
	StatePending   RecipientState = "pending"
	StateDelivered RecipientState = "delivered"
	StateFailed    RecipientState = "failed"
)

// ItemState is the envelope and delivery state of one queued message, as
// kept in its state file.
type ItemState struct {
	ID       string
	From     smtp.Path
	Options  smtp.MailOptions
	Size     int64
	Arrival  time.Time
	Attempts int
	Next     time.Time
	// DelayNotified is set once the delay notification went out.
	DelayNotified bool
	Recipients    []QueuedRecipient
}

// QueuedRecipient is one recipient with its last result.
type QueuedRecipient struct {
	Recipient smtp.Recipient
	State     RecipientState
	// Last reply concerning the recipient, zero before the first attempt.
	Code     smtp.ReplyCode
	Enhanced smtp.EnhancedCode
	Text     string
	Host     string
	Local    bool
	Last     time.Time
}

// stateJSON is the file format, version 1.
type stateJSON struct {
	Version       int        `json:"version"`
	ID            string     `json:"id"`
	From          string     `json:"from"`
	Size          int64      `json:"size"`
	Body          string     `json:"body,omitempty"`
	UTF8          bool       `json:"smtputf8,omitempty"`
	RequireTLS    bool       `json:"requiretls,omitempty"`
	Ret           string     `json:"ret,omitempty"`
	EnvID         string     `json:"envid,omitempty"`
	Arrival       time.Time  `json:"arrival"`
	Attempts      int        `json:"attempts"`
	Next          time.Time  `json:"next"`
	DelayNotified bool       `json:"delay_notified,omitempty"`
	Rcpts         []rcptJSON `json:"rcpts"`
}

type rcptJSON struct {
	To        string    `json:"to"`
	Notify    string    `json:"notify,omitempty"`
	OrcptType string    `json:"orcpt_type,omitempty"`
	Orcpt     string    `json:"orcpt,omitempty"`
	State     string    `json:"state"`
	Code      int       `json:"code,omitempty"`
	Enhanced  string    `json:"enhanced,omitempty"`
	Text      string    `json:"text,omitempty"`
	Host      string    `json:"host,omitempty"`
	Local     bool      `json:"local,omitempty"`
	Last      time.Time `json:"last,omitzero"`
}

// MarshalState encodes s as a state file.
func MarshalState(s *ItemState) ([]byte, error) {
	j := stateJSON{
		Version: 1, ID: s.ID, From: s.From.String(), Size: s.Size,
		Body: string(s.Options.Body), UTF8: s.Options.UTF8, RequireTLS: s.Options.RequireTLS,
		Ret: string(s.Options.Return), EnvID: s.Options.EnvelopeID,
		Arrival: s.Arrival, Attempts: s.Attempts, Next: s.Next, DelayNotified: s.DelayNotified,
	}
	for _, r := range s.Recipients {
		rj := rcptJSON{
			To: r.Recipient.Path.String(), OrcptType: r.Recipient.Options.OriginalRecipientType,
			Orcpt: r.Recipient.Options.OriginalRecipient, State: string(r.State),
			Code: int(r.Code), Enhanced: r.Enhanced.String(), Text: r.Text, Host: r.Host, Local: r.Local, Last: r.Last,
		}
		if r.Recipient.Options.Notify != 0 {
			rj.Notify = r.Recipient.Options.Notify.String()
		}
		j.Rcpts = append(j.Rcpts, rj)
	}
	b, err := json.Marshal(&j)
	if err != nil {
		return nil, err
	}
	if _, err := ParseState(b); err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func badState(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadState, fmt.Sprintf(format, args...))
}

// ParseState reads a state file strictly: one JSON object of version 1
// with no unknown fields, at most MaxStateBytes, a valid item ID, paths that
// parse as RFC 5321 paths, 1 to DefaultMaxQueueRecipients recipients with
// known states and well-formed reply codes. Errors wrap ErrBadState.
func ParseState(b []byte) (*ItemState, error) {
	if len(b) > MaxStateBytes {
		return nil, badState("over %d bytes", MaxStateBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j stateJSON
	if err := dec.Decode(&j); err != nil {
		return nil, badState("%v", err)
	}
	if dec.More() {
		return nil, badState("data after the object")
	}
	if j.Version != 1 {
		return nil, badState("version %d", j.Version)
	}
	if !validID(j.ID) {
		return nil, badState("invalid id")
	}
	from, err := smtp.ParsePath(j.From, true)
	if err != nil {
		return nil, badState("invalid from")
	}
	if j.Size < 0 || j.Attempts < 0 {
		return nil, badState("negative size or attempts")
	}
	switch smtp.BodyType(j.Body) {
	case "", smtp.Body7Bit, smtp.Body8BitMIME, smtp.BodyBinaryMIME:
	default:
		return nil, badState("invalid body type")
	}
	switch smtp.DSNReturn(j.Ret) {
	case "", smtp.ReturnFull, smtp.ReturnHeaders:
	default:
		return nil, badState("invalid ret")
	}
	if len(j.EnvID) > 100 || !printable(j.EnvID) {
		return nil, badState("invalid envid")
	}
	if n := len(j.Rcpts); n == 0 || n > DefaultMaxQueueRecipients {
		return nil, badState("%d recipients", n)
	}
	s := &ItemState{
		ID: j.ID, From: from, Size: j.Size,
		Options: smtp.MailOptions{Body: smtp.BodyType(j.Body), UTF8: j.UTF8, RequireTLS: j.RequireTLS,
			Return: smtp.DSNReturn(j.Ret), EnvelopeID: j.EnvID, Size: j.Size},
		Arrival: j.Arrival, Attempts: j.Attempts, Next: j.Next, DelayNotified: j.DelayNotified,
	}
	for i, rj := range j.Rcpts {
		to, err := smtp.ParsePath(rj.To, true)
		if err != nil || to.IsNull() {
			return nil, badState("recipient %d: invalid path", i)
		}
		r := QueuedRecipient{Recipient: smtp.Recipient{Path: to}, Text: rj.Text, Host: rj.Host, Local: rj.Local, Last: rj.Last}
		if rj.Notify != "" {
			n, ok := parseNotify(rj.Notify)
			if !ok {
				return nil, badState("recipient %d: invalid notify", i)
			}
			r.Recipient.Options.Notify = n
		}
		if len(rj.OrcptType) > 32 || len(rj.Orcpt) > smtp.MaxPathLength*4 || !printable(rj.OrcptType) || !printable(rj.Orcpt) {
			return nil, badState("recipient %d: invalid orcpt", i)
		}
		r.Recipient.Options.OriginalRecipientType, r.Recipient.Options.OriginalRecipient = rj.OrcptType, rj.Orcpt
		switch st := RecipientState(rj.State); st {
		case StatePending, StateDelivered, StateFailed:
			r.State = st
		default:
			return nil, badState("recipient %d: invalid state", i)
		}
		if rj.Code != 0 {
			if !smtp.ReplyCode(rj.Code).Valid() {
				return nil, badState("recipient %d: invalid code", i)
			}
			r.Code = smtp.ReplyCode(rj.Code)
		}
		if rj.Enhanced != "" {
			e, err := smtp.ParseEnhancedCode(rj.Enhanced)
			if err != nil {
				return nil, badState("recipient %d: invalid enhanced code", i)
			}
			r.Enhanced = e
		}
		if len(rj.Text) > maxStateText || len(rj.Host) > smtp.MaxDomainLength+2 || !printable(rj.Host) {
			return nil, badState("recipient %d: reply too long", i)
		}
		s.Recipients = append(s.Recipients, r)
	}
	return s, nil
}

// parseNotify reads a NOTIFY value as DSNNotify.String writes it.
func parseNotify(v string) (smtp.DSNNotify, bool) {
	var n smtp.DSNNotify
	for len(v) > 0 {
		var word string
		word, v = cutComma(v)
		switch word {
		case "NEVER":
			n |= smtp.NotifyNever
		case "SUCCESS":
			n |= smtp.NotifySuccess
		case "FAILURE":
			n |= smtp.NotifyFailure
		case "DELAY":
			n |= smtp.NotifyDelay
		default:
			return 0, false
		}
	}
	if n&smtp.NotifyNever != 0 && n != smtp.NotifyNever {
		return 0, false
	}
	return n, n != 0
}

func cutComma(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// validID checks an item ID: 1 to 64 letters, digits and "-".
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) && id[i] != '-' {
			return false
		}
	}
	return true
}
