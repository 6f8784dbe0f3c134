package peertest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a helper ended the test instead
// of ending it; Skip and Fatalf stop the helper with runtime.Goexit, as the
// real ones do, so the call runs in its own goroutine.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func run(f func(t testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestLookPath(t *testing.T) {
	peers := map[string]Peer{
		"sh":                     {"sh", []string{"dash"}},
		"herald-no-such-program": {"herald-no-such-program", []string{"herald"}},
	}
	if p := lookPathIn(t, peers, "sh"); !strings.HasSuffix(p, "/sh") {
		t.Errorf("LookPath(sh) = %q", p)
	}
	t.Setenv(Env, "")
	if r := run(func(t testing.TB) { lookPathIn(t, peers, "herald-no-such-program") }); !r.skipped || r.failed {
		t.Errorf("missing program without %s: skipped %v, failed %v", Env, r.skipped, r.failed)
	}
	t.Setenv(Env, "1")
	if r := run(func(t testing.TB) { lookPathIn(t, peers, "herald-no-such-program") }); !r.failed || r.skipped {
		t.Errorf("missing program with %s=1: skipped %v, failed %v", Env, r.skipped, r.failed)
	}
	if r := run(func(t testing.TB) { lookPathIn(t, peers, "/no/such/dir/sh") }); !r.failed {
		t.Errorf("missing absolute path with %s=1 did not fail", Env)
	}
}

func TestLookPathRefusesUnlistedPrograms(t *testing.T) {
	t.Setenv(Env, "")
	// sh is installed, but a program off the list fails even when
	// HERALD_INTEROP is not set, naming the list.
	r := run(func(t testing.TB) { lookPathIn(t, map[string]Peer{}, "sh") })
	if !r.failed || r.skipped {
		t.Fatalf("unlisted program: skipped %v, failed %v", r.skipped, r.failed)
	}
	if !strings.Contains(r.msg, ListFile) || !strings.Contains(r.msg, `"sh"`) {
		t.Errorf("message %q does not name the program and %s", r.msg, ListFile)
	}
	// A path is checked by its base name.
	r = run(func(t testing.TB) { lookPathIn(t, map[string]Peer{}, "/bin/sh") })
	if !r.failed {
		t.Errorf("unlisted path /bin/sh did not fail")
	}
}

func TestUnavailableSaysWhy(t *testing.T) {
	t.Setenv(Env, "")
	r := run(func(t testing.TB) { Unavailable(t, "%s is not installed", "swaks") })
	if !r.skipped || r.msg != "swaks is not installed" {
		t.Errorf("skipped %v with %q", r.skipped, r.msg)
	}
}

func TestParseList(t *testing.T) {
	peers, err := ParseList(strings.NewReader("# comment\n\npython3 python3\n  dovecot\tdovecot-core dovecot-imapd\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(peers["dovecot"].Packages); got != "[dovecot-core dovecot-imapd]" || len(peers) != 2 {
		t.Errorf("peers = %v", peers)
	}
	for _, bad := range []string{"mutt\n", "mutt mutt\nmutt mutt\n", "/usr/sbin/postfix postfix\n"} {
		if _, err := ParseList(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseList(%q) succeeded", bad)
		}
	}
}
