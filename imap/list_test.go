package imap_test

import (
	"slices"
	"testing"
)

// TestListExtended checks LIST-EXTENDED (RFC 5258) and LSUB (RFC 3501
// section 6.3.9): RECURSIVEMATCH alone is BAD and otherwise lists the
// parents of matching children that the pattern hides, with CHILDINFO;
// subscribed names that do not exist are listed as \NonExistent; LSUB "%"
// lists the parent of a subscribed child as \Noselect; an invalid
// mailbox name is NO, not BAD.
func TestListExtended(t *testing.T) {
	be, _ := newFixture(t)
	cl := newClient(t, testServer(be))
	cl.do("a", "LOGIN alice secret")
	cl.do("b", "SUBSCRIBE Work/Projects")
	cl.do("c", "SUBSCRIBE Gone")
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{`LIST (RECURSIVEMATCH) "" "*"`, []string{"t BAD RECURSIVEMATCH needs another selection option"}},
		{`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`, []string{
			`* LIST (\Subscribed \HasNoChildren) "/" "INBOX"`,
			`* LIST (\NonExistent \Subscribed) "/" "Gone"`,
			`* LIST (\NonExistent \HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))`,
			"t OK LIST completed"}},
		{`LIST (SUBSCRIBED) "" "*"`, []string{
			`* LIST (\Subscribed \HasNoChildren) "/" "INBOX"`,
			`* LIST (\NonExistent \Subscribed) "/" "Gone"`,
			`* LIST (\Subscribed \HasNoChildren) "/" "Work/Projects"`,
			"t OK LIST completed"}},
		{`LSUB "" "%"`, []string{
			`* LSUB (\Subscribed \HasNoChildren) "/" "INBOX"`,
			`* LSUB (\Noselect \Subscribed) "/" "Gone"`,
			`* LSUB (\Noselect \HasChildren) "/" "Work"`,
			"t OK LSUB completed"}},
		{`LIST "" "G*"`, []string{"t OK LIST completed"}},
		{`SELECT "&Jjo"`, []string{"t NO Mailbox name is not valid modified UTF-7"}},
		{`LIST "" "&Jjo"`, []string{"t OK LIST completed"}},
	} {
		if got := cl.do("t", tc.cmd); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got  %q\n want %q", tc.cmd, got, tc.want)
		}
	}
}
