package sasl

import (
	"bytes"
	"context"
	"unicode/utf8"
)

// ExternalFunc authorizes an EXTERNAL exchange (RFC 4422 appendix A). The
// client was authenticated outside SASL, typically by its TLS client
// certificate, which the func reads from the connection it closes over.
// authzid is the identity the client asks to act as, "" for the one its
// credentials imply.
//
// It returns the identity the session acts as, which must not be "". A
// non-empty authzid is granted only when the returned identity equals it
// exactly. To refuse it returns an error matching [ErrAuthFailed]; any other
// error is passed up wrapped.
type ExternalFunc func(ctx context.Context, authzid string) (identity string, err error)

// ExternalServer is the server side of EXTERNAL. Create it with
// [NewExternalServer]; it serves one exchange.
type ExternalServer struct {
	check    ExternalFunc
	max      int
	step     step
	identity string
}

// NewExternalServer returns the server side of one EXTERNAL exchange that
// authorizes with check, which must not be nil. opts may be nil.
func NewExternalServer(check ExternalFunc, opts *ServerOptions) *ExternalServer {
	if check == nil {
		panic("sasl: NewExternalServer with a nil func")
	}
	return &ExternalServer{check: check, max: opts.maxResponse()}
}

// Next implements [Server]. The client's one message is its authzid, possibly
// empty; without an initial response the server asks for it with an empty
// challenge.
func (s *ExternalServer) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	if challenge, ready, err := s.step.single(External, response, s.max); !ready {
		return challenge, false, err
	}
	if bytes.IndexByte(response, 0) >= 0 || !utf8.Valid(response) {
		return nil, false, malformed(External, "authzid is not NUL-free UTF-8")
	}
	authzid := string(response)
	got, err := s.check(ctx, authzid)
	if err != nil {
		return nil, false, checkErr(External, err)
	}
	id, ok := resolveIdentity(authzid, "", got)
	if !ok {
		return nil, false, authFailed(External, "authorization identity not granted")
	}
	s.step, s.identity = stepDone, id
	return nil, true, nil
}

// Identity returns the authorized identity once Next has returned done.
func (s *ExternalServer) Identity() string { return s.identity }

// ExternalClient is the client side of EXTERNAL. Create it with
// [NewExternalClient].
type ExternalClient struct {
	authzid string
	started bool
}

// NewExternalClient returns the client side of one EXTERNAL exchange that
// asks to act as authzid, or "" for the identity the external credentials
// (the TLS client certificate) imply.
func NewExternalClient(authzid string) *ExternalClient {
	return &ExternalClient{authzid: authzid}
}

// Start implements [Client]. The initial response is the authzid, empty but
// not nil when there is none (sent as "=" in SMTP).
func (c *ExternalClient) Start() (string, []byte, error) {
	if c.started {
		return "", nil, unexpected(External, "Start called twice")
	}
	c.started = true
	if hasNUL(c.authzid) || !utf8.ValidString(c.authzid) {
		return "", nil, malformed(External, "authzid is not NUL-free UTF-8")
	}
	return External, []byte(c.authzid), nil
}

// Next implements [Client]. EXTERNAL has no challenges after the initial
// response, so every call fails with ErrUnexpected.
func (c *ExternalClient) Next(challenge []byte) ([]byte, error) {
	return nil, unexpected(External, "server sent a challenge")
}
