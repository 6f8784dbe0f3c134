package sasl

import (
	"bytes"
	"context"
	"unicode/utf8"
)

// The prompts the LOGIN server sends, as most servers do. Clients answer in
// order and do not read them (draft-murchison-sasl-login section 2).
const (
	loginUsernamePrompt = "Username:"
	loginPasswordPrompt = "Password:"
)

// LoginServer is the server side of LOGIN (draft-murchison-sasl-login-00), the
// obsolete mechanism some mail clients still use. Create it with
// [NewLoginServer]; it serves one exchange.
type LoginServer struct {
	check    PasswordFunc
	max      int
	step     step
	username string
	identity string
}

// NewLoginServer returns the server side of one LOGIN exchange that checks
// credentials with check (not nil), which always sees authzid "". opts
// may be nil.
//
// An empty password is refused without calling check, because some
// credential stores (LDAP simple bind, for one) treat it as an anonymous
// success. LOGIN sends the password in the clear: offer it only on TLS
// connections.
func NewLoginServer(check PasswordFunc, opts *ServerOptions) *LoginServer {
	if check == nil {
		panic("sasl: NewLoginServer with a nil func")
	}
	return &LoginServer{check: check, max: opts.maxResponse()}
}

// Next implements [Server]. It asks "Username:" and then "Password:"; an
// initial response is taken as the username, as several clients send it.
func (s *LoginServer) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	if s.step >= stepDone {
		return nil, false, unexpected(Login, "exchange already ended")
	}
	if len(response) > s.max {
		s.step = stepFailed
		return nil, false, malformed(Login, "response too long")
	}
	switch s.step {
	case stepStart:
		if response == nil {
			s.step = stepWait
			return []byte(loginUsernamePrompt), false, nil
		}
		return s.takeUsername(response)
	case stepWait:
		return s.takeUsername(response)
	case stepWait2:
		s.step = stepFailed
		if len(response) == 0 {
			return nil, false, authFailed(Login, "empty password")
		}
		if bytes.IndexByte(response, 0) >= 0 {
			return nil, false, malformed(Login, "NUL in password")
		}
		got, err := s.check(ctx, "", s.username, string(response))
		if err != nil {
			return nil, false, checkErr(Login, err)
		}
		id, ok := resolveIdentity("", s.username, got)
		if !ok {
			return nil, false, authFailed(Login, "no identity")
		}
		s.step, s.identity = stepDone, id
		return nil, true, nil
	}
	return nil, false, unexpected(Login, "exchange already ended")
}

func (s *LoginServer) takeUsername(b []byte) ([]byte, bool, error) {
	s.step = stepFailed
	if len(b) == 0 {
		return nil, false, malformed(Login, "empty username")
	}
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return nil, false, malformed(Login, "username is not NUL-free UTF-8")
	}
	s.username = string(b)
	s.step = stepWait2
	return []byte(loginPasswordPrompt), false, nil
}

// Identity returns the authenticated identity once Next has returned done.
func (s *LoginServer) Identity() string { return s.identity }

// LoginClient is the client side of LOGIN. Create it with [NewLoginClient].
type LoginClient struct {
	username, password string
	step               int
}

// NewLoginClient returns the client side of one LOGIN exchange. Prefer PLAIN
// where the server offers it; LOGIN sends the password in the clear too.
func NewLoginClient(username, password string) *LoginClient {
	return &LoginClient{username: username, password: password}
}

// Start implements [Client]. LOGIN has no initial response.
func (c *LoginClient) Start() (string, []byte, error) {
	if c.step != 0 {
		return "", nil, unexpected(Login, "Start called twice")
	}
	c.step = 1
	if c.username == "" || c.password == "" {
		return "", nil, malformed(Login, "empty username or password")
	}
	if hasNUL(c.username) || hasNUL(c.password) {
		return "", nil, malformed(Login, "NUL in credentials")
	}
	return Login, nil, nil
}

// Next implements [Client]. It answers the first challenge with the username
// and the second with the password, whatever their prompt text says.
func (c *LoginClient) Next(challenge []byte) ([]byte, error) {
	switch c.step {
	case 1:
		c.step = 2
		return []byte(c.username), nil
	case 2:
		c.step = 3
		return []byte(c.password), nil
	default:
		return nil, unexpected(Login, "unexpected challenge")
	}
}
