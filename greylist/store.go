package greylist

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store keeps greylist state. Check is the only operation: it reads the
// state of one client network and one triplet, applies [Step] and writes the
// result back, all as one atomic operation, so that two MX hosts (or two
// goroutines) seeing the same retry at the same moment never both count it.
//
// A Store is safe for concurrent use. Implementations must return the same
// Outcome as [Step] would for the state they hold; the suite in
// greylist/greylisttest checks that.
type Store interface {
	Check(ctx context.Context, q Query) (Outcome, error)
}

// Query is one greylist decision asked of a [Store].
//
// The triplet is identified by the pair (Client, Envelope); Client alone
// identifies the client network for auto-whitelisting. Both are opaque keys
// built by [Policy] (plain text, or hashes in privacy mode); a store compares
// them byte for byte.
type Query struct {
	// Client is the key of the client network.
	Client string
	// Envelope is the key of the sender and recipient, relative to Client.
	Envelope string
	// Now is the time of the decision. Stores work in whole milliseconds.
	Now time.Time
	// Rules are the timing rules to apply.
	Rules Rules
}

// Rules are the timing rules a [Store] applies. [Policy] fills them from its
// [Options]; a store validates them with [Rules.Validate].
type Rules struct {
	// Delay is how long a new triplet is deferred.
	Delay time.Duration
	// RetryWindow is how long after its first sighting a triplet must
	// come back to pass; a retry at or after FirstSeen+RetryWindow counts
	// as a new triplet.
	RetryWindow time.Duration
	// MaxAge is how long a passed triplet, and a client's
	// auto-whitelisting record, are kept after they were last seen.
	MaxAge time.Duration
	// AutoWhitelist is the number of successful retries after which a
	// client network passes without greylisting. Zero turns
	// auto-whitelisting off.
	AutoWhitelist int
}

// ErrInvalidRules is returned (wrapped) for timing rules no store can apply.
var ErrInvalidRules = errors.New("greylist: invalid rules")

// Validate reports whether the rules can be applied: Delay must not be
// negative, RetryWindow must be longer than Delay, MaxAge must be positive
// and AutoWhitelist must not be negative. Durations are used in whole
// milliseconds.
func (r Rules) Validate() error {
	switch {
	case r.Delay < 0:
		return fmt.Errorf("%w: negative delay %v", ErrInvalidRules, r.Delay)
	case r.RetryWindow.Milliseconds() <= r.Delay.Milliseconds():
		return fmt.Errorf("%w: retry window %v is not longer than delay %v", ErrInvalidRules, r.RetryWindow, r.Delay)
	case r.MaxAge.Milliseconds() <= 0:
		return fmt.Errorf("%w: max age %v is not positive", ErrInvalidRules, r.MaxAge)
	case r.AutoWhitelist < 0:
		return fmt.Errorf("%w: negative auto-whitelist count %d", ErrInvalidRules, r.AutoWhitelist)
	}
	return nil
}

// Verdict is what a [Store] decided for one [Query].
type Verdict uint8

// The verdicts. New and Early defer the message; Retried, Known and
// ClientWhitelisted let it pass.
const (
	// VerdictNew: the triplet was unknown, or its previous record had
	// expired. It is recorded now and deferred for Rules.Delay.
	VerdictNew Verdict = iota + 1
	// VerdictEarly: the triplet came back before Rules.Delay had passed.
	VerdictEarly
	// VerdictRetried: the triplet came back after Rules.Delay and within
	// Rules.RetryWindow. It passes from now on, and the client network's
	// count of successful retries went up by one.
	VerdictRetried
	// VerdictKnown: the triplet had passed before and is still recorded.
	VerdictKnown
	// VerdictClientWhitelisted: the client network has at least
	// Rules.AutoWhitelist successful retries; the triplet was not looked at.
	VerdictClientWhitelisted
)

