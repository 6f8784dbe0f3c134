// Package haproxytest runs a private HAProxy in front of a server under
// test, for the tests of the PROXY protocol in smtp, imap and pop3.
package haproxytest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// Start runs HAProxy in TCP mode on a free loopback port, forwarding to
// backend with a PROXY version 2 header (send-proxy-v2), and returns the
// address clients connect to. Its config file lives in t.TempDir(); the
// process is stopped when the test ends.
func Start(t *testing.T, backend string) string {
	t.Helper()
	bin := peertest.LookPath(t, "haproxy")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	conf := fmt.Sprintf(`global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend front
	bind %s
	default_backend herald
backend herald
	server s1 %s send-proxy-v2
`, front, backend)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-exited:
			t.Fatalf("haproxy exited: %s", out.String())
		default:
		}
		if c, err := net.Dial("tcp", front); err == nil {
			c.Close()
			return front
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not listen on %s: %s", front, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Dial connects to addr and returns the connection with a reader.
func Dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}
