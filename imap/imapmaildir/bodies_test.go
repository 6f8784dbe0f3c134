package imapmaildir_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imaptest"
	"github.com/heraldmail/herald/maildir"
)

// TestDovecotSameBodies serves one Maildir holding every corpus message
// (../../testdata/messages) twice, as the file is and with LF line
// endings as delivery agents store them, with Herald and with Dovecot:
// BODY.PEEK[] and ranges of it (which Herald reads from a file converted
// to CRLF at an offset) are the same bytes from both, for every message.
func TestDovecotSameBodies(t *testing.T) {
	d := imaptest.StartDovecot(t, map[string]string{"alice": "secret"})
	mail := filepath.Join(d.Dir, "mail", "alice")
	f := newFixture(t, nil)
	asMailUser(t, d.Dir)
	f.be.Store = func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
		return maildir.OpenStore(mail, nil)
	}
	st, err := maildir.OpenStore(mail, nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Folder(maildir.Inbox)
	var names []string
	root := filepath.Join("..", "..", "testdata", "messages")
	filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lf := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		for k, msg := range [][]byte{data, lf} {
			i := len(names)
			bare := int64(0)
			for j, c := range msg {
				if c == '\n' && (j == 0 || msg[j-1] != '\r') {
					bare++
				}
			}
			name := fmt.Sprintf("1700000000.M%dP1Q%d.corpus,S=%d,W=%d:2,", i, k, len(msg), int64(len(msg))+bare)
			if err := os.WriteFile(filepath.Join(inbox.Dir(), "cur", name), msg, 0o644); err != nil {
				t.Fatal(err)
			}
			names = append(names, p)
		}
		return nil
	})
	if len(names) < 100 {
		t.Fatalf("%d corpus messages", len(names))
	}
	if _, err := inbox.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	port := f.listen(t)
	h := dialTCP(t, "127.0.0.1:"+itoa(port), "alice")
	dv := dialTCP(t, d.Addr, "alice")
	h.ok("EXAMINE INBOX")
	dv.ok("EXAMINE INBOX")
	for _, item := range []string{"BODY.PEEK[]", "BODY.PEEK[]<0.1>", "BODY.PEEK[]<7.300>", "BODY.PEEK[]<1000.5000>", "BODY.PEEK[]<70000.100>"} {
		hb, db := bodies(t, h, item), bodies(t, dv, item)
		if len(hb) != len(names) || len(db) != len(names) {
			t.Fatalf("%s: %d messages from Herald, %d from Dovecot, want %d", item, len(hb), len(db), len(names))
		}
		for uid, want := range db {
			if got, ok := hb[uid]; !ok || got != want {
				t.Errorf("%s of UID %d (%s): Herald sent %d bytes, Dovecot %d; first difference at %d",
					item, uid, names[uid-1], len(got), len(want), firstDiff(got, want))
			}
		}
	}
	// A second time from Herald, with the metadata cache made by the
	// first FETCH that parsed them (the sizes with CRLF then trusted).
	// (An empty message file was skipped with NO [EXPUNGEISSUED].)
	if _, status := h.do("UID FETCH 1:* (BODYSTRUCTURE)"); !strings.HasPrefix(status, "OK") {
		t.Errorf("BODYSTRUCTURE: %s\n%s", status, f.logs.String())
	}
	hb, db := bodies(t, h, "BODY.PEEK[]"), bodies(t, dv, "BODY.PEEK[]")
	for uid, want := range db {
		if hb[uid] != want {
			t.Errorf("BODY.PEEK[] of UID %d after BODYSTRUCTURE differs", uid)
		}
	}
}

var fetchBodyRE = regexp.MustCompile(`^\* \d+ FETCH \(UID (\d+) BODY\[\](?:<\d+>)? `)

// bodies returns the literal of item of every message by UID.
func bodies(t *testing.T, c *client, item string) map[int]string {
	t.Helper()
	out := map[int]string{}
	for _, l := range c.ok("UID FETCH 1:* (UID " + item + ")") {
		m := fetchBodyRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		rest := l[len(m[0]):]
		var body string
		if i := strings.Index(rest, "}\r\n"); strings.HasPrefix(rest, "{") && i >= 0 {
			body = strings.TrimSuffix(rest[i+3:], ")")
		} else if rest != `"")` && rest != "NIL)" {
			t.Fatalf("unexpected %q", l)
		}
		out[atoi(t, m[1])] = body
	}
	return out
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
