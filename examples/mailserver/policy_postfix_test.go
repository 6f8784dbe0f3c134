package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/internal/peertest"
)

// postfix is a private Postfix instance: its own configuration, queue and
// data directories under the test's temporary directory, no listening
// socket (mail is injected with sendmail), relaying everything to Herald on
// loopback with retry timers of one or two seconds.
type postfix struct {
	t         *testing.T
	dir       string
	postfix   string
	sendmail  string
	postqueue string
}

func startPostfix(t *testing.T, relay string) *postfix {
	t.Helper()
	host, port, err := net.SplitHostPort(relay)
	if err != nil {
		t.Fatal(err)
	}
	p := &postfix{t: t, postfix: peertest.LookPath(t, "postfix"), sendmail: peertest.LookPath(t, "sendmail"), postqueue: peertest.LookPath(t, "postqueue")}
	// Postfix's master must start as root to switch to mail_owner.
	peertest.RequireRoot(t, "a private Postfix")
	owner, err := osuser.Lookup("postfix")
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
	p.run(p.postfix, "-c", p.etc(), "check")
	p.run(p.postfix, "-c", p.etc(), "start")
	t.Cleanup(p.stop)
	return p
}

func (p *postfix) etc() string { return filepath.Join(p.dir, "etc") }

// run runs a Postfix command and fails the test, showing the mail log,
// when it fails.
func (p *postfix) run(name string, args ...string) string {
	p.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s\nmaillog:\n%s", name, strings.Join(args, " "), err, out, p.maillog())
	}
	return string(out)
}

func (p *postfix) maillog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "maillog"))
	return string(b)
}

// stop stops the instance and waits for its master process to exit.
func (p *postfix) stop() {
	pidFile := filepath.Join(p.dir, "spool", "pid", "master.pid")
	pidText, _ := os.ReadFile(pidFile)
	exec.Command(p.postfix, "-c", p.etc(), "stop").Run()
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

// send injects a message with Postfix's sendmail.
func (p *postfix) send(from, to string, msg string) {
	p.t.Helper()
	cmd := exec.Command(p.sendmail, "-C", p.etc(), "-f", from, "--", to)
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("sendmail: %v\n%s", err, out)
	}
}

func (p *postfix) queueEmpty() bool {
	out, err := exec.Command(p.postqueue, "-c", p.etc(), "-p").CombinedOutput()
	return err == nil && strings.Contains(string(out), "Mail queue is empty")
}

// TestPolicyGreylistPostfix: a real Postfix (a private instance with its
// own queue, relaying to the MX port) is deferred once with 451 4.7.1 by
// greylisting and delivers on its own retry after -greylist-delay; the
// message arrives once with X-Greylist. The triplet is then known and passes
// at once, and a client in -relay-networks is never greylisted.
func TestPolicyGreylistPostfix(t *testing.T) {
	in := newInstance(t, nil, "-greylist", "-greylist-delay", "2s", "-relay-networks", "127.0.0.4")
	in.start()
	in.addUser("alice@example.test", alicePW)
	pf := startPostfix(t, in.addr["smtp"])
	pf.send("someone@remote.test", "alice@example.test",
		"From: someone@remote.test\nTo: alice@example.test\nSubject: greylisted\nMessage-ID: <grey-1@remote.test>\n\nHello through the greylist.\n")
	deadline := time.Now().Add(60 * time.Second)
	for !pf.queueEmpty() {
		require.True(t, time.Now().Before(deadline), "Postfix did not deliver within 60 s\nmaillog:\n%s\nserver log:\n%s", pf.maillog(), in.log.String())
		time.Sleep(200 * time.Millisecond)
	}
	msgs := in.waitInbox("alice@example.test", 1, 10*time.Second)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "Subject: greylisted")
	require.Regexp(t, `X-Greylist: delayed [0-9]+ seconds by Herald greylist at\s+mx.example.test;`, msgs[0])
	log := pf.maillog()
	require.Contains(t, log, "said: 451 4.7.1 Greylisted, please retry in 2 seconds", log)
	require.Equal(t, 1, strings.Count(log, "status=sent"), log)
	in.waitLog(`check=greylist result=defer action=defer reason="new: someone@remote.test from 127.0.0.0/24 to alice@example.test"`)
	in.waitLog(`check=greylist result=pass action=accept reason="retried: someone@remote.test`)

	// The triplet passed: its next message is not delayed.
	_, rcpt, data := dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "Subject: again\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	in.waitLog(`check=greylist result=pass action=accept reason="known: someone@remote.test`)
	// A new triplet is deferred, unless the client is in -relay-networks.
	_, rcpt, _ = dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "other@remote.test", "alice@example.test", "Subject: new\n\nHello.")
	require.Regexp(t, `^451 4.7.1 Greylisted, please retry in 2 seconds`, rcpt)
	_, rcpt, data = dialFrom(t, "127.0.0.4", in.addr["smtp"]).sendMX("client.test", "third@remote.test", "alice@example.test", "Subject: trusted\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	msgs = in.waitInbox("alice@example.test", 3, 10*time.Second)
	for _, m := range msgs {
		if strings.Contains(m, "Subject: trusted") {
			require.NotContains(t, m, "X-Herald-Spam", "relay-networks clients skip the policy")
			require.NotContains(t, m, "Received-SPF")
		}
	}
	m := scrape(t, in)
	require.GreaterOrEqual(t, m[policyMetric("greylist", "defer")], 2.0)
	require.Equal(t, 2.0, m[policyMetric("greylist", "pass")])
	in.stop()
}

// TestPolicyGreylistSurvivesRestart: the in-memory greylist is saved at
// shutdown and loaded at start, so a retry after a restart passes as a
// retry instead of being deferred as new.
func TestPolicyGreylistSurvivesRestart(t *testing.T) {
	in := newInstance(t, nil, "-greylist", "-greylist-delay", "1s")
	in.start()
	in.addUser("alice@example.test", alicePW)
	_, rcpt, _ := dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "")
	require.Regexp(t, `^451 4.7.1 Greylisted`, rcpt)
	in.stop()
	_, err := os.Stat(filepath.Join(in.dir, "greylist.snapshot"))
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)
	in.start()
	_, rcpt, data := dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "Subject: after restart\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	in.waitLog(`check=greylist result=pass action=accept reason="retried: someone@remote.test`)
	in.stop()
}
