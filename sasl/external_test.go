package sasl

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// certUser is an ExternalFunc for a connection whose client certificate
// names "alice", who may also act as "shared".
func certUser(ctx context.Context, authzid string) (string, error) {
	switch authzid {
	case "", "alice":
		return "alice", nil
	case "shared":
		return "shared", nil
	}
	return "", ErrAuthFailed
}

func TestExternalServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		resps   [][]byte
		check   ExternalFunc
		wantID  string
		wantErr error
	}{
		{name: "empty authzid", resps: [][]byte{{}}, check: certUser, wantID: "alice"},
		{name: "own name", resps: [][]byte{[]byte("alice")}, check: certUser, wantID: "alice"},
		{name: "granted authzid", resps: [][]byte{[]byte("shared")}, check: certUser, wantID: "shared"},
		{name: "refused authzid", resps: [][]byte{[]byte("root")}, check: certUser, wantErr: ErrAuthFailed},
		{name: "after empty challenge", resps: [][]byte{nil, {}}, check: certUser, wantID: "alice"},
		{name: "check ignores authzid", resps: [][]byte{[]byte("root")}, check: func(context.Context, string) (string, error) { return "alice", nil }, wantErr: ErrAuthFailed},
		{name: "no certificate", resps: [][]byte{{}}, check: func(context.Context, string) (string, error) { return "", nil }, wantErr: ErrAuthFailed},
		{name: "NUL", resps: [][]byte{[]byte("a\x00b")}, check: certUser, wantErr: ErrMalformed},
		{name: "bad utf8", resps: [][]byte{[]byte("\xc3")}, check: certUser, wantErr: ErrMalformed},
		{name: "too long", resps: [][]byte{[]byte(strings.Repeat("a", DefaultMaxResponseLength+1))}, check: certUser, wantErr: ErrMalformed},
		{name: "after success", resps: [][]byte{{}, {}}, check: certUser, wantErr: ErrUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewExternalServer(tt.check, nil)
			var err error
			var done bool
			for _, r := range tt.resps {
				_, done, err = s.Next(ctx, r)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr != ErrUnexpected && s.Identity() != "" {
					t.Fatalf("identity %q after failure", s.Identity())
				}
				return
			}
			if err != nil || !done || s.Identity() != tt.wantID {
				t.Fatalf("done %v err %v identity %q, want %q", done, err, s.Identity(), tt.wantID)
			}
		})
	}
	down := errors.New("crl fetch failed")
	s := NewExternalServer(func(context.Context, string) (string, error) { return "", down }, nil)
	if _, _, err := s.Next(ctx, []byte{}); !errors.Is(err, down) || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("check error: %v", err)
	}
}

func TestExternalClient(t *testing.T) {
	t.Parallel()
	mech, ir, err := NewExternalClient("").Start()
	if err != nil || mech != External || ir == nil || len(ir) != 0 {
		t.Fatalf("Start() = %q %q %v; want an empty, non-nil initial response", mech, ir, err)
	}
	c := NewExternalClient("shared")
	if _, ir, _ := c.Start(); string(ir) != "shared" {
		t.Fatalf("initial response %q", ir)
	}
	if _, err := c.Next(nil); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("Next: %v", err)
	}
	if _, _, err := NewExternalClient("a\x00").Start(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("NUL authzid: %v", err)
	}
	for _, authzid := range []string{"", "shared"} {
		s := NewExternalServer(certUser, nil)
		if _, _, err := exchange(context.Background(), NewExternalClient(authzid), s); err != nil || s.Identity() == "" {
			t.Fatalf("round trip %q: %v", authzid, err)
		}
	}
}

func FuzzExternal(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("alice"))
	f.Add([]byte("\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewExternalServer(func(_ context.Context, authzid string) (string, error) {
			if authzid != string(b) {
				t.Fatalf("check saw %q for %q", authzid, b)
			}
			return "alice", nil
		}, nil)
		_, done, err := s.Next(context.Background(), b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("Next(%q): %v", b, err)
			}
			return
		}
		if !done || s.Identity() != "alice" || (len(b) > 0 && string(b) != "alice") {
			t.Fatalf("Next(%q) = %v identity %q", b, done, s.Identity())
		}
	})
}
