package managesieve_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testkit"
	"github.com/heraldmail/herald/sieve/managesieve"
	"github.com/heraldmail/herald/sieve/managesieve/managesievemem"
)

// testCheck is the tests' stand-in for the sieve parser: a script must
// start with "require" or "keep" or "discard"; "redirect" gets a warning;
// anything else is refused with the line of the first bad word.
func testCheck(script []byte) error {
	for i, l := range strings.Split(string(script), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch strings.TrimSuffix(f[0], ";") {
		case "require", "keep", "discard", "stop", "fileinto", "#":
		case "multi":
			n := strconv.Itoa(i + 1)
			return errors.New("line " + n + ": first error\r\nline " + n + ": second error in 'multi'")
		case "redirect":
			return &managesieve.Warning{Text: "line " + strconv.Itoa(i+1) + ": redirect may be ignored"}
		default:
			return errors.New("line " + strconv.Itoa(i+1) + ": unknown command '" + f[0] + "'")
		}
	}
	return nil
}

// newBackend returns a backend with alice ("secret") and bob ("pw").
func newBackend() *managesievemem.Backend {
	be := managesievemem.New()
	be.AddUser("alice", "secret")
	be.AddUser("bob", "pw")
	return be
}

// newServer builds a server from options: insecure, tls, maxscripts=N,
// maxbytes=N, maxsize=N (server MaxScriptSize), maxerrors=N, maxfails=N,
// maxline=N, maxstring=N, maxdiscard=N, redirects=N, notify, nocheck.
func newServer(t testing.TB, be *managesievemem.Backend, options string, logs io.Writer) *managesieve.Server {
	s := &managesieve.Server{
		Backend: be, Auth: be.Authenticator(), Check: testCheck, LoginFailureDelay: -1,
		Extensions: []string{"fileinto", "reject"},
	}
	if logs != nil {
		s.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, o := range strings.Fields(options) {
		k, v, _ := strings.Cut(o, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "insecure":
			s.Auth.AllowInsecure = true
		case "tls":
			s.TLSConfig = serverTLS(t)
		case "maxscripts":
			be.Quota.MaxScripts = n
		case "maxbytes":
			be.Quota.MaxBytes = int64(n)
		case "quotasize":
			be.Quota.MaxScriptSize = int64(n)
		case "maxsize":
			s.MaxScriptSize = n
		case "maxerrors":
			s.MaxErrors = n
		case "maxfails":
			s.MaxLoginFailures = n
		case "maxline":
			s.MaxLineLength = n
		case "maxstring":
			s.MaxStringLength = n
		case "maxdiscard":
			s.MaxDiscard = int64(n)
		case "redirects":
			s.MaxRedirects = n
		case "notify":
			s.NotifyMethods = []string{"mailto", "xmpp"}
		case "nocheck":
			s.Check = nil
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

func testCert(t testing.TB) *testkit.Cert {
	certOnce.Do(func() { cert = testkit.SelfSigned(t) })
	return cert
}

func serverTLS(t testing.TB) *tls.Config { return testCert(t).ServerConfig() }
func clientTLS(t testing.TB) *tls.Config { return testCert(t).ClientConfig() }

// pipeConn starts s on one end of a net.Pipe and returns the other.
func pipeConn(t testing.TB, s *managesieve.Server) net.Conn {
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
	return cc
}

// listen starts s on a loopback TCP port and returns its address.
func listen(t testing.TB, s *managesieve.Server) string {
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

// plainIR is the base64 PLAIN initial response for user and pass.
func plainIR(user, pass string) string {
	return b64("\x00" + user + "\x00" + pass)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// runTranscript plays script on nc: "C:" lines are sent (consecutive ones
// in one write; "\n" inside a C: line is not special, use "C+" to send a
// raw chunk without CRLF), "S:" lines must come back in order, an S line
// ending in "*" matching by prefix; "S: <greeting>" skips the greeting up
// to its OK; "closed" means the server closed the connection.
func runTranscript(t *testing.T, nc net.Conn, script string) {
	t.Helper()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	var batch strings.Builder
	sendBatch := func() {
		if batch.Len() == 0 {
			return
		}
		data := batch.String()
		batch.Reset()
		go nc.Write([]byte(data))
	}
	for i, l := range strings.Split(script, "\n") {
		l = strings.TrimLeft(strings.TrimRight(l, "\r"), "\t")
		switch {
		case strings.HasPrefix(l, "C: ") || l == "C:":
			batch.WriteString(strings.TrimPrefix(strings.TrimPrefix(l, "C:"), " ") + "\r\n")
		case strings.HasPrefix(l, "C+ "):
			batch.WriteString(strings.TrimPrefix(l, "C+ "))
		case l == "S: <greeting>":
			for {
				got, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("line %d: greeting: %v", i+1, err)
				}
				if strings.HasPrefix(got, "OK") {
					break
				}
			}
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
