package managesieve_test

import (
	"context"
	"testing"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/sieve/managesieve"
)

// TestScramOverPlainText runs SCRAM-SHA-256, which is offered without TLS:
// two continuations, then the server's final message in OK (SASL ...),
// which the client verifies.
func TestScramOverPlainText(t *testing.T) {
	t.Parallel()
	creds, err := sasl.NewScramCredentials("secret", nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, newBackend(), "", nil)
	s.Auth = &sasl.Authenticator{Scram: func(ctx context.Context, authzid, user string) (sasl.ScramUser, error) {
		if user != "alice" {
			return sasl.ScramUser{}, sasl.ErrAuthFailed
		}
		return sasl.ScramUser{Credentials: creds}, nil
	}}
	ctx := ctxT(t)
	c, err := managesieve.NewClient(ctx, pipeConn(t, s), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Capabilities().SASL; len(got) != 1 || got[0] != "SCRAM-SHA-256" {
		t.Fatalf("SASL before TLS: %v", got)
	}
	if err := c.Authenticate(ctx, sasl.NewScramSHA256Client("alice", "wrong", &sasl.ScramClientOptions{MinIterations: 4096})); err == nil {
		t.Fatal("wrong SCRAM password accepted")
	}
	if err := c.Authenticate(ctx, sasl.NewScramSHA256Client("alice", "secret", &sasl.ScramClientOptions{MinIterations: 4096})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListScripts(ctx); err != nil {
		t.Fatal(err)
	}
}
