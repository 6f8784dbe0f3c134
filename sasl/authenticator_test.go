package sasl

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"testing"
)

func TestAuthenticatorMechanisms(t *testing.T) {
	t.Parallel()
	tls13, _ := tlsStates(t, tls.VersionTLS13, false)
	tls12, _ := tlsStates(t, tls.VersionTLS12, false)
	withCert, _ := tlsStates(t, tls.VersionTLS13, true)
	creds := rfc7677Credentials(t)
	all := &Authenticator{
		Password: passwords(map[string]string{"tim": "pw"}),
		Scram:    lookupOf(map[string]ScramCredentials{"user": creds}),
		Token:    tokens(map[string]string{"user": "tok"}),
		External: func(_ context.Context, cs *tls.ConnectionState, authzid string) (string, error) {
			if cs == nil || len(cs.PeerCertificates) == 0 {
				t.Error("EXTERNAL check without a certificate")
			}
			return "cert-user", nil
		},
	}
	tests := []struct {
		name string
		a    *Authenticator
		cs   *tls.ConnectionState
		want []string
	}{
		{"zero", &Authenticator{}, &tls13, nil},
		{"plaintext", all, nil, []string{ScramSHA256}},
		{"plaintext allowed", &Authenticator{Password: all.Password, Token: all.Token, AllowInsecure: true}, nil, []string{OAuthBearer, XOAuth2, Plain, Login}},
		{"TLS 1.2", all, &tls12, []string{ScramSHA256, OAuthBearer, XOAuth2, Plain, Login}},
		{"TLS 1.3", all, &tls13, []string{ScramSHA256Plus, ScramSHA256, OAuthBearer, XOAuth2, Plain, Login}},
		{"TLS 1.3 with certificate", all, &withCert, []string{ScramSHA256Plus, ScramSHA256, External, OAuthBearer, XOAuth2, Plain, Login}},
		{"no LOGIN", &Authenticator{Password: all.Password, DisableLogin: true}, &tls13, []string{Plain}},
		{"handshake not done", &Authenticator{Password: all.Password}, &tls.ConnectionState{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.a.Mechanisms(tt.cs)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Mechanisms() = %q, want %q", got, tt.want)
			}
			for _, m := range Mechanisms() {
				s, err := tt.a.NewServer(m.Name, tt.cs)
				if slices.Contains(tt.want, m.Name) {
					if err != nil || s == nil {
						t.Fatalf("NewServer(%q): %v", m.Name, err)
					}
				} else if !errors.Is(err, ErrUnsupportedMechanism) || s != nil {
					t.Fatalf("NewServer(%q) of an unoffered mechanism = %v, %v", m.Name, s, err)
				}
			}
		})
	}
	if _, err := all.NewServer("CRAM-MD5", &tls13); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Fatalf("unknown mechanism: %v", err)
	}
}

// TestAuthenticatorExchanges runs every mechanism end to end through
// Authenticator.NewServer on real TLS 1.3 connection states.
func TestAuthenticatorExchanges(t *testing.T) {
	t.Parallel()
	scs, ccs := tlsStates(t, tls.VersionTLS13, true)
	creds := rfc7677Credentials(t)
	a := &Authenticator{
		Password: passwords(map[string]string{"tim": "pw"}),
		Scram:    lookupOf(map[string]ScramCredentials{"user": creds}),
		Token:    tokens(map[string]string{"user@example.com": "tok"}),
		External: func(_ context.Context, cs *tls.ConnectionState, authzid string) (string, error) {
			return cs.PeerCertificates[0].DNSNames[0], nil
		},
	}
	cb, err := TLSExporter(&ccs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mech   string
		c      Client
		wantID string
	}{
		{"plain", NewPlainClient("", "tim", "pw"), "tim"},
		{"login", NewLoginClient("tim", "pw"), "tim"},
		{"scram-sha-256", NewScramSHA256Client("user", "pencil", nil), "user"},
		{"SCRAM-SHA-256-PLUS", NewScramSHA256PlusClient("user", "pencil", &ScramClientOptions{ChannelBinding: cb}), "user"},
		{"OAUTHBEARER", NewOAuthBearerClient(TokenRequest{Username: "user@example.com", Token: "tok"}), "user@example.com"},
		{"XOAUTH2", NewXOAuth2Client("user@example.com", "tok"), "user@example.com"},
		{"EXTERNAL", NewExternalClient(""), "mx.example.test"},
	}
	for _, tt := range tests {
		s, err := a.NewServer(tt.mech, &scs)
		if err != nil {
			t.Fatalf("NewServer(%q): %v", tt.mech, err)
		}
		mech, _, err := exchange(context.Background(), tt.c, s)
		if err != nil || !equalFoldASCII(mech, tt.mech) || s.Identity() != tt.wantID {
			t.Fatalf("%s: %v, identity %q, want %q", mech, err, s.Identity(), tt.wantID)
		}
	}
	// The SCRAM-SHA-256 server of a -PLUS connection catches a client that
	// could bind but was shown no -PLUS.
	s, _ := a.NewServer(ScramSHA256, &scs)
	c := NewScramSHA256Client("user", "pencil", &ScramClientOptions{ChannelBinding: cb})
	if _, _, err := exchange(context.Background(), c, s); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("stripped -PLUS: %v", err)
	}
}

func TestConstructorsRefuseNilFuncs(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(){
		"PLAIN":              func() { NewPlainServer(nil, nil) },
		"LOGIN":              func() { NewLoginServer(nil, nil) },
		"SCRAM-SHA-256":      func() { NewScramSHA256Server(nil, nil) },
		"SCRAM-SHA-256-PLUS": func() { NewScramSHA256PlusServer(nil, nil) },
		"OAUTHBEARER":        func() { NewOAuthBearerServer(nil, nil) },
		"XOAUTH2":            func() { NewXOAuth2Server(nil, nil) },
		"EXTERNAL":           func() { NewExternalServer(nil, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s server with a nil func did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestSafeWithoutTLS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mech string
		want bool
	}{
		{"SCRAM-SHA-256", true}, {"scram-sha-256", true},
		{"SCRAM-SHA-256-PLUS", false}, {"EXTERNAL", false},
		{"PLAIN", false}, {"plain", false}, {"LOGIN", false}, {"OAUTHBEARER", false}, {"XOAUTH2", false},
		{"CRAM-MD5", false}, {"", false}, {"SCRAM-SHA-1", false},
	} {
		if got := SafeWithoutTLS(tt.mech); got != tt.want {
			t.Errorf("SafeWithoutTLS(%q) = %v, want %v", tt.mech, got, tt.want)
		}
	}
}
