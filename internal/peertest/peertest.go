// Package peertest holds the rules of Herald's interop tests about their
// peers, the real programs they talk to (python3, swaks, Postfix, Dovecot,
// ...).
//
// Every peer is named in one list, the file .ci/peers at the top of the
// repository, with the Debian packages that install it; .ci/run installs
// exactly those packages. [LookPath] refuses a program that is not on the
// list, so a test cannot start to depend on a peer that CI would not
// install. A listed peer that is missing skips its test, unless the
// environment variable HERALD_INTEROP is "1", as CI sets it, in which case
// the test fails, so that a missing install step cannot pass unnoticed.
package peertest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Env is the environment variable that makes a missing peer a failure.
const Env = "HERALD_INTEROP"

// ListFile is the peer list's path relative to the repository's top.
const ListFile = ".ci/peers"

// A Peer is one line of the peer list: a program and the Debian packages
// that install it.
type Peer struct {
	Program  string
	Packages []string
}

// ParseList reads a peer list: one program a line followed by one or more
// package names, separated by white space; blank lines and lines starting
// with '#' are ignored. A program listed twice or without a package is an
// error.
func ParseList(r io.Reader) (map[string]Peer, error) {
	peers := make(map[string]Peer)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: program %q names no package", n, f[0])
		}
		if strings.ContainsRune(f[0], '/') {
			return nil, fmt.Errorf("line %d: %q: list programs by their base name", n, f[0])
		}
		if _, dup := peers[f[0]]; dup {
			return nil, fmt.Errorf("line %d: program %q is listed twice", n, f[0])
		}
		peers[f[0]] = Peer{Program: f[0], Packages: f[1:]}
	}
	return peers, sc.Err()
}

// FindList returns the path of the peer list, looked for in the working
// directory and each of its parents, as a test runs in its package's
// directory somewhere below the repository's top.
func FindList() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ListFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in the working directory or above it", ListFile)
		}
		dir = parent
	}
}

var list struct {
	once  sync.Once
	peers map[string]Peer
	err   error
}

// List returns the repository's peer list, read once.
func List() (map[string]Peer, error) {
	list.once.Do(func() {
		p, err := FindList()
		if err != nil {
			list.err = err
			return
		}
		f, err := os.Open(p)
		if err != nil {
			list.err = err
			return
		}
		defer f.Close()
		if list.peers, err = ParseList(f); err != nil {
			list.err = fmt.Errorf("%s: %v", p, err)
		}
	})
	return list.peers, list.err
}

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

// LookPath returns the path of the peer program name, looked up on PATH and
// then in /usr/sbin and /sbin; a name with a slash is checked as it is.
//
// A program that is not on the peer list fails the test at once, whatever
// HERALD_INTEROP says: add it to .ci/peers with its package. A listed
// program that is not installed ends the test with [Unavailable].
func LookPath(t testing.TB, name string) string {
	t.Helper()
	peers, err := List()
	if err != nil {
		Unavailable(t, "cannot read the peer list: %v", err)
		return ""
	}
	return lookPathIn(t, peers, name)
}

func lookPathIn(t testing.TB, peers map[string]Peer, name string) string {
	t.Helper()
	p, err := lookPath(peers, name)
	if err != nil {
		if _, listed := err.(*notInstalled); listed {
			Unavailable(t, "%v", err)
		} else {
			t.Fatalf("%v", err)
		}
		return ""
	}
	return p
}

// notInstalled is the error of a listed peer that is not installed.
type notInstalled struct{ name string }

func (e *notInstalled) Error() string { return e.name + " is not installed" }

func lookPath(peers map[string]Peer, name string) (string, error) {
	base := filepath.Base(name)
	if _, ok := peers[base]; !ok {
		return "", fmt.Errorf("peer program %q is not on the peer list %s: add it there with the Debian package that installs it, so that .ci/run installs it", base, ListFile)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if !strings.ContainsRune(name, '/') {
		// Debian installs the Postfix tools there, often off a user's PATH.
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
				return p, nil
			}
		}
	}
	return "", &notInstalled{name}
}

// RequireRoot ends the test with [Unavailable] unless it runs as root, as a
// private Postfix instance needs to start its master process.
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "%s needs root", what)
	}
}
