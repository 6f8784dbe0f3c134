package pop3_test

import (
	"errors"
	"testing"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/sasl"
)

// TestServerAuth checks the logins of Server.Auth over STLS: AUTH PLAIN
// refused before TLS, a wrong password answered -ERR [AUTH], the right one
// logs in, and the identity reaches the backend.
func TestServerAuth(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := &recordingBackend{Backend: newBackend(t)}
	s := newServer(t, nil, "tls", nil)
	s.Backend = be
	s.Auth = be.Backend.Authenticator()
	addr := listen(t, s)
	c, err := pop3.Dial(ctx, addr, &pop3.ClientOptions{TLSConfig: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(ctx, sasl.NewPlainClient("", "alice", "secret")); !errors.Is(err, &pop3.Error{Code: pop3.CodeSysPerm}) {
		t.Fatalf("AUTH PLAIN before TLS: %v", err)
	}
	if err := c.STLS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(ctx, sasl.NewPlainClient("", "alice", "wrong")); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Fatalf("AUTH PLAIN with a wrong password: %v", err)
	}
	if err := c.Login(ctx, "alice", "wrong"); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Fatalf("USER/PASS with a wrong password: %v", err)
	}
	if err := c.Auth(ctx, sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatalf("AUTH PLAIN under TLS: %v", err)
	}
	if st, err := c.Stat(ctx); err != nil || st.Count == 0 {
		t.Fatalf("STAT = %+v, %v", st, err)
	}
	c.Quit(ctx)
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.identity != "alice" {
		t.Fatalf("backend opened %q", be.identity)
	}
}

// TestServerAuthNil refuses every login without Server.Auth, with
// -ERR [AUTH] even under TLS.
func TestServerAuthNil(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	s := newServer(t, newBackend(t), "tls", nil)
	s.Auth = nil
	c, err := pop3.Dial(ctx, listen(t, s), &pop3.ClientOptions{TLSConfig: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.STLS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Fatalf("USER/PASS without Server.Auth: %v", err)
	}
	caps, err := c.Capa(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(caps["SASL"]) != 0 {
		t.Errorf("SASL advertised without Server.Auth: %v", caps["SASL"])
	}
}