// String returns the verdict's name, such as "new".
func (v Verdict) String() string {
	switch v {
	case VerdictNew:
		return "new"
	case VerdictEarly:
		return "early"
	case VerdictRetried:
		return "retried"
	case VerdictKnown:
		return "known"
	case VerdictClientWhitelisted:
		return "client-whitelisted"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Pass reports whether the verdict lets the message pass.
func (v Verdict) Pass() bool {
	return v == VerdictRetried || v == VerdictKnown || v == VerdictClientWhitelisted
}

// Outcome is a [Store]'s answer to a [Query].
type Outcome struct {
	Verdict Verdict
	// FirstSeen is when the triplet was first seen, in whole milliseconds;
	// for VerdictNew it is Query.Now. It is zero for
	// VerdictClientWhitelisted.
	FirstSeen time.Time
	// ClientPasses is the client network's count of successful retries
	// after this query. It is zero when auto-whitelisting is off.
	ClientPasses int
}

// State is the stored state that one [Query] reads and writes: the triplet's
// record and the client network's record. A zero record means absent.
type State struct {
	Triplet TripletRecord
	Client  ClientRecord
}

// TripletRecord is what a [Store] keeps per triplet. Times are whole
// milliseconds since the Unix epoch; a record whose Expires is at or before
// the query time counts as absent, so a store may drop it then.
type TripletRecord struct {
	FirstSeen int64
	Expires   int64
	Passed    bool
}

// ClientRecord is what a [Store] keeps per client network for
// auto-whitelisting. Expires works as in [TripletRecord].
type ClientRecord struct {
	Passes  int
	Expires int64
}

// IsZero reports whether the record is absent.
func (r TripletRecord) IsZero() bool { return r == TripletRecord{} }

// IsZero reports whether the record is absent.
func (r ClientRecord) IsZero() bool { return r == ClientRecord{} }

// Step is the greylisting state machine that every [Store] applies
// atomically. Given the query and the stored state it returns the state to
// store and the outcome. Absent or expired records are treated alike.
//
//   - If auto-whitelisting is on and the client network has at least
//     Rules.AutoWhitelist passes, the client record is refreshed (kept for
//     MaxAge more) and the verdict is VerdictClientWhitelisted.
//   - An absent triplet is recorded with FirstSeen=Now, kept until
//     Now+RetryWindow: VerdictNew.
//   - A pending triplet younger than Delay is left as it is: VerdictEarly.
//   - A pending triplet at least Delay old passes, and is kept until
//     Now+MaxAge; the client's pass count goes up by one and its record is
//     kept until Now+MaxAge: VerdictRetried.
//   - A passed triplet is kept until Now+MaxAge: VerdictKnown.
//
// A record left unchanged is returned as it was given; a store need only
// write the records that differ.
func Step(q Query, s State) (State, Outcome) {
	now := q.Now.UnixMilli()
	delay := q.Rules.Delay.Milliseconds()
	window := q.Rules.RetryWindow.Milliseconds()
	maxAge := q.Rules.MaxAge.Milliseconds()
	awl := q.Rules.AutoWhitelist

	client := s.Client
	if awl <= 0 {
		client = ClientRecord{}
	} else if !client.IsZero() && now >= client.Expires {
		client = ClientRecord{}
	}
	if awl > 0 && client.Passes >= awl {
		s.Client = ClientRecord{Passes: client.Passes, Expires: now + maxAge}
		return s, Outcome{Verdict: VerdictClientWhitelisted, ClientPasses: client.Passes}
	}

	t := s.Triplet
	if t.IsZero() || now >= t.Expires {
		s.Triplet = TripletRecord{FirstSeen: now, Expires: now + window}
		return s, Outcome{Verdict: VerdictNew, FirstSeen: time.UnixMilli(now), ClientPasses: client.Passes}
	}
	first := time.UnixMilli(t.FirstSeen)
	if t.Passed {
		s.Triplet = TripletRecord{FirstSeen: t.FirstSeen, Expires: now + maxAge, Passed: true}
		return s, Outcome{Verdict: VerdictKnown, FirstSeen: first, ClientPasses: client.Passes}
	}
	if now-t.FirstSeen < delay {
		return s, Outcome{Verdict: VerdictEarly, FirstSeen: first, ClientPasses: client.Passes}
	}
	s.Triplet = TripletRecord{FirstSeen: t.FirstSeen, Expires: now + maxAge, Passed: true}
	if awl > 0 {
		client = ClientRecord{Passes: client.Passes + 1, Expires: now + maxAge}
		s.Client = client
	}
	return s, Outcome{Verdict: VerdictRetried, FirstSeen: first, ClientPasses: client.Passes}
}
