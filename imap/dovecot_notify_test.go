package imap_test

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// notifyDifferences lists the steps of TestDovecotOracleNotify where
// Herald answers otherwise than Dovecot, with the reason.
var notifyDifferences = map[string]string{
	"3 B NOTIFY SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))": "the mailboxes differ: Herald's Maildir backend creates the special-use folders (Archive, Drafts, Junk, Sent, Trash) at login, Dovecot's tree holds INBOX, Lists and Work only; for the two both have, " + dvNotifyStatus + "; Dovecot also sends OK [HIGHESTMODSEQ] of the selected mailbox, " + dvNotifyCondstore,
	"5 B WAIT":          "Herald sends the STATUS of Lists, where the message went; Dovecot also sends one for Work, which did not change (RFC 5465 section 5.2 asks for the mailbox of the new message); and " + dvNotifyStatus,
	"6 A SELECT Lists":  "Dovecot adds OK [HIGHESTMODSEQ] to A's SELECT once B's NOTIFY made its index keep mod-sequences (" + dvNotifyCondstore + "); A did not enable CONDSTORE, and Herald sends HIGHESTMODSEQ only to a session that did (RFC 7162 section 3.1.2.1 makes it optional before)",
	"9 B WAIT":          "after an expunge Dovecot omits UIDVALIDITY and adds UNSEEN and HIGHESTMODSEQ; Herald sends the same items as for new messages (RFC 5465 section 5.3 asks for UIDNEXT and MESSAGES; " + dvNotifyCondstore + ")",
	"12 A SELECT INBOX": "as for step 6: Dovecot's OK [HIGHESTMODSEQ] to a session that did not enable CONDSTORE",
	"14 B WAIT":         dvUnsolicitedUID + "; and Dovecot adds MODSEQ, " + dvNotifyCondstore,
	"17 B WAIT":         "Herald tells A's STORE of \\Deleted (FlagChange) as it happens, with the UID, and then the EXPUNGE; Dovecot saw both at once and sent only the EXPUNGE (each is a valid sequence, as in TestDovecotOracleSessions step 18)",
	"31 B WAIT":         dvNotifyStatus,
	"34 B DONE":         "during IDLE Herald sends the STATUS as the change happens (RFC 5465 section 4: notifications during IDLE are sent as for any time); Dovecot sent nothing in the 1.5 s of IDLE after A's APPEND",
	"38 B NOTIFY SET (PERSONAL (MessageNew))":               dvNotifyPairs,
	"39 B NOTIFY SET (PERSONAL (MessageExpunge))":           dvNotifyPairs,
	"40 B NOTIFY SET (PERSONAL (FlagChange))":               "RFC 5465 section 5: FlagChange needs MessageNew and MessageExpunge, or the server answers BAD; Dovecot accepts it",
	"42 B NOTIFY SET (PERSONAL (AnnotationChange))":         dvNotifyBadEvent,
	"43 B NOTIFY SET (PERSONAL (MailboxMetadataChange))":    dvNotifyBadEvent,
	"44 B NOTIFY SET (PERSONAL (ServerMetadataChange))":     dvNotifyBadEvent,
	"45 B NOTIFY SET (NOWHERE (MessageNew MessageExpunge))": dvNotifyClientBug,
	"47 B NOTIFY SET":   "the grammar of RFC 5465 section 8 needs at least one event group after SET: Herald answers BAD [CLIENTBUG], Dovecot takes it as an empty set",
	"48 B NOTIFY MAYBE": dvNotifyClientBug,
}

const (
	dvNotifyStatus    = "Dovecot's STATUS carries UNSEEN and HIGHESTMODSEQ besides MESSAGES, UIDNEXT and UIDVALIDITY, " + dvNotifyCondstore + "; Herald sends the items RFC 5465 section 5.2 names, with UIDVALIDITY, and HIGHESTMODSEQ once the client enabled CONDSTORE"
	dvNotifyCondstore = "Dovecot enables CONDSTORE for a session that sets NOTIFY without telling it (no ENABLED), Herald only on ENABLE CONDSTORE or a command that uses it (RFC 7162 section 3.1)"
	dvNotifyPairs     = "RFC 5465 section 5: MessageNew and MessageExpunge must be given together, or the server answers BAD; Dovecot accepts one alone"
	dvNotifyBadEvent  = "RFC 5465 section 8: BADEVENT is followed by the parenthesised list of the events the server supports, which Herald sends; Dovecot names the unsupported event, without parentheses"
	dvNotifyClientBug = "Herald adds [CLIENTBUG] (RFC 5530) to the BAD of a command it cannot parse, as for every command; Dovecot a plain BAD"
)

var (
	reQuotedAtom  = regexp.MustCompile(`"([A-Za-z0-9/]+)"`)
	reValidityNum = regexp.MustCompile(`(UIDVALIDITY|APPENDUID) \d+`)
)

// canonNotify makes a NOTIFY response comparable: mailbox names quoted or
// not (both are valid astrings), and the UIDVALIDITY of each mailbox,
// which differs between the servers by construction.
func canonNotify(l string) string {
	l = reValidityNum.ReplaceAllString(l, "$1 V")
	if strings.HasPrefix(l, "* STATUS ") || strings.HasPrefix(l, "* LIST ") {
		l = reQuotedAtom.ReplaceAllString(l, "$1")
		// Dovecot's Maildir++ names use "." between levels.
		l = strings.Replace(l, ` "." `, " / ", 1)
	}
	return l
}

