package sasl

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLoginServer(t *testing.T) {
	t.Parallel()
	check := passwords(map[string]string{"tim": "tanstaaftanstaaf"})
	type call struct {
		resp     []byte
		wantChal string
		wantDone bool
		wantErr  error
	}
	tests := []struct {
		name  string
		calls []call
		id    string
	}{
		{name: "prompts", id: "tim", calls: []call{
			{resp: nil, wantChal: "Username:"},
			{resp: []byte("tim"), wantChal: "Password:"},
			{resp: []byte("tanstaaftanstaaf"), wantDone: true},
		}},
		{name: "username as initial response", id: "tim", calls: []call{
			{resp: []byte("tim"), wantChal: "Password:"},
			{resp: []byte("tanstaaftanstaaf"), wantDone: true},
		}},
		{name: "wrong password", calls: []call{
			{resp: []byte("tim"), wantChal: "Password:"},
			{resp: []byte("x"), wantErr: ErrAuthFailed},
			{resp: []byte("tanstaaftanstaaf"), wantErr: ErrUnexpected},
		}},
		{name: "empty password refused", calls: []call{
			{resp: nil, wantChal: "Username:"},
			{resp: []byte("tim"), wantChal: "Password:"},
			{resp: []byte{}, wantErr: ErrAuthFailed},
		}},
		{name: "empty username", calls: []call{
			{resp: nil, wantChal: "Username:"},
			{resp: []byte{}, wantErr: ErrMalformed},
		}},
		{name: "empty initial response", calls: []call{
			{resp: []byte{}, wantErr: ErrMalformed},
		}},
		{name: "NUL in username", calls: []call{
			{resp: []byte("tim\x00admin"), wantErr: ErrMalformed},
		}},
		{name: "bad utf8 username", calls: []call{
			{resp: []byte("t\xffm"), wantErr: ErrMalformed},
		}},
		{name: "NUL in password", calls: []call{
			{resp: []byte("tim"), wantChal: "Password:"},
			{resp: []byte("tanstaaf\x00"), wantErr: ErrMalformed},
		}},
		{name: "too long", calls: []call{
			{resp: []byte(strings.Repeat("u", DefaultMaxResponseLength+1)), wantErr: ErrMalformed},
			{resp: []byte("tim"), wantErr: ErrUnexpected},
		}},
		{name: "after success", id: "tim", calls: []call{
			{resp: []byte("tim"), wantChal: "Password:"},
			{resp: []byte("tanstaaftanstaaf"), wantDone: true},
			{resp: []byte("x"), wantErr: ErrUnexpected},
			{resp: []byte(strings.Repeat("u", DefaultMaxResponseLength+1)), wantErr: ErrUnexpected},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewLoginServer(check, nil)
			for i, c := range tt.calls {
				chal, done, err := s.Next(context.Background(), c.resp)
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) {
						t.Fatalf("call %d: error = %v, want %v", i, err, c.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if done != c.wantDone || string(chal) != c.wantChal {
					t.Fatalf("call %d: got (%q, %v), want (%q, %v)", i, chal, done, c.wantChal, c.wantDone)
				}
			}
			if got := s.Identity(); got != tt.id {
				t.Fatalf("Identity() = %q, want %q", got, tt.id)
			}
		})
	}
}

func TestLoginServerNeverGrantsAuthzid(t *testing.T) {
	t.Parallel()
	// A check that returns another identity than the username is honoured:
	// LOGIN has no authzid, so the check alone decides.
	s := NewLoginServer(func(_ context.Context, authzid, user, pass string) (string, error) {
		if authzid != "" {
			t.Errorf("LOGIN passed authzid %q", authzid)
		}
		return "user-42", nil
	}, nil)
	for _, r := range []string{"tim", "pw"} {
		if _, _, err := s.Next(context.Background(), []byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Identity() != "user-42" {
		t.Fatalf("Identity() = %q", s.Identity())
	}
}

func TestLoginClient(t *testing.T) {
	t.Parallel()
	c := NewLoginClient("tim", "tanstaaftanstaaf")
	mech, ir, err := c.Start()
	if mech != Login || ir != nil || err != nil {
		t.Fatalf("Start() = %q, %q, %v", mech, ir, err)
	}
	for _, want := range []string{"tim", "tanstaaftanstaaf"} {
		got, err := c.Next([]byte("whatever:"))
		if err != nil || string(got) != want {
			t.Fatalf("Next() = %q, %v, want %q", got, err, want)
		}
	}
	if _, err := c.Next([]byte("again")); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("third Next error = %v, want ErrUnexpected", err)
	}
	if _, _, err := NewLoginClient("", "pw").Start(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty username: %v", err)
	}
}

func TestLoginRoundTrip(t *testing.T) {
	t.Parallel()
	check := passwords(map[string]string{"tim": "tanstaaftanstaaf"})
	s := NewLoginServer(check, nil)
	mech, rounds, err := exchange(context.Background(), NewLoginClient("tim", "tanstaaftanstaaf"), s)
	if err != nil || mech != Login || rounds != 2 || s.Identity() != "tim" {
		t.Fatalf("exchange = %q, %d rounds, %v, identity %q", mech, rounds, err, s.Identity())
	}
	s = NewLoginServer(check, nil)
	if _, _, err := exchange(context.Background(), NewLoginClient("tim", "nope"), s); !errors.Is(err, ErrAuthFailed) || s.Identity() != "" {
		t.Fatalf("wrong password: %v, identity %q", err, s.Identity())
	}
}

func FuzzLogin(f *testing.F) {
	f.Add([]byte("tim"), []byte("tanstaaftanstaaf"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte("t\x00m"), []byte("\xff"))
	f.Fuzz(func(t *testing.T, user, pass []byte) {
		s := NewLoginServer(func(_ context.Context, _, u, p string) (string, error) {
			if u != string(user) || p != string(pass) {
				t.Fatalf("check saw %q %q", u, p)
			}
			return "", nil
		}, nil)
		chal, done, err := s.Next(context.Background(), user)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("username %q: %v", user, err)
			}
			return
		}
		if done || string(chal) != loginPasswordPrompt {
			t.Fatalf("after username: %q %v", chal, done)
		}
		_, done, err = s.Next(context.Background(), pass)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("password %q: %v", pass, err)
			}
			return
		}
		if !done || s.Identity() != string(user) {
			t.Fatalf("done=%v identity=%q", done, s.Identity())
		}
	})
}
