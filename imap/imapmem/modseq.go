package imapmem

import (
	"context"
	"slices"

	"github.com/heraldmail/herald/imap"
)

// MaxExpunged is how many expunged UIDs a mailbox remembers for QRESYNC;
// when it holds more it forgets the older half, and a client that
// resynchronizes from before them is told of every UID that does not
// exist (imap.MailboxModSeqs).
const MaxExpunged = 10000

const maxModSeq = 1<<63 - 1

// modseqs are the mod-sequences of a mailbox (RFC 7162): the highest one
// handed out, and the expunged UIDs with the mod-sequence of their
// expunge, oldest first. Every expunge with a mod-sequence above floor is
// in expunges.
type modseqs struct {
	highest  uint64
	expunges []tomb
	floor    uint64
}

type tomb struct {
	uid    imap.UID
	modseq uint64
}

// bump returns a new mod-sequence.
func (s *modseqs) bump() uint64 {
	s.highest++
	return s.highest
}

// expunged records the expunge of uids under one new mod-sequence.
func (s *modseqs) expunged(uids []imap.UID) {
	if len(uids) == 0 {
		return
	}
	ms := s.bump()
	for _, u := range uids {
		s.expunges = append(s.expunges, tomb{u, ms})
	}
	if len(s.expunges) > MaxExpunged {
		drop := len(s.expunges) - MaxExpunged/2
		s.floor = s.expunges[drop-1].modseq
		s.expunges = slices.Delete(s.expunges, 0, drop)
	}
}

// store applies a STORE to the messages of uids whose mod-sequence is at
// most unchangedSince, giving the changed ones one new mod-sequence, and
// returns the others.
func (m *mailbox) store(uids []imap.UID, unchangedSince uint64, op imap.StoreOp, flags []imap.Flag) []imap.UID {
	var modified []imap.UID
	var ms uint64
	for _, uid := range uids {
		i, ok := slices.BinarySearchFunc(m.msgs, uid, func(m *message, u imap.UID) int { return int(int64(m.uid) - int64(u)) })
		if !ok {
			continue
		}
		msg := m.msgs[i]
		if msg.modseq > unchangedSince {
			modified = append(modified, uid)
			continue
		}
		nf := apply(msg.flags, op, flags)
		if sameSet(nf, msg.flags) {
			continue
		}
		if ms == 0 {
			ms = m.bump()
		}
		msg.flags, msg.modseq = nf, ms
	}
	if ms != 0 {
		m.notify()
	}
	return modified
}

func sameSet(a, b []imap.Flag) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !slices.Contains(b, f) {
			return false
		}
	}
	return true
}

// HighestModSeq implements [imap.MailboxModSeqs].
func (h *handle) HighestModSeq(ctx context.Context) (uint64, error) {
	defer h.s.lock()()
	return h.m.highest, nil
}

// ExpungedSince implements [imap.MailboxModSeqs]: the mailbox remembers
// the last MaxExpunged/2 to MaxExpunged expunged UIDs.
func (h *handle) ExpungedSince(ctx context.Context, modseq uint64) ([]imap.UID, bool, error) {
	defer h.s.lock()()
	var out []imap.UID
	for _, t := range h.m.expunges {
		if t.modseq > modseq {
			out = append(out, t.uid)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), modseq >= h.m.floor, nil
}

// StoreUnchanged implements [imap.MailboxStoreUnchanged].
func (h *handle) StoreUnchanged(ctx context.Context, uids []imap.UID, unchangedSince uint64, op imap.StoreOp, flags []imap.Flag) ([]imap.UID, error) {
	defer h.s.lock()()
	return h.m.store(uids, unchangedSince, op, flags), nil
}