// TestDovecotOracleNotify runs the same NOTIFY sessions (RFC 5465) against
// a private Dovecot and against Herald over its Maildir backend: B sets
// NOTIFY with the STATUS indicator on the selected INBOX and on every
// mailbox, while A appends, stores, expunges, creates, renames, subscribes
// and deletes in several mailboxes; B reads what it was sent after a
// pause, with NOOP ("WAIT"), or during IDLE. Then the error cases.
func TestDovecotOracleNotify(t *testing.T) {
	msgs := []string{msgPlain, msgMultipart, msgForward}
	sides := startSessionSides(t, msgs)
	app := func(mb string) string { return fmt.Sprintf("APPEND %s {%d+}\r\n%s", mb, len(msgPlain), msgPlain) }
	script := []sessionStep{
		{who: 'A', cmd: "CREATE Lists"},
		{who: 'A', cmd: "CREATE Work"},
		{who: 'B', cmd: "SELECT INBOX", sets: true},
		{who: 'B', cmd: "NOTIFY SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))", sets: true},
		{who: 'A', cmd: app("Lists")},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: "SELECT Lists", sets: true},
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: app("INBOX")},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: "SELECT INBOX", sets: true},
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Flagged)`},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: `STORE 2 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: "CREATE News"},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: "RENAME News Press"},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: "SUBSCRIBE Press"},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: "UNSUBSCRIBE Press"},
		{who: 'B', cmd: "WAIT"},
		{who: 'A', cmd: "DELETE Press"},
		{who: 'B', cmd: "WAIT"},
		// Only Work is watched now.
		{who: 'B', cmd: "NOTIFY SET (SUBTREE Work (MessageNew MessageExpunge))"},
		{who: 'A', cmd: app("Lists")},
		{who: 'A', cmd: app("Work")},
		{who: 'B', cmd: "WAIT"},
		// During IDLE.
		{who: 'B', cmd: "IDLE"},
		{who: 'A', cmd: app("Work")},
		{who: 'B', cmd: "DONE"},
		{who: 'B', cmd: "NOTIFY NONE"},
		{who: 'A', cmd: app("Work")},
		{who: 'B', cmd: "WAIT"},
		// Errors of RFC 5465 sections 3.1 and 6.
		{who: 'B', cmd: "NOTIFY SET (PERSONAL (MessageNew))"},
		{who: 'B', cmd: "NOTIFY SET (PERSONAL (MessageExpunge))"},
		{who: 'B', cmd: "NOTIFY SET (PERSONAL (FlagChange))"},
		{who: 'B', cmd: "NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))"},
		{who: 'B', cmd: "NOTIFY SET (PERSONAL (AnnotationChange))"},
		{who: 'B', cmd: "NOTIFY SET (PERSONAL (MailboxMetadataChange))"},
		{who: 'B', cmd: "NOTIFY SET (PERSONAL (ServerMetadataChange))"},
		{who: 'B', cmd: "NOTIFY SET (NOWHERE (MessageNew MessageExpunge))"},
		{who: 'B', cmd: "NOTIFY SET (INBOXES NONE)"},
		{who: 'B', cmd: "NOTIFY SET"},
		{who: 'B', cmd: "NOTIFY MAYBE"},
	}
	for i, st := range script {
		var got [2][]string
		for k, sd := range sides {
			s := sd.a
			if st.who == 'B' {
				s = sd.b
			}
			var lines []string
			switch st.cmd {
			case "IDLE":
				s.n++
				io.WriteString(s.c, fmt.Sprintf("%s%d IDLE\r\n", s.tag, s.n))
				lines = []string{s.response()}
			case "DONE":
				time.Sleep(1500 * time.Millisecond)
				io.WriteString(s.c, "DONE\r\n")
				lines = s.until(fmt.Sprintf("%s%d", s.tag, s.n))
			case "WAIT":
				time.Sleep(1500 * time.Millisecond)
				lines = s.run("NOOP")
			default:
				lines = s.run(st.cmd)
			}
			for _, l := range lines {
				got[k] = append(got[k], canonNotify(canonResponse(l, sd.validity)))
			}
			if st.sets {
				slices.Sort(got[k])
			}
		}
		if st.cmd == "WAIT" && len(got[0]) == 1 && len(got[1]) > 1 {
			// Dovecot's list notifications (rename, subscription)
			// now and then take longer than the wait: one more NOOP
			// later, so that a late one is not a difference.
			time.Sleep(2 * time.Second)
			got[0] = nil
			for _, l := range sides[0].b.run("NOOP") {
				got[0] = append(got[0], canonNotify(canonResponse(l, sides[0].validity)))
			}
			if st.sets {
				slices.Sort(got[0])
			}
		}
		key := fmt.Sprintf("%d %c %s", i, st.who, st.cmd)
		why, listed := notifyDifferences[key]
		same := slices.Equal(got[0], got[1])
		switch {
		case same && listed:
			t.Errorf("%s: listed as a difference (%s) but agrees now", key, why)
		case !same && !listed:
			t.Errorf("%s:\n dovecot %q\n herald  %q", key, got[0], got[1])
		}
	}
}
