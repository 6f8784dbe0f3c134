package pop3maildir_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3maildir"
	"github.com/heraldmail/herald/sasl"
)

// crashEnv names the directory of a crash helper process.
const crashEnv = "HERALD_POP3MAILDIR_CRASH_DIR"

// crashStoreOptions are the store options of the helper and the check. A
// dovecot-uidlist.lock left by a killed process is taken for stale after
// a second, not the default two minutes, so that the runs go on.
var crashStoreOptions = maildir.Options{StaleLockTimeout: time.Second, LockTimeout: 30 * time.Second}

// The helper writes what it did to the journal file "log", one write per
// line, so a line is there or not when the process is killed:
//
//	d <id>              a delivery of message <id> begins
//	D <id>              it returned: the message is on disk
//	Q <sess> <id>...    session <sess> sends QUIT after DELE of these
//	C <sess>            QUIT answered +OK
//	F <sess>            QUIT answered -ERR
type crashLog struct {
	mu sync.Mutex
	f  *os.File
}

func (l *crashLog) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Write([]byte(s + "\n"))
}

// TestCrashHelper is the process TestCrash kills: deliveries and POP3
// sessions with DELE and QUIT on one Maildir, until killed. It does
// nothing unless crashEnv is set.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrash")
	}
	f, err := os.OpenFile(filepath.Join(dir, "log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	log := &crashLog{f: f}
	opts := crashStoreOptions
	store, err := maildir.OpenStore(filepath.Join(dir, "Maildir"), &opts)
	if err != nil {
		t.Fatal(err)
	}
	be := crashBackend(store)
	// Any password: the test is about crashes, not credentials.
	anyPassword := func(ctx context.Context, authzid, user, pass string) (string, error) { return user, nil }
	srv := &pop3.Server{Backend: be, Auth: &sasl.Authenticator{AllowInsecure: true, Password: anyPassword}, LoginFailureDelay: -1}
	addr := serve(t, srv)
	inbox, err := store.Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	go func() {
		for n := 0; ; n++ {
			id := fmt.Sprintf("%d-%d", pid, n)
			log.line("d " + id)
			msg := "X-Crash-Id: " + id + "\r\nSubject: crash test\r\n\r\n" + strings.Repeat("body line\r\n", rand.IntN(50))
			if _, err := inbox.Deliver(context.Background(), strings.NewReader(msg), nil); err != nil {
				fmt.Fprintln(os.Stderr, "deliver:", err)
				continue
			}
			log.line("D " + id)
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for n := 0; ; n++ {
				crashSession(log, addr, fmt.Sprintf("%d-%d-%d", pid, w, n))
			}
		})
	}
	wg.Wait()
}

func crashBackend(store *maildir.Store) *pop3maildir.Backend {
	return &pop3maildir.Backend{
		Store:    func(context.Context, string) (*maildir.Store, error) { return store, nil },
		LockWait: 2 * time.Second,
	}
}

// crashSession retrieves and deletes about half the messages in one
// session and quits, logging the QUIT and its outcome.
func crashSession(log *crashLog, addr, sess string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pop3.Dial(ctx, addr, nil)
	if err != nil {
		return
	}
	defer c.Close()
	if err := c.Login(ctx, "alice", "x"); err != nil {
		time.Sleep(5 * time.Millisecond)
		return
	}
	list, err := c.List(ctx)
	if err != nil {
		return
	}
	var ids []string
	for _, e := range list {
		if rand.IntN(2) == 0 {
			continue
		}
		r, err := c.Retr(ctx, e.Number)
		if err != nil {
			return
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return
		}
		id, ok := crashID(b)
		if !ok {
			fmt.Fprintf(os.Stderr, "message %d without id: %q\n", e.Number, b)
			return
		}
		if err := c.Dele(ctx, e.Number); err != nil {
			return
		}
		ids = append(ids, id)
	}
	log.line("Q " + sess + " " + strings.Join(ids, " "))
	err = c.Quit(ctx)
	var pe *pop3.Error
	switch {
	case err == nil:
		log.line("C " + sess)
	case errors.As(err, &pe):
		log.line("F " + sess)
	}
}

