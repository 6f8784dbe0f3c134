package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"
)

func TestDeliverMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newTestMaildir(t, nil)
	b := newTestMaildir(t, nil)
	full, err := OpenStore(filepath.Join(t.TempDir(), "full"), &Options{Quota: Quota{Messages: 1}})
	if err != nil {
		t.Fatal(err)
	}
	fullInbox, _ := full.Folder(Inbox)
	deliver(t, fullInbox, "Subject: fills it\n\n.\n", nil)
	small := newTestMaildir(t, &Options{MaxMessageBytes: 10})
	body := "Subject: to many\r\n\r\nhello\r\n"
	targets := []*Maildir{a, fullInbox, b, small, a}
	msgs, errs := DeliverMany(ctx, strings.NewReader(body), targets, &DeliverOptions{Keywords: []string{"$Work"}})
	if len(msgs) != len(targets) || len(errs) != len(targets) {
		t.Fatalf("%d messages, %d errors for %d targets", len(msgs), len(errs), len(targets))
	}
	if !errors.Is(errs[1], ErrQuotaExceeded) {
		t.Errorf("full target: %v, want ErrQuotaExceeded", errs[1])
	}
	if !errors.Is(errs[3], ErrTooLarge) {
		t.Errorf("small target: %v, want ErrTooLarge", errs[3])
	}
	for _, i := range []int{0, 2, 4} {
		if errs[i] != nil {
			t.Fatalf("target %d: %v", i, errs[i])
		}
		m, msg := targets[i], msgs[i]
		if msg.UID == 0 || msg.New || len(msg.Keywords) != 1 || msg.Keywords[0] != "$Work" {
			t.Errorf("target %d: %+v", i, msg)
		}
		data, err := os.ReadFile(filepath.Join(m.Dir(), "cur", msg.Name))
		if err != nil || string(data) != body {
			t.Errorf("target %d: file %q, %v", i, data, err)
		}
		if got := dirNames(t, filepath.Join(m.Dir(), "tmp")); len(got) != 0 {
			t.Errorf("target %d: tmp/ holds %q", i, got)
		}
	}
	if msgs[0].UID == msgs[4].UID || msgs[0].Key == msgs[4].Key {
		t.Errorf("two copies in one folder share UID or key: %+v %+v", msgs[0], msgs[4])
	}
	// What Dovecot would list: a Sync of each folder shows the copies
	// under the UIDs Deliver returned.
	for _, i := range []int{0, 2} {
		s := syncT(t, targets[i], nil)
		if _, ok := s.Find(msgs[i].UID); !ok {
			t.Errorf("target %d: UID %d not in the folder", i, msgs[i].UID)
		}
	}
	if n := len(syncT(t, fullInbox, nil).Messages); n != 1 {
		t.Errorf("full folder holds %d messages", n)
	}
	if got := dirNames(t, filepath.Join(small.Dir(), "new")); len(got) != 0 {
		t.Errorf("small target got %q", got)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection lost")
	}
	r.n--
	return copy(p, "Subject: x\r\n"), nil
}

func TestDeliverManyReadError(t *testing.T) {
	t.Parallel()
	a, b := newTestMaildir(t, nil), newTestMaildir(t, &Options{SyncEach: true})
	_, errs := DeliverMany(context.Background(), &failingReader{n: 3}, []*Maildir{a, b}, nil)
	for i, m := range []*Maildir{a, b} {
		if errs[i] == nil || !strings.Contains(errs[i].Error(), "connection lost") {
			t.Errorf("target %d: %v", i, errs[i])
		}
		for _, sub := range []string{"new", "cur", "tmp"} {
			if got := dirNames(t, filepath.Join(m.Dir(), sub)); len(got) != 0 {
				t.Errorf("target %d: %s/ holds %q", i, sub, got)
			}
		}
	}
	if msgs, errs := DeliverMany(context.Background(), strings.NewReader("x"), nil, nil); len(msgs) != 0 || len(errs) != 0 {
		t.Errorf("no targets: %v %v", msgs, errs)
	}
}

