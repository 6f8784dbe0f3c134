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
	r.failed, r.msg = true, format
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
	if p := LookPath(t, "sh"); !strings.HasSuffix(p, "/sh") {
		t.Errorf("LookPath(sh) = %q", p)
	}
	t.Setenv(Env, "")
	if r := run(func(t testing.TB) { LookPath(t, "herald-no-such-program") }); !r.skipped || r.failed {
		t.Errorf("missing program without %s: skipped %v, failed %v", Env, r.skipped, r.failed)
	}
	t.Setenv(Env, "1")
	if r := run(func(t testing.TB) { LookPath(t, "herald-no-such-program") }); !r.failed || r.skipped {
		t.Errorf("missing program with %s=1: skipped %v, failed %v", Env, r.skipped, r.failed)
	}
	if r := run(func(t testing.TB) { LookPath(t, "/no/such/dir/sh") }); !r.failed {
		t.Errorf("missing absolute path with %s=1 did not fail", Env)
	}
}

func TestUnavailableSaysWhy(t *testing.T) {
	t.Setenv(Env, "")
	r := run(func(t testing.TB) { Unavailable(t, "%s is not installed", "swaks") })
	if !r.skipped || r.msg != "swaks is not installed" {
		t.Errorf("skipped %v with %q", r.skipped, r.msg)
	}
}
