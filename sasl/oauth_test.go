package sasl

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// RFC 7628 section 4.1.
const (
	rfc7628Token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
	rfc7628IR    = "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer " + rfc7628Token + "\x01\x01"
	// RFC 7628 section 4.3, the error of a failed exchange.
	rfc7628Error = `{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}`
	// Google's XOAUTH2 documentation.
	googleXOAuth2IR = "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2cBAQ=="
)

// tokens is a TokenFunc that knows one token per user.
func tokens(m map[string]string) TokenFunc {
	return func(ctx context.Context, req TokenRequest) (string, error) {
		for user, tok := range m {
			if tok == req.Token {
				return user, nil
			}
		}
		return "", &OAuthError{Scope: "example_scope", OpenIDConfiguration: "https://example.com/.well-known/openid-configuration"}
	}
}

func TestParseOAuthBearer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    TokenRequest
		wantErr bool
	}{
		{name: "rfc7628 4.1", in: rfc7628IR, want: TokenRequest{Username: "user@example.com", Token: rfc7628Token, Host: "server.example.com", Port: 143}},
		{name: "no authzid", in: "n,,\x01auth=Bearer abc\x01\x01", want: TokenRequest{Token: "abc"}},
		{name: "y flag", in: "y,,\x01auth=Bearer abc\x01\x01", want: TokenRequest{Token: "abc"}},
		{name: "scheme case", in: "n,,\x01auth=bEARER  abc.def-_~+/==\x01\x01", want: TokenRequest{Token: "abc.def-_~+/=="}},
		{name: "escaped authzid", in: "n,a=a=2Cb,\x01auth=Bearer abc\x01\x01", want: TokenRequest{Username: "a,b", Token: "abc"}},
		{name: "unknown key ignored", in: "n,,\x01auth=Bearer abc\x01mtls=x y\x01\x01", want: TokenRequest{Token: "abc"}},
		{name: "dummy response first", in: "\x01", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "channel binding", in: "p=tls-exporter,,\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "no auth", in: "n,,\x01host=x\x01\x01", wantErr: true},
		{name: "no key-value pairs", in: "n,,\x01\x01", wantErr: true},
		{name: "other scheme", in: "n,,\x01auth=Basic dTpw\x01\x01", wantErr: true},
		{name: "no space", in: "n,,\x01auth=Bearerabc\x01\x01", wantErr: true},
		{name: "empty token", in: "n,,\x01auth=Bearer \x01\x01", wantErr: true},
		{name: "token with space", in: "n,,\x01auth=Bearer a b\x01\x01", wantErr: true},
		{name: "token only padding", in: "n,,\x01auth=Bearer ==\x01\x01", wantErr: true},
		{name: "padding inside token", in: "n,,\x01auth=Bearer a=b\x01\x01", wantErr: true},
		{name: "missing final separator", in: "n,,\x01auth=Bearer abc\x01", wantErr: true},
		{name: "missing separator after header", in: "n,,auth=Bearer abc\x01\x01", wantErr: true},
		{name: "repeated key", in: "n,,\x01auth=Bearer abc\x01auth=Bearer def\x01\x01", wantErr: true},
		{name: "bad key", in: "n,,\x01au-th=x\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "empty key", in: "n,,\x01=x\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "pair without =", in: "n,,\x01host\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "control in value", in: "n,,\x01host=a\x00b\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "bad port", in: "n,,\x01port=x\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "port too big", in: "n,,\x01port=65536\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "signed port", in: "n,,\x01port=+1\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "bad utf8", in: "n,,\x01host=\xff\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "too many keys", in: "n,,\x01" + strings.Repeat("k=v\x01", 40) + "auth=Bearer abc\x01\x01", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOAuthBearer([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseOAuthBearer(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestOAuthBearerServer(t *testing.T) {
	t.Parallel()
	check := tokens(map[string]string{"user@example.com": rfc7628Token})
	ctx := context.Background()

	s := NewOAuthBearerServer(check, nil)
	chal, done, err := s.Next(ctx, []byte(rfc7628IR))
	if err != nil || !done || chal != nil || s.Identity() != "user@example.com" {
		t.Fatalf("valid token: %q %v %v identity %q", chal, done, err, s.Identity())
	}

	// RFC 7628 section 4.3: a refused token gets the error JSON, the client
	// answers %x01 and the exchange fails.
	s = NewOAuthBearerServer(check, nil)
	ir := strings.Replace(rfc7628IR, rfc7628Token, "expired", 1)
	chal, done, err = s.Next(ctx, []byte(ir))
	if err != nil || done || string(chal) != rfc7628Error {
		t.Fatalf("refused token: %q %v %v\nwant %s", chal, done, err, rfc7628Error)
	}
	if _, done, err := s.Next(ctx, []byte{1}); !errors.Is(err, ErrAuthFailed) || done {
		t.Fatalf("after the error: %v %v", done, err)
	}
	if _, _, err := s.Next(ctx, []byte{1}); !errors.Is(err, ErrUnexpected) || s.Identity() != "" {
		t.Fatalf("after failure: %v, identity %q", err, s.Identity())
	}

	// A token for someone else than the authzid is refused with the default error.
	s = NewOAuthBearerServer(tokens(map[string]string{"other@example.com": rfc7628Token}), nil)
	chal, _, err = s.Next(ctx, []byte(rfc7628IR))
	if err != nil || string(chal) != `{"status":"invalid_token"}` {
		t.Fatalf("token of another user: %q %v", chal, err)
	}
	s = NewOAuthBearerServer(func(context.Context, TokenRequest) (string, error) { return "other", nil }, nil)
	chal, _, err = s.Next(ctx, []byte(rfc7628IR))
	if err != nil || string(chal) != `{"status":"invalid_token"}` {
		t.Fatalf("identity mismatch: %q %v", chal, err)
	}
	// Without authzid the check must name the user.
	s = NewOAuthBearerServer(func(context.Context, TokenRequest) (string, error) { return "", nil }, nil)
	chal, _, err = s.Next(ctx, []byte("n,,\x01auth=Bearer abc\x01\x01"))
	if err != nil || string(chal) != `{"status":"invalid_token"}` {
		t.Fatalf("no identity at all: %q %v", chal, err)
	}
	// ErrAuthFailed alone gives the default error; a custom status is kept.
	s = NewOAuthBearerServer(func(context.Context, TokenRequest) (string, error) {
		return "", &OAuthError{Status: "insufficient_scope", Scope: "mail"}
	}, nil)
	chal, _, _ = s.Next(ctx, []byte(rfc7628IR))
	if string(chal) != `{"status":"insufficient_scope","scope":"mail"}` {
		t.Fatalf("custom error: %s", chal)
	}

	// Errors that are not refusals pass up and send nothing.
	down := errors.New("jwks fetch: dial tcp 10.0.0.1:443: timeout")
	s = NewOAuthBearerServer(func(context.Context, TokenRequest) (string, error) { return "", down }, nil)
	chal, _, err = s.Next(ctx, []byte(rfc7628IR))
	if !errors.Is(err, down) || chal != nil {
		t.Fatalf("validator down: %q %v", chal, err)
	}

	// No initial response: an empty challenge first.
	s = NewOAuthBearerServer(check, nil)
	if chal, done, err := s.Next(ctx, nil); err != nil || done || chal == nil || len(chal) != 0 {
		t.Fatalf("Next(nil) = %q %v %v", chal, done, err)
	}
	if _, done, err := s.Next(ctx, []byte(rfc7628IR)); err != nil || !done {
		t.Fatalf("after empty challenge: %v %v", done, err)
	}

	// Limits and malformed input fail at once.
	s = NewOAuthBearerServer(check, &ServerOptions{MaxResponseLength: 16})
	if _, _, err := s.Next(ctx, []byte(rfc7628IR)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("over the limit: %v", err)
	}
	s = NewOAuthBearerServer(check, nil)
	if _, _, err := s.Next(ctx, []byte("\x01")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed: %v", err)
	}
}

func TestParseXOAuth2(t *testing.T) {
	t.Parallel()
	google, _ := base64.StdEncoding.DecodeString(googleXOAuth2IR)
	tests := []struct {
		name    string
		in      string
		want    TokenRequest
		wantErr bool
	}{
		{name: "google example", in: string(google), want: TokenRequest{Username: "someuser@example.com", Token: "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg"}},
		{name: "empty", in: "", wantErr: true},
		{name: "no user", in: "auth=Bearer abc\x01\x01", wantErr: true},
		{name: "empty user", in: "user=\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "NUL in user", in: "user=a\x00b\x01auth=Bearer abc\x01\x01", wantErr: true},
		{name: "no auth", in: "user=u\x01\x01", wantErr: true},
		{name: "one terminator", in: "user=u\x01auth=Bearer abc\x01", wantErr: true},
		{name: "three terminators", in: "user=u\x01auth=Bearer abc\x01\x01\x01", wantErr: true},
		{name: "extra key", in: "user=u\x01auth=Bearer abc\x01x=y\x01\x01", wantErr: true},
		{name: "basic", in: "user=u\x01auth=Basic abc\x01\x01", wantErr: true},
		{name: "bad utf8", in: "user=\xff\x01auth=Bearer abc\x01\x01", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseXOAuth2([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseXOAuth2(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestXOAuth2Server(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := tokens(map[string]string{"someuser@example.com": "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg"})
	google, _ := base64.StdEncoding.DecodeString(googleXOAuth2IR)
	s := NewXOAuth2Server(check, nil)
	if _, done, err := s.Next(ctx, google); err != nil || !done || s.Identity() != "someuser@example.com" {
		t.Fatalf("valid: %v %v %q", done, err, s.Identity())
	}
	s = NewXOAuth2Server(func(context.Context, TokenRequest) (string, error) { return "", ErrAuthFailed }, nil)
	chal, done, err := s.Next(ctx, google)
	if err != nil || done || string(chal) != `{"status":"401","schemes":"Bearer"}` {
		t.Fatalf("refused: %s %v %v", chal, done, err)
	}
	if _, _, err := s.Next(ctx, []byte{}); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("after error: %v", err)
	}
	s = NewXOAuth2Server(check, nil)
	chal, _, _ = s.Next(ctx, []byte("user=someuser@example.com\x01auth=Bearer other\x01\x01"))
	if string(chal) != `{"status":"401","schemes":"Bearer","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}` {
		t.Fatalf("refused with OAuthError: %s", chal)
	}
}

func TestOAuthClients(t *testing.T) {
	t.Parallel()
	c := NewOAuthBearerClient(TokenRequest{Username: "user@example.com", Token: rfc7628Token, Host: "server.example.com", Port: 143})
	mech, ir, err := c.Start()
	if err != nil || mech != OAuthBearer || string(ir) != rfc7628IR {
		t.Fatalf("Start() = %q %q %v", mech, ir, err)
	}
	resp, err := c.Next([]byte(rfc7628Error))
	if err != nil || string(resp) != "\x01" {
		t.Fatalf("Next(error) = %q %v", resp, err)
	}
	if e := c.ServerError(); e == nil || *e != (OAuthError{Status: "invalid_token", Scope: "example_scope", OpenIDConfiguration: "https://example.com/.well-known/openid-configuration"}) {
		t.Fatalf("ServerError() = %+v", e)
	}
	if _, err := c.Next(nil); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("second Next: %v", err)
	}
	for _, bad := range []TokenRequest{
		{Token: ""},
		{Token: "a b"},
		{Token: "abc", Username: "a\x00"},
		{Token: "abc", Host: "a\x01b"},
		{Token: "abc", Port: 70000},
	} {
		if _, _, err := NewOAuthBearerClient(bad).Start(); !errors.Is(err, ErrMalformed) {
			t.Errorf("Start(%+v) = %v, want ErrMalformed", bad, err)
		}
	}

	x := NewXOAuth2Client("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg")
	mech, ir, err = x.Start()
	if err != nil || mech != XOAuth2 || base64.StdEncoding.EncodeToString(ir) != googleXOAuth2IR {
		t.Fatalf("XOAUTH2 Start() = %q %q %v", mech, ir, err)
	}
	googleErr, _ := base64.StdEncoding.DecodeString("eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K")
	resp, err = x.Next(googleErr)
	if err != nil || resp == nil || len(resp) != 0 {
		t.Fatalf("XOAUTH2 Next(error) = %q %v", resp, err)
	}
	if e := x.ServerError(); e == nil || e.Status != "401" || e.Schemes != "bearer mac" || e.Scope != "https://mail.google.com/" {
		t.Fatalf("XOAUTH2 ServerError() = %+v", e)
	}
	for _, bad := range []*XOAuth2Client{NewXOAuth2Client("", "abc"), NewXOAuth2Client("u\x01", "abc"), NewXOAuth2Client("u", "a\x01")} {
		if _, _, err := bad.Start(); !errors.Is(err, ErrMalformed) {
			t.Errorf("XOAUTH2 Start(%q, %q) = %v", bad.username, bad.token, err)
		}
	}
	// Garbage instead of JSON leaves no server error.
	x = NewXOAuth2Client("u", "abc")
	x.Start()
	if _, err := x.Next([]byte("not json")); err != nil || x.ServerError() != nil {
		t.Fatalf("garbage challenge: %v %+v", err, x.ServerError())
	}
}

func TestOAuthRoundTrip(t *testing.T) {
	t.Parallel()
	check := tokens(map[string]string{"user@example.com": "good"})
	ctx := context.Background()
	tests := []struct {
		name    string
		c       Client
		s       IdentityServer
		wantID  string
		wantErr error
	}{
		{"OAUTHBEARER", NewOAuthBearerClient(TokenRequest{Username: "user@example.com", Token: "good"}), NewOAuthBearerServer(check, nil), "user@example.com", nil},
		{"OAUTHBEARER no authzid", NewOAuthBearerClient(TokenRequest{Token: "good"}), NewOAuthBearerServer(check, nil), "user@example.com", nil},
		{"OAUTHBEARER refused", NewOAuthBearerClient(TokenRequest{Token: "bad"}), NewOAuthBearerServer(check, nil), "", ErrAuthFailed},
		{"XOAUTH2", NewXOAuth2Client("user@example.com", "good"), NewXOAuth2Server(check, nil), "user@example.com", nil},
		{"XOAUTH2 wrong user", NewXOAuth2Client("eve@example.com", "good"), NewXOAuth2Server(check, nil), "", ErrAuthFailed},
		{"XOAUTH2 refused", NewXOAuth2Client("user@example.com", "bad"), NewXOAuth2Server(check, nil), "", ErrAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := exchange(ctx, tt.c, tt.s)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) || tt.s.Identity() != tt.wantID {
				t.Fatalf("error %v identity %q; want %v %q", err, tt.s.Identity(), tt.wantErr, tt.wantID)
			}
		})
	}
}

func FuzzOAuthBearer(f *testing.F) {
	for _, s := range []string{rfc7628IR, "n,,\x01auth=Bearer abc\x01\x01", "\x01", "n,a=x,\x01port=1\x01auth=bearer  a==\x01\x01", "y,,\x01\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseOAuthBearer(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parseOAuthBearer(%q): %v", b, err)
			}
			return
		}
		if !validB64Token(req.Token) || req.Port < 0 || req.Port > 65535 {
			t.Fatalf("parseOAuthBearer(%q) = %+v", b, req)
		}
		s := NewOAuthBearerServer(func(_ context.Context, got TokenRequest) (string, error) {
			if got != req {
				t.Fatalf("server saw %+v, parser %+v", got, req)
			}
			return "", ErrAuthFailed
		}, nil)
		chal, done, err := s.Next(context.Background(), b)
		if err != nil || done || string(chal) != `{"status":"invalid_token"}` {
			t.Fatalf("Next(%q) = %q %v %v", b, chal, done, err)
		}
	})
}

func FuzzXOAuth2(f *testing.F) {
	google, _ := base64.StdEncoding.DecodeString(googleXOAuth2IR)
	f.Add(google)
	f.Add([]byte("user=u\x01auth=Bearer a\x01\x01"))
	f.Add([]byte("user=\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseXOAuth2(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parseXOAuth2(%q): %v", b, err)
			}
			return
		}
		// What parses is what the client would have sent, bar the scheme's case
		// and extra spaces.
		_, again, err := NewXOAuth2Client(req.Username, req.Token).Start()
		if err != nil {
			t.Fatalf("client refuses parsed %+v: %v", req, err)
		}
		if back, err := parseXOAuth2(again); err != nil || back != req {
			t.Fatalf("round trip of %+v: %+v %v", req, back, err)
		}
	})
}

func FuzzOAuthError(f *testing.F) {
	f.Add([]byte(rfc7628Error))
	f.Add([]byte(`{"status":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := NewOAuthBearerClient(TokenRequest{Token: "abc"})
		c.Start()
		if resp, err := c.Next(b); err != nil || string(resp) != "\x01" {
			t.Fatalf("Next(%q) = %q %v", b, resp, err)
		}
	})
}
