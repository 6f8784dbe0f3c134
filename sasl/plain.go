package sasl

import (
	"bytes"
	"context"
	"unicode/utf8"
)

// PasswordFunc checks a username and password for the PLAIN and LOGIN
// servers. authzid is the authorization identity the client asked to act as,
// "" when it asked for none (always "" with LOGIN). The strings are passed as
// the client sent them; SASLprep or other normalisation is up to the func.
//
// It returns the identity the session acts as. Returning "" means username.
// A non-empty authzid is granted only when the returned identity equals it
// exactly, so to let username act as authzid the func returns authzid.
// To refuse, it returns an error matching [ErrAuthFailed]; any other error
// (a credential store that is down, a cancelled ctx) is passed up wrapped,
// for the protocol layer to answer as a temporary failure.
//
// Compare secrets in constant time (crypto/subtle) or with a password hash.
type PasswordFunc func(ctx context.Context, authzid, username, password string) (identity string, err error)

// PlainServer is the server side of PLAIN (RFC 4616). Create it with
// [NewPlainServer]; it serves one exchange.
type PlainServer struct {
	check    PasswordFunc
	max      int
	step     step
	identity string
}

// NewPlainServer returns the server side of one PLAIN exchange that checks
// credentials with check, which must not be nil. opts may be nil.
//
// PLAIN sends the password in the clear: offer it only on TLS connections.
func NewPlainServer(check PasswordFunc, opts *ServerOptions) *PlainServer {
	if check == nil {
		panic("sasl: NewPlainServer with a nil func")
	}
	return &PlainServer{check: check, max: opts.maxResponse()}
}

// Next implements [Server]. Without an initial response it answers an empty
// challenge and takes the credentials from the next response.
func (s *PlainServer) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	if challenge, ready, err := s.step.single(Plain, response, s.max); !ready {
		return challenge, false, err
	}
	msg, err := parsePlain(response)
	if err != nil {
		return nil, false, err
	}
	got, err := s.check(ctx, msg.authzid, msg.username, msg.password)
	if err != nil {
		return nil, false, checkErr(Plain, err)
	}
	id, ok := resolveIdentity(msg.authzid, msg.username, got)
	if !ok {
		return nil, false, authFailed(Plain, "authorization identity not granted")
	}
	s.step, s.identity = stepDone, id
	return nil, true, nil
}

// Identity returns the authenticated identity once Next has returned done.
func (s *PlainServer) Identity() string { return s.identity }

type plainMessage struct {
	authzid, username, password string
}

// parsePlain parses message = [authzid] UTF8NUL authcid UTF8NUL passwd
// (RFC 4616 section 2).
func parsePlain(b []byte) (plainMessage, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return plainMessage{}, malformed(Plain, "missing NUL separator")
	}
	j := bytes.IndexByte(b[i+1:], 0)
	if j < 0 {
		return plainMessage{}, malformed(Plain, "missing second NUL separator")
	}
	j += i + 1
	authzid, authcid, passwd := b[:i], b[i+1:j], b[j+1:]
	if bytes.IndexByte(passwd, 0) >= 0 {
		return plainMessage{}, malformed(Plain, "too many NUL separators")
	}
	if len(authcid) == 0 {
		return plainMessage{}, malformed(Plain, "empty authentication identity")
	}
	if len(passwd) == 0 {
		return plainMessage{}, malformed(Plain, "empty password")
	}
	if !utf8.Valid(authzid) || !utf8.Valid(authcid) || !utf8.Valid(passwd) {
		return plainMessage{}, malformed(Plain, "invalid UTF-8")
	}
	return plainMessage{string(authzid), string(authcid), string(passwd)}, nil
}

// PlainClient is the client side of PLAIN (RFC 4616). Create it with
// [NewPlainClient].
type PlainClient struct {
	authzid, username, password string
	started                     bool
}

// NewPlainClient returns the client side of one PLAIN exchange. authzid is
// the identity to act as, "" to act as username.
//
// PLAIN sends the password in the clear: use it only on TLS connections.
func NewPlainClient(authzid, username, password string) *PlainClient {
	return &PlainClient{authzid: authzid, username: username, password: password}
}

// Start implements [Client]. The initial response carries the credentials;
// a protocol that cannot send an initial response with its command sends it
// in answer to the server's first, empty challenge.
func (c *PlainClient) Start() (string, []byte, error) {
	if c.started {
		return "", nil, unexpected(Plain, "Start called twice")
	}
	c.started = true
	if c.username == "" || c.password == "" {
		return "", nil, malformed(Plain, "empty username or password")
	}
	if hasNUL(c.authzid) || hasNUL(c.username) || hasNUL(c.password) {
		return "", nil, malformed(Plain, "NUL in credentials")
	}
	if !utf8.ValidString(c.authzid) || !utf8.ValidString(c.username) || !utf8.ValidString(c.password) {
		return "", nil, malformed(Plain, "invalid UTF-8 in credentials")
	}
	b := make([]byte, 0, len(c.authzid)+len(c.username)+len(c.password)+2)
	b = append(b, c.authzid...)
	b = append(b, 0)
	b = append(b, c.username...)
	b = append(b, 0)
	b = append(b, c.password...)
	return Plain, b, nil
}

// Next implements [Client]. PLAIN has no challenges, so every call fails
// with ErrUnexpected.
func (c *PlainClient) Next(challenge []byte) ([]byte, error) {
	return nil, unexpected(Plain, "server sent a challenge")
}

func hasNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
