package imap_test

import (
	"strings"
	"testing"
)

// TestSearchRes checks SEARCHRES (RFC 5182) on the wire: SAVE alone sends
// no ESEARCH, "$" in FETCH, STORE, COPY, SEARCH and UID commands, MIN/MAX
// saving only those, "$" after an EXPUNGE, a failed SEARCH clearing it,
// and "$" as a syntax error where it is not a whole set.
func TestSearchRes(t *testing.T) {
	cl := sortFixture(t) // 6 messages, UIDs 1-6
	if !strings.Contains(cl.do("c", "CAPABILITY")[0], " SEARCHRES") {
		t.Fatal("SEARCHRES not announced")
	}
	wireSteps(t, cl, []wireStep{
		// Nothing saved yet: "$" is empty.
		{"FETCH $ (UID)", []string{"t OK"}},
		{"SEARCH RETURN (SAVE) SUBJECT hello", []string{"t OK"}},
		{"FETCH $ (UID)", []string{"* 1 FETCH (UID 1)", "* 3 FETCH (UID 3)", "* 4 FETCH (UID 4)", "t OK"}},
		{"UID FETCH $ (FLAGS)", []string{`* 1 FETCH (UID 1 FLAGS (\Seen))`, "* 3 FETCH (UID 3 FLAGS ())", `* 4 FETCH (UID 4 FLAGS (\Recent))`, "t OK"}},
		{"SEARCH RETURN (COUNT) $", []string{`* ESEARCH (TAG "t") COUNT 3`, "t OK"}},
		{"SEARCH RETURN (ALL) NOT $", []string{`* ESEARCH (TAG "t") ALL 2,5:6`, "t OK"}},
		{"UID SEARCH RETURN (ALL) UID $ 2:*", []string{`* ESEARCH (TAG "t") UID ALL 3:4`, "t OK"}},
		// SAVE with other options sends them.
		{"SEARCH RETURN (SAVE MIN) SUBJECT hello", []string{`* ESEARCH (TAG "t") MIN 1`, "t OK"}},
		{"UID SEARCH $", []string{"* SEARCH 1", "t OK"}},
		{"SEARCH RETURN (MAX SAVE MIN) SUBJECT hello", []string{`* ESEARCH (TAG "t") MIN 1 MAX 4`, "t OK"}},
		{"SEARCH $", []string{"* SEARCH 1 4", "t OK"}},
		{"SEARCH RETURN (SAVE COUNT MIN) SUBJECT hello", []string{`* ESEARCH (TAG "t") MIN 1 COUNT 3`, "t OK"}},
		{"SEARCH $", []string{"* SEARCH 1 3 4", "t OK"}},
		// STORE and COPY on "$".
		{`STORE $ +FLAGS (\Flagged)`, []string{`* 1 FETCH (FLAGS (\Seen \Flagged))`, `* 3 FETCH (FLAGS (\Flagged))`, `* 4 FETCH (FLAGS (\Flagged \Recent))`, "t OK"}},
		{"COPY $ Archive", []string{"t OK [COPYUID"}},
		// SORT RETURN (SAVE).
		{"SORT RETURN (SAVE) (DATE) UTF-8 NOT SUBJECT hello", []string{"t OK"}},
		{"SEARCH $", []string{"* SEARCH 2 5 6", "t OK"}},
		// After an EXPUNGE, "$" holds the messages that remain, by
		// their new numbers.
		{`STORE 2 +FLAGS.SILENT (\Deleted)`, []string{"t OK"}},
		{"EXPUNGE", []string{"* 2 EXPUNGE", "t OK"}},
		{"SEARCH $", []string{"* SEARCH 4 5", "t OK"}},
		{"UID SEARCH UID $", []string{"* SEARCH 5 6", "t OK"}},
		// A SEARCH with SAVE that fails clears "$"; one without SAVE
		// does not.
		{"SEARCH RETURN (SAVE) SUBJECT hello", []string{"t OK"}},
		{"SEARCH CHARSET KOI8-R SUBJECT x", []string{"t NO [BADCHARSET"}},
		{"SEARCH $", []string{"* SEARCH 1 2 3", "t OK"}},
		{"SEARCH RETURN (SAVE) CHARSET KOI8-R SUBJECT x", []string{"t NO [BADCHARSET"}},
		{"SEARCH $", []string{"* SEARCH", "t OK"}},
		{"SEARCH RETURN (SAVE) SUBJECT hello", []string{"t OK"}},
		{"SEARCH RETURN (SAVE) BOGUS", []string{"t BAD"}},
		{"SEARCH $", []string{"* SEARCH", "t OK"}},
		// "$" is a whole set, not part of one.
		{"FETCH $,1 (UID)", []string{"t BAD"}},
		{"FETCH 1:$ (UID)", []string{"t BAD"}},
		{"SEARCH RETURN (SAVE) ALL", []string{"t OK"}},
		// After SELECT, nothing is saved.
		{"SELECT INBOX", nil},
		{"SEARCH $", []string{"* SEARCH", "t OK"}},
	})
}
