package pop3_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestServeTLSListener checks that a connection from a tls.Listen listener
// is implicit TLS without ImplicitTLS: CAPA lists USER and no STLS, STLS is
// refused, and USER/PASS work although the server refuses them without
// TLS.
func TestServeTLSListener(t *testing.T) {
	s := newServer(t, newBackend(t), "tls", nil)
	l, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(l)
	}()
	defer func() {
		s.Close()
		<-done
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), clientTLS(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	line := func() string {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if g := line(); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("greeting %q", g)
	}
	io.WriteString(c, "CAPA\r\n")
	var caps []string
	for l := line(); l != ".\r\n"; l = line() {
		caps = append(caps, strings.TrimSpace(l))
	}
	capa := strings.Join(caps, "|")
	if strings.Contains(capa, "|STLS") || !strings.Contains(capa, "|USER") {
		t.Fatalf("CAPA inside TLS: %q", caps)
	}
	io.WriteString(c, "STLS\r\n")
	if l := line(); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("STLS inside TLS: %q", l)
	}
	io.WriteString(c, "USER alice\r\nPASS secret\r\n")
	line()
	if l := line(); !strings.HasPrefix(l, "+OK") {
		t.Errorf("PASS inside TLS: %q", l)
	}
}

// TestTLSHandshakeTimeout checks that a client that never starts its TLS
// handshake is dropped after TLSHandshakeTimeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	s := newServer(t, newBackend(t), "tls", nil)
	s.ImplicitTLS, s.TLSHandshakeTimeout = true, 100*time.Millisecond
	c := pipeConn(t, s)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
		t.Fatalf("read after a silent handshake: %v, want the server to close", err)
	}
}
