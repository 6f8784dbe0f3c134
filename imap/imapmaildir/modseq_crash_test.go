package imapmaildir_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/maildir"
)

const modseqCrashEnv = "HERALD_IMAPMAILDIR_MODSEQ_CRASH_DIR"

// TestMain runs the helper process of TestModSeqCrash instead of the tests
// when modseqCrashEnv is set.
func TestMain(m *testing.M) {
	if dir := os.Getenv(modseqCrashEnv); dir != "" {
		modseqCrashHelper(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// modseqCrashHelper stores flags over IMAP in a loop until it is killed,
// printing "told <uid> <modseq> <flags>" for every FETCH response it
// read, that is once a client was told the value.
func modseqCrashHelper(dir string) {
	be := &imapmaildir.Backend{Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
		return maildir.OpenStore(filepath.Join(dir, identity), &maildir.Options{StaleLockTimeout: time.Second})
	}}
	srv := &imap.Server{Backend: be, Auth: testAuth()}
	cc, sc := net.Pipe()
	go srv.ServeConn(context.Background(), sc)
	r := bufio.NewReader(cc)
	out := bufio.NewWriter(os.Stdout)
	fail := func(err any) {
		fmt.Fprintln(os.Stderr, "panic:", err)
		os.Exit(2)
	}
	tag := 0
	do := func(cmd string) {
		tag++
		t := "h" + strconv.Itoa(tag)
		if _, err := cc.Write([]byte(t + " " + cmd + "\r\n")); err != nil {
			fail(err)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				fail(err)
			}
			l = strings.TrimRight(l, "\r\n")
			if m := fetchRe.FindStringSubmatch(l); m != nil {
				fmt.Fprintf(out, "told %s %s %s\n", m[1], m[3], m[2])
			}
			if strings.HasPrefix(l, t+" ") {
				if !strings.HasPrefix(l, t+" OK") {
					fail(l)
				}
				out.Flush()
				return
			}
		}
	}
	r.ReadString('\n')
	do("LOGIN alice secret")
	do("ENABLE CONDSTORE")
	do("SELECT INBOX")
	flags := []string{`\Flagged`, `\Seen`, `$Work`, `\Answered`}
	for n := 0; ; n++ {
		if n%2 == 0 {
			// Set and clear, so that a message is often back to the
			// flags of the last snapshot.
			op := "+"
			if n%4 == 2 {
				op = "-"
			}
			do(fmt.Sprintf("UID STORE %d %sFLAGS (\\Draft)", 1+(n/4)%10, op))
			continue
		}
		op := "+"
		if n%3 == 2 {
			op = "-"
		}
		do(fmt.Sprintf("UID STORE %d %sFLAGS (%s)", 1+n%10, op, flags[n%len(flags)]))
		if n%25 == 24 {
			// Writes the snapshot; the next change raises the mark.
			do("UNSELECT")
			do("SELECT INBOX")
		}
	}
}

func sortedFlags(s string) string {
	f := strings.Fields(strings.ReplaceAll(s, `\Recent`, ""))
	slices.Sort(f)
	return strings.Join(f, " ")
}

// TestModSeqCrash kills a process that stores flags with SIGKILL many
// times, and checks after each kill, with a new Backend over the folder,
// that HIGHESTMODSEQ is not below any mod-sequence a client was told, and
// that a message whose flags differ from any state a client was told of
// it has a mod-sequence above that state's, so a client resyncing with
// CHANGEDSINCE from there sees the change.
func TestModSeqCrash(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, &maildir.Options{StaleLockTimeout: time.Second})
	deliverN(t, f, 10)
	// Every state a client was told of each message: a client told one
	// resyncs from its mod-sequence.
	told := map[string][]msgState{}
	var maxTold uint64
	rng := rand.New(rand.NewPCG(3, 4))
	const kills = 8
	stores := 0
	for round := range kills {
		cmd := exec.Command(exe, "-test.count=1")
		cmd.Env = append(os.Environ(), modseqCrashEnv+"="+f.root)
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
			p := strings.SplitN(l, " ", 4)
			if len(p) < 3 || p[0] != "told" {
				continue
			}
			n, _ := strconv.ParseUint(p[2], 10, 64)
			fl := ""
			if len(p) == 4 {
				fl = p[3]
			}
			told[p[1]] = append(told[p[1]], msgState{sortedFlags(fl), n})
			maxTold = max(maxTold, n)
			stores++
		}

		g := restart(t, f)
		c := g.dial(t, "alice")
		h := highest(t, c.ok("SELECT INBOX (CONDSTORE)"))
		if h < maxTold {
			t.Fatalf("round %d: HIGHESTMODSEQ %d below %d, a value a client was told", round, h, maxTold)
		}
		for uid, st := range modseqsOf(t, c) {
			for _, was := range told[uid] {
				if sortedFlags(st.flags) != was.flags && st.modseq <= was.modseq {
					t.Fatalf("round %d: UID %s has %q at MODSEQ %d, a client was told %q at %d: CHANGEDSINCE %d misses the change", round, uid, st.flags, st.modseq, was.flags, was.modseq, was.modseq)
				}
			}
			if st.modseq > h {
				t.Fatalf("round %d: UID %s MODSEQ %d above HIGHESTMODSEQ %d", round, uid, st.modseq, h)
			}
			told[uid] = append(told[uid], msgState{sortedFlags(st.flags), st.modseq})
		}
		maxTold = max(maxTold, h)
		c.ok("UNSELECT")
	}
	if stores < kills {
		t.Fatalf("only %d stores in %d rounds", stores, kills)
	}
	t.Logf("%d rounds, %d stores told", kills, stores)
}
