package pop3_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3mem"
	"github.com/heraldmail/herald/sasl"
)

// TestAutologout checks the inactivity timer of RFC 1939 section 3 with a
// fake clock: nothing happens before 10 minutes, the session ends after.
func TestAutologout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, newBackend(t), "insecure", nil)
		cc, sc := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeConn(context.Background(), sc)
		}()
		br := bufio.NewReader(cc)
		br.ReadString('\n')
		start := time.Now()
		go cc.Write([]byte("USER alice\r\nPASS secret\r\nDELE 1\r\n"))
		for range 3 {
			if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+OK") {
				t.Fatalf("%q, %v", l, err)
			}
		}
		l, err := br.ReadString('\n')
		if err != nil || l != "-ERR Autologout; idle for too long\r\n" {
			t.Fatalf("after idling: %q, %v", l, err)
		}
		if d := time.Since(start); d != pop3.DefaultTimeout {
			t.Errorf("autologout after %v, want %v", d, pop3.DefaultTimeout)
		}
		<-done
		cc.Close()
	})
}

// TestLoginFailureDelay checks that a failed login is answered after the
// default delay and a good one at once.
func TestLoginFailureDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		be := newBackend(t)
		s := &pop3.Server{Backend: be, Auth: insecureAuth(be)}
		cc, sc := net.Pipe()
		go s.ServeConn(context.Background(), sc)
		defer cc.Close()
		br := bufio.NewReader(cc)
		br.ReadString('\n')
		ask := func(cmd string) (string, time.Duration) {
			start := time.Now()
			go cc.Write([]byte(cmd + "\r\n"))
			l, _ := br.ReadString('\n')
			return l, time.Since(start)
		}
		ask("USER alice")
		if l, d := ask("PASS wrong"); !strings.HasPrefix(l, "-ERR [AUTH]") || d != pop3.DefaultLoginFailureDelay {
			t.Errorf("bad password: %q after %v", l, d)
		}
		ask("USER alice")
		if l, d := ask("PASS secret"); !strings.HasPrefix(l, "+OK") || d != 0 {
			t.Errorf("good password: %q after %v", l, d)
		}
	})
}

// TestShutdown checks that Shutdown says goodbye to an idle session
// without committing its deletions, and that Serve returns
// ErrServerClosed.
func TestShutdown(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "insecure", nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	c, err := pop3.Dial(ctx, l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, pop3.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if err := c.Noop(ctx); !errors.Is(err, &pop3.Error{Code: pop3.CodeSysTemp}) {
		t.Errorf("command after Shutdown: %v", err)
	}
	if n := be.Count("alice"); n != 3 {
		t.Errorf("alice has %d messages after Shutdown, want 3", n)
	}
	if _, err := pop3.Dial(ctx, l.Addr().String(), nil); err == nil {
		t.Error("Dial after Shutdown succeeded")
	}
}

// TestMaxConnections refuses the connection over the limit with
// [SYS/TEMP].
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	s := newServer(t, newBackend(t), "insecure", nil)
	s.MaxConnections = 1
	addr := listen(t, s)
	c1, err := pop3.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	_, err = pop3.Dial(ctx, addr, nil)
	if !errors.Is(err, &pop3.Error{Code: pop3.CodeSysTemp}) {
		t.Fatalf("second connection: %v", err)
	}
}

