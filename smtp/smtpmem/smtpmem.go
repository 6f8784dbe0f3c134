// Package smtpmem is an in-memory reference backend for package smtp: it
// accepts mail for a set of domains, authenticates users from a map, and
// keeps every accepted message in memory. It is meant for tests, examples
// and as a model for real backends; it is not a mail store.
package smtpmem

import (
	"context"
	"crypto/subtle"
	"io"
	"strings"
	"sync"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// Message is one accepted message.
type Message struct {
	From        smtp.Path
	To          []smtp.Path
	MailOptions smtp.MailOptions
	RcptOptions []smtp.RcptOptions
	// Data is the message as the server handed it over: with the
	// server's Received: field first unless Server.DisableReceived is
	// set.
	Data []byte
	// Conn is the connection's state when the message was accepted.
	Conn smtp.ConnInfo
}

// DefaultMaxMessages bounds how many messages a Backend keeps.
const DefaultMaxMessages = 1000

// Backend is an smtp.Backend that keeps messages in memory. Its zero value
// accepts mail for any domain and offers no AUTH. It is safe for
// concurrent use; fields must not change once it serves connections.
type Backend struct {
	// Domains lists the domains whose recipients are accepted, compared
	// without regard to case. Empty accepts every domain; other
	// recipients get 550 5.7.1 (relaying denied) unless the client has
	// authenticated.
	Domains []string
	// Users maps user names to passwords for AUTH PLAIN and LOGIN. Nil
	// disables AUTH.
	Users map[string]string
	// MaxMessages bounds the stored messages; once full, DATA gets
	// 452 4.3.1. Zero means DefaultMaxMessages.
	MaxMessages int

	mu       sync.Mutex
	messages []Message
}

// Messages returns a copy of the list of accepted messages.
func (b *Backend) Messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Message(nil), b.messages...)
}

// NewSession implements smtp.Backend.
func (b *Backend) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	if b.Users != nil {
		return &authSession{session{b: b, conn: c}}, nil
	}
	return &session{b: b, conn: c}, nil
}

type session struct {
	b     *Backend
	conn  *smtp.ConnInfo
	from  smtp.Path
	mail  smtp.MailOptions
	to    []smtp.Path
	rcpts []smtp.RcptOptions
}

func (s *session) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	s.from, s.mail = from, *opts
	return nil
}

func (s *session) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	if !s.local(to) && s.conn.AuthIdentity == "" {
		return &smtp.Error{Code: smtp.CodeMailboxUnavailable, Enhanced: smtp.EnhancedNotAuthorized, Message: "Relaying denied"}
	}
	s.to = append(s.to, to)
	s.rcpts = append(s.rcpts, *opts)
	return nil
}

func (s *session) local(p smtp.Path) bool {
	if len(s.b.Domains) == 0 || p.IsPostmaster() {
		return true
	}
	for _, d := range s.b.Domains {
		if strings.EqualFold(d, p.Domain) {
			return true
		}
	}
	return false
}

func (s *session) Data(ctx context.Context, r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	max := b.MaxMessages
	if max <= 0 {
		max = DefaultMaxMessages
	}
	if len(b.messages) >= max {
		return &smtp.Error{Code: smtp.CodeInsufficientStorage, Enhanced: smtp.EnhancedSystemFull, Message: "Mail store full"}
	}
	b.messages = append(b.messages, Message{
		From:        s.from,
		To:          append([]smtp.Path(nil), s.to...),
		MailOptions: s.mail,
		RcptOptions: append([]smtp.RcptOptions(nil), s.rcpts...),
		Data:        body,
		Conn:        *s.conn,
	})
	return nil
}

func (s *session) Reset(ctx context.Context) {
	s.from, s.mail, s.to, s.rcpts = smtp.Path{}, smtp.MailOptions{}, nil, nil
}

func (s *session) Close() error { return nil }

// authSession adds AUTH PLAIN and LOGIN.
type authSession struct{ session }

func (s *authSession) AuthMechanisms(ctx context.Context) []string {
	return []string{sasl.Plain, sasl.Login}
}

func (s *authSession) Auth(ctx context.Context, mech string) (sasl.Server, error) {
	check := func(ctx context.Context, authzid, user, pass string) (string, error) {
		want, ok := s.b.Users[user]
		if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
			return "", sasl.ErrAuthFailed
		}
		if authzid != "" && authzid != user {
			return "", sasl.ErrAuthFailed
		}
		return user, nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(check, nil), nil
	case sasl.Login:
		return sasl.NewLoginServer(check, nil), nil
	}
	return nil, &smtp.Error{Code: smtp.CodeParamNotImplemented, Enhanced: smtp.EnhancedInvalidArguments, Message: "Unrecognized authentication type"}
}
