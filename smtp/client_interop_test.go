package smtp_test

import (
	"bytes"
	"context"
	"crypto/tls"
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
	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// cliNeed returns the path of a Postfix program, skipping the test when it
// is missing unless HERALD_INTEROP=1 asks for failure instead.
func cliNeed(t *testing.T, path string) string {
	t.Helper()
	return peertest.LookPath(t, path)
}

// cliFreePort returns a loopback port that was free a moment ago.
func cliFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cliWaitListening polls addr until it accepts a connection; the peer
// program gives no other sign that it is ready.
func cliWaitListening(t *testing.T, addr string, cmdDone <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-cmdDone:
			t.Fatalf("peer exited before listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cliWorldDir makes dir, and the directory the test framework created it
// in, reachable by unprivileged peer processes.
func cliWorldDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cliSink starts Postfix's smtp-sink on a free loopback port with the
// given options, dumping each message into a file of the returned
// directory. It stops when the test ends.
func cliSink(t *testing.T, opts ...string) (addr, dumps string) {
	t.Helper()
	bin := cliNeed(t, "/usr/sbin/smtp-sink")
	dumps = cliWorldDir(t, 0o777)
	addr = "127.0.0.1:" + strconv.Itoa(cliFreePort(t))
	args := []string{"-d", dumps + "/%M%S."}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(append(args, opts...), addr, "64")
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("smtp-sink stderr: %s", stderr.String())
		}
	})
	cliWaitListening(t, addr, done)
	return addr, dumps
}

