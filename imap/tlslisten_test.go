package imap_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestServeTLSListener checks that a connection from a tls.Listen listener
// is implicit TLS without ImplicitTLS: no STARTTLS or LOGINDISABLED in the
// greeting, and LOGIN works although the server refuses it without TLS.
func TestServeTLSListener(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.Auth.AllowInsecure = false
	cfg := &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	s.TLSConfig = cfg
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
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
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	greet, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(greet, "STARTTLS") || strings.Contains(greet, "LOGINDISABLED") || !strings.Contains(greet, "AUTH=PLAIN") {
		t.Fatalf("greeting inside TLS: %q", greet)
	}
	io.WriteString(c, "a1 LOGIN alice secret\r\n")
	line, _ := r.ReadString('\n')
	expectPrefix(t, line, "a1 OK")
}

// TestTLSHandshakeTimeout checks that a client that never starts its TLS
// handshake is dropped after TLSHandshakeTimeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	s.ImplicitTLS, s.TLSHandshakeTimeout = true, 100*time.Millisecond
	c, _ := pipeClient(t, s)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
		t.Fatalf("read after a silent handshake: %v, want the server to close", err)
	}
}
