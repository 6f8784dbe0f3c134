// Package imaptest starts a private Dovecot IMAP server on 127.0.0.1 for
// tests and benchmarks that compare Herald's imap server with the
// reference implementation.
package imaptest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// Dovecot is a running private Dovecot instance.
type Dovecot struct {
	// Addr is the host:port of its IMAP listener (no TLS).
	Addr string
	// Dir holds its configuration, state and mail.
	Dir string
	cmd *exec.Cmd
}

// StartDovecot starts Dovecot with the users and passwords given, each
// with an empty Maildir, and stops it when the test ends. Its own
// dovecot.conf, base_dir, state_dir and mail_location live under
// t.TempDir(); it listens on a free port of 127.0.0.1. A missing dovecot
// binary ends the test through peertest.
//
// Run as root, the login and internal processes run as the dovenull and
// dovecot users and mail is owned by nobody, as Dovecot refuses to run
// them as root; run as another user, every process runs as that user.
func StartDovecot(tb testing.TB, users map[string]string) *Dovecot {
	tb.Helper()
	bin := peertest.LookPath(tb, "dovecot")
	dir := tb.TempDir()
	for _, d := range []string{"run", "state", "mail", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	cur, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	loginUser, internalUser, internalGroup := cur.Username, cur.Username, groupName(tb, cur.Gid)
	uid, gid := cur.Uid, cur.Gid
	if os.Geteuid() == 0 {
		loginUser, internalUser, internalGroup = "dovenull", "dovecot", "dovecot"
		for _, n := range []string{"dovenull", "dovecot"} {
			if _, err := user.Lookup(n); err != nil {
				peertest.Unavailable(tb, "dovecot runs as root but user %s does not exist", n)
			}
		}
		uid, gid = "65534", "65534"
		// The mail processes run as nobody: open the way to the mail.
		for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
			if strings.HasPrefix(p, os.TempDir()) && p != os.TempDir() {
				os.Chmod(p, 0o755)
			}
		}
		for _, d := range []string{"mail", "home"} {
			os.Chown(filepath.Join(dir, d), 65534, 65534)
		}
	}
	var pw strings.Builder
	for name, pass := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s:%s:%s::%s\n", name, pass, uid, gid, filepath.Join(dir, "home", name))
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	port := freePort(tb)
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = herald-test-%[2]d
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:%[1]s/mail/%%u
default_login_user = %[3]s
default_internal_user = %[4]s
default_internal_group = %[5]s
first_valid_uid = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  chroot =
}
`, dir, port, loginUser, internalUser, internalGroup)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	d := &Dovecot{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, cmd: cmd}
	tb.Cleanup(d.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "* OK") {
				return d
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			tb.Fatalf("dovecot did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *Dovecot) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
}

// Pid returns the process id of the Dovecot master; its imap processes are
// its children.
func (d *Dovecot) Pid() int { return d.cmd.Process.Pid }

func groupName(tb testing.TB, gid string) string {
	g, err := user.LookupGroupId(gid)
	if err != nil {
		return gid
	}
	return g.Name
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
