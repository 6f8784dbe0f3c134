package imap_test

import (
	"fmt"
	"testing"
)

// contextDifferences lists the steps of TestDovecotOracleContext where
// Herald answers otherwise than Dovecot, with the reason.
var contextDifferences = map[string]string{
	"13 B NOOP":                                        dvUnsolicitedUID + "; the ESEARCH updates agree",
	"17 A EXPUNGE":                                     dvExpungeOrder,
	"18 B NOOP":                                        "the REMOVEFROM responses agree and come before the EXPUNGE responses on both sides; " + dvExpungeOrder,
	"21 B DONE":                                        dvUnsolicitedUID + "; the ADDTO during IDLE agrees",
	"24 A STORE 2 +FLAGS.SILENT (\\Flagged)":           dvUnsolicitedUID,
	"28 B SEARCH RETURN (UPDATE UPDATE) 2":             dvClientBug,
	"29 B SEARCH RETURN (PARTIAL 1:2 ALL) ALL":         dvClientBug,
	"30 B SEARCH RETURN (PARTIAL 0:2) ALL":             dvClientBug,
	"31 B SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL": dvClientBug,
	"41 B NOOP":                                        dvUnsolicitedUID + "; neither sends an update for the context of SEARCH 2, whose message is now number 1",
	"42 B SEARCH RETURN (PARTIAL -1:-2) ALL":           "negative PARTIAL ranges are RFC 9394's, which Dovecot 2.3 does not implement (it announces no PARTIAL capability): BAD there, the last two messages from Herald",
	"43 B UID FETCH 1:* (UID) (PARTIAL 1:2)":           "the FETCH modifier PARTIAL is RFC 9394's too: BAD from Dovecot 2.3, the first two messages from Herald",
	"47 B NOOP":                                        dvUnsolicitedUID + "; Dovecot does not announce CONTEXT=SORT and sends the update of a SORT context with position 0, as for SEARCH, Herald the position in the sort order that RFC 5267 section 4.3 gives SORT contexts (message 1 was second: GRUSSE sorts before HELLO THERE)",
	"58 B NOOP":                                        dvUnsolicitedUID,
	"62 B NOOP":                                        dvUnsolicitedUID,
}

// dvExpungeOrder: the order of the EXPUNGE responses of one sync.
const dvExpungeOrder = "Herald sends the EXPUNGE responses of several messages in ascending order, each number counted after the ones before (1 then 2 for messages 1 and 3), Dovecot from the highest down (3 then 1); both are the same expunges (RFC 9051 section 7.5.1)"

// dvClientBug: the response code of a command that does not parse.
const dvClientBug = "both answer BAD; Herald adds [CLIENTBUG] (RFC 9051 section 7.1) to every command that does not parse, Dovecot sends none"

// TestDovecotOracleContext compares SEARCH RETURN (UPDATE), (PARTIAL) and
// (CONTEXT) and CANCELUPDATE (RFC 5267, CONTEXT=SEARCH) with a private
// Dovecot: B keeps update contexts while A stores, appends and expunges,
// and B sees the ESEARCH ADDTO and REMOVEFROM responses after its NOOP,
// during IDLE and after its own STORE.
func TestDovecotOracleContext(t *testing.T) {
	msgs := []string{msgPlain, msgMultipart, msgForward, msgPlain, msgPlain, msgMultipart}
	sides := startSessionSides(t, msgs)
	appendCmd := fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msgPlain), msgPlain)
	script := []sessionStep{
		{who: 'A', cmd: "SELECT INBOX", sets: true},
		{who: 'B', cmd: "SELECT INBOX", sets: true},
		{who: 'B', cmd: "UID SEARCH RETURN (UPDATE) UNSEEN"},
		{who: 'B', cmd: "SEARCH RETURN (COUNT UPDATE) FLAGGED"},
		{who: 'B', cmd: "SEARCH RETURN (MIN MAX UPDATE) NOT DELETED"},
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL 2:4) ALL"},
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL 4:2 COUNT) ALL"},
		{who: 'B', cmd: "UID SEARCH RETURN (PARTIAL 5:100) ALL"},
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL 10:20) ALL"},
		{who: 'B', cmd: "SEARCH RETURN (CONTEXT MIN) ALL"},
		{who: 'B', cmd: "SEARCH RETURN (CONTEXT) ALL"},
		{who: 'A', cmd: `STORE 2 +FLAGS.SILENT (\Seen)`},
		{who: 'A', cmd: `STORE 3:4 +FLAGS.SILENT (\Flagged)`},
		{who: 'B', cmd: "NOOP"},
		{who: 'A', cmd: appendCmd},
		{who: 'B', cmd: "NOOP"},
		{who: 'A', cmd: `STORE 1,3 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "NOOP"},
		{who: 'B', cmd: "IDLE"},
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Flagged)`},
		{who: 'B', cmd: "DONE"},
		{who: 'B', cmd: `STORE 1 -FLAGS (\Flagged)`},
		{who: 'B', cmd: `CANCELUPDATE "b4"`},
		{who: 'A', cmd: `STORE 2 +FLAGS.SILENT (\Flagged)`},
		{who: 'B', cmd: "NOOP"},
		{who: 'B', cmd: `CANCELUPDATE "nosuch"`},
		{who: 'B', cmd: "SEARCH RETURN (UPDATE) 2"},
		{who: 'B', cmd: "SEARCH RETURN (UPDATE UPDATE) 2"},
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL 1:2 ALL) ALL"},
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL 0:2) ALL"},
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL"},
		{who: 'B', cmd: "SEARCH RETURN (UPDATE SAVE) ALL"},
		{who: 'B', cmd: "SORT RETURN (PARTIAL 2:3) (SUBJECT) UTF-8 ALL"},
		{who: 'B', cmd: "UID SORT RETURN (PARTIAL 1:2 MIN COUNT) (REVERSE SIZE) UTF-8 ALL"},
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL 1:1 SAVE) ALL"},
		{who: 'B', cmd: "FETCH $ (UID)"},
		// The context of "SEARCH RETURN (UPDATE) 2" follows the message:
		// after message 1 is expunged, it is message 1.
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "NOOP"},
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Answered)`},
		{who: 'B', cmd: "NOOP"},
		// What Dovecot 2.3 lacks: RFC 9394's negative ranges and FETCH
		// modifier, and CONTEXT=SORT.
		{who: 'B', cmd: "SEARCH RETURN (PARTIAL -1:-2) ALL"},
		{who: 'B', cmd: "UID FETCH 1:* (UID) (PARTIAL 1:2)"},
		{who: 'B', cmd: `CANCELUPDATE "b3" "b5"`},
		{who: 'B', cmd: "SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNDELETED"},
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Deleted)`},
		{who: 'B', cmd: "NOOP"},
	}
	for i := 0; i < 9; i++ {
		script = append(script, sessionStep{who: 'B', cmd: "SEARCH RETURN (COUNT UPDATE) ALL"})
	}
	script = append(script,
		sessionStep{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Draft)`},
		sessionStep{who: 'B', cmd: "NOOP"},
		sessionStep{who: 'B', cmd: "UNSELECT"},
		sessionStep{who: 'B', cmd: "SELECT INBOX", sets: true},
		sessionStep{who: 'A', cmd: `STORE 1 -FLAGS.SILENT (\Draft)`},
		sessionStep{who: 'B', cmd: "NOOP"},
	)
	runSessionScript(t, sides, script, contextDifferences)
}
