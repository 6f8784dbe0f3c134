package smtp_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// cacheServer serves the test backend on a loopback port and returns its
// address.
func cacheServer(t *testing.T, be *testBackend) (*smtp.Server, string) {
	t.Helper()
	s := newServer(t, be, "", io.Discard)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return s, l.Addr().String()
}

func (b *testBackend) sessionsClosed() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// connections counts the distinct client ports the messages came from.
func connections(msgs []message) int {
	ports := map[string]bool{}
	for _, m := range msgs {
		ports[m.Info.RemoteAddr.String()] = true
	}
	return len(ports)
}

func cacheSend(t *testing.T, cc *smtp.ClientCache, addr string) {
	t.Helper()
	ctx := context.Background()
	c := cc.Get(addr)
	if c == nil {
		var err error
		if c, err = smtp.Dial(ctx, addr, &smtp.ClientOptions{TLSPolicy: smtp.TLSNone}); err != nil {
			t.Fatal(err)
		}
	}
	env := &smtp.Envelope{From: smtp.Path{Local: "a", Domain: "example.org"}, To: []smtp.Recipient{{Path: smtp.Path{Local: "b", Domain: "example.org"}}}}
	if _, err := c.Send(ctx, env, strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	cc.Put(addr, c)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientCacheReusesConnections(t *testing.T) {
	be := &testBackend{}
	_, addr := cacheServer(t, be)
	cc := &smtp.ClientCache{IdleTimeout: time.Minute}
	defer cc.Close()
	for range 5 {
		cacheSend(t, cc, addr)
	}
	msgs := be.Messages()
	if len(msgs) != 5 || connections(msgs) != 1 {
		t.Fatalf("%d messages over %d connections, want 5 over 1", len(msgs), connections(msgs))
	}
	if cc.Idle() != 1 {
		t.Fatalf("Idle() = %d, want 1", cc.Idle())
	}
	// Another key does not get it.
	if c := cc.Get("other"); c != nil {
		t.Fatal("Get of another key returned a connection")
	}
	// Close says QUIT: the server's session ends.
	cc.Close()
	waitFor(t, "the session to end after Close", func() bool { return be.sessionsClosed() == 1 })
}

func TestClientCacheIdleTimeout(t *testing.T) {
	be := &testBackend{}
	_, addr := cacheServer(t, be)
	cc := &smtp.ClientCache{IdleTimeout: 30 * time.Millisecond}
	cacheSend(t, cc, addr)
	waitFor(t, "the idle connection to be closed", func() bool { return cc.Idle() == 0 && be.sessionsClosed() == 1 })
	cacheSend(t, cc, addr)
	if n := connections(be.Messages()); n != 2 {
		t.Fatalf("%d connections after the idle timeout, want 2", n)
	}
}

func TestClientCacheMaxUses(t *testing.T) {
	be := &testBackend{}
	_, addr := cacheServer(t, be)
	cc := &smtp.ClientCache{MaxUses: 2, IdleTimeout: time.Minute}
	defer cc.Close()
	for range 4 {
		cacheSend(t, cc, addr)
	}
	if n := connections(be.Messages()); n != 2 {
		t.Fatalf("4 messages with MaxUses 2 went over %d connections, want 2", n)
	}
	waitFor(t, "QUIT on the used-up connections", func() bool { return be.sessionsClosed() == 2 })
	if cc.Idle() != 0 {
		t.Fatalf("Idle() = %d after the second use of each, want 0", cc.Idle())
	}
}

func TestClientCacheDropsClosedConnections(t *testing.T) {
	be := &testBackend{}
	s, addr := cacheServer(t, be)
	cc := &smtp.ClientCache{IdleTimeout: time.Minute}
	defer cc.Close()
	cacheSend(t, cc, addr)
	// The server goes away while the connection is idle (it says 421
	// and closes): Get must not hand out the dead connection.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server's session to end", func() bool { return be.sessionsClosed() == 1 })
	if c := cc.Get(addr); c != nil {
		t.Fatal("Get returned a connection the server had closed")
	}
}

func TestClientCacheRefusesUnusableConnections(t *testing.T) {
	be := &testBackend{}
	_, addr := cacheServer(t, be)
	cc := &smtp.ClientCache{IdleTimeout: time.Minute}
	defer cc.Close()
	ctx := context.Background()
	// A connection in the middle of a transaction is not cached.
	c, err := smtp.Dial(ctx, addr, &smtp.ClientOptions{TLSPolicy: smtp.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	env := &smtp.Envelope{From: smtp.Path{Local: "reject", Domain: "example.org"}, To: []smtp.Recipient{{Path: smtp.Path{Local: "b", Domain: "example.org"}}}}
	c.Send(ctx, env, strings.NewReader("x\r\n"))
	c.Close()
	cc.Put(addr, c)
	if cc.Idle() != 0 {
		t.Fatal("a closed connection was cached")
	}
}
