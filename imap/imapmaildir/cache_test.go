package imapmaildir_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/maildir"
)

// restart returns a fixture on the same trees with a new Backend, as a
// second process or a restarted server would have.
func (f *fixture) restart(t testing.TB) *fixture {
	n := &fixture{root: f.root, opts: f.opts, logs: &logBuffer{}}
	logger := slog.New(slog.NewTextHandler(n.logs, nil))
	n.be = &imapmaildir.Backend{
		Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
			return n.store(t, identity), nil
		},
		Logger: logger,
	}
	n.srv = &imap.Server{Backend: n.be, Auth: testAuth(), Logger: logger}
	return n
}

const cacheFetch = "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE)"

// cacheMessages are delivered with bare LFs, as delivery agents write
// them, one of them multipart with an attached message.
var cacheMessages = []string{
	"From: Alice <alice@example.org>\nSubject: one\nMessage-ID: <1@example.org>\n\nfirst\n",
	"From: Bob <bob@example.org>\nSubject: two\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\nthere\n--b\nContent-Type: message/rfc822\n\nSubject: inner\nFrom: c@example.org\n\ninner body\n--b--\n",
	"From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\nSubject: three\n\nthird\n",
}

// fillCached delivers cacheMessages into alice's INBOX, fetches their
// metadata in a session that then ends, which writes the cache file, and
// returns what that FETCH answered.
func fillCached(t *testing.T, f *fixture) []string {
	t.Helper()
	md, err := f.store(t, "alice").Folder("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cacheMessages {
		if _, err := md.Deliver(context.Background(), strings.NewReader(m), nil); err != nil {
			t.Fatal(err)
		}
	}
	c := f.dial(t, "alice")
	c.ok("SELECT INBOX")
	want := c.ok(cacheFetch)
	c.ok("LOGOUT")
	waitFile(t, cachePath(f))
	return want
}

func cachePath(f *fixture) string {
	return filepath.Join(f.root, "alice", imapmaildir.CacheFile)
}

// waitFile waits for the session's end to have written the file.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not written", path)
		}
	}
}

func fetchAll(t *testing.T, f *fixture) []string {
	c := f.dial(t, "alice")
	c.ok("SELECT INBOX")
	got := c.ok(cacheFetch)
	c.ok("LOGOUT")
	return got
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("FETCH answered\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCacheUsed checks that a restarted server answers from the cache
// file: a message file rewritten in place with the same size and time is
// not parsed again (as Dovecot's cache, the file name, size and time are
// trusted), and the answer is what the first server parsed.
func TestCacheUsed(t *testing.T) {
	f := newFixture(t, nil)
	want := fillCached(t, f)
	mustHave(t, want, `"one"`)
	mustHave(t, want, `("MESSAGE" "RFC822" NIL NIL NIL "7BIT" `)
	path := messageFile(t, f, "one")
	fi, _ := os.Stat(path)
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), "Subject: one", "Subject: eno", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	sameLines(t, fetchAll(t, f.restart(t)), want)
}

// messageFile returns the path of the message of alice's INBOX that holds
// s.
func messageFile(t *testing.T, f *fixture, s string) string {
	t.Helper()
	for _, sub := range []string{"cur", "new"} {
		dir := filepath.Join(f.root, "alice", sub)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			if strings.Contains(string(data), s) {
				return filepath.Join(dir, e.Name())
			}
		}
	}
	t.Fatalf("no message holds %q", s)
	return ""
}

// TestCacheStale changes the Maildir from another process after the cache
// was written: a message replaced under its name with another size, one
// with the same size but a new time, one expunged and a new one
// delivered. The restarted server answers for the messages as they are.
func TestCacheStale(t *testing.T) {
	f := newFixture(t, nil)
	fillCached(t, f)

	// Replaced, another size: the name keeps its base, the S= changes.
	old := messageFile(t, f, "Subject: one")
	repl := "From: Alice <alice@example.org>\nSubject: replaced and longer\n\nfirst\n"
	base, _, _ := strings.Cut(filepath.Base(old), ",")
	newName := filepath.Join(filepath.Dir(old), base+",S="+itoa(len(repl))+":2,")
	if err := os.WriteFile(newName, []byte(repl), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(old)
	// Same size, rewritten later.
	three := messageFile(t, f, "Subject: three")
	data, _ := os.ReadFile(three)
	os.WriteFile(three, []byte(strings.Replace(string(data), "three", "THREE", 1)), 0o600)
	later := time.Now().Add(time.Hour)
	os.Chtimes(three, later, later)
	// Expunged and delivered.
	md, _ := f.store(t, "alice").Folder("INBOX")
	if err := md.Remove(context.Background(), []uint32{2}); err != nil {
		t.Fatal(err)
	}
	if _, err := md.Deliver(context.Background(), strings.NewReader("Subject: four\n\nfourth\n"), nil); err != nil {
		t.Fatal(err)
	}

	got := fetchAll(t, f.restart(t))
	mustHave(t, got, `"replaced and longer"`)
	mustHave(t, got, `"THREE"`)
	mustHave(t, got, `"four"`)
	if has(got, `"two"`) || has(got, `"one"`) || has(got, `"three"`) {
		t.Fatalf("stale summaries served:\n%s", strings.Join(got, "\n"))
	}
	// The same as a server without any cache answers.
	os.Remove(cachePath(f))
	sameLines(t, got, fetchAll(t, f.restart(t)))
}

// TestCacheDamaged checks that a cache file that is garbage, has a byte
// changed or is cut short is ignored with a log line, the messages parsed
// again, and the file written anew.
func TestCacheDamaged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte("not a cache file at all\n") }},
		{"flipped", func(b []byte) []byte { b[len(b)/2] ^= 0x20; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			want := fillCached(t, f)
			path := cachePath(f)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad := tc.damage(append([]byte(nil), data...))
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			g := f.restart(t)
			sameLines(t, fetchAll(t, g), want)
			if tc.name != "empty" && !strings.Contains(g.logs.String(), "cache file ignored") {
				t.Errorf("no log line for the damaged cache file:\n%s", g.logs.String())
			}
			// Rewritten at the session's end: a third server reads
			// it without complaint.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				again, _ := os.ReadFile(path)
				if string(again) != string(bad) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the damaged cache file was not rewritten")
				}
			}
			h := f.restart(t)
			sameLines(t, fetchAll(t, h), want)
			if strings.Contains(h.logs.String(), "cache file ignored") {
				t.Errorf("the rewritten cache file does not read back:\n%s", h.logs.String())
			}
		})
	}
}
