package pop3_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/heraldmail/herald/internal/haproxytest"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3mem"
)

// recordingBackend is a pop3mem backend that records the client address
// of the last login.
type recordingBackend struct {
	*pop3mem.Backend
	mu   sync.Mutex
	seen netip.AddrPort
	// identity is the last maildrop opened.
	identity string
	proxy    netip.AddrPort
}

func (b *recordingBackend) Open(ctx context.Context, info *pop3.ConnInfo, identity string) (pop3.Mailbox, error) {
	b.mu.Lock()
	b.seen, b.proxy, b.identity = info.RemoteAddr, info.ProxyAddr, identity
	b.mu.Unlock()
	return b.Backend.Open(ctx, info, identity)
}

// TestBehindHAProxy puts a private HAProxy with send-proxy-v2 in front of
// the server: the backend sees the client's own address, not HAProxy's.
func TestBehindHAProxy(t *testing.T) {
	be := &recordingBackend{Backend: newBackend(t)}
	s := newServer(t, nil, "insecure", nil)
	s.Backend = be
	s.Auth = insecureAuth(be.Backend)
	s.ProxyProtocol = true
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	front := haproxytest.Start(t, listen(t, s))
	c, r := haproxytest.Dial(t, front)
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
	io.WriteString(c, "USER alice\r\nPASS secret\r\n")
	line()
	if l := line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("PASS: %q", l)
	}
	io.WriteString(c, "QUIT\r\n")
	line()
	be.mu.Lock()
	defer be.mu.Unlock()
	if want := c.LocalAddr().(*net.TCPAddr).AddrPort(); be.seen != want {
		t.Fatalf("backend saw RemoteAddr %v, the client is %v (HAProxy's side is %v)", be.seen, want, c.RemoteAddr())
	}
	if !be.proxy.IsValid() || be.proxy == be.seen {
		t.Fatalf("ProxyAddr %v", be.proxy)
	}
}
