package imap

import (
	"strconv"
	"strings"
	"time"
)

// UID is a message's unique identifier in its mailbox (RFC 9051 section
// 2.3.1.1): assigned in strictly ascending order and never reused while the
// mailbox's UIDVALIDITY stays the same. 0 is not a valid UID.
type UID uint32

// Flag is a system flag such as FlagSeen or a keyword such as "$Forwarded".
// Flags are compared without regard to ASCII case; the server passes system
// flags to the Backend in the canonical spelling of the constants.
type Flag string

// System flags (RFC 9051 section 2.3.2).
const (
	FlagSeen     Flag = `\Seen`
	FlagAnswered Flag = `\Answered`
	FlagFlagged  Flag = `\Flagged`
	FlagDeleted  Flag = `\Deleted`
	FlagDraft    Flag = `\Draft`
	// FlagRecent exists only for IMAP4rev1 clients; the server never
	// stores it.
	FlagRecent Flag = `\Recent`
)

// Common keywords (RFC 9051 section 2.3.2).
const (
	FlagForwarded Flag = "$Forwarded"
	FlagMDNSent   Flag = "$MDNSent"
	FlagJunk      Flag = "$Junk"
	FlagNotJunk   Flag = "$NotJunk"
	FlagPhishing  Flag = "$Phishing"
)

var systemFlags = [...]Flag{FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft, FlagRecent}

// canonicalFlag returns the canonical spelling of a system flag, or f.
func canonicalFlag(f Flag) Flag {
	if len(f) > 0 && f[0] == '\\' {
		for _, s := range systemFlags {
			if strings.EqualFold(string(s), string(f)) {
				return s
			}
		}
	}
	return f
}

// hasFlag reports whether flags holds f, ignoring ASCII case.
func hasFlag(flags []Flag, f Flag) bool {
	for _, g := range flags {
		if strings.EqualFold(string(g), string(f)) {
			return true
		}
	}
	return false
}

// StoreOp says how STORE changes flags.
type StoreOp uint8

// Store operations (RFC 9051 section 6.4.6).
const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// applyStore returns flags changed by op with fs, without duplicates.
func applyStore(flags []Flag, op StoreOp, fs []Flag) []Flag {
	var out []Flag
	switch op {
	case StoreReplace:
		for _, f := range fs {
			if !hasFlag(out, f) {
				out = append(out, f)
			}
		}
	case StoreAdd:
		out = append(out, flags...)
		for _, f := range fs {
			if !hasFlag(out, f) {
				out = append(out, f)
			}
		}
	case StoreRemove:
		for _, f := range flags {
			if !hasFlag(fs, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// sameFlags reports whether a and b hold the same flags.
func sameFlags(a, b []Flag) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true // one list, as a Mailbox's unchanged messages share it
	}
	for _, f := range a {
		if !hasFlag(b, f) {
			return false
		}
	}
	return true
}

// SeqRange is a range of sequence numbers or UIDs; 0 stands for "*", the
// largest number in use. Start may be greater than Stop: "4:2" is "2:4".
type SeqRange struct {
	Start, Stop uint32
}

// SeqSet is a sequence set (RFC 9051 section 9, sequence-set).
type SeqSet []SeqRange

// String formats the set as it is written on the wire.
func (s SeqSet) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		writeSeqNum(&b, r.Start)
		if r.Stop != r.Start {
			b.WriteByte(':')
			writeSeqNum(&b, r.Stop)
		}
	}
	return b.String()
}

func writeSeqNum(b *strings.Builder, n uint32) {
	if n == 0 {
		b.WriteByte('*')
		return
	}
	b.WriteString(strconv.FormatUint(uint64(n), 10))
}

// Contains reports whether n is in the set, given that "*" stands for max.
func (s SeqSet) Contains(n, max uint32) bool {
	for _, r := range s {
		a, b := r.Start, r.Stop
		if a == 0 {
			a = max
		}
		if b == 0 {
			b = max
		}
		if a > b {
			a, b = b, a
		}
		if a <= n && n <= b {
			return true
		}
	}
	return false
}

// uidSetString formats a sorted list of UIDs compactly, as COPYUID and
// APPENDUID want it.
func uidSetString(uids []UID) string {
	var b strings.Builder
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(uids[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(uids[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// MailboxAttr is a mailbox name attribute (RFC 9051 section 7.3.1) or a
// special-use attribute (RFC 6154).
type MailboxAttr string

// Mailbox attributes.
const (
	AttrNoInferiors   MailboxAttr = `\Noinferiors`
	AttrNoSelect      MailboxAttr = `\Noselect`
	AttrNonExistent   MailboxAttr = `\NonExistent`
	AttrSubscribed    MailboxAttr = `\Subscribed`
	AttrRemote        MailboxAttr = `\Remote`
	AttrHasChildren   MailboxAttr = `\HasChildren`
	AttrHasNoChildren MailboxAttr = `\HasNoChildren`
	AttrMarked        MailboxAttr = `\Marked`
	AttrUnmarked      MailboxAttr = `\Unmarked`

	AttrAll     MailboxAttr = `\All`
	AttrArchive MailboxAttr = `\Archive`
	AttrDrafts  MailboxAttr = `\Drafts`
	AttrFlagged MailboxAttr = `\Flagged`
	AttrJunk    MailboxAttr = `\Junk`
	AttrSent    MailboxAttr = `\Sent`
	AttrTrash   MailboxAttr = `\Trash`
)

// isSpecialUse reports whether a is one of the RFC 6154 attributes.
func isSpecialUse(a MailboxAttr) bool {
	switch a {
	case AttrAll, AttrArchive, AttrDrafts, AttrFlagged, AttrJunk, AttrSent, AttrTrash:
		return true
	}
	return false
}

// Delimiter is the hierarchy delimiter of mailbox names the server uses.
const Delimiter = '/'

// imapDate formats an INTERNALDATE (RFC 9051 date-time).
func imapDate(t time.Time) string {
	return t.Format("02-Jan-2006 15:04:05 -0700")
}
