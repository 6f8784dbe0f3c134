// Package interop_test runs greylist end to end: Herald's smtp.Server with a
// greylist.Policy as its RCPT policy, and a real Postfix sending to it. It
// lives apart from package greylist so that greylist's own tests never depend
// on the smtp package.
package interop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/smtp"
)

// Herald's dnsmx.Resolver serves the greylist's host name whitelist.
var _ greylist.Resolver = dnsmx.Resolver(nil)

// backend is a Herald smtp.Backend that greylists every recipient and
// records what it decided and what it received.
type backend struct {
	policy *greylist.Policy

	mu        sync.Mutex
	decisions []greylist.Decision
	messages  [][]byte
}

func (b *backend) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	return &session{b: b, client: c.RemoteAddr.Addr()}, nil
}

type session struct {
	b      *backend
	client netip.Addr
	from   smtp.Path
	header string // X-Greylist value when a recipient passed after a delay
}

func (s *session) Mail(ctx context.Context, from smtp.Path, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(ctx context.Context, to smtp.Path, _ *smtp.RcptOptions) error {
	d, err := s.b.policy.Check(ctx, greylist.Request{Client: s.client, Sender: s.from.Mailbox(), Recipient: to.Mailbox()})
	if err != nil {
		return err // answered 451 4.3.0 by the server
	}
	s.b.mu.Lock()
	s.b.decisions = append(s.b.decisions, d)
	s.b.mu.Unlock()
	if r, ok := s.b.policy.Reply(d); ok {
		enh, err := smtp.ParseEnhancedCode(r.Enhanced)
		if err != nil {
			return err
		}
		return &smtp.Error{Code: smtp.ReplyCode(r.Code), Enhanced: enh, Message: r.Text}
	}
	if h, ok := s.b.policy.HeaderValue(d); ok {
		s.header = h
	}
	return nil
}

func (s *session) Data(ctx context.Context, r io.Reader) error {
	var msg bytes.Buffer
	if s.header != "" {
		msg.WriteString(greylist.HeaderName + ": " + s.header + "\r\n")
	}
	if _, err := io.Copy(&msg, r); err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, msg.Bytes())
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset(ctx context.Context) { s.from, s.header = smtp.Path{}, "" }
func (s *session) Close() error              { return nil }

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

// TestPostfixRetriesGreylisted sends one message from Postfix to Herald's
// SMTP server guarded by the greylist: the first attempt is deferred with
// 451 4.7.1, Postfix retries on its own schedule, the retry after the delay
// passes, and the message arrives exactly once.
func TestPostfixRetriesGreylisted(t *testing.T) {
	const delay = 2 * time.Second
	policy, err := greylist.New(&greylist.Options{
		Delay:       delay,
		RetryWindow: time.Minute,
		Hostname:    "herald.test.invalid",
	})
	if err != nil {
		t.Fatal(err)
	}
	be := &backend{policy: policy}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &smtp.Server{Backend: be, Hostname: "herald.test.invalid"}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})

	pf := startPostfix(t, l.Addr().String())
	const msgID = "<greylist-interop-1@postfix.test.invalid>"
	start := time.Now()
	pf.send("alice@example.org", "bob@example.net",
		"From: alice@example.org\nTo: bob@example.net\nSubject: greylist interop\nMessage-ID: "+msgID+"\n\nHello through the greylist.\n")

	deadline := time.Now().Add(60 * time.Second)
	for !pf.queueEmpty() {
		if time.Now().After(deadline) {
			t.Fatalf("Postfix did not deliver within 60 s\nmaillog:\n%s", pf.maillog())
		}
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(start)
	// Give a duplicate delivery, if any, time to arrive.
	time.Sleep(3 * time.Second)

	be.mu.Lock()
	decisions := append([]greylist.Decision(nil), be.decisions...)
	messages := append([][]byte(nil), be.messages...)
	be.mu.Unlock()

	if len(messages) != 1 {
		t.Fatalf("received %d messages, want exactly 1\nmaillog:\n%s", len(messages), pf.maillog())
	}
	if len(decisions) < 2 {
		t.Fatalf("%d RCPT decisions, want a deferral and a pass: %+v", len(decisions), decisions)
	}
	first, last := decisions[0], decisions[len(decisions)-1]
	if first.Action != greylist.Defer || first.Reason != greylist.ReasonNew {
		t.Errorf("first attempt: %v/%v, want defer/new", first.Action, first.Reason)
	}
	for i, d := range decisions[1 : len(decisions)-1] {
		if d.Action != greylist.Defer || d.Reason != greylist.ReasonEarly {
			t.Errorf("attempt %d: %v/%v, want defer/early", i+2, d.Action, d.Reason)
		}
	}
	if last.Action != greylist.Pass || last.Reason != greylist.ReasonRetried || last.Delayed < delay {
		t.Errorf("last attempt: %v/%v delayed %v, want pass/retried after at least %v", last.Action, last.Reason, last.Delayed, delay)
	}

	msg := string(messages[0])
	for _, want := range []string{
		"X-Greylist: delayed ",
		"by Herald greylist at herald.test.invalid;",
		"Message-ID: " + msgID,
		"Hello through the greylist.",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	// Postfix saw the deferral as Herald sent it, then the acceptance.
	log := pf.maillog()
	if !strings.Contains(log, "status=deferred") || !strings.Contains(log, "said: 451 4.7.1 Greylisted, please retry in 2 seconds") {
		t.Errorf("maillog lacks the greylisting deferral:\n%s", log)
	}
	if n := strings.Count(log, "status=sent"); n != 1 {
		t.Errorf("maillog shows %d deliveries, want 1:\n%s", n, log)
	}
	t.Logf("delivered after %v and %d attempts", elapsed.Round(100*time.Millisecond), len(decisions))
}