// cliDumps returns the messages smtp-sink wrote, in no particular order.
func cliDumps(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestClientInteropSmtpSink sends through the client to smtp-sink with its
// options that refuse recipients, turn off PIPELINING, ESMTP and DSN, and
// speak LMTP.
func TestClientInteropSmtpSink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	body := "Subject: interop\r\n\r\nline one\r\n.starts with a dot\r\n\r\n"
	dsnEnv := func() *smtp.Envelope {
		env := cliEnv("a@example.org", "b@example.net", "c@example.net")
		env.Options = smtp.MailOptions{Return: smtp.ReturnHeaders, EnvelopeID: "id=1"}
		env.To[0].Options = smtp.RcptOptions{Notify: smtp.NotifyFailure | smtp.NotifyDelay, OriginalRecipient: "b@example.net"}
		return env
	}
	tests := []struct {
		name  string
		sink  []string
		opts  smtp.ClientOptions
		check func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string)
	}{
		{
			name: "default",
			check: func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string) {
				if err != nil || res.Delivered() != 2 || !c.Capabilities().Pipelining || !c.Capabilities().DSN {
					t.Fatalf("%v %+v %+v", err, res, c.Capabilities())
				}
				if len(dumps) != 1 || !strings.Contains(dumps[0], "X-Mail-Args: <a@example.org> RET=HDRS ENVID=id+3D1") ||
					!strings.Contains(dumps[0], "X-Rcpt-Args: <b@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.net") ||
					!strings.Contains(dumps[0], "\n\nline one\n.starts with a dot\n\n") {
					t.Fatalf("dump %q", dumps)
				}
			},
		},
		{
			name: "no PIPELINING", sink: []string{"-p"},
			check: func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string) {
				if err != nil || res.Delivered() != 2 || c.Capabilities().Pipelining || len(dumps) != 1 {
					t.Fatalf("%v %+v", err, res)
				}
			},
		},
		{
			name: "no ESMTP", sink: []string{"-e"},
			check: func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string) {
				if err != nil || res.Delivered() != 2 || c.Capabilities().Keywords != nil || len(dumps) != 1 {
					t.Fatalf("%v %+v", err, res)
				}
				// HELO: no parameters at all.
				if !strings.Contains(dumps[0], "X-Mail-Args: <a@example.org>\n") || !strings.Contains(dumps[0], "X-Rcpt-Args: <b@example.net>\n") {
					t.Fatalf("dump %q", dumps[0])
				}
			},
		},
		{
			name: "no DSN", sink: []string{"-N"},
			check: func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string) {
				if err != nil || res.Delivered() != 2 || len(dumps) != 1 || strings.Contains(dumps[0], "RET=") || strings.Contains(dumps[0], "NOTIFY=") {
					t.Fatalf("%v %q", err, dumps)
				}
			},
		},
		{
			name: "RCPT refused", sink: []string{"-f", "RCPT"},
			check: func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string) {
				ce := asCommandError(t, err)
				if ce.Command != "RCPT" || ce.Temporary() || res.Recipients[1].Reply.Code/100 != 5 || len(dumps) != 0 {
					t.Fatalf("%v %+v", err, res)
				}
				// The session goes on after the refusal.
				if err := c.Noop(ctx); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "RCPT deferred", sink: []string{"-r", "RCPT"},
			check: func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string) {
				if ce := asCommandError(t, err); ce.Command != "RCPT" || !ce.Temporary() || len(dumps) != 0 {
					t.Fatalf("%v %+v", err, res)
				}
			},
		},
		{
			name: "LMTP", sink: []string{"-L"}, opts: smtp.ClientOptions{LMTP: true},
			check: func(t *testing.T, c *smtp.Client, res *smtp.SendResult, err error, dumps []string) {
				if err != nil || res.Delivered() != 2 || res.Data != nil || len(dumps) != 1 {
					t.Fatalf("%v %+v", err, res)
				}
				for _, r := range res.Recipients {
					if r.Reply.Code != 250 {
						t.Errorf("%+v", r.Reply)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, dir := cliSink(t, tt.sink...)
			opts := tt.opts
			opts.LocalName = "client.test"
			c, err := smtp.Dial(ctx, addr, &opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res, err := c.Send(ctx, dsnEnv(), strings.NewReader(body))
			tt.check(t, c, res, err, cliDumps(t, dir))
			if err := c.Quit(ctx); err != nil {
				t.Errorf("Quit: %v", err)
			}
		})
	}
	t.Run("AUTH", func(t *testing.T) {
		t.Parallel()
		addr, _ := cliSink(t)
		for _, cl := range []sasl.Client{sasl.NewPlainClient("", "user", "pass"), sasl.NewLoginClient("user", "pass")} {
			c, err := smtp.Dial(ctx, addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Auth(ctx, cl); err != nil {
				t.Fatalf("%T: %v", cl, err)
			}
			c.Quit(ctx)
		}
	})
	t.Run("many messages", func(t *testing.T) {
		t.Parallel()
		addr, dir := cliSink(t)
		c, err := smtp.Dial(ctx, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 50 {
			msg := fmt.Sprintf("Subject: %d\r\n\r\n%s", i, strings.Repeat("x", i*100))
			if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(msg)); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		c.Quit(ctx)
		if n := len(cliDumps(t, dir)); n != 50 {
			t.Fatalf("%d dumps", n)
		}
	})
}

// cliPostfix starts a private Postfix: its own config and queue
// directories, smtpd on a free loopback port with STARTTLS on a test
// certificate and CHUNKING on, refusing unknown@example.net and deferring
// grey@example.net, and delivering every message into a file of the
// returned directory through a pipe transport.
func cliPostfix(t *testing.T) (addr, delivered string) {
	t.Helper()
	postfixBin := cliNeed(t, "/usr/sbin/postfix")
	cliNeed(t, "/usr/lib/postfix/sbin/master")
	peertest.RequireRoot(t, "a private Postfix")
	pf, err := user.Lookup("postfix")
	if err != nil {
		peertest.Unavailable(t, "no postfix user: %v", err)
	}
	uid, _ := strconv.Atoi(pf.Uid)
	root := cliWorldDir(t, 0o755)
	conf, queue, data := filepath.Join(root, "conf"), filepath.Join(root, "queue"), filepath.Join(root, "data")
	// The pipe transport writes each message into spool and then moves
	// it into delivered, so that the test never reads half a file.
	delivered, spool := filepath.Join(root, "mail"), filepath.Join(root, "spool")
	for _, d := range []string{conf, queue, data, delivered, spool} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chown(data, uid, -1)
	os.Chmod(delivered, 0o777)
	os.Chmod(spool, 0o777)
	ct := cliTestTLS(t)
	os.WriteFile(filepath.Join(conf, "cert.pem"), ct.certPEM, 0o644)
	os.WriteFile(filepath.Join(conf, "key.pem"), ct.keyPEM, 0o600)
	port := cliFreePort(t)
	addr = "127.0.0.1:" + strconv.Itoa(port)
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s
data_directory = %[2]s
maillog_file = /dev/stdout
mail_owner = postfix
myhostname = mx.test
mydomain = test
myorigin = mx.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = example.net
default_transport = dump:
relay_transport = dump:
dump_destination_recipient_limit = 1
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access inline:{unknown@example.net=REJECT, grey@example.net=DEFER_IF_PERMIT}
smtpd_tls_security_level = may
smtpd_tls_cert_file = %[3]s/cert.pem
smtpd_tls_key_file = %[3]s/key.pem
smtputf8_enable = yes
`, queue, data, conf)
	masterCF := fmt.Sprintf(`%[1]s inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
anvil     unix  - - n - 1 anvil
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
dump      unix  - n n - - pipe
  user=nobody argv=/bin/sh -c { cat >%[3]s/${queue_id}.${recipient} && mv %[3]s/${queue_id}.${recipient} %[2]s/ }
`, addr, delivered, spool)
	os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCF), 0o644)
	os.WriteFile(filepath.Join(conf, "master.cf"), []byte(masterCF), 0o644)

	cmd := exec.Command(postfixBin, "-c", conf, "start-fg")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		exec.Command(postfixBin, "-c", conf, "stop").Run()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			exec.Command(postfixBin, "-c", conf, "abort").Run()
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("postfix log:\n%s", logs.String())
		}
	})
	cliWaitListening(t, addr, done)
	return addr, delivered
}

// cliDelivered waits until Postfix has delivered n files and returns them
// by name (queue ID and recipient).
func cliDelivered(t *testing.T, dir string, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) >= n {
			out := map[string]string{}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out[filepath.Base(f)] = string(b)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages delivered", len(files), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClientInteropPostfix sends through the client to a real Postfix
// smtpd: STARTTLS with certificate verification, PIPELINING, CHUNKING
// (BDAT), DATA, DSN, SMTPUTF8 and per-recipient refusals.
func TestClientInteropPostfix(t *testing.T) {
	t.Parallel()
	addr, dir := cliPostfix(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ct := cliTestTLS(t)
	opts := &smtp.ClientOptions{
		LocalName: "client.test",
		TLSPolicy: smtp.TLSRequired,
		TLSConfig: &tls.Config{RootCAs: ct.pool, ServerName: "mx.test"},
		ChunkSize: 4096,
	}
	c, err := smtp.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps := c.Capabilities()
	if !caps.Chunking || !caps.Pipelining || !caps.DSN || !caps.SMTPUTF8 || caps.MaxSize == 0 {
		t.Fatalf("capabilities %+v", caps)
	}
	cs, ok := c.TLSConnectionState()
	if !ok || !cs.HandshakeComplete {
		t.Fatal("no TLS")
	}

	small := "Subject: small\r\n\r\nhello\r\n.dot line\r\n"
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789 abcdefghij\r\n.dotted\r\n", 1000)
	env := cliEnv("a@example.org", "b@example.net", "unknown@example.net", "grey@example.net", "c@example.net")
	env.Options.Size = int64(len(small))
	env.To[0].Options.Notify = smtp.NotifySuccess
	res, err := c.Send(ctx, env, strings.NewReader(small))
	if err != nil {
		t.Fatal(err)
	}
	r := res.Recipients
	if !r[0].Delivered || r[1].Reply.Code != 554 || r[2].Reply.Code != 450 || !r[3].Delivered || !strings.Contains(res.Data.Lines[0], "queued as") {
		t.Fatalf("result %+v %+v %+v", r, r[1].Reply, res.Data)
	}
	if _, err := c.Send(ctx, cliEnv("a@example.org", "d@example.net"), strings.NewReader(big)); err != nil {
		t.Fatalf("BDAT in chunks: %v", err)
	}
	utf := cliEnv("jöran@example.org", "åsa@example.net")
	if _, err := c.Send(ctx, utf, strings.NewReader("Subject: utf8\r\n\r\nhej\r\n")); err != nil {
		t.Fatalf("SMTPUTF8: %v", err)
	}
	// The same with DATA.
	optsData := *opts
	optsData.NoChunking = true
	c2, err := smtp.Dial(ctx, addr, &optsData)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Send(ctx, cliEnv("a@example.org", "e@example.net"), strings.NewReader(big)); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	_, err = c2.Send(ctx, cliEnv("a@example.org", "unknown@example.net"), strings.NewReader(small))
	if ce := asCommandError(t, err); ce.Command != "RCPT" || ce.Temporary() || ce.Reply().Enhanced != smtp.NewEnhancedCode(5, 7, 1) {
		t.Fatalf("refused: %v", err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Error(err)
	}
	if err := c2.Quit(ctx); err != nil {
		t.Error(err)
	}

	got := cliDelivered(t, dir, 6)
	find := func(rcpt string) string {
		for name, body := range got {
			if strings.HasSuffix(name, "."+rcpt) {
				return body
			}
		}
		t.Fatalf("nothing delivered to %s; have %d files", rcpt, len(got))
		return ""
	}
	// Postfix adds header fields (Received, Date, Message-Id), so only
	// the bodies are compared.
	unix := func(s string) string {
		_, body, _ := strings.Cut(s, "\r\n\r\n")
		return "\n\n" + strings.ReplaceAll(body, "\r\n", "\n")
	}
	for rcpt, want := range map[string]string{"b@example.net": small, "c@example.net": small, "d@example.net": big, "e@example.net": big} {
		if b := find(rcpt); !strings.HasSuffix(b, unix(want)) {
			t.Errorf("%s got %q", rcpt, b[max(0, len(b)-200):])
		}
	}
	if dsn := find("a@example.org"); !strings.Contains(dsn, "Final-Recipient: rfc822; b@example.net") || !strings.Contains(dsn, "Status: 2.0.0") {
		t.Errorf("no success DSN for NOTIFY=SUCCESS: %q", dsn)
	}
	if b := find("åsa@example.net"); !strings.HasSuffix(b, "\nhej\n") {
		t.Errorf("SMTPUTF8 message %q", b)
	}
	if _, ok := got["unknown@example.net"]; ok {
		t.Error("refused recipient got mail")
	}
}
