package imapmaildir_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/maildir"
)

const crashEnv = "HERALD_IMAPMAILDIR_CRASH_DIR"

// TestCrashHelper is the child of TestCrash: it delivers, appends, moves
// and expunges in a loop until it is killed, printing "ack <subject>" once
// a message is stored and "expunging <subject>" before it flags one
// \Deleted. It does nothing unless crashEnv is set.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrash")
	}
	// A lock the killed predecessor left is stale after a second.
	f := newFixture(t, &maildir.Options{StaleLockTimeout: time.Second})
	f.root = dir
	var out sync.Mutex
	say := func(s string) {
		out.Lock()
		defer out.Unlock()
		os.Stdout.WriteString(s + "\n")
	}
	pid := os.Getpid()
	go func() {
		// Deliveries, as the SMTP side of the process would make them.
		md, err := f.store(t, "alice").Folder(maildir.Inbox)
		if err != nil {
			panic(err)
		}
		for n := 0; ; n++ {
			subj := fmt.Sprintf("d-%d-%d", pid, n)
			if _, err := md.Deliver(context.Background(), strings.NewReader("Subject: "+subj+"\r\n\r\nx\r\n"), nil); err != nil {
				panic(err)
			}
			say("ack " + subj)
		}
	}()
	c := f.dial(t, "alice")
	for n := 0; ; n++ {
		subj := fmt.Sprintf("a-%d-%d", pid, n)
		if s := c.append("INBOX", "", "", "Subject: "+subj+"\r\n\r\nx\r\n"); !strings.HasPrefix(s, "OK") {
			panic(s)
		}
		say("ack " + subj)
		from, to := "INBOX", "Archive"
		if n%2 == 1 {
			from, to = to, from
		}
		c.ok("SELECT " + from)
		// Expunge from the first round on, so that every run of the
		// helper, however short, has expunged before it is killed.
		if n%5 == 0 {
			lines := c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
			for _, l := range lines {
				if i := strings.Index(l, "Subject: "); i >= 0 {
					say("expunging " + strings.Fields(l[i+len("Subject: "):])[0])
					c.ok(`STORE 1 +FLAGS (\Deleted)`)
					c.ok("EXPUNGE")
				}
			}
		}
		c.ok("UID MOVE 1:* " + to)
	}
}

// folderState returns the subjects in a folder and the UID of each file
// base name, with UIDVALIDITY and UIDNEXT.
func folderState(t *testing.T, st *maildir.Store, name string) (map[string]int, map[string]uint32, uint32, uint32) {
	t.Helper()
	md, err := st.Folder(name)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := md.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]int{}
	uids := map[string]uint32{}
	for _, m := range snap.Messages {
		h, err := md.Header(context.Background(), m.UID, nil)
		if err != nil {
			t.Fatal(err)
		}
		subjects[h.Get("Subject")]++
		uids[m.Key] = m.UID
	}
	return subjects, uids, snap.UIDValidity, snap.UIDNext
}

// TestCrash kills a process that delivers, appends, moves and expunges
// with SIGKILL many times, and checks after each kill that no acknowledged
// message is lost, none is in two places, and UIDs never go backwards.
func TestCrash(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	expunging := map[string]bool{}
	type folderKey struct{ folder, base string }
	seenUID := map[folderKey]uint32{}
	validity := map[string]uint32{}
	next := map[string]uint32{}
	rng := rand.New(rand.NewPCG(1, 2))
	const kills = 10
	for round := range kills {
		cmd := exec.Command(exe, "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan []string)
		go func() {
			var got []string
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			lines <- got
		}()
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		got := <-lines
		cmd.Wait()
		if strings.Contains(stderr.String(), "panic") {
			t.Fatalf("round %d: the helper failed:\n%s", round, stderr.String())
		}
		for _, l := range got {
			if s, ok := strings.CutPrefix(l, "ack "); ok {
				acked[s] = true
			} else if s, ok := strings.CutPrefix(l, "expunging "); ok {
				expunging[s] = true
			}
		}
		st, err := maildir.OpenStore(dir+"/alice", &maildir.Options{StaleLockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, folder := range []string{maildir.Inbox, "Archive"} {
			subjects, uids, v, n := folderState(t, st, folder)
			if validity[folder] != 0 && v != validity[folder] {
				t.Fatalf("round %d: %s UIDVALIDITY changed from %d to %d", round, folder, validity[folder], v)
			}
			if n < next[folder] {
				t.Fatalf("round %d: %s UIDNEXT went back from %d to %d", round, folder, next[folder], n)
			}
			validity[folder], next[folder] = v, n
			for base, uid := range uids {
				k := folderKey{folder, base}
				if old, ok := seenUID[k]; ok && old != uid {
					t.Fatalf("round %d: %s %s changed UID from %d to %d", round, folder, base, old, uid)
				}
				seenUID[k] = uid
				if uid >= n {
					t.Fatalf("round %d: %s UID %d not below UIDNEXT %d", round, folder, uid, n)
				}
			}
			for s, c := range subjects {
				count[s] += c
			}
		}
		for s, c := range count {
			if c > 1 {
				t.Fatalf("round %d: %q is stored %d times", round, s, c)
			}
		}
		for s := range acked {
			if count[s] == 0 && !expunging[s] {
				t.Fatalf("round %d: acknowledged message %q is lost", round, s)
			}
		}
	}
	if len(acked) < kills || len(expunging) == 0 {
		t.Fatalf("only %d messages acknowledged and %d expunged in %d rounds", len(acked), len(expunging), kills)
	}
	t.Logf("%d rounds, %d messages acknowledged, %d expunged", kills, len(acked), len(expunging))
}
