package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
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

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/internal/testkit"
)

// The end-to-end tests build the binary once and run it as an operator
// would, with its own data directory, free ports on 127.0.0.1 and a
// dnstest DNS server.

// TestMain lets the test binary be the server: run with
// HERALD_MAILSERVER_MAIN=1 it is the mailserver command, so the tests run
// exactly the code a user runs, without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("HERALD_MAILSERVER_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// command returns the mailserver command with args.
func command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "HERALD_MAILSERVER_MAIN=1")
	return cmd
}

// freeAddr returns a free TCP address on ip.
func freeAddr(t *testing.T, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// instance is one running mail server.
type instance struct {
	t       *testing.T
	dir     string
	args    []string // global flags but the listeners
	extra   []string
	addr    map[string]string
	dns     *dnstest.Server
	cmd     *exec.Cmd
	done    chan struct{}
	log     *syncBuffer
	out     *syncBuffer // the server's standard output: its banner
	outPort int
	// listeners names the listener flags the instance gets addresses
	// for; nil means listenerFlags, every listener of -role all.
	listeners []string
}

// syncBuffer collects a process's output, written by the goroutines that
// copy it while a test reads it.
type syncBuffer = testkit.LogBuffer

// newInstance prepares a server for example.test and other.test whose
// remote MX hosts listen on outPort; extra flags are appended.
func newInstance(t *testing.T, zone *dnstest.Zone, extra ...string) *instance {
	t.Helper()
	if zone == nil {
		zone = dnstest.NewZone()
	}
	in := &instance{t: t, dir: filepath.Join(t.TempDir(), "data"), addr: map[string]string{}, log: &syncBuffer{}}
	in.dns = dnstest.NewServer(t, zone)
	in.outPort, _ = strconv.Atoi(strings.Split(freeAddr(t, "127.0.0.1"), ":")[1])
	in.args = []string{"-data", in.dir, "-domains", "example.test,other.test", "-hostname", "mx.example.test",
		"-dns", in.dns.Addr, "-outbound-port", strconv.Itoa(in.outPort),
		// Greylisting is on by default; the tests that are not about it
		// would otherwise see every first message deferred. Later flags
		// win, so a test turns it on with "-greylist" in extra.
		"-greylist=false"}
	in.extra = extra
	in.pickPorts()
	return in
}

var listenerFlags = []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "managesieve"}

// listenerNames returns the listener flags of the instance.
func (in *instance) listenerNames() []string {
	if in.listeners != nil {
		return in.listeners
	}
	return listenerFlags
}

// pickPorts chooses free ports for every listener.
func (in *instance) pickPorts() {
	for _, l := range in.listenerNames() {
		in.addr[l] = freeAddr(in.t, "127.0.0.1")
	}
}

// flags are the global flags of the server and its subcommands.
func (in *instance) flags() []string {
	args := append([]string{}, in.args...)
	for _, l := range in.listenerNames() {
		args = append(args, "-"+l, in.addr[l])
	}
	return append(args, in.extra...)
}

// start runs the server and waits until every listener accepts. A port
// that another test process took between pickPorts and the server's
// listen is picked again.
func (in *instance) start() {
	in.t.Helper()
	for try := 0; ; try++ {
		err := in.tryStart()
		if err == nil {
			return
		}
		require.True(in.t, try < 5 && strings.Contains(err.Error(), "address already in use"), "%v", err)
		in.pickPorts()
	}
}

func (in *instance) tryStart() error {
	t := in.t
	t.Helper()
	in.cmd = command(in.flags()...)
	stdout := &syncBuffer{}
	in.out = stdout
	in.cmd.Stdout = stdout
	in.cmd.Stderr = in.log
	require.NoError(t, in.cmd.Start())
	in.done = make(chan struct{})
	cmd, done := in.cmd, in.done
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", in.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range in.addr {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				return fmt.Errorf("server exited: %s\n%s", stdout.String(), in.log.String())
			default:
			}
			require.True(t, time.Now().Before(deadline), "server not listening on %s:\n%s", a, in.log.String())
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The banner comes through a pipe, after the listeners are open.
	for !strings.Contains(stdout.String(), "adduser") {
		require.True(t, time.Now().Before(deadline), "no banner: %q", stdout.String())
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() {
	in.t.Helper()
	require.NoError(in.t, in.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-in.done:
	case <-time.After(40 * time.Second):
		in.t.Fatal("server did not stop after SIGTERM")
	}
	require.Equal(in.t, 0, in.cmd.ProcessState.ExitCode(), in.log.String())
}

// kill stops the server with SIGKILL.
func (in *instance) kill() {
	in.cmd.Process.Kill()
	<-in.done
}

// cli runs a subcommand with stdin and returns its output.
func (in *instance) cli(stdin string, args ...string) (string, error) {
	cmd := command(append(in.flags(), args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (in *instance) addUser(addr, password string) {
	in.t.Helper()
	out, err := in.cli(password+"\n", "adduser", addr)
	require.NoError(in.t, err, out)
}

// python runs a Python script with args and returns its standard output.
func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	py := peertest.LookPath(t, "python3")
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python: %s", stderr.String())
	return string(out)
}

// inbox returns the messages in user's INBOX on disk, new/ and cur/.
func (in *instance) inbox(user string) []string {
	local, dom, _ := strings.Cut(user, "@")
	var out []string
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(in.dir, "mail", dom, local, sub, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(in.t, err)
			out = append(out, string(b))
		}
	}
	return out
}

// waitInbox waits until user's INBOX holds n messages.
func (in *instance) waitInbox(user string, n int, within time.Duration) []string {
	in.t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs := in.inbox(user)
		if len(msgs) >= n {
			return msgs
		}
		require.True(in.t, time.Now().Before(deadline), "%s has %d messages, want %d\n%s", user, len(msgs), n, in.log.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// dialog is a raw line-based client for the security tests.
type dialog struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *dialog {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &dialog{t: t, c: c, r: bufio.NewReader(c)}
}

// reply reads one SMTP reply, all its lines.
func (d *dialog) reply() string {
	d.t.Helper()
	var b strings.Builder
	for {
		line, err := d.r.ReadString('\n')
		require.NoError(d.t, err, "after %q", b.String())
		b.WriteString(line)
		if len(line) < 4 || line[3] != '-' {
			return b.String()
		}
	}
}

func (d *dialog) send(s string) {
	d.t.Helper()
	_, err := d.c.Write([]byte(s))
	require.NoError(d.t, err)
}

// cmd sends a command line and returns the reply.
func (d *dialog) cmd(line string) string {
	d.send(line + "\r\n")
	return d.reply()
}

func (d *dialog) startTLS() {
	d.t.Helper()
	require.True(d.t, strings.HasPrefix(d.cmd("STARTTLS"), "220"))
	tc := tls.Client(d.c, &tls.Config{InsecureSkipVerify: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(d.t, tc.HandshakeContext(ctx))
	d.c, d.r = tc, bufio.NewReader(tc)
}

func decodeB64(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

// tlsClient completes the TLS handshake on d after a 220 to STARTTLS.
func tlsClient(t *testing.T, d *dialog) *dialog {
	t.Helper()
	tc := tls.Client(d.c, &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, tc.Handshake())
	return &dialog{t: t, c: tc, r: bufio.NewReader(tc)}
}

func (d *dialog) startTLSAfterEHLO() {
	d.t.Helper()
	d.cmd("EHLO client.example.test")
	d.startTLS()
}