// TestDeliverConcurrentGroupCommit: concurrent deliveries with and without
// group commit all arrive, each under its own UID.
func TestDeliverConcurrentGroupCommit(t *testing.T) {
	t.Parallel()
	for _, each := range []bool{false, true} {
		m := newTestMaildir(t, &Options{SyncEach: each})
		other := newTestMaildir(t, nil)
		const g, per = 10, 10
		var wg gosync.WaitGroup
		errc := make(chan error, g*per)
		uids := make(chan uint32, g*per)
		for i := range g {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range per {
					body := fmt.Sprintf("Subject: %d/%d\n\nx\n", i, j)
					msgs, errs := DeliverMany(context.Background(), strings.NewReader(body), []*Maildir{m, other}, nil)
					errc <- errors.Join(errs...)
					uids <- msgs[0].UID
				}
			}()
		}
		wg.Wait()
		close(errc)
		close(uids)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		seen := map[uint32]bool{}
		for u := range uids {
			if u == 0 || seen[u] {
				t.Fatalf("UID %d given twice or not at all", u)
			}
			seen[u] = true
		}
		for _, d := range []*Maildir{m, other} {
			if n := len(syncT(t, d, nil).Messages); n != g*per {
				t.Fatalf("SyncEach=%v: %d messages, want %d", each, n, g*per)
			}
		}
	}
}

const crashEnv = "HERALD_MAILDIR_CRASH_DIRS"

// crashHelper is the process TestDeliverManyKilled kills: TestMain runs it
// instead of the tests when crashEnv is set, and it delivers to the
// Maildirs named there from 8 goroutines and prints each message's key per
// target once DeliverMany returned, until killed.
func crashHelper(dirs string) {
	var targets []*Maildir
	for _, d := range strings.Split(dirs, ":") {
		m, err := Open(d, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		targets = append(targets, m)
	}
	var mu gosync.Mutex
	out := bufio.NewWriter(os.Stdout)
	body := strings.Repeat("crash test line\r\n", 300)
	for range 8 {
		go func() {
			for i := 0; ; i++ {
				msgs, errs := DeliverMany(context.Background(), strings.NewReader(body), targets, nil)
				mu.Lock()
				for k, err := range errs {
					if err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(3)
					}
					fmt.Fprintf(out, "%d %s\n", k, msgs[k].Name)
				}
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestDeliverManyKilled kills a process delivering concurrently with
// SIGKILL and checks what a reader finds: every message reported delivered
// is in new/ in full, and new/ holds no partial message; tmp/ may hold
// leftovers only.
func TestDeliverManyKilled(t *testing.T) {
	t.Parallel()
	// The killed process may leave dovecot-uidlist.lock behind; the reader
	// takes it for stale after 100 ms instead of Dovecot's 2 minutes.
	opts := &Options{StaleLockTimeout: 100 * time.Millisecond}
	a, b := newTestMaildir(t, opts), newTestMaildir(t, opts)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashEnv+"="+a.Dir()+":"+b.Dir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := make(chan []string)
	go func() {
		var lines []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		reported <- lines
	}()
	// Kill it while deliveries are in flight.
	deadline := time.Now().Add(20 * time.Second)
	for len(dirNames(t, filepath.Join(b.Dir(), "new"))) < 50 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	lines := <-reported
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("helper ended with %v before it was killed: %s", err, stderr.String())
	}
	if len(lines) < 50 {
		t.Fatalf("only %d deliveries reported", len(lines))
	}
	want := strings.Repeat("crash test line\r\n", 300)
	dirs := []*Maildir{a, b}
	for _, l := range lines {
		k, name, _ := strings.Cut(l, " ")
		i, _ := strconv.Atoi(k)
		data, err := os.ReadFile(filepath.Join(dirs[i].Dir(), "new", name))
		if err != nil || string(data) != want {
			t.Fatalf("reported %q: %d bytes, %v", l, len(data), err)
		}
	}
	for i, m := range dirs {
		for _, name := range dirNames(t, filepath.Join(m.Dir(), "new")) {
			f, err := os.Open(filepath.Join(m.Dir(), "new", name))
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, f)
			f.Close()
			if n != int64(len(want)) {
				t.Errorf("target %d: new/%s has %d bytes, want %d", i, name, n, len(want))
			}
		}
		s := syncT(t, m, nil)
		t.Logf("target %d: %d messages after the kill, %d reported", i, len(s.Messages), len(lines)/2)
	}
}
