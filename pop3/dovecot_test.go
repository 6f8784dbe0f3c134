package pop3_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// dovecot is a private Dovecot pop3d on 127.0.0.1 for tests: its own
// configuration, base_dir, passwd-file and Maildir under a temporary
// directory, in the foreground (-F).
type dovecot struct {
	Addr    string
	Maildir string // the test user's Maildir, to fill before connecting
	log     string
}

// startDovecot starts Dovecot serving the user "alice" with password
// "secret" from a Maildir under dir. As root, the mail processes run as
// nobody (Dovecot refuses mail access as UID 0); otherwise everything runs
// as the current user.
func startDovecot(t testing.TB, dir string) *dovecot {
	t.Helper()
	bin := peertest.LookPath(t, "dovecot")
	uid, gid := os.Getuid(), os.Getgid()
	loginUser := ""
	if cur, err := user.Current(); err == nil {
		loginUser = cur.Username
	}
	if uid == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			peertest.Unavailable(t, "no user nobody for Dovecot's mail processes: %v", err)
		}
		uid, _ = strconv.Atoi(nobody.Uid)
		gid, _ = strconv.Atoi(nobody.Gid)
		loginUser = nobody.Username
	}
	// The mail user must reach the tree, t.TempDir's 0700 parents included.
	for d := dir; d != "/" && d != "." && strings.HasPrefix(d, os.TempDir()); d = filepath.Dir(d) {
		if d == os.TempDir() {
			break
		}
		os.Chmod(d, 0o755)
	}
	home := filepath.Join(dir, "home")
	maildir := filepath.Join(home, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"run", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("alice:{PLAIN}secret::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	logFile := filepath.Join(dir, "dovecot.log")
	conf := fmt.Sprintf(`
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[2]s
info_log_path = %[2]s
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = %[3]s
default_internal_user = %[3]s
default_internal_group = %[8]s
first_valid_uid = %[4]d
first_valid_gid = %[5]d
mail_location = maildir:~/Maildir
pop3_uidl_format = %%f
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[6]s
}
userdb {
  driver = static
  args = uid=%[4]d gid=%[5]d home=%[1]s/home
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[7]d
  }
  inet_listener pop3s {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
`, dir, logFile, loginUser, uid, gid, passwd, port, groupName(gid))
	confFile := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				os.Chown(p, uid, gid)
			}
			return nil
		})
	}
	cmd := exec.Command(bin, "-F", "-c", confFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &dovecot{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Maildir: maildir, log: logFile}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("dovecot output:\n%s\nlog:\n%s", out.String(), b)
		}
	})
	// Wait for the greeting.
	deadline := time.Now().Add(15 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err == nil {
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			l, _ := bufio.NewReader(nc).ReadString('\n')
			nc.Close()
			if strings.HasPrefix(l, "+OK") {
				return d
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile)
			t.Fatalf("dovecot did not start: %v\n%s\n%s", err, out.String(), b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// deliverMaildir writes msg into the Maildir's cur directory under name,
// readable by the mail user.
func deliverMaildir(t testing.TB, maildir, name string, msg []byte) {
	t.Helper()
	p := filepath.Join(maildir, "cur", name+":2,")
	if err := os.WriteFile(p, msg, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if fi, err := os.Stat(maildir); err == nil {
			if st, ok := statOwner(fi); ok {
				os.Chown(p, st[0], st[1])
			}
		}
	}
}
