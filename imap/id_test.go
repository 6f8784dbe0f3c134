package imap_test

import (
	"slices"
	"strings"
	"testing"
)

// TestID checks the ID command (RFC 2971): in any state, the client's
// parameters read and the server's own sent back, NIL when the server
// says nothing; the limits of section 3.3 are BAD; a field without value is dropped,
// as Dovecot does.
func TestID(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	cl := newClient(t, s)
	if got := cl.do("c", "CAPABILITY"); !strings.Contains(got[0], " ID ") {
		t.Fatalf("CAPABILITY: %q", got)
	}
	for _, tc := range []struct{ cmd, want string }{
		{`ID ("name" "imaplib" "version" NIL)`, `* ID ("name" "Herald")`},
		{`ID NIL`, `* ID ("name" "Herald")`},
		{`ID ()`, `* ID ("name" "Herald")`},
		{`ID ("name")`, `* ID ("name" "Herald")`},
		{`ID ("name" "x" "version")`, `* ID ("name" "Herald")`},
		{`ID ("` + strings.Repeat("f", 31) + `" "x")`, `t BAD`},
		{`ID (` + strings.Repeat(`"f" "x" `, 31) + `"f" "x")`, `t BAD`},
		{`ID name`, `t BAD`},
	} {
		got := cl.do("t", tc.cmd)
		if !strings.HasPrefix(got[0], tc.want) {
			t.Errorf("%s: %q, want %s", tc.cmd, got, tc.want)
		}
		if !strings.HasPrefix(tc.want, "t ") && last(got) != "t OK ID completed" {
			t.Errorf("%s: %q", tc.cmd, got)
		}
	}
	s2 := testServer(be)
	s2.ID = map[string]string{"vendor": "Example", "name": "Mail"}
	cl2 := newClient(t, s2)
	cl2.do("a", "LOGIN alice secret")
	want := []string{`* ID ("name" "Mail" "vendor" "Example")`, "b OK ID completed"}
	if got := cl2.do("b", "ID NIL"); !slices.Equal(got, want) {
		t.Errorf("ID: %q", got)
	}
	s3 := testServer(be)
	s3.ID = map[string]string{}
	if got := newClient(t, s3).do("c", "ID NIL"); got[0] != "* ID NIL" {
		t.Errorf("ID with nothing to say: %q", got)
	}
}
