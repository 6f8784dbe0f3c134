package imap_test

import (
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// sortFixture adds to the fixture's three messages (Hello there, Grüße,
// Fwd: Hello there) a reply, a message without Date and one with a
// "[list]" blob, and logs in with INBOX selected.
func sortFixture(t *testing.T) *client {
	t.Helper()
	be, u := newFixture(t)
	for i, m := range []string{
		"From: Carol <carol@example.com>\r\nTo: alice@example.org\r\nSubject: Re: Hello there\r\n" +
			"Date: Fri, 15 Mar 2024 09:00:00 +0000\r\nMessage-ID: <r1@example.com>\r\n" +
			"In-Reply-To: <hello@example.org>\r\n\r\nreply\r\n",
		"From: dave@example.com\r\nSubject: no date\r\n\r\nnothing\r\n",
		"From: \"Zoe\" <aaa@example.com>\r\nCc: bob@example.net\r\nSubject: [list] Agenda (fwd)\r\n" +
			"Date: Wed, 13 Mar 2024 10:00:00 +0000\r\n\r\nagenda with a longer body than the others\r\n",
	} {
		if _, err := u.Deliver("INBOX", []byte(m), nil, testDate.Add(time.Duration(10-i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	cl := newClient(t, testServer(be))
	cl.do("a", "LOGIN alice secret")
	cl.do("b", "SELECT INBOX")
	return cl
}

// TestSortWire checks SORT, UID SORT and ESORT responses (RFC 5256, RFC
// 5957, RFC 5267) and their error cases on the wire.
func TestSortWire(t *testing.T) {
	cl := sortFixture(t)
	caps := cl.do("c", "CAPABILITY")[0]
	for _, c := range []string{" SORT ", " SORT=DISPLAY ", " THREAD=ORDEREDSUBJECT ", " THREAD=REFERENCES ", " ESORT "} {
		if !strings.Contains(caps+" ", c) {
			t.Errorf("CAPABILITY lacks%s: %s", c, caps)
		}
	}
	for _, tc := range []struct{ cmd, want, status string }{
		// Messages: 1 Hello there (14 Mar 15:09 +0100), 2 Grüße (15 Mar
		// 08:00), 3 Fwd: Hello there (16 Mar), 4 Re: Hello there (15 Mar
		// 09:00), 5 no date (INTERNALDATE 14 Mar 23:09 +0100), 6 [list]
		// Agenda (fwd) (13 Mar).
		{"SORT (DATE) UTF-8 ALL", "* SORT 6 1 5 2 4 3", "OK"},
		{"SORT (REVERSE DATE) UTF-8 ALL", "* SORT 3 4 2 5 1 6", "OK"},
		{"SORT (ARRIVAL) UTF-8 ALL", "* SORT 1 2 3 6 5 4", "OK"},
		// Base subjects: AGENDA, GRÜSSE, HELLO THERE x3, NO DATE; equal
		// ones in sequence order.
		{"SORT (SUBJECT) US-ASCII ALL", "* SORT 6 2 1 3 4 5", "OK"},
		{"SORT (SUBJECT REVERSE DATE) UTF-8 ALL", "* SORT 6 2 3 4 1 5", "OK"},
		{"SORT (REVERSE SUBJECT) UTF-8 ALL", "* SORT 5 1 3 4 2 6", "OK"},
		{"SORT (FROM) UTF-8 ALL", "* SORT 6 1 3 4 5 2", "OK"},
		{"SORT (DISPLAYFROM) UTF-8 ALL", "* SORT 1 3 4 5 2 6", "OK"},
		{"SORT (CC SIZE) UTF-8 ALL", "", "OK"},
		{"SORT (SIZE) UTF-8 SUBJECT hello", "", "OK"},
		{"UID SORT (DATE) UTF-8 UID 2:*", "* SORT 6 5 2 4 3", "OK"},
		{"SORT (DATE) UTF-8 SUBJECT nothing", "* SORT", "OK"},
		{"SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL", `* ESEARCH (TAG "t") MIN 6 MAX 3 COUNT 6`, "OK"},
		{"SORT RETURN (ALL) (DATE) UTF-8 ALL", `* ESEARCH (TAG "t") ALL 6,1,5,2,4,3`, "OK"},
		{"SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL", `* ESEARCH (TAG "t") ALL 1:3,6,5,4`, "OK"},
		{"UID SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing", `* ESEARCH (TAG "t") UID COUNT 0`, "OK"},
		{"SORT RETURN () (DATE) UTF-8 1:2", `* ESEARCH (TAG "t") ALL 1:2`, "OK"},
		// Errors.
		{"SORT (DATE) KOI8-R ALL", "", "NO [BADCHARSET (UTF-8 US-ASCII)]"},
		{"SORT (DATE) UTF-8", "", "BAD"},
		{"SORT (DATE) ALL", "", "BAD"},
		{"SORT () UTF-8 ALL", "", "BAD"},
		{"SORT (REVERSE) UTF-8 ALL", "", "BAD"},
		{"SORT (REVERSE REVERSE DATE) UTF-8 ALL", "", "BAD"},
		{"SORT (COLOR) UTF-8 ALL", "", "BAD"},
		{"SORT DATE UTF-8 ALL", "", "BAD"},
		{"SORT RETURN (SOME) (DATE) UTF-8 ALL", "", "BAD"},
		{"SORT (DATE) UTF-8 BOGUS", "", "BAD"},
	} {
		got := cl.do("t", tc.cmd)
		st := last(got)
		if !strings.HasPrefix(st, "t "+tc.status) {
			t.Errorf("%s: %q, want %s", tc.cmd, got, tc.status)
			continue
		}
		if tc.want != "" && (len(got) != 2 || got[0] != tc.want) {
			t.Errorf("%s: %q, want %s", tc.cmd, got, tc.want)
		}
		if tc.status != "OK" && len(got) != 1 {
			t.Errorf("%s: untagged responses with an error: %q", tc.cmd, got)
		}
	}
	// Sizes: the agenda's body is the longest.
	got := cl.do("t", "SORT (REVERSE SIZE) UTF-8 6,1")
	if got[0] != "* SORT 1 6" && got[0] != "* SORT 6 1" {
		t.Errorf("SORT SIZE: %q", got)
	}
}

// TestSortNotSelected checks that SORT and THREAD need a selected mailbox.
func TestSortNotSelected(t *testing.T) {
	be, _ := newFixture(t)
	cl := newClient(t, testServer(be))
	if got := cl.do("a", "SORT (DATE) UTF-8 ALL"); !strings.HasPrefix(last(got), "a BAD") {
		t.Errorf("before login: %q", got)
	}
	cl.do("b", "LOGIN alice secret")
	if got := cl.do("c", "THREAD REFERENCES UTF-8 ALL"); !strings.HasPrefix(last(got), "c BAD") {
		t.Errorf("not selected: %q", got)
	}
}

// TestThreadWire checks THREAD responses for both algorithms.
func TestThreadWire(t *testing.T) {
	cl := sortFixture(t)
	for _, tc := range []struct{ cmd, want, status string }{
		// ORDEREDSUBJECT: the three "Hello there" in one thread under
		// the oldest (1), threads by the date of their first message.
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (6)(1 (4)(3))(5)(2)", "OK"},
		{"UID THREAD ORDEREDSUBJECT UTF-8 2:*", "* THREAD (6)(5)(2)(4 3)", "OK"},
		// REFERENCES: 2 replies to 1 by In-Reply-To; 4 replies to a
		// message not in the mailbox (a dummy, pruned) and, like 3
		// (Fwd:), joins the thread of its base subject as a child of
		// 1, the non-reply; children by sent date.
		{"THREAD REFERENCES UTF-8 ALL", "* THREAD (6)(1 (2)(4)(3))(5)", "OK"},
		// Without 1, 2's parent is a dummy with one child, promoted to
		// the root; 4 and 3 are both replies: a dummy holds them.
		{"THREAD REFERENCES US-ASCII NOT 1", "* THREAD (6)(5)(2)((4)(3))", "OK"},
		{"THREAD REFERENCES UTF-8 SUBJECT nothing", "* THREAD", "OK"},
		{"THREAD REFS UTF-8 ALL", "", "BAD"},
		{"THREAD REFERENCES UTF-16 ALL", "", "NO [BADCHARSET (UTF-8 US-ASCII)]"},
		{"THREAD REFERENCES ALL", "", "BAD"},
		{"THREAD", "", "BAD"},
	} {
		got := cl.do("t", tc.cmd)
		if !strings.HasPrefix(last(got), "t "+tc.status) {
			t.Errorf("%s: %q, want %s", tc.cmd, got, tc.status)
			continue
		}
		if tc.want != "" && (len(got) != 2 || got[0] != tc.want) {
			t.Errorf("%s: %q, want %s", tc.cmd, got, tc.want)
		}
	}
}

// TestSortCacheAfterExpunge checks that SORT after an EXPUNGE and a new
// message answers from the current view.
func TestSortCacheAfterExpunge(t *testing.T) {
	cl := sortFixture(t)
	cl.do("a", "SORT (SUBJECT) UTF-8 ALL")
	cl.do("b", `STORE 6 +FLAGS.SILENT (\Deleted)`)
	cl.do("c", "EXPUNGE")
	got := cl.do("d", "SORT (SUBJECT) UTF-8 ALL")
	if want := []string{"* SORT 2 1 3 4 5", "d OK SORT completed"}; !slices.Equal(got, want) {
		t.Errorf("after EXPUNGE: %q", got)
	}
}

// TestQuotaWithoutBackend checks QUOTA over a User without UserQuota: no
// quota root, GETQUOTA NO [NONEXISTENT], SETQUOTA NO [NOPERM].
func TestQuotaWithoutBackend(t *testing.T) {
	be, _ := newFixture(t)
	cl := newClient(t, testServer(be))
	cl.do("a", "LOGIN alice secret")
	if got := cl.do("b", "GETQUOTAROOT INBOX"); len(got) != 2 || got[0] != `* QUOTAROOT "INBOX"` {
		t.Errorf("GETQUOTAROOT: %q", got)
	}
	for cmd, want := range map[string]string{
		`GETQUOTA ""`:              "c NO [NONEXISTENT]",
		`SETQUOTA "" (STORAGE 10)`: "c NO [NOPERM]",
		"GETQUOTAROOT Nowhere":     "c NO [NONEXISTENT]",
		`SETQUOTA "" (STORAGE -1)`: "c BAD",
	} {
		if got := cl.do("c", cmd); !strings.HasPrefix(last(got), want) {
			t.Errorf("%s: %q, want %s", cmd, got, want)
		}
	}
}

// TestPythonSort runs SORT, THREAD and GETQUOTAROOT with Python's imaplib
// (testdata/interop/imaplib_sort.py).
func TestPythonSort(t *testing.T) {
	python := peertest.LookPath(t, "python3")
	be, _ := newFixture(t)
	s := testServer(be)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	out, err := exec.Command(python, "testdata/interop/imaplib_sort.py", port).CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), "DONE\n") {
		t.Fatalf("%v\n%s", err, out)
	}
}
