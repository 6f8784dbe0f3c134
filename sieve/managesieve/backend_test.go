package managesieve_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testkit"
	"github.com/heraldmail/herald/sieve/managesieve"
)

// brokenStore fails every call with an internal error, and panics on Get.
type brokenStore struct{ managesieve.Store }

var errInternal = errors.New("disk on fire: secret internal detail")

func (brokenStore) List(context.Context) ([]managesieve.Script, error) { return nil, errInternal }
func (brokenStore) Get(context.Context, string) ([]byte, error)        { panic("store bug") }
func (brokenStore) Put(context.Context, string, []byte) error {
	return &managesieve.Error{Code: managesieve.CodeTryLater, Message: "Store is read-only for maintenance"}
}
func (brokenStore) Close() error { return nil }

func TestBackendErrors(t *testing.T) {
	t.Parallel()
	be := newBackend()
	logs := &testkit.LogBuffer{}
	s := newServer(t, be, "insecure", logs)
	s.Backend = managesieve.BackendFunc(func(ctx context.Context, info *managesieve.ConnInfo, id string) (managesieve.Store, error) {
		return brokenStore{}, nil
	})
	runTranscript(t, pipeConn(t, s), login+`
C: LISTSCRIPTS
S: NO (TRYLATER) "Internal error, try again later"
C: PUTSCRIPT "a" "keep;"
S: NO (TRYLATER) "Store is read-only for maintenance"
C: GETSCRIPT "a"
S: BYE (TRYLATER) "Internal error"
closed`)
	l := logs.String()
	if !strings.Contains(l, "disk on fire") || !strings.Contains(l, "store bug") {
		t.Fatalf("internal errors not logged:\n%s", l)
	}
}

func TestBackendOpenFails(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(), "insecure", nil)
	s.Backend = managesieve.BackendFunc(func(ctx context.Context, info *managesieve.ConnInfo, id string) (managesieve.Store, error) {
		return nil, managesieve.ErrTryLater
	})
	runTranscript(t, pipeConn(t, s), `S: <greeting>
C: AUTHENTICATE "PLAIN" "`+plainIR("alice", "secret")+`"
S: NO (TRYLATER) "Temporary failure, try again later"
C: LISTSCRIPTS
S: NO "Authenticate first"`)
}

func TestInactivityTimeout(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(), "", nil)
	s.Timeout = 50 * time.Millisecond
	runTranscript(t, pipeConn(t, s), `S: <greeting>
S: BYE "Disconnected for inactivity"
closed`)
}

func TestProxyProtocolAddresses(t *testing.T) {
	t.Parallel()
	got := make(chan managesieve.ConnInfo, 1)
	be := newBackend()
	s := newServer(t, be, "insecure", nil)
	s.ProxyProtocol = true
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	s.Backend = managesieve.BackendFunc(func(ctx context.Context, info *managesieve.ConnInfo, id string) (managesieve.Store, error) {
		got <- *info
		return be.Open(ctx, info, id)
	})
	addr := listen(t, s)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 40000 4190\r\n"))
	br := bufio.NewReader(nc)
	readUntilOK(t, br)
	nc.Write([]byte("AUTHENTICATE \"PLAIN\" \"" + plainIR("alice", "secret") + "\"\r\n"))
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "OK") {
		t.Fatalf("login: %q", l)
	}
	info := <-got
	if info.RemoteAddr != netip.MustParseAddrPort("192.0.2.7:40000") {
		t.Fatalf("ConnInfo: %+v", info)
	}
}

func TestServerWithoutBackendPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Serve without a Backend did not panic")
		}
	}()
	s := &managesieve.Server{}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	s.Serve(l)
}

func TestLostDuringAuthenticate(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	s := newServer(t, newBackend(), "insecure", logs)
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeConn(context.Background(), sc)
	}()
	cc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(cc)
	readUntilOK(t, br)
	go cc.Write([]byte("AUTHENTICATE \"PLAIN\"\r\n"))
	if l, _ := br.ReadString('\n'); l != "\"\"\r\n" {
		t.Fatalf("challenge: %q", l)
	}
	cc.Close()
	<-done
	if l := logs.String(); strings.Contains(l, "level=ERROR") {
		t.Fatalf("a client gone during AUTHENTICATE logged an error:\n%s", l)
	}
}

func TestOpenRefusesUnknownIdentity(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(), "insecure", nil)
	// The password check accepts anyone; the backend knows only alice
	// and bob.
	s.Auth.Password = func(ctx context.Context, authzid, user, pass string) (string, error) { return user, nil }
	runTranscript(t, pipeConn(t, s), `S: <greeting>
C: AUTHENTICATE "PLAIN" "`+plainIR("mallory", "x")+`"
S: NO "Authentication failed"`)
}
