package maildir

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a second process delivering into
// a Maildir (see helperProcess).
const helperEnv = "HERALD_MAILDIR_HELPER"

// helperProcess is the second process of the tests below: TestMain runs
// it instead of the tests when helperEnv is set, and it delivers messages
// into the Maildir named in its environment, then exits.
func helperProcess(mode string) {
	dir := os.Getenv("HERALD_MAILDIR_DIR")
	m, err := Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	switch mode {
	case "deliver":
		n, _ := strconv.Atoi(os.Getenv("HERALD_MAILDIR_N"))
		for i := range n {
			if _, err := m.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: child %d\n\nx\n", i)), nil); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			if i%5 == 0 {
				if _, err := m.Sync(ctx, nil); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
			}
		}
	case "hang":
		// Deliver from stdin, which never ends: the parent kills us
		// while the message is in tmp/.
		m.Deliver(ctx, io.MultiReader(strings.NewReader("Subject: never\n\n"), os.Stdin), nil)
	}
	os.Exit(0)
}

func helper(t *testing.T, mode, dir string, n int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "HERALD_MAILDIR_DIR="+dir, "HERALD_MAILDIR_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	return cmd
}

// TestConcurrentDeliveries has goroutines of this process and a second
// process deliver into one folder while others sync and set flags; every
// message must end up with its own UID, none lost, and UIDs must survive
// the flag changes.
func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newTestMaildir(t, nil)
	const (
		goroutines = 8
		each       = 15
		childN     = 40
	)
	child := helper(t, "deliver", m.Dir(), childN)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// A second Maildir value for the same directory, as a second
	// connection in the same process would have.
	other, err := Open(m.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg gosync.WaitGroup
	errs := make(chan error, goroutines*each*2)
	for g := range goroutines {
		wg.Go(func() {
			md := m
			if g%2 == 1 {
				md = other
			}
			for i := range each {
				msg, err := md.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: %d-%d\n\nx\n", g, i)), nil)
				if err != nil {
					errs <- err
					return
				}
				if msg.UID == 0 {
					errs <- fmt.Errorf("delivery without UID")
				}
				if _, err := md.SetFlags(ctx, []uint32{msg.UID}, FlagsAdd, "S", []string{fmt.Sprintf("k%d", g%3)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := other.Sync(ctx, &SyncOptions{ClaimNew: true}); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	if err := child.Wait(); err != nil {
		t.Fatalf("child process: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := syncT(t, m, nil)
	want := goroutines*each + childN
	if len(s.Messages) != want {
		t.Fatalf("%d messages, want %d", len(s.Messages), want)
	}
	seen := map[uint32]bool{}
	for i, msg := range s.Messages {
		if seen[msg.UID] || msg.UID == 0 || i > 0 && msg.UID <= s.Messages[i-1].UID {
			t.Fatalf("UID %d duplicated or out of order", msg.UID)
		}
		seen[msg.UID] = true
	}
	// A fresh reader (as Dovecot would) agrees on every UID.
	fresh, _ := Open(m.Dir(), nil)
	s2 := syncT(t, fresh, nil)
	for i := range s.Messages {
		if s2.Messages[i].UID != s.Messages[i].UID || s2.Messages[i].Key != s.Messages[i].Key {
			t.Fatalf("fresh reader disagrees at %d: %+v vs %+v", i, s2.Messages[i], s.Messages[i])
		}
	}
	if s.UIDNext != uint32(want)+1 {
		t.Errorf("UIDNext = %d, want %d", s.UIDNext, want+1)
	}
}

// TestKilledDelivery kills a process in the middle of a delivery: its tmp/
// file is no message, and nothing reaches new/.
func TestKilledDelivery(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	cmd := helper(t, "hang", m.Dir(), 0)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("partial body\n"))
	tmp := filepath.Join(m.Dir(), "tmp")
	deadline := time.Now().Add(30 * time.Second)
	for {
		names := dirNames(t, tmp)
		if len(names) == 1 {
			if fi, err := os.Stat(filepath.Join(tmp, names[0])); err == nil && fi.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("helper never wrote its tmp file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if s := syncT(t, m, nil); len(s.Messages) != 0 {
		t.Fatalf("killed delivery became a message: %+v", s.Messages)
	}
	if got := dirNames(t, filepath.Join(m.Dir(), "new")); len(got) != 0 {
		t.Errorf("new/ = %q", got)
	}
}
