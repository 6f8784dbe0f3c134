package imapmaildir

import (
	"context"
	"strconv"
	"time"

	"github.com/heraldmail/herald/imap"
)

// SaveDate implements imap.MailboxSaveDate from the message's base file
// name, which Maildir writers (package maildir, Dovecot, mutt) start with
// the seconds of the time they wrote the file: delivery, APPEND, and COPY
// and MOVE, which give the copy a name of its own. It never changes with
// the flags, so it is stable across sessions and restarts, and needs no
// system call. A name that does not start with a plausible time (after
// 1990, not in the future by more than a day) has no save date.
func (h *handle) SaveDate(ctx context.Context, uid imap.UID) (time.Time, bool) {
	base, ok := h.idx.baseOf(uint32(uid))
	if !ok {
		return time.Time{}, false
	}
	n := 0
	for n < len(base) && base[n] >= '0' && base[n] <= '9' {
		n++
	}
	if n == 0 || n > 12 || n < len(base) && base[n] != '.' {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(base[:n], 10, 64)
	if err != nil || sec < 631152000 || time.Unix(sec, 0).After(time.Now().Add(24*time.Hour)) {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

func (x *index) baseOf(uid uint32) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i, ok := x.find(uid)
	if !ok {
		return "", false
	}
	return x.msgs[i].base, true
}