// TestSASLAuthenticator uses a caller's sasl.Authenticator: SCRAM-SHA-256
// is offered without TLS, as it sends no reusable secret.
func TestSASLAuthenticator(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	creds, err := sasl.NewScramCredentials("secret", []byte("0123456789abcdef"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, newBackend(t), "", nil)
	s.Auth = &sasl.Authenticator{
		Scram: func(ctx context.Context, authzid, username string) (sasl.ScramUser, error) {
			if username != "alice" {
				return sasl.ScramUser{}, sasl.ErrAuthFailed
			}
			return sasl.ScramUser{Credentials: creds}, nil
		},
	}
	c := dialPipe(t, s)
	caps, err := c.Capa(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(caps["SASL"], " "); got != "SCRAM-SHA-256" {
		t.Errorf("SASL %q", got)
	}
	if err := c.Auth(ctx, sasl.NewScramSHA256Client("alice", "wrong", nil)); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	sc := sasl.NewScramSHA256Client("alice", "secret", nil)
	if err := c.Auth(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if !sc.ServerVerified() {
		t.Error("server signature not verified")
	}
	if st, err := c.Stat(ctx); err != nil || st.Count != 3 {
		t.Fatalf("Stat = %v, %v", st, err)
	}
}

// TestLargeMessage streams a message larger than every buffer and checks
// it arrives intact, dot-stuffing included.
func TestLargeMessage(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	var b strings.Builder
	b.WriteString("Subject: big\r\n\r\n")
	for i := 0; b.Len() < 300<<10; i++ {
		if i%7 == 0 {
			b.WriteString(".")
		}
		b.WriteString("line of text that is long enough to matter\r\n")
	}
	be.Deliver("bob", []byte(b.String()))
	s := newServer(t, be, "insecure", nil)
	c := dialPipe(t, s)
	if err := c.Login(ctx, "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	if e, err := c.ListOne(ctx, 1); err != nil || e.Size != int64(b.Len()) {
		t.Fatalf("ListOne = %v, %v; want size %d", e, err, b.Len())
	}
	r, err := c.Retr(ctx, 1)
	if got := readAll(t, r, err); got != b.String() {
		t.Errorf("message differs: %d bytes, want %d", len(got), b.Len())
	}
	r, err = c.Top(ctx, 1, 2)
	if got := readAll(t, r, err); got != "Subject: big\r\n\r\n.line of text that is long enough to matter\r\nline of text that is long enough to matter\r\n" {
		t.Errorf("Top = %q", got)
	}
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	e := &pop3.Error{Code: pop3.CodeAuth, Message: "no"}
	if e.Error() != "pop3: -ERR [AUTH] no" || e.Temporary() || !errors.Is(e, pop3.ErrAuthFailed) {
		t.Errorf("%v", e)
	}
	if errors.Is(&pop3.Error{Code: pop3.CodeInUse}, pop3.ErrAuthFailed) || !(&pop3.Error{Code: pop3.CodeSysTemp}).Temporary() {
		t.Error("Is or Temporary wrong")
	}
}

// TestHostileLine sends a megabyte without a line ending: the server skips
// it with one error, stays in sync and never buffers it whole.
func TestHostileLine(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(t), "insecure", nil)
	nc := pipeConn(t, s)
	long := strings.Repeat("A", 1<<20)
	runTranscript(t, nc, "S: +OK POP3 server ready\nC: "+long+"\nS: -ERR Line too long\nC: AUTH PLAIN "+long+"\nS: -ERR Line too long\nC: QUIT\nS: +OK Bye\nclosed\n")
}

// loginDelayBackend refuses every maildrop with [LOGIN-DELAY].
type loginDelayBackend struct{ *pop3mem.Backend }

// TestLoginDelayCode passes a backend's [LOGIN-DELAY] through unchanged
// and without the failed-login delay: it is not a wrong password.
func TestLoginDelayCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		be := loginDelayBackend{newBackend(t)}
		s := &pop3.Server{Backend: be, Auth: insecureAuth(be.Backend), LoginDelay: 15 * time.Minute}
		cc, sc := net.Pipe()
		go s.ServeConn(context.Background(), sc)
		defer cc.Close()
		br := bufio.NewReader(cc)
		br.ReadString('\n')
		start := time.Now()
		go cc.Write([]byte("USER alice\r\nPASS secret\r\n"))
		br.ReadString('\n')
		l, _ := br.ReadString('\n')
		if l != "-ERR [LOGIN-DELAY] Wait before logging in again\r\n" || time.Since(start) != 0 {
			t.Errorf("got %q after %v", l, time.Since(start))
		}
	})
}

func (loginDelayBackend) Open(context.Context, *pop3.ConnInfo, string) (pop3.Mailbox, error) {
	return nil, &pop3.Error{Code: pop3.CodeLoginDelay, Message: "Wait before logging in again"}
}
