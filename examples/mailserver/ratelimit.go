package main

import (
	"sync"
	"time"
)

// rateLimiter counts the messages each authenticated user sent over
// submission in a sliding window: a user may send limit.Max messages in any
// period of limit.Window. It keeps the send times of each user's last Max
// messages, so it is exact and bounded by Max times the number of users.
//
// It counts messages, not recipients: the limit reads as users think of
// it ("50 messages an hour"), and the recipients of one message are bounded
// on their own by the SMTP server's recipient limit (100 by default, 452
// 4.5.3 beyond), so one message can never stand for more than that many
// deliveries.
//
// A message counts when it is accepted (250 to its data); the check comes
// at MAIL FROM. Transactions running at the same moment in several sessions
// of one user are each checked before any of them is counted, so a user
// can overshoot the limit by the number of sessions sending at that moment.
type rateLimiter struct {
	limit rateLimit

	mu    sync.Mutex
	users map[string][]time.Time // oldest first, at most limit.Max
}

func newRateLimiter(l rateLimit) *rateLimiter {
	return &rateLimiter{limit: l, users: map[string][]time.Time{}}
}

// allow reports whether user may start another message at now, and how many
// messages it sent in the window before now.
func (r *rateLimiter) allow(user string, now time.Time) (ok bool, sent int) {
	if r.limit.Max == 0 {
		return true, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.trim(user, now)
	return len(ts) < r.limit.Max, len(ts)
}

// add counts one message of user sent at now.
func (r *rateLimiter) add(user string, now time.Time) {
	if r.limit.Max == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.trim(user, now)
	if len(ts) >= r.limit.Max {
		ts = ts[1:]
	}
	r.users[user] = append(ts, now)
}

// retryAfter is how long until user may send again at now.
func (r *rateLimiter) retryAfter(user string, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.trim(user, now)
	if len(ts) < r.limit.Max {
		return 0
	}
	return ts[len(ts)-r.limit.Max].Add(r.limit.Window).Sub(now)
}

// trim drops the times that left the window; callers hold mu.
func (r *rateLimiter) trim(user string, now time.Time) []time.Time {
	ts := r.users[user]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-r.limit.Window)) {
		i++
	}
	if i == len(ts) {
		delete(r.users, user)
		return nil
	}
	if i > 0 {
		ts = append(ts[:0], ts[i:]...)
		r.users[user] = ts
	}
	return ts
}
