package pop3_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testkit"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3mem"
	"github.com/heraldmail/herald/sasl"
)

// Fixture messages of the user alice. The third uses LF line endings,
// which the backend stores as CRLF.
var fixture = []string{
	"Subject: one\r\n\r\nHello\r\n.dot line\r\n",
	"Subject: two\r\nFrom: b@example.org\r\n\r\nline1\r\nline2\r\nline3\r\n",
	"Subject: three\n\nbare lf\n",
}

// newBackend returns a pop3mem backend with alice (password "secret",
// the fixture messages) and bob (password "pw", empty).
func newBackend(t testing.TB) *pop3mem.Backend {
	be := pop3mem.New()
	be.AddUser("alice", "secret")
	be.AddUser("bob", "pw")
	for _, m := range fixture {
		if _, err := be.Deliver("alice", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	return be
}

// failingCommit wraps a backend whose Commit always fails.
type failingCommit struct{ *pop3mem.Backend }

func (f failingCommit) Open(ctx context.Context, info *pop3.ConnInfo, id string) (pop3.Mailbox, error) {
	mb, err := f.Backend.Open(ctx, info, id)
	if err != nil {
		return nil, err
	}
	return failMailbox{mb}, nil
}

type failMailbox struct{ pop3.Mailbox }

func (failMailbox) Commit(context.Context, []int) error {
	return errors.New("disk on fire: secret internal detail")
}

// panicking is a password check that panics for the user "panic" and
// fails with an internal error for the user "down".
type panicking struct{ *pop3mem.Backend }

func (p panicking) CheckPassword(ctx context.Context, authzid, user, pass string) (string, error) {
	switch user {
	case "panic":
		panic("backend bug")
	case "down":
		return "", errors.New("ldap unreachable: secret internal detail")
	}
	return p.Backend.CheckPassword(ctx, authzid, user, pass)
}

// insecureAuth is the Authenticator of be, allowed without TLS.
func insecureAuth(be *pop3mem.Backend) *sasl.Authenticator {
	a := be.Authenticator()
	a.AllowInsecure = true
	return a
}

// logBuffer collects log output for assertions.
type logBuffer = testkit.LogBuffer

// newServer builds a server from transcript options: insecure, apop,
// tls, commitfail, panicky, maxerrors=N, maxfails=N, maxline=N,
// logindelay=SECONDS, expire=X, impl=X.
func newServer(t testing.TB, be *pop3mem.Backend, options string, logs io.Writer) *pop3.Server {
	s := &pop3.Server{Backend: be, LoginFailureDelay: -1, Auth: &sasl.Authenticator{}}
	if be != nil {
		s.Auth = be.Authenticator()
	}
	if logs != nil {
		s.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	for _, o := range strings.Fields(options) {
		k, v, _ := strings.Cut(o, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "insecure":
			s.Auth.AllowInsecure = true
		case "apop":
			s.Backend = be.WithAPOP()
		case "tls":
			s.TLSConfig = serverTLS(t)
		case "commitfail":
			s.Backend = failingCommit{be}
		case "panicky":
			s.Auth.Password = panicking{be}.CheckPassword
		case "maxerrors":
			s.MaxErrors = n
		case "maxfails":
			s.MaxLoginFailures = n
		case "maxline":
			s.MaxLineLength = n
		case "logindelay":
			s.LoginDelay = time.Duration(n) * time.Second
		case "expire":
			s.Expire = v
		case "impl":
			s.Implementation = v
		default:
			t.Fatalf("unknown server option %q", o)
		}
	}
	return s
}

var (
	certOnce sync.Once
	cert     *testkit.Cert
)

// testCert returns the tests' self-signed certificate for localhost,
// 127.0.0.1 and ::1, made once per test binary.
func testCert(t testing.TB) (certPEM, keyPEM []byte) {
	certOnce.Do(func() { cert = testkit.SelfSigned(t) })
	return cert.CertPEM, cert.KeyPEM
}

func serverTLS(t testing.TB) *tls.Config {
	testCert(t)
	return cert.ServerConfig()
}

func clientTLS(t testing.TB) *tls.Config {
	testCert(t)
	return cert.ClientConfig()
}

// writeCertFiles writes the test certificate and key into dir.
func writeCertFiles(t testing.TB, dir string) (certFile, keyFile string) {
	c, k := testCert(t)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// pipeConn starts s on one end of a net.Pipe and returns the other; the
// server goroutine is waited for at cleanup.
func pipeConn(t testing.TB, s *pop3.Server) net.Conn {
	nc, _ := pipeConnDone(t, s)
	return nc
}

// pipeConnDone is pipeConn that also returns a channel closed when the
// server is done with the connection.
func pipeConnDone(t testing.TB, s *pop3.Server) (net.Conn, <-chan struct{}) {
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeConn(context.Background(), sc)
	}()
	t.Cleanup(func() {
		cc.Close()
		<-done
	})
	return cc, done
}

// listen starts s on a loopback TCP port and returns its address.
func listen(t testing.TB, s *pop3.Server) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(l)
	}()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	return l.Addr().String()
}

// runTranscript plays script against a connection: "C:" lines are sent
// (consecutive ones in one write, as a pipelining client does), "S:" lines
// must come back in order; an S line ending in "*" matches by prefix. A
// line "closed" means the server must have closed the connection.
func runTranscript(t *testing.T, nc net.Conn, script string) {
	t.Helper()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	var batch []string
	sendBatch := func() {
		if len(batch) == 0 {
			return
		}
		data := strings.Join(batch, "\r\n") + "\r\n"
		batch = batch[:0]
		go nc.Write([]byte(data)) // the server may answer before reading all
	}
	for i, l := range strings.Split(script, "\n") {
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.HasPrefix(l, "C: ") || l == "C:":
			batch = append(batch, strings.TrimPrefix(strings.TrimPrefix(l, "C:"), " "))
		case strings.HasPrefix(l, "S: ") || l == "S:":
			sendBatch()
			want := strings.TrimPrefix(strings.TrimPrefix(l, "S:"), " ")
			got, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("line %d: want %q, read error %v (got %q)", i+1, want, err, got)
			}
			if !strings.HasSuffix(got, "\r\n") {
				t.Fatalf("line %d: response %q does not end with CRLF", i+1, got)
			}
			got = strings.TrimSuffix(got, "\r\n")
			if p, ok := strings.CutSuffix(want, "*"); ok && strings.HasPrefix(got, p) || got == want {
				continue
			}
			t.Fatalf("line %d:\n got %q\nwant %q", i+1, got, want)
		case l == "closed":
			sendBatch()
			if b, err := br.ReadString('\n'); err == nil || b != "" {
				t.Fatalf("line %d: want the connection closed, got %q, %v", i+1, b, err)
			}
		}
	}
}

func tlsClient(nc net.Conn, cfg *tls.Config) *tls.Conn { return tls.Client(nc, cfg) }
