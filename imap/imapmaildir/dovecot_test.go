package imapmaildir_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imaptest"
	"github.com/heraldmail/herald/maildir"
)

// asMailUser runs the rest of the test with the effective user and group
// that Dovecot's mail processes have (nobody, when the test runs as root),
// so that the files either server writes are the other's to change.
func asMailUser(t *testing.T, dir string) {
	if os.Geteuid() != 0 {
		return
	}
	for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
		if strings.HasPrefix(p, os.TempDir()) && p != os.TempDir() {
			os.Chmod(p, 0o755)
		}
	}
	if err := syscall.Setegid(65534); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Seteuid(65534); err != nil {
		syscall.Setegid(0)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Seteuid(0)
		syscall.Setegid(0)
	})
}

var uidValidityRE = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)

// fetchState returns "UID n FLAGS (...)" of every message, the part of
// each FETCH line both servers write alike.
func fetchState(c *client) []string {
	c.t.Helper()
	c.ok("NOOP") // Dovecot reads the Maildir again at NOOP, not at FETCH
	var out []string
	for _, l := range c.ok("UID FETCH 1:* (UID FLAGS)") {
		if i := strings.Index(l, "FETCH ("); i >= 0 {
			s := l[i+len("FETCH (") : len(l)-1]
			out = append(out, normFlags(s))
		}
	}
	return out
}

// normFlags sorts the flags of "UID n FLAGS (...)" and drops \Recent,
// which only Dovecot reports.
func normFlags(s string) string {
	i := strings.Index(s, "FLAGS (")
	if i < 0 {
		return s
	}
	j := strings.IndexByte(s[i:], ')')
	var fl []string
	for _, f := range strings.Fields(s[i+len("FLAGS (") : i+j]) {
		if f != `\Recent` {
			fl = append(fl, f)
		}
	}
	sortStrings(fl)
	return s[:i] + "FLAGS (" + strings.Join(fl, " ") + ")" + s[i+j+1:]
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// eventually retries check until it holds or 3 seconds passed.
func eventually(t *testing.T, what string, check func() (string, bool)) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got, ok := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDovecotSideBySide serves one Maildir with Herald and Dovecot at
// once: deliveries, appends, flags, keywords and expunges made through
// either are seen by the other with the same UIDs and UIDVALIDITY.
func TestDovecotSideBySide(t *testing.T) {
	d := imaptest.StartDovecot(t, map[string]string{"alice": "secret"})
	mail := filepath.Join(d.Dir, "mail", "alice")
	f := newFixture(t, nil)
	asMailUser(t, d.Dir)
	f.be.Store = func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
		return maildir.OpenStore(mail, nil)
	}
	port := f.listen(t)
	st, err := maildir.OpenStore(mail, nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Folder(maildir.Inbox)
	delivered, err := inbox.Deliver(context.Background(), strings.NewReader(testMsg), nil)
	if err != nil {
		t.Fatal(err)
	}

	h := dialTCP(t, "127.0.0.1:"+itoa(port), "alice")
	dv := dialTCP(t, d.Addr, "alice")
	hs, ds := strings.Join(h.ok("SELECT INBOX"), "\n"), strings.Join(dv.ok("SELECT INBOX"), "\n")
	hv, dvv := uidValidityRE.FindStringSubmatch(hs), uidValidityRE.FindStringSubmatch(ds)
	if hv == nil || dvv == nil || hv[1] != dvv[1] {
		t.Fatalf("UIDVALIDITY differs:\nherald %s\ndovecot %s", hs, ds)
	}
	same := func(what string) {
		t.Helper()
		eventually(t, what, func() (string, bool) {
			a, b := fetchState(h), fetchState(dv)
			return "herald " + strings.Join(a, "; ") + "\ndovecot " + strings.Join(b, "; "), strings.Join(a, ";") == strings.Join(b, ";") && len(a) > 0
		})
	}
	same("after delivery")
	if got := fetchState(h)[0]; !strings.HasPrefix(got, "UID "+itoa(int(delivered.UID))+" ") {
		t.Fatalf("delivered UID %d, Herald shows %s", delivered.UID, got)
	}

	// Flags and keywords through Herald, seen by Dovecot, and back.
	h.ok(`UID STORE 1 +FLAGS (\Flagged $Label1 Herald)`)
	same("after Herald's STORE")
	dv.ok(`UID STORE 1 +FLAGS (\Answered Dovecot)`)
	dv.ok(`UID STORE 1 -FLAGS (Herald)`)
	same("after Dovecot's STORE")
	if got := fetchState(h)[0]; got != `UID 1 FLAGS ($Label1 Dovecot \Answered \Flagged)` {
		t.Errorf("flags %s", got)
	}

	// APPEND on each side, with the UIDs the other side shows.
	if s := h.append("INBOX", `\Seen`, "", testMsg); !strings.Contains(s, "APPENDUID "+hv[1]+" 2]") {
		t.Errorf("Herald APPEND: %s", s)
	}
	if s := dv.append("INBOX", `\Draft`, "", testMsg); !strings.Contains(s, "APPENDUID "+hv[1]+" 3]") {
		t.Errorf("Dovecot APPEND: %s", s)
	}
	same("after the APPENDs")

	// INTERNALDATE and RFC822.SIZE agree (Dovecot reports sizes with
	// CRLF, the messages here have CRLF already).
	dates := func(c *client) []string {
		var out []string
		for _, l := range c.ok("UID FETCH 1:* (INTERNALDATE RFC822.SIZE)") {
			if i := strings.Index(l, "INTERNALDATE"); i >= 0 {
				out = append(out, l[i:])
			}
		}
		sortStrings(out)
		return out
	}
	if a, b := dates(h), dates(dv); strings.Join(a, ";") != strings.Join(b, ";") {
		t.Errorf("INTERNALDATE or RFC822.SIZE differ:\nherald  %q\ndovecot %q", a, b)
	}

	// EXPUNGE through Dovecot and through Herald.
	dv.ok(`UID STORE 2 +FLAGS (\Deleted)`)
	dv.ok(`EXPUNGE`)
	same("after Dovecot's EXPUNGE")
	h.ok(`UID STORE 3 +FLAGS (\Deleted)`)
	h.ok(`UID EXPUNGE 3`)
	same("after Herald's EXPUNGE")
	if got := fetchState(h); len(got) != 1 {
		t.Errorf("left %q", got)
	}
	// Folders made by one are listed by the other.
	dv.ok(`CREATE "Dovecot Folder"`)
	h.ok(`CREATE Herald/Child`)
	if !has(h.ok(`LIST "" "*"`), `"Dovecot Folder"`) {
		t.Error("Herald does not list Dovecot's folder")
	}
	// A new Dovecot session: one that is open keeps the list it read.
	eventually(t, "Dovecot lists Herald's folder", func() (string, bool) {
		l := dialTCP(t, d.Addr, "alice").ok(`LIST "" "*"`)
		return strings.Join(l, "\n"), has(l, `Herald.Child`)
	})
}
