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
	"github.com/heraldmail/herald/internal/testkit"
)

// Start runs HAProxy in TCP mode on a free loopback port, forwarding to
// backend with a PROXY version 2 header (send-proxy-v2), and returns the
// address clients connect to. Its config file lives in t.TempDir(); the
// process is stopped when the test ends.
func Start(t *testing.T, backend string) string {
	t.Helper()
	return StartFrontends(t, []string{backend})[0]
}

// StartFrontends runs one HAProxy with a frontend on a free loopback port
// for each list of backends, and returns the frontends' addresses in the
// same order. A frontend with several backends spreads connections over
// them round robin, checks each every 200 ms (with a PROXY header, as the
// servers expect from it) and takes a backend out after one failed check;
// a connection to a backend that refuses it is redispatched to another,
// so a killed server costs only the sessions it had.
func StartFrontends(t *testing.T, fronts ...[]string) []string {
	t.Helper()
	bin := peertest.LookPath(t, "haproxy")
	var conf strings.Builder
	conf.WriteString(`global
	maxconn 1000
defaults
	mode tcp
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	retries 3
	option redispatch 1
`)
	addrs := make([]string, len(fronts))
	for i, backends := range fronts {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		l.Close()
		fmt.Fprintf(&conf, "frontend f%d\n\tbind %s\n\tdefault_backend b%d\nbackend b%d\n\tbalance roundrobin\n", i, addrs[i], i, i)
		for j, b := range backends {
			check := ""
			if len(backends) > 1 {
				check = " check check-send-proxy inter 200ms fall 1 rise 2"
			}
			fmt.Fprintf(&conf, "\tserver s%d %s send-proxy-v2%s\n", j, b, check)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	var out testkit.LogBuffer // written by the process's copying goroutines
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
	for _, front := range addrs {
		for deadline := time.Now().Add(10 * time.Second); ; {
			select {
			case <-exited:
				t.Fatalf("haproxy exited: %s", out.String())
			default:
			}
			if c, err := net.Dial("tcp", front); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("haproxy did not listen on %s: %s", front, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return addrs
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
