package managesieve_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// startDovecotSieve starts a private Dovecot ManageSieve server (Pigeonhole)
// on a free port of 127.0.0.1, with its own configuration, state and homes
// under t.TempDir(), the users in a passwd-file, and returns its address.
// As root, the login and internal processes run as dovenull and dovecot
// and the homes belong to nobody; otherwise everything runs as the current
// user. /etc/dovecot is never read. The homes are dir/home/USER, with the
// scripts in the layout of "sieve = file:~/sieve;active=~/.dovecot.sieve".
func startDovecotSieve(t *testing.T, users map[string]string) (addr, homes string) {
	t.Helper()
	bin := peertest.LookPath(t, "dovecot")
	dir := t.TempDir()
	for _, d := range []string{"run", "state", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	loginUser, internalUser, internalGroup := "", "", ""
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		loginUser, internalUser, internalGroup = "dovenull", "dovecot", "dovecot"
		uid, gid = 65534, 65534
		for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
			if strings.HasPrefix(p, os.TempDir()) && p != os.TempDir() {
				os.Chmod(p, 0o755)
			}
		}
	} else {
		u := os.Getenv("USER")
		if u == "" {
			peertest.Unavailable(t, "no $USER for Dovecot's processes")
		}
		loginUser, internalUser, internalGroup = u, u, strconv.Itoa(gid)
	}
	var pw strings.Builder
	for name, pass := range users {
		home := filepath.Join(dir, "home", name)
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chown(home, uid, gid)
		fmt.Fprintf(&pw, "%s:{PLAIN}%s:%d:%d::%s\n", name, pass, uid, gid, home)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = herald-managesieve-%[2]d
log_path = %[1]s/dovecot.log
protocols = sieve
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
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
service managesieve-login {
  chroot =
  inet_listener sieve {
    address = 127.0.0.1
    port = %[2]d
  }
}
service anvil {
  chroot =
}
service stats {
  chroot =
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
`, dir, port, loginUser, internalUser, internalGroup)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot log:\n%s", b)
		}
	})
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			var line string
			for err == nil && !strings.HasPrefix(line, "OK") {
				line, err = br.ReadString('\n')
			}
			c.Close()
			if err == nil {
				return addr, filepath.Join(dir, "home")
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not start: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
