// Package pop3mem is an in-memory backend for the pop3 server: users with
// passwords (checked through [Backend.Authenticator] set as
// pop3.Server.Auth), maildrops held in memory with exclusive locks, deletion that
// is all or nothing. It is meant for tests, examples and benchmarks; it
// keeps every message in memory.
package pop3mem

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/sasl"
)

// Backend holds users and their maildrops. The zero Backend has no user;
// it is safe for concurrent use.
type Backend struct {
	mu    sync.Mutex
	users map[string]*user
	next  uint64 // for unique ids
}

type user struct {
	password string
	msgs     []message
	locked   bool
}

type message struct {
	uid  string
	data []byte // CRLF line endings
}

// New returns an empty Backend.
func New() *Backend { return &Backend{} }

// AddUser creates username with password, or changes the password of an
// existing user.
func (b *Backend) AddUser(username, password string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.users == nil {
		b.users = map[string]*user{}
	}
	if u := b.users[username]; u != nil {
		u.password = password
		return
	}
	b.users[username] = &user{password: password}
}

// ErrNoUser is returned by Deliver for an unknown user.
var ErrNoUser = errors.New("pop3mem: no such user")

// Deliver appends msg to the maildrop of username and returns its unique
// id. Line endings are stored as CRLF whatever msg uses.
func (b *Backend) Deliver(username string, msg []byte) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[username]
	if u == nil {
		return "", ErrNoUser
	}
	b.next++
	uid := "m" + strconv.FormatUint(b.next, 10)
	u.msgs = append(u.msgs, message{uid: uid, data: toCRLF(msg)})
	return uid, nil
}

// Count returns how many messages the maildrop of username holds.
func (b *Backend) Count(username string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u := b.users[username]; u != nil {
		return len(u.msgs)
	}
	return 0
}

// toCRLF copies msg with every line ending as CRLF.
func toCRLF(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+len(msg)/32)
	for i := 0; i < len(msg); i++ {
		switch c := msg[i]; c {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(msg) && msg[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// CheckPassword is a sasl.PasswordFunc over the users of b: it accepts
// username with its password, with no authzid or one equal to username.
// Refused credentials fail with an error matching pop3.ErrAuthFailed.
func (b *Backend) CheckPassword(ctx context.Context, authzid, username, password string) (string, error) {
	b.mu.Lock()
	u := b.users[username]
	b.mu.Unlock()
	if u == nil || subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) != 1 {
		return "", pop3.ErrAuthFailed
	}
	if authzid != "" && authzid != username {
		return "", pop3.ErrAuthFailed
	}
	return username, nil
}

// Authenticator returns a new sasl.Authenticator that checks the users of
// b with CheckPassword, for pop3.Server.Auth (PLAIN, LOGIN and USER/PASS).
// The caller may set its other fields, such as AllowInsecure.
func (b *Backend) Authenticator() *sasl.Authenticator {
	return &sasl.Authenticator{Password: b.CheckPassword}
}

// Open implements pop3.Backend: it locks the maildrop, or answers
// [IN-USE] when another session holds it.
func (b *Backend) Open(ctx context.Context, info *pop3.ConnInfo, identity string) (pop3.Mailbox, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[identity]
	if u == nil {
		return nil, pop3.ErrAuthFailed
	}
	if u.locked {
		return nil, &pop3.Error{Code: pop3.CodeInUse, Message: "Maildrop already locked by another session"}
	}
	u.locked = true
	return &mailbox{b: b, u: u}, nil
}

// WithAPOP returns b as a pop3.APOPBackend whose shared secret is each
// user's password, so the server offers APOP.
func (b *Backend) WithAPOP() pop3.APOPBackend { return apop{b} }

type apop struct{ *Backend }

func (a apop) SharedSecret(ctx context.Context, info *pop3.ConnInfo, username string) (string, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.users[username]
	if u == nil {
		return "", "", pop3.ErrAuthFailed
	}
	return u.password, username, nil
}

// mailbox is one locked maildrop; msgs is the snapshot taken by List.
type mailbox struct {
	b    *Backend
	u    *user
	msgs []message
}

func (m *mailbox) List(ctx context.Context) ([]pop3.MessageInfo, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	m.msgs = append([]message(nil), m.u.msgs...)
	list := make([]pop3.MessageInfo, len(m.msgs))
	for i, msg := range m.msgs {
		list[i] = pop3.MessageInfo{Size: int64(len(msg.data)), UID: msg.uid}
	}
	return list, nil
}

func (m *mailbox) Message(ctx context.Context, n int) (io.ReadCloser, error) {
	if n < 1 || n > len(m.msgs) {
		return nil, errors.New("pop3mem: message number out of range")
	}
	return io.NopCloser(bytes.NewReader(m.msgs[n-1].data)), nil
}

// Commit removes the messages by unique id, so messages delivered during
// the session stay.
func (m *mailbox) Commit(ctx context.Context, deleted []int) error {
	drop := map[string]bool{}
	for _, n := range deleted {
		if n < 1 || n > len(m.msgs) {
			return errors.New("pop3mem: message number out of range")
		}
		drop[m.msgs[n-1].uid] = true
	}
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	kept := m.u.msgs[:0:0]
	for _, msg := range m.u.msgs {
		if !drop[msg.uid] {
			kept = append(kept, msg)
		}
	}
	m.u.msgs = kept
	return nil
}

func (m *mailbox) Close() error {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	m.u.locked = false
	return nil
}
