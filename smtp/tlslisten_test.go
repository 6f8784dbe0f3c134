package smtp_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// TestServeTLSListener checks that a connection from a tls.Listen listener
// is implicit TLS, as net/http's habit has it, without ImplicitTLS: the
// backend sees the TLS state, EHLO offers AUTH and no STARTTLS inside the
// TLS session, and STARTTLS is refused.
func TestServeTLSListener(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	s.TLSConfig = serverTLS // as most callers set it for STARTTLS on port 587
	l, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	}()

	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := newClient(t, nc)
	c.expect(220)
	c.send("EHLO c.example")
	r := c.expect(250)
	if slices.Contains(r.Lines, "STARTTLS") {
		t.Errorf("EHLO inside TLS offers STARTTLS: %q", r.Lines)
	}
	if !slices.ContainsFunc(r.Lines, func(l string) bool { return len(l) > 5 && l[:5] == "AUTH " }) {
		t.Errorf("EHLO inside TLS does not offer AUTH: %q", r.Lines)
	}
	c.send("STARTTLS")
	c.expect(503)
	c.send("MAIL FROM:<a@example.org> REQUIRETLS")
	c.expect(250) // REQUIRETLS is accepted only over TLS
	c.send("QUIT")
	c.expect(221)
}

// TestTLSHandshakeTimeout checks that a client that never starts its TLS
// handshake on an implicit TLS connection is dropped after
// TLSHandshakeTimeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	serverTLS, _ := testTLS(t)
	s := newServer(t, &testBackend{}, "", io.Discard)
	s.TLSConfig, s.ImplicitTLS, s.TLSHandshakeTimeout = serverTLS, true, 100*time.Millisecond
	nc := pipeConn(t, s)
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	// Say nothing: the server must close the connection, not wait for the
	// default 30 seconds (the 10-second deadline above would fail first).
	if _, err := nc.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read after a silent handshake: %v, want the server to close", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
