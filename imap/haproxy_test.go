package imap_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/internal/haproxytest"
)

// TestBehindHAProxy puts a private HAProxy with send-proxy-v2 in front of
// the server: the backend sees the client's own address, not HAProxy's.
func TestBehindHAProxy(t *testing.T) {
	be, _ := newFixture(t)
	var mu sync.Mutex
	var seen net.Addr
	var proxy netip.AddrPort
	s := testServer(imap.BackendFunc(func(ctx context.Context, conn *imap.ConnInfo, identity string) (imap.User, error) {
		mu.Lock()
		seen, proxy = conn.RemoteAddr, conn.ProxyAddr
		mu.Unlock()
		return be.Open(ctx, conn, identity)
	}))
	s.ProxyProtocol = true
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
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
	front := haproxytest.Start(t, l.Addr().String())
	c, r := haproxytest.Dial(t, front)
	if greet, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	} else {
		expectPrefix(t, greet, "* OK")
	}
	io.WriteString(c, "a1 LOGIN alice secret\r\n")
	line, _ := r.ReadString('\n')
	expectPrefix(t, line, "a1 OK")
	mu.Lock()
	defer mu.Unlock()
	if seen == nil || seen.String() != c.LocalAddr().String() {
		t.Fatalf("backend saw RemoteAddr %v, the client is %v (HAProxy's side is %v)", seen, c.LocalAddr(), c.RemoteAddr())
	}
	if !proxy.IsValid() || proxy.String() == c.LocalAddr().String() {
		t.Fatalf("ProxyAddr %v", proxy)
	}
}
