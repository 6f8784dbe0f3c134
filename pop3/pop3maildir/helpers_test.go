package pop3maildir_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testkit"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3maildir"
	"github.com/heraldmail/herald/sasl"
)

// fixture are the messages delivered to alice: CRLF, LF (which POP3 sends
// as CRLF) and one with a line starting with a dot.
var fixture = []string{
	"Subject: one\r\n\r\nHello\r\n",
	"Subject: two\n\nline1\nline2\n",
	"Subject: three\r\n\r\n.dot line\r\nend\r\n",
}

// crlf returns s with every LF as CRLF, what RETR sends for it.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// logBuffer collects log output for assertions.
type logBuffer = testkit.LogBuffer

// env is a Herald POP3 server over a Maildir++ store of the user alice
// (password "secret").
type env struct {
	root    string
	store   *maildir.Store
	backend *pop3maildir.Backend
	server  *pop3.Server
	addr    string
	logs    *logBuffer
}

// newEnv opens a store at root (a new temporary directory if empty),
// delivers msgs and starts a server on loopback. opts are the store's.
func newEnv(t testing.TB, root string, opts *maildir.Options, msgs ...string) *env {
	t.Helper()
	if root == "" {
		root = filepath.Join(t.TempDir(), "alice")
	}
	store, err := maildir.OpenStore(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{root: root, store: store, logs: &logBuffer{}}
	deliver(t, store, msgs...)
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	e.backend = &pop3maildir.Backend{
		Store: func(ctx context.Context, id string) (*maildir.Store, error) {
			return store, nil
		},
		LockWait: -1,
		Logger:   logger,
	}
	auth := &sasl.Authenticator{AllowInsecure: true, Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
		if user == "alice" && pass == "secret" && (authzid == "" || authzid == user) {
			return user, nil
		}
		return "", pop3.ErrAuthFailed
	}}
	e.server = &pop3.Server{Backend: e.backend, Auth: auth, LoginFailureDelay: -1, Logger: logger}
	e.addr = serve(t, e.server)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", e.logs)
		}
	})
	return e
}

func deliver(t testing.TB, store *maildir.Store, msgs ...string) []maildir.Message {
	t.Helper()
	inbox, err := store.Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var out []maildir.Message
	for _, m := range msgs {
		msg, err := inbox.Deliver(context.Background(), strings.NewReader(m), nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

// serve runs s on a loopback port until the test ends.
func serve(t testing.TB, s *pop3.Server) string {
	t.Helper()
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

// login dials addr and logs in as alice.
func login(t testing.TB, addr string) *pop3.Client {
	t.Helper()
	c := dial(t, addr)
	if err := c.Login(ctx(t), "alice", "secret"); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

func dial(t testing.TB, addr string) *pop3.Client {
	t.Helper()
	c, err := pop3.Dial(ctx(t), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// snapshot returns the INBOX as the maildir package sees it.
func snapshot(t testing.TB, store *maildir.Store) *maildir.Snapshot {
	t.Helper()
	inbox, err := store.Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inbox.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// uidls returns the unique-ids Herald must send for the INBOX now.
func uidls(t testing.TB, store *maildir.Store) []string {
	s := snapshot(t, store)
	var out []string
	for _, m := range s.Messages {
		out = append(out, pop3maildir.UIDL(m.UID, s.UIDValidity))
	}
	return out
}

// writeCert writes a self-signed certificate for localhost and 127.0.0.1
// into dir and returns its file and a server TLS configuration.
func writeCert(t testing.TB, dir string) (string, *tls.Config) {
	t.Helper()
	c := testkit.SelfSigned(t)
	file := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(file, c.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return file, c.ServerConfig()
}
