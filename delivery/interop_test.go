package delivery

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/smtp"
)

// sink starts a private Postfix smtp-sink on ip and the lab's port, with
// opts, dumping messages into the returned directory; it stops with the
// test.
func (l *lab) sink(t *testing.T, ip string, opts ...string) string {
	t.Helper()
	bin := peertest.LookPath(t, "smtp-sink")
	dumps := t.TempDir()
	for _, d := range []string{filepath.Dir(dumps), dumps} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(l.port))
	args := []string{"-d", dumps + "/%M%S."}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(append(args, opts...), addr, "16")
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
			t.Logf("smtp-sink %s: %s", addr, stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return dumps
		}
		select {
		case <-done:
			t.Fatalf("smtp-sink exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink not listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sinkDumps(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
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

// TestInteropSmtpSink delivers to Postfix's smtp-sink: the happy path, a
// 4xx RCPT refusal that moves on to the next MX, a 5xx RCPT refusal that is
// final, and a sink that drops the connection after DATA.
func TestInteropSmtpSink(t *testing.T) {
	l := newLab(t)
	okDumps := l.sink(t, "127.0.0.2")
	l.sink(t, "127.0.0.3", "-r", "RCPT")
	l.sink(t, "127.0.0.4", "-f", "RCPT", "-B", "550 5.1.1 Recipient unknown")
	l.sink(t, "127.0.0.5", "-q", "DATA")
	l.zone.AddA("sink.example.test", "127.0.0.2")
	l.zone.AddA("soft.example.test", "127.0.0.3")
	l.zone.AddA("hard.example.test", "127.0.0.4")
	l.zone.AddA("drop.example.test", "127.0.0.5")
	l.zone.AddMX("ok.test", 10, "sink.example.test")
	l.zone.AddMX("soft.test", 10, "soft.example.test")
	l.zone.AddMX("soft.test", 20, "sink.example.test")
	l.zone.AddMX("hard.test", 10, "hard.example.test")
	l.zone.AddMX("hard.test", 20, "sink.example.test")
	l.zone.AddMX("drop.test", 10, "drop.example.test")

	env := envelope("sender@sender.test", "a@ok.test", "b@soft.test", "c@hard.test", "d@drop.test")
	env.To[0].Options.Notify = smtp.NotifySuccess
	res := deliver(t, l.deliverer(), env)
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "sink.example.test")
	wantStatus(t, res.Recipients[1], StatusDelivered, 250, "2.0.0", "sink.example.test")
	wantStatus(t, res.Recipients[2], StatusPermanent, 550, "5.1.1", "hard.example.test")
	if r := res.Recipients[2]; r.Text != "Recipient unknown" {
		t.Errorf("hard refusal text %q", r.Text)
	}
	if r := res.Recipients[3]; r.Status != StatusTemporary || r.Code.Class() != 4 {
		t.Errorf("dropped connection: %v %d %s", r.Status, r.Code, r.Enhanced)
	}
	dumps := sinkDumps(t, okDumps)
	if len(dumps) != 2 {
		t.Fatalf("sink holds %d messages, want 2", len(dumps))
	}
	for _, d := range dumps {
		if !strings.Contains(d, "Subject: test") || !strings.Contains(d, "Hello.") {
			t.Errorf("dump lacks the message:\n%s", d)
		}
	}
}
