// Package peertest holds the one rule of Herald's interop tests about
// missing peers: a test whose real peer program (python3, swaks, curl,
// Postfix, redis-server, gsasl) cannot be used skips, unless the
// environment variable HERALD_INTEROP is "1", as CI sets it, in which case
// it fails, so that a missing install step cannot pass unnoticed.
package peertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Env is the environment variable that makes a missing peer a failure.
const Env = "HERALD_INTEROP"

// Unavailable ends the test because a peer cannot be used, for the reason
// given by format and args: it fails when HERALD_INTEROP=1, and skips
// otherwise.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if os.Getenv(Env) == "1" {
		t.Fatalf("%s, and %s=1 requires every interop peer", reason, Env)
	}
	t.Skip(reason)
}

// LookPath returns the path of the program name, looked up on PATH and then
// in /usr/sbin and /sbin; a name with a slash is checked as it is. A program
// that is not there ends the test with [Unavailable].
func LookPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if !strings.ContainsRune(name, '/') {
		// Debian installs the Postfix tools there, often off a user's PATH.
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
				return p
			}
		}
	}
	Unavailable(t, "%s is not installed", name)
	return ""
}

// RequireRoot ends the test with [Unavailable] unless it runs as root, as a
// private Postfix instance needs to start its master process.
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "%s needs root", what)
	}
}
