// Package managesievemem is an in-memory managesieve.Backend for tests and
// examples: users with passwords, their scripts in maps, quotas per
// Backend.
package managesievemem

import (
	"context"
	"crypto/subtle"
	"maps"
	"slices"
	"sync"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/sieve/managesieve"
)

// Backend keeps users and their scripts in memory. It is safe for
// concurrent use; the connections of one user share that user's scripts.
type Backend struct {
	// Quota applies to every user; set it before the first use.
	Quota managesieve.Quota

	mu    sync.Mutex
	users map[string]*user
}

type user struct {
	password string
	scripts  map[string][]byte
	active   string
}

// New returns an empty Backend.
func New() *Backend { return &Backend{users: map[string]*user{}} }

// AddUser adds a user with a password and no scripts, or resets the
// password of an existing one.
func (b *Backend) AddUser(name, password string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, ok := b.users[name]; ok {
		u.password = password
		return
	}
	b.users[name] = &user{password: password, scripts: map[string][]byte{}}
}

// CheckPassword is a sasl.PasswordFunc for the users of b.
func (b *Backend) CheckPassword(ctx context.Context, authzid, username, password string) (string, error) {
	b.mu.Lock()
	u, ok := b.users[username]
	pw := ""
	if ok {
		pw = u.password
	}
	b.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(pw), []byte(password)) != 1 || authzid != "" && authzid != username {
		return "", sasl.ErrAuthFailed
	}
	return username, nil
}

// Authenticator returns an Authenticator offering PLAIN and LOGIN for the
// users of b (over TLS, unless AllowInsecure is then set).
func (b *Backend) Authenticator() *sasl.Authenticator {
	return &sasl.Authenticator{Password: b.CheckPassword}
}

// Active returns the active script of a user: its name and content, or ""
// and nil when none is active.
func (b *Backend) Active(username string) (string, []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[username]
	if !ok || u.active == "" {
		return "", nil
	}
	return u.active, slices.Clone(u.scripts[u.active])
}

// Open returns the store of identity, which must have been added.
func (b *Backend) Open(ctx context.Context, info *managesieve.ConnInfo, identity string) (managesieve.Store, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[identity]
	if !ok {
		return nil, sasl.ErrAuthFailed
	}
	return &store{b: b, u: u}, nil
}

// store is one connection's view of a user; the Backend's lock guards the
// user.
type store struct {
	b *Backend
	u *user
}

func (s *store) List(ctx context.Context) ([]managesieve.Script, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	var out []managesieve.Script
	for _, n := range slices.Sorted(maps.Keys(s.u.scripts)) {
		out = append(out, managesieve.Script{Name: n, Active: n == s.u.active})
	}
	return out, nil
}

func (s *store) Get(ctx context.Context, name string) ([]byte, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	c, ok := s.u.scripts[name]
	if !ok {
		return nil, managesieve.ErrNonexistent
	}
	return slices.Clone(c), nil
}

func (s *store) usage() managesieve.Usage {
	u := managesieve.Usage{Scripts: len(s.u.scripts)}
	for _, c := range s.u.scripts {
		u.Bytes += int64(len(c))
	}
	return u
}

func (s *store) fits(name string, size int64) error {
	old, replaces := s.u.scripts[name]
	return s.b.Quota.Fits(s.usage(), replaces, int64(len(old)), size)
}

func (s *store) Put(ctx context.Context, name string, content []byte) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if err := s.fits(name, int64(len(content))); err != nil {
		return err
	}
	s.u.scripts[name] = slices.Clone(content)
	return nil
}

func (s *store) HaveSpace(ctx context.Context, name string, size int64) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.fits(name, size)
}

func (s *store) SetActive(ctx context.Context, name string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if name != "" {
		if _, ok := s.u.scripts[name]; !ok {
			return managesieve.ErrNonexistent
		}
	}
	s.u.active = name
	return nil
}

func (s *store) Delete(ctx context.Context, name string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if _, ok := s.u.scripts[name]; !ok {
		return managesieve.ErrNonexistent
	}
	if s.u.active == name {
		return managesieve.ErrActive
	}
	delete(s.u.scripts, name)
	return nil
}

func (s *store) Rename(ctx context.Context, oldName, newName string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	c, ok := s.u.scripts[oldName]
	if !ok {
		return managesieve.ErrNonexistent
	}
	if _, taken := s.u.scripts[newName]; taken {
		return managesieve.ErrAlreadyExists
	}
	delete(s.u.scripts, oldName)
	s.u.scripts[newName] = c
	if s.u.active == oldName {
		s.u.active = newName
	}
	return nil
}

func (s *store) Close() error { return nil }
