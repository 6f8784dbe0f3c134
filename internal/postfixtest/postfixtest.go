// Package postfixtest runs a private Postfix for tests: its own
// configuration, queue and mail log under the test's temporary directory,
// started and stopped by the test, never the system's /etc/postfix.
package postfixtest

import (
	"errors"
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

// Postfix is a private Postfix instance: its own configuration, queue and
// data directories under the test's temporary directory, no listening
// socket (mail is injected with sendmail), relaying everything to one host on
// loopback with retry timers of one or two seconds.
type Postfix struct {
	t         testing.TB
	dir       string
	postfix   string
	sendmail  string
	postqueue string
}

// Start starts an instance that relays every message to relay
// ("host:port") and stops it when the test ends.
func Start(t testing.TB, relay string) *Postfix {
	t.Helper()
	host, port, err := net.SplitHostPort(relay)
	if err != nil {
		t.Fatal(err)
	}
	p := &Postfix{t: t, postfix: peertest.LookPath(t, "postfix"), sendmail: peertest.LookPath(t, "sendmail"), postqueue: peertest.LookPath(t, "postqueue")}
	// Postfix's master must start as root to switch to mail_owner.
	peertest.RequireRoot(t, "a private Postfix")
	owner, err := user.Lookup("postfix")
	if err != nil {
		peertest.Unavailable(t, "no postfix user: %v", err)
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)

	p.dir = t.TempDir()
	// The Postfix daemons run as mail_owner and must reach the queue.
	for _, d := range []string{filepath.Dir(p.dir), p.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"etc", "spool", "data"} {
		if err := os.Mkdir(filepath.Join(p.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(p.dir, "data"), uid, gid); err != nil {
		t.Fatal(err)
	}
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = postfix.test.invalid
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
relayhost = [%[2]s]:%[3]s
smtp_dns_support_level = disabled
smtp_tls_security_level = none
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
`, p.dir, host, port)
	// Only unix-domain services: the instance listens on no TCP port.
	masterCF := `pickup    unix  n  -  n  60    1  pickup
cleanup   unix  n  -  n  -     0  cleanup
qmgr      unix  n  -  n  300   1  qmgr
rewrite   unix  -  -  n  -     -  trivial-rewrite
bounce    unix  -  -  n  -     0  bounce
defer     unix  -  -  n  -     0  bounce
trace     unix  -  -  n  -     0  bounce
verify    unix  -  -  n  -     1  verify
flush     unix  n  -  n  1000  0  flush
showq     unix  n  -  n  -     -  showq
error     unix  -  -  n  -     -  error
retry     unix  -  -  n  -     -  error
discard   unix  -  -  n  -     -  discard
smtp      unix  -  -  n  -     -  smtp
relay     unix  -  -  n  -     -  smtp
postlog   unix-dgram n  -  n  -  1  postlogd
`
	for name, text := range map[string]string{"main.cf": mainCF, "master.cf": masterCF} {
		if err := os.WriteFile(filepath.Join(p.dir, "etc", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.run(p.postfix, "-c", p.Etc(), "check")
	p.run(p.postfix, "-c", p.Etc(), "start")
	t.Cleanup(p.Stop)
	return p
}

// Etc is the instance's configuration directory, for postconf -c.
func (p *Postfix) Etc() string { return filepath.Join(p.dir, "etc") }

// run runs a Postfix command and fails the test, showing the mail log,
// when it fails.
func (p *Postfix) run(name string, args ...string) string {
	p.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s\nmaillog:\n%s", name, strings.Join(args, " "), err, out, p.Maillog())
	}
	return string(out)
}

// Maillog returns the instance's mail log.
func (p *Postfix) Maillog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "maillog"))
	return string(b)
}

// Stop stops the instance and waits for its master process to exit.
func (p *Postfix) Stop() {
	pidFile := filepath.Join(p.dir, "spool", "pid", "master.pid")
	pidText, _ := os.ReadFile(pidFile)
	exec.Command(p.postfix, "-c", p.Etc(), "stop").Run()
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
	if proc, err := os.FindProcess(pid); err == nil {
		proc.Kill()
	}
}

// Send injects a message with Postfix's sendmail.
func (p *Postfix) Send(from, to string, msg string) {
	p.t.Helper()
	cmd := exec.Command(p.sendmail, "-C", p.Etc(), "-f", from, "--", to)
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("sendmail: %v\n%s", err, out)
	}
}

// WaitEmpty waits up to within for the instance to deliver everything and
// reports whether it did. Postfix retries a deferred message by itself
// (minimal_backoff_time 1s here), but its queue manager sometimes skips a
// message it saw while the delivery agent still held it and then leaves
// it for longer than a test waits; from 10 s on, WaitEmpty therefore asks
// for a queue run every 5 s with postqueue -f, as an operator would. The
// retry is still Postfix's own, from its queue.
func (p *Postfix) WaitEmpty(within time.Duration) bool {
	p.t.Helper()
	start := time.Now()
	kick := start.Add(10 * time.Second)
	for !p.QueueEmpty() {
		now := time.Now()
		if now.Sub(start) > within {
			return false
		}
		if now.After(kick) {
			out, err := exec.Command(p.postqueue, "-c", p.Etc(), "-f").CombinedOutput()
			p.t.Logf("postqueue -f after %s: %v %s", now.Sub(start).Round(time.Second), err, out)
			kick = now.Add(5 * time.Second)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// QueueEmpty reports whether the instance has delivered everything.
func (p *Postfix) QueueEmpty() bool {
	out, err := exec.Command(p.postqueue, "-c", p.Etc(), "-p").CombinedOutput()
	return err == nil && strings.Contains(string(out), "Mail queue is empty")
}
