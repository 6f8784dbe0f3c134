package imap

import "testing"

// TestMissingUIDs checks the UIDs VANISHED (EARLIER) names when the
// mailbox forgot its expunges: the holes of the view within the set, as
// ranges, however large the set (one pass over the view).
func TestMissingUIDs(t *testing.T) {
	sel := &selected{msgs: []MessageInfo{{UID: 5}, {UID: 10}, {UID: 11}, {UID: 20}}, gone: []bool{false, false, true, false}}
	for _, c := range []struct {
		set  SeqSet
		last uint32
		want string
	}{
		{SeqSet{{1, 0}}, 4294967294, "1:4,6:9,11:19,21:4294967294"},
		{SeqSet{{1, 4294967295}}, 25, "1:4,6:9,11:19,21:25"},
		{SeqSet{{5, 5}, {10, 10}}, 25, ""},
		{SeqSet{{3, 7}, {6, 12}}, 25, "3:4,6:9,11:12"},
		{SeqSet{{0, 18}}, 22, "18:19,21:22"}, // *:18 is 18:22
		{SeqSet{{30, 40}}, 22, ""},
		{SeqSet{{20, 20}}, 22, ""},
	} {
		if got := missingUIDs(sel, c.set, c.last); got != c.want {
			t.Errorf("%v up to %d: %q, want %q", c.set, c.last, got, c.want)
		}
	}
}
