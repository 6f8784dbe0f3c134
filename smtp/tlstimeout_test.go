package smtp_test

import (
	"io"
	"net"
	"testing"
	"time"
)

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
