package testkit

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
)

func TestLogBufferConcurrentWrites(t *testing.T) {
	var l LogBuffer
	log := slog.New(slog.NewTextHandler(&l, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				log.Info("line", "writer", i, "n", j)
			}
		})
	}
	wg.Wait()
	out := l.String()
	if n := strings.Count(out, "\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
	for i := range 8 {
		if !strings.Contains(out, fmt.Sprintf("writer=%d n=99", i)) {
			t.Errorf("writer %d's last line is missing", i)
		}
	}
}

func TestSelfSignedHandshake(t *testing.T) {
	c := SelfSigned(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	errc := make(chan error, 1)
	go func() { errc <- tls.Server(a, c.ServerConfig()).Handshake() }()
	if err := tls.Client(b, c.ClientConfig()).Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if _, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		t.Fatalf("PEM pair: %v", err)
	}
}
