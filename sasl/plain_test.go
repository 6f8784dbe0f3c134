package sasl

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParsePlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    plainMessage
		wantErr bool
	}{
		// RFC 4616 section 4 examples.
		{name: "rfc4616 tim", in: "\x00tim\x00tanstaaftanstaaf", want: plainMessage{"", "tim", "tanstaaftanstaaf"}},
		{name: "rfc4616 Ursel as Kurt", in: "Ursel\x00Kurt\x00xipj3plmq", want: plainMessage{"Ursel", "Kurt", "xipj3plmq"}},
		{name: "utf8", in: "\x00j\u00fcrgen\x00p\u00e4ss", want: plainMessage{"", "j\u00fcrgen", "p\u00e4ss"}},
		{name: "password with spaces", in: "\x00u\x00 a b ", want: plainMessage{"", "u", " a b "}},
		{name: "empty", in: "", wantErr: true},
		{name: "no nul", in: "user password", wantErr: true},
		{name: "one nul", in: "user\x00password", wantErr: true},
		{name: "three nuls", in: "\x00user\x00pass\x00word", wantErr: true},
		{name: "empty authcid", in: "a\x00\x00pw", wantErr: true},
		{name: "empty password", in: "\x00user\x00", wantErr: true},
		{name: "only nuls", in: "\x00\x00", wantErr: true},
		{name: "bad utf8 user", in: "\x00\xff\x00pw", wantErr: true},
		{name: "bad utf8 authzid", in: "\xc3\x00u\x00pw", wantErr: true},
		{name: "bad utf8 password", in: "\x00u\x00\xed\xa0\x80", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePlain([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("parsePlain(%q) error = %v, want ErrMalformed", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePlain(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("parsePlain(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlainServer(t *testing.T) {
	t.Parallel()
	check := passwords(map[string]string{"tim": "tanstaaftanstaaf", "root": "toor"})
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
		{name: "initial response", id: "tim", calls: []call{
			{resp: []byte("\x00tim\x00tanstaaftanstaaf"), wantDone: true},
		}},
		{name: "empty challenge first", id: "tim", calls: []call{
			{resp: nil, wantChal: ""},
			{resp: []byte("\x00tim\x00tanstaaftanstaaf"), wantDone: true},
		}},
		{name: "authzid equal to user", id: "tim", calls: []call{
			{resp: []byte("tim\x00tim\x00tanstaaftanstaaf"), wantDone: true},
		}},
		{name: "authzid granted", id: "admin", calls: []call{
			{resp: []byte("admin\x00root\x00toor"), wantDone: true},
		}},
		{name: "authzid not granted", calls: []call{
			{resp: []byte("admin\x00tim\x00tanstaaftanstaaf"), wantErr: ErrAuthFailed},
		}},
		{name: "wrong password", calls: []call{
			{resp: []byte("\x00tim\x00nope"), wantErr: ErrAuthFailed},
		}},
		{name: "unknown user", calls: []call{
			{resp: []byte("\x00bob\x00x"), wantErr: ErrAuthFailed},
		}},
		{name: "empty initial response", calls: []call{
			{resp: []byte{}, wantErr: ErrMalformed},
		}},
		{name: "malformed after challenge", calls: []call{
			{resp: nil, wantChal: ""},
			{resp: []byte("tim tanstaaftanstaaf"), wantErr: ErrMalformed},
		}},
		{name: "call after success", id: "tim", calls: []call{
			{resp: []byte("\x00tim\x00tanstaaftanstaaf"), wantDone: true},
			{resp: []byte("\x00tim\x00tanstaaftanstaaf"), wantErr: ErrUnexpected},
		}},
		{name: "call after failure", calls: []call{
			{resp: []byte("\x00tim\x00nope"), wantErr: ErrAuthFailed},
			{resp: []byte("\x00tim\x00tanstaaftanstaaf"), wantErr: ErrUnexpected},
		}},
		{name: "too long", calls: []call{
			{resp: []byte("\x00tim\x00" + strings.Repeat("x", DefaultMaxResponseLength)), wantErr: ErrMalformed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewPlainServer(check, nil)
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
				if !done && chal == nil {
					t.Fatalf("call %d: nil challenge, want an empty non-nil one", i)
				}
			}
			if got := s.Identity(); got != tt.id {
				t.Fatalf("Identity() = %q, want %q", got, tt.id)
			}
		})
	}
}

func TestPlainServerLimit(t *testing.T) {
	t.Parallel()
	check := passwords(map[string]string{"tim": "tanstaaftanstaaf"})
	msg := []byte("\x00tim\x00tanstaaftanstaaf")
	if _, _, err := NewPlainServer(check, &ServerOptions{MaxResponseLength: len(msg) - 1}).Next(context.Background(), msg); !errors.Is(err, ErrMalformed) {
		t.Fatalf("one byte over the limit: error = %v, want ErrMalformed", err)
	}
	if _, done, err := NewPlainServer(check, &ServerOptions{MaxResponseLength: len(msg)}).Next(context.Background(), msg); err != nil || !done {
		t.Fatalf("at the limit: done=%v err=%v", done, err)
	}
}

func TestPlainServerCheckError(t *testing.T) {
	t.Parallel()
	storeDown := errors.New("db: connection refused to 10.0.0.7")
	s := NewPlainServer(func(context.Context, string, string, string) (string, error) {
		return "", storeDown
	}, nil)
	_, _, err := s.Next(context.Background(), []byte("\x00tim\x00pw"))
	if !errors.Is(err, storeDown) {
		t.Fatalf("error = %v, want it to wrap the store's error", err)
	}
	if errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrMalformed) {
		t.Fatalf("error = %v must not look like a refusal", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s = NewPlainServer(passwords(map[string]string{"tim": "pw"}), nil)
	if _, _, err := s.Next(ctx, []byte("\x00tim\x00pw")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: error = %v, want context.Canceled", err)
	}
}

func TestPlainClient(t *testing.T) {
	t.Parallel()
	mech, ir, err := NewPlainClient("Ursel", "Kurt", "xipj3plmq").Start()
	if err != nil || mech != Plain || string(ir) != "Ursel\x00Kurt\x00xipj3plmq" {
		t.Fatalf("Start() = %q, %q, %v", mech, ir, err)
	}
	c := NewPlainClient("", "tim", "tanstaaftanstaaf")
	if _, ir, _ := c.Start(); string(ir) != "\x00tim\x00tanstaaftanstaaf" {
		t.Fatalf("initial response = %q", ir)
	}
	if _, err := c.Next([]byte{}); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("Next error = %v, want ErrUnexpected", err)
	}
	for _, bad := range []*PlainClient{
		NewPlainClient("", "", "pw"),
		NewPlainClient("", "u", ""),
		NewPlainClient("a\x00b", "u", "pw"),
		NewPlainClient("", "u\x00", "pw"),
		NewPlainClient("", "u", "\xff"),
	} {
		if _, _, err := bad.Start(); !errors.Is(err, ErrMalformed) {
			t.Errorf("Start(%q, %q, %q) error = %v, want ErrMalformed", bad.authzid, bad.username, bad.password, err)
		}
	}
}

func TestPlainRoundTrip(t *testing.T) {
	t.Parallel()
	check := passwords(map[string]string{"tim": "tanstaaftanstaaf", "root": "toor"})
	tests := []struct {
		authzid, user, pass string
		wantID              string
		wantErr             error
	}{
		{"", "tim", "tanstaaftanstaaf", "tim", nil},
		{"admin", "root", "toor", "admin", nil},
		{"admin", "tim", "tanstaaftanstaaf", "", ErrAuthFailed},
		{"", "tim", "wrong", "", ErrAuthFailed},
	}
	for _, tt := range tests {
		s := NewPlainServer(check, nil)
		_, _, err := exchange(context.Background(), NewPlainClient(tt.authzid, tt.user, tt.pass), s)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("%q/%q: error = %v, want %v", tt.authzid, tt.user, err, tt.wantErr)
		}
		if s.Identity() != tt.wantID {
			t.Errorf("%q/%q: Identity() = %q, want %q", tt.authzid, tt.user, s.Identity(), tt.wantID)
		}
	}
}

func FuzzPlain(f *testing.F) {
	for _, s := range []string{"\x00tim\x00tanstaaftanstaaf", "Ursel\x00Kurt\x00xipj3plmq", "", "\x00", "\x00\x00", "a\x00b\x00c\x00d", "\x00\xff\x00x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := parsePlain(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		// A parsed message formats back to the same bytes.
		_, again, err := NewPlainClient(msg.authzid, msg.username, msg.password).Start()
		if err != nil || string(again) != string(b) {
			t.Fatalf("round trip of %q: %q, %v", b, again, err)
		}
		s := NewPlainServer(func(_ context.Context, authzid, user, pass string) (string, error) {
			if authzid != msg.authzid || user != msg.username || pass != msg.password {
				t.Fatalf("check saw %q %q %q, parser %+v", authzid, user, pass, msg)
			}
			return "", nil
		}, nil)
		_, done, err := s.Next(context.Background(), b)
		if msg.authzid == "" || msg.authzid == msg.username {
			if err != nil || !done || s.Identity() != msg.username {
				t.Fatalf("Next(%q) = %v, %v; identity %q", b, done, err, s.Identity())
			}
		} else if !errors.Is(err, ErrAuthFailed) || s.Identity() != "" {
			t.Fatalf("Next(%q) with foreign authzid = %v, identity %q", b, err, s.Identity())
		}
	})
}
