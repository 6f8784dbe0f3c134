package sasl

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// RFC 7677 section 3.
const (
	rfc7677ClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	rfc7677ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfc7677ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfc7677ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

func rfc7677Credentials(t testing.TB) ScramCredentials {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	creds, err := NewScramCredentials("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

func lookupOf(users map[string]ScramCredentials) ScramLookupFunc {
	return func(ctx context.Context, authzid, username string) (ScramUser, error) {
		if err := ctx.Err(); err != nil {
			return ScramUser{}, err
		}
		c, ok := users[username]
		if !ok {
			return ScramUser{}, ErrAuthFailed
		}
		u := ScramUser{Credentials: c}
		if authzid == "admin" && username == "root" {
			u.Identity = "admin"
		}
		return u, nil
	}
}

func TestScramRFC7677Server(t *testing.T) {
	t.Parallel()
	s := NewScramSHA256Server(lookupOf(map[string]ScramCredentials{"user": rfc7677Credentials(t)}), nil)
	s.serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	ctx := context.Background()
	chal, done, err := s.Next(ctx, []byte(rfc7677ClientFirst))
	if err != nil || done || string(chal) != rfc7677ServerFirst {
		t.Fatalf("server-first = %q, %v, %v\nwant %q", chal, done, err, rfc7677ServerFirst)
	}
	chal, done, err = s.Next(ctx, []byte(rfc7677ClientFinal))
	if err != nil || !done || string(chal) != rfc7677ServerFinal {
		t.Fatalf("server-final = %q, %v, %v\nwant %q", chal, done, err, rfc7677ServerFinal)
	}
	if s.Identity() != "user" {
		t.Fatalf("Identity() = %q", s.Identity())
	}
}

func TestScramRFC7677Client(t *testing.T) {
	t.Parallel()
	c := NewScramSHA256Client("user", "pencil", nil)
	c.clientNonce = "rOprNGfwEbeRWgbNEkqO"
	mech, ir, err := c.Start()
	if err != nil || mech != ScramSHA256 || string(ir) != rfc7677ClientFirst {
		t.Fatalf("Start() = %q, %q, %v", mech, ir, err)
	}
	resp, err := c.Next([]byte(rfc7677ServerFirst))
	if err != nil || string(resp) != rfc7677ClientFinal {
		t.Fatalf("client-final = %q, %v\nwant %q", resp, err, rfc7677ClientFinal)
	}
	if c.ServerVerified() {
		t.Fatal("verified before server-final")
	}
	resp, err = c.Next([]byte(rfc7677ServerFinal))
	if err != nil || len(resp) != 0 || !c.ServerVerified() {
		t.Fatalf("after server-final: %q, %v, verified %v", resp, err, c.ServerVerified())
	}
}

func TestScramClientRejectsBadServerFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, final string
		want        error
	}{
		{"wrong signature", "v=" + base64.StdEncoding.EncodeToString(make([]byte, 32)), ErrAuthFailed},
		{"server error", "e=invalid-proof", ErrAuthFailed},
		{"server error unprintable", "e=\x01\x02", ErrAuthFailed},
		{"bad base64", "v=???", ErrMalformed},
		{"unknown attribute", "x=1", ErrMalformed},
		{"empty", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewScramSHA256Client("user", "pencil", nil)
			c.clientNonce = "rOprNGfwEbeRWgbNEkqO"
			c.Start()
			if _, err := c.Next([]byte(rfc7677ServerFirst)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Next([]byte(tt.final)); !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if c.ServerVerified() {
				t.Fatal("ServerVerified after a bad server-final")
			}
			if _, err := c.Next([]byte(rfc7677ServerFinal)); !errors.Is(err, ErrUnexpected) {
				t.Fatalf("retry error = %v, want ErrUnexpected", err)
			}
		})
	}
}

func TestScramClientRejectsBadServerFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, first string
		opts        *ScramClientOptions
		want        error
	}{
		{"nonce not extended", "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", nil, ErrMalformed},
		{"nonce replaced", "r=XXXXNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", nil, ErrMalformed},
		{"nonce with space", "r=rOprNGfwEbeRWgbNEkqO a,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", nil, ErrMalformed},
		{"mandatory extension", "m=x,r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", nil, ErrMalformed},
		{"empty salt", "r=rOprNGfwEbeRWgbNEkqOa,s=,i=4096", nil, ErrMalformed},
		{"bad salt", "r=rOprNGfwEbeRWgbNEkqOa,s=W22Z*,i=4096", nil, ErrMalformed},
		{"zero iterations", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", nil, ErrMalformed},
		{"negative iterations", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1", nil, ErrMalformed},
		{"huge iterations", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999", nil, ErrMalformed},
		{"too few iterations", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095", nil, ErrAuthFailed},
		{"too many iterations", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000", nil, ErrAuthFailed},
		{"above own maximum", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=5000", &ScramClientOptions{MaxIterations: 4999}, ErrAuthFailed},
		{"missing iterations", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==", nil, ErrMalformed},
		{"wrong order", "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOa,i=4096", nil, ErrMalformed},
		{"trailing comma", "r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,", nil, ErrMalformed},
		{"empty", "", nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewScramSHA256Client("user", "pencil", tt.opts)
			c.clientNonce = "rOprNGfwEbeRWgbNEkqO"
			c.Start()
			if _, err := c.Next([]byte(tt.first)); !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
	// A lower minimum lets an old server in.
	c := NewScramSHA256Client("user", "pencil", &ScramClientOptions{MinIterations: 1000})
	c.clientNonce = "abc"
	c.Start()
	if _, err := c.Next([]byte("r=abcd,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000")); err != nil {
		t.Fatalf("MinIterations 1000: %v", err)
	}
	// Extensions after i= are ignored.
	c = NewScramSHA256Client("user", "pencil", nil)
	c.clientNonce = "rOprNGfwEbeRWgbNEkqO"
	c.Start()
	if _, err := c.Next([]byte(rfc7677ServerFirst + ",x=ext")); err != nil {
		t.Fatalf("extension: %v", err)
	}
}

func TestScramServerClientFirstMalformed(t *testing.T) {
	t.Parallel()
	lookup := lookupOf(map[string]ScramCredentials{"user": rfc7677Credentials(t)})
	cb := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name string
		plus bool
		cb   []byte
		in   string
		want error
	}{
		{name: "empty", in: "", want: ErrMalformed},
		{name: "no gs2", in: "n=user,r=abc", want: ErrMalformed},
		{name: "bad flag", in: "x,,n=user,r=abc", want: ErrMalformed},
		{name: "p without -PLUS", in: "p=tls-exporter,,n=user,r=abc", want: ErrMalformed},
		{name: "empty cb name", in: "p=,,n=user,r=abc", want: ErrMalformed},
		{name: "bad cb name", in: "p=tls_unique,,n=user,r=abc", want: ErrMalformed},
		{name: "n with -PLUS", plus: true, cb: cb, in: "n,,n=user,r=abc", want: ErrMalformed},
		{name: "y with -PLUS", plus: true, cb: cb, in: "y,,n=user,r=abc", want: ErrMalformed},
		{name: "tls-unique with -PLUS", plus: true, cb: cb, in: "p=tls-unique,,n=user,r=abc", want: ErrAuthFailed},
		{name: "y when -PLUS offered", cb: cb, in: "y,,n=user,r=abc", want: ErrAuthFailed},
		{name: "mandatory extension", in: "n,,m=ext,n=user,r=abc", want: ErrMalformed},
		{name: "missing nonce", in: "n,,n=user", want: ErrMalformed},
		{name: "empty nonce", in: "n,,n=user,r=", want: ErrMalformed},
		{name: "nonce with DEL", in: "n,,n=user,r=ab\x7f", want: ErrMalformed},
		{name: "nonce first", in: "n,,r=abc,n=user", want: ErrMalformed},
		{name: "empty username", in: "n,,n=,r=abc", want: ErrMalformed},
		{name: "bad escape", in: "n,,n=us=2Xer,r=abc", want: ErrMalformed},
		{name: "truncated escape", in: "n,,n=user=2,r=abc", want: ErrMalformed},
		{name: "NUL in username", in: "n,,n=us\x00er,r=abc", want: ErrMalformed},
		{name: "bad utf8 username", in: "n,,n=\xff,r=abc", want: ErrMalformed},
		{name: "bad authzid", in: "n,a=x=,n=user,r=abc", want: ErrMalformed},
		{name: "empty authzid", in: "n,a=,n=user,r=abc", want: ErrMalformed},
		{name: "missing comma after gs2", in: "n,a=user", want: ErrMalformed},
		{name: "trailing comma", in: "n,,n=user,r=abc,", want: ErrMalformed},
		{name: "too many attributes", in: "n,,n=user,r=abc" + strings.Repeat(",x=1", 20), want: ErrMalformed},
		{name: "too long", in: "n,,n=user,r=" + strings.Repeat("a", DefaultMaxResponseLength), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &ScramServerOptions{ChannelBinding: tt.cb}
			s := NewScramSHA256Server(lookup, opts)
			if tt.plus {
				s = NewScramSHA256PlusServer(lookup, opts)
			}
			_, _, err := s.Next(context.Background(), []byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if _, _, err := s.Next(context.Background(), []byte(rfc7677ClientFinal)); !errors.Is(err, ErrUnexpected) {
				t.Fatalf("after failure: %v, want ErrUnexpected", err)
			}
		})
	}
}

func TestScramServerClientFinalMalformed(t *testing.T) {
	t.Parallel()
	lookup := lookupOf(map[string]ScramCredentials{"user": rfc7677Credentials(t)})
	const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	const proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrMalformed},
		{"no proof", "c=biws,r=" + nonce, ErrMalformed},
		{"proof not last", "c=biws,r=" + nonce + "," + proof + ",x=1", ErrMalformed},
		{"short proof", "c=biws,r=" + nonce + ",p=AAAA", ErrMalformed},
		{"proof not base64", "c=biws,r=" + nonce + ",p=!!!!", ErrMalformed},
		{"wrong proof", "c=biws,r=" + nonce + ",p=" + base64.StdEncoding.EncodeToString(make([]byte, 32)), ErrAuthFailed},
		{"wrong nonce", "c=biws,r=" + nonce + "x," + proof, ErrAuthFailed},
		{"wrong binding", "c=eSws,r=" + nonce + "," + proof, ErrAuthFailed},
		{"binding not base64", "c=b!ws,r=" + nonce + "," + proof, ErrMalformed},
		{"r before c", "r=" + nonce + ",c=biws," + proof, ErrMalformed},
		{"only proof", proof, ErrMalformed},
		{"extension changes auth message", "c=biws,r=" + nonce + ",x=1," + proof, ErrAuthFailed},
		{"too long", "c=biws,r=" + nonce + ",x=" + strings.Repeat("a", DefaultMaxResponseLength) + "," + proof, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewScramSHA256Server(lookup, nil)
			s.serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
			if _, _, err := s.Next(context.Background(), []byte(rfc7677ClientFirst)); err != nil {
				t.Fatal(err)
			}
			if _, done, err := s.Next(context.Background(), []byte(tt.in)); !errors.Is(err, tt.want) || done {
				t.Fatalf("error = %v, done %v, want %v", err, done, tt.want)
			}
			if s.Identity() != "" {
				t.Fatalf("Identity() = %q after failure", s.Identity())
			}
		})
	}
}

func TestScramRoundTrip(t *testing.T) {
	t.Parallel()
	user := rfc7677Credentials(t)
	root, err := NewScramCredentials("t\u00f6\u00f6r\u00a0pw", nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	comma, err := NewScramCredentials("x", nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	lookup := lookupOf(map[string]ScramCredentials{"user": user, "root": root, "a,b=c": comma})
	cb := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	tests := []struct {
		name      string
		plus      bool
		serverCB  []byte
		clientCB  []byte
		user, pw  string
		authzid   string
		wantID    string
		wantErr   error
		wantFinal bool
	}{
		{name: "plain", user: "user", pw: "pencil", wantID: "user"},
		{name: "wrong password", user: "user", pw: "pencil2", wantErr: ErrAuthFailed},
		{name: "unknown user", user: "nobody", pw: "pencil", wantErr: ErrAuthFailed},
		{name: "saslprep: NBSP and NFC", user: "root", pw: "to\u0308o\u0308r pw", wantID: "root"},
		{name: "escaped username", user: "a,b=c", pw: "x", wantID: "a,b=c"},
		{name: "authzid granted", user: "root", pw: "t\u00f6\u00f6r\u00a0pw", authzid: "admin", wantID: "admin"},
		{name: "authzid refused", user: "user", pw: "pencil", authzid: "admin", wantErr: ErrAuthFailed},
		{name: "authzid equal to user", user: "user", pw: "pencil", authzid: "user", wantID: "user"},
		{name: "client could bind, server has no -PLUS", clientCB: cb, user: "user", pw: "pencil", wantID: "user"},
		{name: "downgrade detected", serverCB: cb, clientCB: cb, user: "user", pw: "pencil", wantErr: ErrAuthFailed},
		{name: "PLUS", plus: true, serverCB: cb, clientCB: cb, user: "user", pw: "pencil", wantID: "user"},
		{name: "PLUS with authzid", plus: true, serverCB: cb, clientCB: cb, user: "root", pw: "t\u00f6\u00f6r\u00a0pw", authzid: "admin", wantID: "admin"},
		{name: "PLUS over another channel", plus: true, serverCB: cb, clientCB: other, user: "user", pw: "pencil", wantErr: ErrAuthFailed},
		{name: "PLUS wrong password", plus: true, serverCB: cb, clientCB: cb, user: "user", pw: "x", wantErr: ErrAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := &ScramServerOptions{ChannelBinding: tt.serverCB}
			copts := &ScramClientOptions{ChannelBinding: tt.clientCB, Authzid: tt.authzid}
			var s *ScramServer
			var c *ScramClient
			if tt.plus {
				s, c = NewScramSHA256PlusServer(lookup, opts), NewScramSHA256PlusClient(tt.user, tt.pw, copts)
			} else {
				s, c = NewScramSHA256Server(lookup, opts), NewScramSHA256Client(tt.user, tt.pw, copts)
			}
			mech, rounds, err := exchange(context.Background(), c, s)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if s.Identity() != "" || c.ServerVerified() {
					t.Fatalf("after failure: identity %q, verified %v", s.Identity(), c.ServerVerified())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if mech != s.mech || rounds != 1 || s.Identity() != tt.wantID || !c.ServerVerified() {
				t.Fatalf("mech %q rounds %d identity %q verified %v", mech, rounds, s.Identity(), c.ServerVerified())
			}
		})
	}
}

func TestScramServerWithoutInitialResponse(t *testing.T) {
	t.Parallel()
	s := NewScramSHA256Server(lookupOf(map[string]ScramCredentials{"user": rfc7677Credentials(t)}), nil)
	chal, done, err := s.Next(context.Background(), nil)
	if err != nil || done || chal == nil || len(chal) != 0 {
		t.Fatalf("first Next(nil) = %q, %v, %v", chal, done, err)
	}
	c := NewScramSHA256Client("user", "pencil", nil)
	_, ir, _ := c.Start()
	chal, _, err = s.Next(context.Background(), ir)
	if err != nil {
		t.Fatal(err)
	}
	final, _ := c.Next(chal)
	chal, done, err = s.Next(context.Background(), final)
	if err != nil || !done {
		t.Fatalf("final: %v %v", done, err)
	}
	if _, err := c.Next(chal); err != nil || !c.ServerVerified() {
		t.Fatalf("client on server-final: %v", err)
	}
}

func TestScramUnknownUserLooksKnown(t *testing.T) {
	t.Parallel()
	lookup := lookupOf(map[string]ScramCredentials{"user": rfc7677Credentials(t)})
	key := []byte("installation secret")
	first := func(user string) string {
		s := NewScramSHA256Server(lookup, &ScramServerOptions{UnknownUserKey: key})
		s.serverNonce = "S"
		chal, _, err := s.Next(context.Background(), []byte("n,,n="+user+",r=C"))
		if err != nil {
			t.Fatalf("unknown user %q fails early: %v", user, err)
		}
		return string(chal)
	}
	a, b := first("ghost"), first("ghost")
	if a != b {
		t.Fatalf("salt of an unknown user changes: %q vs %q", a, b)
	}
	if !strings.HasPrefix(a, "r=CS,s=") || !strings.HasSuffix(a, ",i=4096") {
		t.Fatalf("server-first for unknown user = %q", a)
	}
	if first("ghost") == first("phantom") {
		t.Fatal("two unknown users share a salt")
	}
}

func TestScramServerLookupErrors(t *testing.T) {
	t.Parallel()
	down := errors.New("ldap: server 10.1.2.3 down")
	s := NewScramSHA256Server(func(context.Context, string, string) (ScramUser, error) {
		return ScramUser{}, down
	}, nil)
	_, _, err := s.Next(context.Background(), []byte(rfc7677ClientFirst))
	if !errors.Is(err, down) || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("error = %v, want the store's error", err)
	}
	// Broken stored credentials are a server problem, not a refusal.
	s = NewScramSHA256Server(func(context.Context, string, string) (ScramUser, error) {
		return ScramUser{Credentials: ScramCredentials{Salt: []byte("s"), Iterations: 4096}}, nil
	}, nil)
	_, _, err = s.Next(context.Background(), []byte(rfc7677ClientFirst))
	if err == nil || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrMalformed) {
		t.Fatalf("broken credentials: error = %v", err)
	}
	// -PLUS without channel binding data is a configuration error.
	s = NewScramSHA256PlusServer(lookupOf(nil), nil)
	_, _, err = s.Next(context.Background(), []byte("p=tls-exporter,,n=user,r=abc"))
	if err == nil || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrMalformed) {
		t.Fatalf("-PLUS without data: error = %v", err)
	}
}

func TestScramClientStart(t *testing.T) {
	t.Parallel()
	c := NewScramSHA256Client("a,b=c", "pw", &ScramClientOptions{Authzid: "x=y"})
	c.clientNonce = "N"
	_, ir, err := c.Start()
	if err != nil || string(ir) != "n,a=x=3Dy,n=a=2Cb=3Dc,r=N" {
		t.Fatalf("Start() = %q, %v", ir, err)
	}
	c = NewScramSHA256PlusClient("u", "pw", &ScramClientOptions{ChannelBinding: []byte{1}})
	c.clientNonce = "N"
	if _, ir, _ := c.Start(); string(ir) != "p=tls-exporter,,n=u,r=N" {
		t.Fatalf("PLUS Start() = %q", ir)
	}
	c = NewScramSHA256Client("u", "pw", &ScramClientOptions{ChannelBinding: []byte{1}})
	c.clientNonce = "N"
	if _, ir, _ := c.Start(); string(ir) != "y,,n=u,r=N" {
		t.Fatalf("y Start() = %q", ir)
	}
	for _, bad := range []*ScramClient{
		NewScramSHA256Client("", "pw", nil),
		NewScramSHA256Client("u", "", nil),
		NewScramSHA256Client("u\x00", "pw", nil),
		NewScramSHA256Client("\xff", "pw", nil),
		NewScramSHA256PlusClient("u", "pw", nil),
	} {
		if _, _, err := bad.Start(); !errors.Is(err, ErrMalformed) {
			t.Errorf("Start(%q) error = %v, want ErrMalformed", bad.username, err)
		}
	}
	// A fresh client nonce every time.
	_, a, _ := NewScramSHA256Client("u", "pw", nil).Start()
	_, b, _ := NewScramSHA256Client("u", "pw", nil).Start()
	if string(a) == string(b) {
		t.Fatalf("client nonce repeats: %q", a)
	}
}

func TestScramCredentials(t *testing.T) {
	t.Parallel()
	c := rfc7677Credentials(t)
	s := c.String()
	const want = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
	if !strings.HasPrefix(s, want) {
		t.Fatalf("String() = %q, want prefix %q", s, want)
	}
	got, err := ParseScramCredentials(s)
	if err != nil || got.String() != s {
		t.Fatalf("ParseScramCredentials(%q) = %v, %v", s, got, err)
	}
	var u ScramCredentials
	text, err := c.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalText(text); err != nil || u.String() != s {
		t.Fatalf("UnmarshalText: %v %v", u, err)
	}
	if _, err := (ScramCredentials{}).MarshalText(); err == nil {
		t.Fatal("MarshalText of zero credentials succeeded")
	}

	gen, err := NewScramCredentials("pencil", nil, 0)
	if err != nil || len(gen.Salt) != ScramSaltLength || gen.Iterations != DefaultScramIterations {
		t.Fatalf("NewScramCredentials defaults: %+v, %v", gen, err)
	}
	gen2, _ := NewScramCredentials("pencil", nil, 0)
	if string(gen.Salt) == string(gen2.Salt) {
		t.Fatal("generated salts repeat")
	}
	for _, bad := range []struct {
		pw   string
		salt []byte
		iter int
	}{{"", nil, 0}, {"pw", []byte{}, 0}, {"pw", nil, -1}} {
		if _, err := NewScramCredentials(bad.pw, bad.salt, bad.iter); err == nil {
			t.Errorf("NewScramCredentials(%q, %v, %d) succeeded", bad.pw, bad.salt, bad.iter)
		}
	}

	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, bad := range []string{
		"",
		"SCRAM-SHA-1$4096:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$4096:c2FsdA==$" + key,
		"SCRAM-SHA-256$4096c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$4096:c2FsdA==" + key + ":" + key,
		"SCRAM-SHA-256$0:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$04096:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$+4096:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$1000001:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$4096:$" + key + ":" + key,
		"SCRAM-SHA-256$4096:c2FsdA$" + key + ":" + key,
		"SCRAM-SHA-256$4096:c2FsdA==$AAAA:" + key,
		"SCRAM-SHA-256$4096:c2FsdA==$" + key + ":" + key + "x",
	} {
		if _, err := ParseScramCredentials(bad); err == nil {
			t.Errorf("ParseScramCredentials(%q) succeeded", bad)
		}
	}
}

// tlsStates runs a TLS handshake of the given version over net.Pipe and
// returns the server's and the client's connection state.
func tlsStates(t *testing.T, version uint16, clientCert bool) (server, client tls.ConnectionState) {
	t.Helper()
	cert := selfSigned(t)
	a, b := net.Pipe()
	// Close the pipe itself: a TLS close_notify would wait for a reader.
	defer a.Close()
	defer b.Close()
	scfg := &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: version}
	ccfg := &tls.Config{InsecureSkipVerify: true, MaxVersion: version}
	if clientCert {
		scfg.ClientAuth = tls.RequireAnyClientCert
		ccfg.Certificates = []tls.Certificate{cert}
	}
	srv, cli := tls.Server(a, scfg), tls.Client(b, ccfg)
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return srv.ConnectionState(), cli.ConnectionState()
}

// TestTLSExporter binds SCRAM-SHA-256-PLUS to a real TLS 1.3 connection: both
// ends export the same data, and a TLS 1.2 connection is refused.
func TestTLSExporter(t *testing.T) {
	t.Parallel()
	scs, ccs := tlsStates(t, tls.VersionTLS13, false)
	sb, serr := TLSExporter(&scs)
	cb, cerr := TLSExporter(&ccs)
	if serr != nil || cerr != nil || len(sb) != 32 || string(sb) != string(cb) {
		t.Fatalf("exporter: %x %v / %x %v", sb, serr, cb, cerr)
	}
	lookup := lookupOf(map[string]ScramCredentials{"user": rfc7677Credentials(t)})
	s := NewScramSHA256PlusServer(lookup, &ScramServerOptions{ChannelBinding: sb})
	c := NewScramSHA256PlusClient("user", "pencil", &ScramClientOptions{ChannelBinding: cb})
	if _, _, err := exchange(context.Background(), c, s); err != nil || s.Identity() != "user" {
		t.Fatalf("PLUS over TLS 1.3: %v", err)
	}
	// Another connection has other binding data.
	other, _ := tlsStates(t, tls.VersionTLS13, false)
	ob, _ := TLSExporter(&other)
	if string(ob) == string(sb) {
		t.Fatal("two connections share binding data")
	}

	scs, ccs = tlsStates(t, tls.VersionTLS12, false)
	if _, err := TLSExporter(&scs); err == nil {
		t.Fatal("TLS 1.2 exporter accepted on the server")
	}
	if _, err := TLSExporter(&ccs); err == nil {
		t.Fatal("TLS 1.2 exporter accepted on the client")
	}
	if _, err := TLSExporter(nil); err == nil {
		t.Fatal("TLSExporter(nil) succeeded")
	}
	if _, err := TLSExporter(&tls.ConnectionState{}); err == nil {
		t.Fatal("TLSExporter before handshake succeeded")
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		DNSNames:     []string{"mx.example.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestPrepPassword(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"pencil", "pencil"},
		{"with space", "with space"},
		{"I\u00adX", "IX"},                    // RFC 4013 section 3 example: soft hyphen mapped to nothing
		{"user", "user"},                      // RFC 4013 section 3
		{"USER", "USER"},                      // case preserved
		{"\u00aa", "a"},                       // RFC 4013 section 3: NFKC
		{"\u2168", "IX"},                      // RFC 4013 section 3: NFKC
		{"a\u00a0b\u2003c\u3000d", "a b c d"}, // non-ASCII spaces
		{"zero\u200bwidth", "zero width"},     // U+200B is in C.1.2 first
		{"a\ufe0fb\ufeffc", "abc"},            // variation selector, BOM
		{"pa\u0308ss", "p\u00e4ss"},           // composed
		// Refused by SASLprep: used as given.
		{"\u0007", "\u0007"},               // RFC 4013 section 3: prohibited
		{"tab\there", "tab\there"},         // ASCII control
		{"\u00ad", "\u00ad"},               // maps to the empty string
		{"\U000E0001tag", "\U000E0001tag"}, // tagging character
	}
	for _, tt := range tests {
		if got := prepPassword(tt.in); got != tt.want {
			t.Errorf("prepPassword(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
	}
}

func FuzzSASLprep(f *testing.F) {
	for _, s := range []string{"pencil", "I\u00adX", "\u2168", "a\u00a0b", "\u0007", "\ufb01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := prepPassword(s)
		if p == "" && s != "" {
			t.Fatalf("prepPassword(%+q) is empty", s)
		}
		if p != s && prepPassword(p) != p {
			t.Fatalf("prepPassword is not idempotent on %+q: %+q then %+q", s, p, prepPassword(p))
		}
	})
}
