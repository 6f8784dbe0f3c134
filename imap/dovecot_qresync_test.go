package imap_test

import "testing"

// qresyncDifferences lists the steps of TestDovecotOracleQresync where
// Herald answers otherwise than Dovecot, with the reason.
var qresyncDifferences = map[string]string{
	"6 B STORE 3 (UNCHANGEDSINCE {M:start}) +FLAGS (\\Seen)": "A's change of message 2 reaches B unsolicited: Dovecot sends it before the FETCH of the STORE, Herald after it, when it brings the view up to date at the end of the command (both orders are allowed), and with the UID (" + dvUnsolicitedUID + ")",
	"8 A STORE 4 +FLAGS.SILENT (\\Deleted)":                  "as in step 6, the other way round: B's change of message 3 reaches A unsolicited, before the FETCH of A's STORE for Dovecot, after it for Herald",
	"14 B DONE":                                              "during IDLE Herald sends each change as it happens: A's STORE of \\Deleted (with UID and MODSEQ) and then the EXPUNGE; Dovecot noticed both at once and sent only the EXPUNGE (each is a valid sequence)",
	"20 B STATUS INBOX (MESSAGES HIGHESTMODSEQ)":             "STATUS of the selected mailbox: Dovecot sends the name as an atom and adds [CLIENTBUG] to the OK (RFC 9051 section 6.3.11 advises against it), Herald quotes the name and answers a plain OK; the counters agree",
}

// TestDovecotOracleQresync runs the two-session comparison of
// TestDovecotOracleSessions with CONDSTORE and QRESYNC (RFC 7162): A
// enables QRESYNC, B only CONDSTORE; A stores and expunges while B is
// selected and in IDLE, B stores conditionally and searches by MODSEQ,
// then A resynchronizes with UID FETCH (CHANGEDSINCE VANISHED) and SELECT
// and EXAMINE (QRESYNC ...), with known UIDs and sequence match data.
// Mod-sequences differ between the servers by nature (Herald's are
// microseconds, Dovecot's count from 1): each side's are named in the
// order they first appear, so the comparison checks which responses
// carry the same mod-sequence and which a new one.
func TestDovecotOracleQresync(t *testing.T) {
	msgs := []string{msgPlain, msgMultipart, msgForward, msgPlain, msgPlain, msgMultipart}
	sides := startSessionSides(t, msgs)
	script := []sessionStep{
		{who: 'A', cmd: "ENABLE QRESYNC"},
		{who: 'B', cmd: "ENABLE CONDSTORE"},
		{who: 'A', cmd: "SELECT INBOX", sets: true, save: "start"},
		{who: 'B', cmd: "SELECT INBOX", sets: true},
		{who: 'A', cmd: "FETCH 1:* (UID FLAGS MODSEQ)"},
		{who: 'A', cmd: `UID STORE 2 +FLAGS.SILENT (\Flagged)`},
		// B was told of no change yet: its conditional STORE fails on
		// message 2 and succeeds on 3.
		{who: 'B', cmd: `STORE 3 (UNCHANGEDSINCE {M:start}) +FLAGS (\Seen)`},
		{who: 'B', cmd: `STORE 2:3 (UNCHANGEDSINCE {M:start}) +FLAGS.SILENT (\Answered)`},
		{who: 'A', cmd: `STORE 4 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "NOOP"},
		// Updates during IDLE: EXPUNGE for B (CONDSTORE), with MODSEQ.
		{who: 'B', cmd: "IDLE"},
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "DONE"},
		{who: 'B', cmd: "SEARCH MODSEQ {M:start}"},
		{who: 'B', cmd: "UID SEARCH RETURN (ALL COUNT) MODSEQ {M:start}"},
		{who: 'B', cmd: `SEARCH MODSEQ "/flags/\\answered" all {M:start}`},
		{who: 'B', cmd: "FETCH 1:* (UID FLAGS) (CHANGEDSINCE {M:start})"},
		{who: 'B', cmd: "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {M:start} VANISHED)"},
		{who: 'B', cmd: "STATUS INBOX (MESSAGES HIGHESTMODSEQ)"},
		// A (QRESYNC): VANISHED, and resynchronization.
		{who: 'B', cmd: `STORE 1 +FLAGS.SILENT (\Deleted)`},
		{who: 'B', cmd: "EXPUNGE"},
		{who: 'A', cmd: "NOOP"},
		{who: 'A', cmd: "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {M:start} VANISHED)"},
		{who: 'A', cmd: "UID FETCH 1:3 (FLAGS) (CHANGEDSINCE {M:start} VANISHED)"},
		{who: 'A', cmd: "UNSELECT"},
		{who: 'A', cmd: "SELECT INBOX (QRESYNC ({V} {M:start}))", sets: true},
		{who: 'A', cmd: "SELECT INBOX (QRESYNC ({V} {M:start} 1:3))", sets: true},
		{who: 'A', cmd: "EXAMINE INBOX (QRESYNC ({V} {M:start} 1:10 (1:2 1:2)))", sets: true},
		{who: 'A', cmd: "SELECT INBOX (QRESYNC (1 {M:start}))", sets: true},
		{who: 'A', cmd: "CLOSE"},
		{who: 'B', cmd: "SELECT INBOX (QRESYNC ({V} {M:start}))"},
	}
	runSessionScript(t, sides, script, qresyncDifferences)
}
