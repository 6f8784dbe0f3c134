package sasl

import (
	"context"
	"crypto/tls"
	"errors"
)

// ErrUnsupportedMechanism means a client asked for a mechanism the
// [Authenticator] does not offer on its connection (SMTP answers 504 5.5.4,
// RFC 4954 section 6).
var ErrUnsupportedMechanism = errors.New("sasl: mechanism not available")

// ExternalTLSFunc is the EXTERNAL check of an [Authenticator]: like
// [ExternalFunc], with the connection's TLS state, whose PeerCertificates
// hold the verified client certificate chain.
type ExternalTLSFunc func(ctx context.Context, cs *tls.ConnectionState, authzid string) (identity string, err error)

// Authenticator is the server side of SASL as a protocol layer needs it: it
// decides which mechanisms a connection is offered and creates their
// servers, so that the rules on TLS and channel binding live in one place.
// Each check that is set enables its mechanisms; the zero Authenticator
// offers none. It is safe for concurrent use once set up.
type Authenticator struct {
	// Password enables PLAIN and LOGIN.
	Password PasswordFunc
	// Scram enables SCRAM-SHA-256, and SCRAM-SHA-256-PLUS on TLS 1.3
	// connections.
	Scram ScramLookupFunc
	// Token enables OAUTHBEARER and XOAUTH2.
	Token TokenFunc
	// External enables EXTERNAL on TLS connections whose client presented
	// a certificate.
	External ExternalTLSFunc
	// DisableLogin leaves LOGIN out even when Password is set.
	DisableLogin bool
	// AllowInsecure offers PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 on
	// connections without TLS too. Leave it false except on loopback or
	// in tests: those mechanisms send reusable secrets in the clear.
	// It is the one switch for authentication without TLS on the smtp,
	// imap and pop3 servers: it also allows IMAP LOGIN and POP3
	// USER/PASS before TLS, and decides what an smtp.SessionAuth may
	// offer there.
	AllowInsecure bool
	// RequireTLS offers no mechanism at all on connections without TLS,
	// not even those that are safe in the clear (SCRAM), as a mail server
	// does on its submission ports (RFC 8314 section 3.3).
	RequireTLS bool
	// MaxResponseLength caps each client response in bytes; zero means
	// DefaultMaxResponseLength.
	MaxResponseLength int
	// UnknownUserKey is passed to the SCRAM servers (see
	// ScramServerOptions.UnknownUserKey).
	UnknownUserKey []byte
}

// Mechanisms returns the names of the mechanisms offered on a connection
// with TLS state cs (nil for a connection without TLS), strongest first, in
// the form a protocol layer advertises them.
func (a *Authenticator) Mechanisms(cs *tls.ConnectionState) []string {
	var names []string
	for _, m := range Mechanisms() {
		if a.offers(m, cs) {
			names = append(names, m.Name)
		}
	}
	return names
}

func (a *Authenticator) offers(m MechanismInfo, cs *tls.ConnectionState) bool {
	if a.RequireTLS && (cs == nil || !cs.HandshakeComplete) {
		return false
	}
	switch m.Name {
	case Plain:
		if a.Password == nil {
			return false
		}
	case Login:
		if a.Password == nil || a.DisableLogin {
			return false
		}
	case ScramSHA256:
		return a.Scram != nil
	case ScramSHA256Plus:
		if a.Scram == nil {
			return false
		}
		_, err := TLSExporter(cs)
		return err == nil
	case OAuthBearer, XOAuth2:
		if a.Token == nil {
			return false
		}
	case External:
		return a.External != nil && cs != nil && cs.HandshakeComplete && len(cs.PeerCertificates) > 0
	default:
		return false
	}
	return m.SafeWithoutTLS || a.AllowInsecure || (cs != nil && cs.HandshakeComplete)
}

// NewServer returns the server for one exchange of mechanism (matched
// without regard to case) on a connection with TLS state cs, nil without
// TLS. A mechanism [Authenticator.Mechanisms] would not list for cs fails
// with an error matching ErrUnsupportedMechanism.
func (a *Authenticator) NewServer(mechanism string, cs *tls.ConnectionState) (IdentityServer, error) {
	var info MechanismInfo
	for _, m := range Mechanisms() {
		if equalFoldASCII(m.Name, mechanism) {
			info = m
		}
	}
	if info.Name == "" || !a.offers(info, cs) {
		return nil, ErrUnsupportedMechanism
	}
	opts := &ServerOptions{MaxResponseLength: a.MaxResponseLength}
	switch info.Name {
	case Plain:
		return NewPlainServer(a.Password, opts), nil
	case Login:
		return NewLoginServer(a.Password, opts), nil
	case ScramSHA256, ScramSHA256Plus:
		sopts := &ScramServerOptions{MaxResponseLength: a.MaxResponseLength, UnknownUserKey: a.UnknownUserKey}
		// The SCRAM-SHA-256 server gets the binding data too whenever
		// -PLUS is offered, to catch a stripped mechanism list.
		if cb, err := TLSExporter(cs); err == nil {
			sopts.ChannelBinding = cb
		}
		if info.Name == ScramSHA256Plus {
			return NewScramSHA256PlusServer(a.Scram, sopts), nil
		}
		return NewScramSHA256Server(a.Scram, sopts), nil
	case OAuthBearer:
		return NewOAuthBearerServer(a.Token, opts), nil
	case XOAuth2:
		return NewXOAuth2Server(a.Token, opts), nil
	case External:
		check := a.External
		return NewExternalServer(func(ctx context.Context, authzid string) (string, error) {
			return check(ctx, cs, authzid)
		}, opts), nil
	}
	return nil, ErrUnsupportedMechanism
}