func crashID(msg []byte) (string, bool) {
	first, _, _ := bytes.Cut(msg, []byte("\r\n"))
	id, ok := bytes.CutPrefix(first, []byte("X-Crash-Id: "))
	return string(id), ok && len(id) > 0
}

// TestCrash kills TestCrashHelper with SIGKILL many times while it
// delivers and runs POP3 sessions, then checks the Maildir against what
// the helpers logged: no message delivered is lost unless a QUIT that may
// have committed deleted it; none is duplicated; none that a QUIT
// committed (+OK) is left; and a QUIT whose outcome is unknown was all or
// nothing.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	const kills = 30
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v=false")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir, "GOMAXPROCS=2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+rand.IntN(450)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: helper ended with %v before it was killed:\n%s", i, err, stderr.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("run %d: helper said:\n%s", i, stderr.String())
		}
	}

	// What is in the maildrop now, read through the adapter, which first
	// finishes a commit that a kill interrupted.
	opts := crashStoreOptions
	store, err := maildir.OpenStore(filepath.Join(dir, "Maildir"), &opts)
	if err != nil {
		t.Fatal(err)
	}
	be := crashBackend(store)
	mb, err := be.Open(context.Background(), &pop3.ConnInfo{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	list, err := mb.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]int{}
	uids := map[string]bool{}
	for i, e := range list {
		if uids[e.UID] {
			t.Errorf("unique-id %s twice", e.UID)
		}
		uids[e.UID] = true
		rc, err := mb.Message(context.Background(), i+1)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		id, ok := crashID(b)
		if !ok {
			t.Fatalf("message %d has no id: %q", i+1, b)
		}
		present[id]++
	}
	if err := mb.Close(); err != nil {
		t.Fatal(err)
	}

	// What the helpers did.
	data, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	begun, delivered := map[string]bool{}, map[string]bool{}
	sessions := map[string][]string{}
	outcome := map[string]byte{}
	in := map[string][]string{} // id -> sessions that deleted it
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "d":
			begun[f[1]] = true
		case "D":
			delivered[f[1]] = true
		case "Q":
			sessions[f[1]] = f[2:]
			for _, id := range f[2:] {
				in[id] = append(in[id], f[1])
			}
		case "C", "F":
			outcome[f[1]] = f[0][0]
		}
	}
	// mayHaveDeleted: a session other than except whose QUIT committed or
	// may have.
	mayHaveDeleted := func(id, except string) bool {
		for _, s := range in[id] {
			if s != except && outcome[s] != 'F' {
				return true
			}
		}
		return false
	}
	for id, n := range present {
		if n > 1 {
			t.Errorf("message %s is there %d times", id, n)
		}
		if !begun[id] {
			t.Errorf("message %s was never delivered", id)
		}
		for _, s := range in[id] {
			if outcome[s] == 'C' {
				t.Errorf("message %s is there, but session %s deleted it and QUIT answered +OK", id, s)
			}
		}
	}
	for id := range delivered {
		if present[id] == 0 && !mayHaveDeleted(id, "") {
			t.Errorf("message %s was delivered and is lost", id)
		}
	}
	unknown, committed, partial := 0, 0, 0
	for s, ids := range sessions {
		switch outcome[s] {
		case 'C':
			committed++
			continue
		case 'F':
			continue
		}
		unknown++
		applied := true
		for _, id := range ids {
			if present[id] > 0 {
				applied = false
			}
		}
		if applied {
			continue
		}
		for _, id := range ids {
			if present[id] == 0 && !mayHaveDeleted(id, s) {
				partial++
				t.Errorf("session %s was killed in QUIT and removed %s but not all of %v", s, id, ids)
			}
		}
	}
	t.Logf("%d kills: %d deliveries, %d messages left, %d QUITs committed, %d QUITs cut by a kill", kills, len(delivered), len(present), committed, unknown)
	if len(delivered) < kills || committed < kills/3 {
		t.Errorf("too little happened to judge: %d deliveries, %d commits", len(delivered), committed)
	}
	if _, err := os.Lstat(filepath.Join(dir, "Maildir", pop3maildir.JournalName)); err == nil {
		t.Error("commit journal left after a clean session")
	}
}
