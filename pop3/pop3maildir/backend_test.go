package pop3maildir_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3maildir"
)

func retr(t testing.TB, c *pop3.Client, n int) string {
	t.Helper()
	r, err := c.Retr(ctx(t), n)
	if err != nil {
		t.Fatalf("RETR %d: %v", n, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("RETR %d: %v", n, err)
	}
	return string(b)
}

// TestSession runs a whole session: sizes of the CRLF form, unique-ids
// from dovecot-uidlist, RETR, DELE applied at QUIT, and the seen flag of
// the messages retrieved.
func TestSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	want := uidls(t, e.store)
	c := login(t, e.addr)
	var total int64
	for _, m := range fixture {
		total += int64(len(crlf(m)))
	}
	if st, err := c.Stat(ctx(t)); err != nil || st.Count != 3 || st.Size != total {
		t.Fatalf("STAT = %+v, %v; want 3 %d", st, err, total)
	}
	list, err := c.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	ul, err := c.Uidl(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range fixture {
		if list[i].Size != int64(len(crlf(m))) {
			t.Errorf("LIST %d = %d, want %d", i+1, list[i].Size, len(crlf(m)))
		}
		if ul[i].UID != want[i] || len(ul[i].UID) != 16 {
			t.Errorf("UIDL %d = %q, want %q", i+1, ul[i].UID, want[i])
		}
		if got := retr(t, c, i+1); got != crlf(m) {
			t.Errorf("RETR %d = %q, want %q", i+1, got, crlf(m))
		}
	}
	if err := c.Dele(ctx(t), 2); err != nil {
		t.Fatal(err)
	}
	if got := len(snapshot(t, e.store).Messages); got != 3 {
		t.Fatalf("DELE removed a message before QUIT: %d left", got)
	}
	if err := c.Quit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitUnlocked(t, e.root)
	s := snapshot(t, e.store)
	if len(s.Messages) != 2 {
		t.Fatalf("after QUIT: %d messages, want 2", len(s.Messages))
	}
	for _, m := range s.Messages {
		if m.New || !m.Flags.Has(maildir.FlagSeen) {
			t.Errorf("retrieved message %s: new %v, flags %q; want it in cur/ with S", m.Name, m.New, m.Flags)
		}
	}
	c = login(t, e.addr)
	ul, err = c.Uidl(ctx(t))
	if err != nil || len(ul) != 2 || ul[0].UID != want[0] || ul[1].UID != want[2] {
		t.Fatalf("UIDL after QUIT = %+v, %v; want %q and %q", ul, err, want[0], want[2])
	}
}

// waitUnlocked waits until the session that answered QUIT has let the
// maildrop go: the server releases it after sending the reply.
func waitUnlocked(t testing.TB, root string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Lstat(filepath.Join(root, pop3maildir.SessionLockName)); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
	t.Fatal("maildrop still locked")
}

// TestNoQuit checks that DELE without QUIT removes nothing and that TOP
// does not mark a message seen, while RETR does even without QUIT.
func TestNoQuit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	c := login(t, e.addr)
	r, err := c.Top(ctx(t), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "Subject: one\r\n\r\n" {
		t.Errorf("TOP 1 0 = %q", b)
	}
	retr(t, c, 3)
	if err := c.Dele(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitUnlocked(t, e.root)
	s := snapshot(t, e.store)
	if len(s.Messages) != 3 {
		t.Fatalf("%d messages after a session without QUIT, want 3", len(s.Messages))
	}
	for i, m := range s.Messages {
		if seen := m.Flags.Has(maildir.FlagSeen); seen != (i == 2) {
			t.Errorf("message %d seen = %v, want %v", i+1, seen, i == 2)
		}
	}
}

// TestLongHostname is the bug of the issue: file names on a host with a
// long name are longer than the 70 characters of a unique-id, which
// Herald's unique-ids are not.
func TestLongHostname(t *testing.T) {
	t.Parallel()
	host := "ip-172-31-22-123.eu-west-1.compute.internal"
	e := newEnv(t, "", &maildir.Options{Hostname: host}, fixture...)
	if k := snapshot(t, e.store).Messages[0].Key; len(k) <= 70 || !strings.Contains(k, host) {
		t.Fatalf("file name %q does not show the problem", k)
	}
	c := login(t, e.addr)
	ul, err := c.Uidl(ctx(t))
	if err != nil || len(ul) != 3 {
		t.Fatalf("UIDL = %v, %v", ul, err)
	}
	for _, u := range ul {
		if !pop3.ValidUID(u.UID) || len(u.UID) != 16 {
			t.Errorf("unique-id %q", u.UID)
		}
	}
}

// TestInUse checks the maildrop lock between two sessions, and that a
// login waits for a session that is ending.
func TestInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	c := login(t, e.addr)
	d := dial(t, e.addr)
	err := d.Login(ctx(t), "alice", "secret")
	if !errors.Is(err, &pop3.Error{Code: pop3.CodeInUse}) {
		t.Fatalf("second login: %v, want [IN-USE]", err)
	}
	e.backend.LockWait = 5 * time.Second
	go func() {
		time.Sleep(200 * time.Millisecond)
		c.Quit(context.Background())
	}()
	d = login(t, e.addr)
	if st, err := d.Stat(ctx(t)); err != nil || st.Count != 3 {
		t.Fatalf("STAT = %+v, %v", st, err)
	}
}

// writeLock puts a lock file with content at root, modified age ago.
func writeLock(t testing.TB, root, content string, age time.Duration) {
	t.Helper()
	p := filepath.Join(root, pop3maildir.SessionLockName)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// TestStaleLock checks which locks left by others are taken for stale.
func TestStaleLock(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	deadPid := deadPID(t)
	tests := []struct {
		name    string
		content string
		age     time.Duration
		stale   bool
	}{
		{"dead process", strconv.Itoa(deadPid) + ":" + host, 0, true},
		{"live process", strconv.Itoa(os.Getppid()) + ":" + host, time.Hour, false},
		{"other host, fresh", "12345:elsewhere.example", time.Minute, false},
		{"other host, untouched", "12345:elsewhere.example", 6 * time.Minute, true},
		{"being written", "", 0, false},
		{"garbage, untouched", "x\x00y", 6 * time.Minute, true},
		{"this process, fresh leftover", strconv.Itoa(os.Getpid()) + ":" + host, time.Minute, false},
		{"this process, untouched leftover", strconv.Itoa(os.Getpid()) + ":" + host, 6 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "", nil, fixture[0])
			writeLock(t, e.root, tt.content, tt.age)
			c := dial(t, e.addr)
			err := c.Login(ctx(t), "alice", "secret")
			if tt.stale && err != nil {
				t.Fatalf("login: %v, want the stale lock removed", err)
			}
			if !tt.stale && !errors.Is(err, &pop3.Error{Code: pop3.CodeInUse}) {
				t.Fatalf("login: %v, want [IN-USE]", err)
			}
			if tt.stale {
				data, err := os.ReadFile(filepath.Join(e.root, pop3maildir.SessionLockName))
				if want := strconv.Itoa(os.Getpid()) + ":" + host; err != nil || string(data) != want {
					t.Errorf("lock holds %q, %v; want %q", data, err, want)
				}
			}
		})
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t testing.TB) int {
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

// TestBadFiles checks that a missing, a corrupt and an unlisted file skip
// their message, with a log line, and the session goes on.
func TestBadFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	// A file without sizes in its name: counted. A directory: skipped.
	if err := os.WriteFile(filepath.Join(e.root, "cur", "1.M1P1.other:2,"), []byte("a\nb\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(e.root, "cur", "2.M1P1.other:2,"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := snapshot(t, e.store)
	// Message 2 is cut short: its name says more than the file holds.
	p := filepath.Join(e.root, "new", s.Messages[1].Name)
	if err := os.Truncate(p, 3); err != nil {
		t.Fatal(err)
	}
	c := login(t, e.addr)
	list, err := c.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("LIST = %+v, want 4 messages (the directory skipped)", list)
	}
	if !strings.Contains(e.logs.String(), "message skipped") {
		t.Errorf("no log line for the directory:\n%s", e.logs)
	}
	sizes := map[int64]bool{}
	for _, l := range list {
		sizes[l.Size] = true
	}
	if !sizes[6] {
		t.Errorf("LIST = %+v: the file without sizes should count 6 octets", list)
	}
	// Message 1 is removed by another client.
	if err := os.Remove(filepath.Join(e.root, "new", s.Messages[0].Name)); err != nil {
		t.Fatal(err)
	}
	var perr *pop3.Error
	if _, err := c.Retr(ctx(t), 1); !errors.As(err, &perr) || !strings.Contains(perr.Message, "removed") {
		t.Errorf("RETR of a removed message: %v", err)
	}
	if _, err := c.Retr(ctx(t), 2); !errors.As(err, &perr) || perr.Message != "Message cannot be read" {
		t.Errorf("RETR of a truncated message: %v", err)
	}
	if got := retr(t, c, 3); got != crlf(fixture[2]) {
		t.Errorf("RETR 3 = %q", got)
	}
	if err := c.Dele(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx(t)); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
	if strings.Contains(perr.Message, e.root) {
		t.Errorf("a path went on the wire: %q", perr.Message)
	}
}

// TestJournal checks that a commit journal left by a crash is carried out
// by the next session, and that a malformed one removes nothing.
func TestJournal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	s := snapshot(t, e.store)
	j := filepath.Join(e.root, pop3maildir.JournalName)
	if err := os.WriteFile(j, []byte("herald-pop3-commit 1\n"+s.Messages[1].Key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := login(t, e.addr)
	if st, err := c.Stat(ctx(t)); err != nil || st.Count != 2 {
		t.Fatalf("STAT = %+v, %v; want the journaled message gone", st, err)
	}
	c.Quit(ctx(t))
	waitUnlocked(t, e.root)
	if _, err := os.Stat(j); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal still there: %v", err)
	}
	if got := len(snapshot(t, e.store).Messages); got != 2 {
		t.Errorf("%d messages, want 2", got)
	}
	if err := os.WriteFile(j, []byte("herald-pop3-commit 1\n"+s.Messages[0].Key), 0o600); err != nil {
		t.Fatal(err)
	}
	c = login(t, e.addr)
	if st, err := c.Stat(ctx(t)); err != nil || st.Count != 2 {
		t.Fatalf("STAT = %+v, %v; a malformed journal must remove nothing", st, err)
	}
}

// TestLockLost checks that a session whose lock was taken away removes
// nothing at QUIT.
func TestLockLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	c := login(t, e.addr)
	if err := c.Dele(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.root, pop3maildir.SessionLockName)); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx(t)); !errors.Is(err, &pop3.Error{Code: pop3.CodeSysTemp}) {
		t.Fatalf("QUIT: %v, want [SYS/TEMP]", err)
	}
	if got := len(snapshot(t, e.store).Messages); got != 3 {
		t.Errorf("%d messages, want 3", got)
	}
}

// TestAuth checks refused credentials and a store that fails.
func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil)
	c := dial(t, e.addr)
	if err := c.Login(ctx(t), "alice", "wrong"); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Errorf("wrong password: %v", err)
	}
	e.backend.Store = func(context.Context, string) (*maildir.Store, error) {
		return nil, &maildir.Error{Op: "open", Path: "/secret/path", Err: os.ErrPermission}
	}
	c = dial(t, e.addr)
	err := c.Login(ctx(t), "alice", "secret")
	var perr *pop3.Error
	if !errors.As(err, &perr) || perr.Code != pop3.CodeSysTemp || strings.Contains(perr.Message, "secret") {
		t.Errorf("failing store: %v", err)
	}
}
