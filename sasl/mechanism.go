package sasl

// Mechanism names as registered with IANA, in the form a protocol layer
// advertises and a client sends.
const (
	Plain           = "PLAIN"
	Login           = "LOGIN"
	ScramSHA256     = "SCRAM-SHA-256"
	ScramSHA256Plus = "SCRAM-SHA-256-PLUS"
	OAuthBearer     = "OAUTHBEARER"
	XOAuth2         = "XOAUTH2"
	External        = "EXTERNAL"
)

// DefaultMaxResponseLength is the longest client response, in bytes after
// base64 decoding, that a Server accepts when its options leave
// MaxResponseLength at zero. It leaves room for large OAuth 2.0 bearer tokens
// while RFC 4954 section 4 already needs 12288 octets for a whole AUTH line.
const DefaultMaxResponseLength = 16 << 10

// ServerOptions configures the servers of PLAIN, LOGIN, OAUTHBEARER, XOAUTH2
// and EXTERNAL. A nil *ServerOptions means the defaults.
type ServerOptions struct {
	// MaxResponseLength caps each client response in bytes. Zero or a
	// negative value means DefaultMaxResponseLength. A longer response
	// fails the exchange with ErrMalformed.
	MaxResponseLength int
}

func (o *ServerOptions) maxResponse() int {
	if o == nil {
		return DefaultMaxResponseLength
	}
	return maxResponse(o.MaxResponseLength)
}

func maxResponse(n int) int {
	if n <= 0 {
		return DefaultMaxResponseLength
	}
	return n
}

// IdentityServer is implemented by every Server in this package. Identity
// returns the identity the exchange authenticated (the authorization identity
// the session now acts as) once Next has returned done; before that, and
// after a failure, it returns "".
type IdentityServer interface {
	Server
	Identity() string
}

// MechanismInfo describes one mechanism for a protocol layer deciding what
// to advertise.
type MechanismInfo struct {
	// Name is the mechanism name, such as "SCRAM-SHA-256".
	Name string
	// SafeWithoutTLS reports whether the mechanism may be offered on a
	// connection without TLS. Only SCRAM-SHA-256 may: PLAIN, LOGIN,
	// OAUTHBEARER and XOAUTH2 send a password or bearer token an
	// eavesdropper could replay, and the mechanisms that need TLS cannot
	// work without it.
	SafeWithoutTLS bool
	// NeedsTLS reports whether the mechanism only works on a TLS connection:
	// SCRAM-SHA-256-PLUS binds to it (RFC 9266), and EXTERNAL as used by
	// mail protocols takes the identity from the TLS client certificate.
	NeedsTLS bool
}

// Mechanisms lists every mechanism this package implements, strongest first,
// which is the order a server advertises them in and a client prefers them
// in. Each call returns a new slice the caller may change.
func Mechanisms() []MechanismInfo {
	return []MechanismInfo{
		{Name: ScramSHA256Plus, NeedsTLS: true},
		{Name: ScramSHA256, SafeWithoutTLS: true},
		{Name: External, NeedsTLS: true},
		{Name: OAuthBearer},
		{Name: XOAuth2},
		{Name: Plain},
		{Name: Login},
	}
}

// SafeWithoutTLS reports whether mechanism, compared without regard to case,
// is one of this package's mechanisms that may be offered on a connection
// without TLS (see [MechanismInfo]). Unknown names report false.
func SafeWithoutTLS(mechanism string) bool {
	for _, m := range Mechanisms() {
		if equalFoldASCII(m.Name, mechanism) {
			return m.SafeWithoutTLS
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// step is the position of a server or client in its exchange.
type step uint8

const (
	stepStart  step = iota // nothing received yet; must be zero
	stepWait               // a challenge was sent, the next response is awaited
	stepWait2              // a second challenge was sent
	stepDone               // succeeded
	stepFailed             // failed; every further call is unexpected
)

// single runs the opening that the mechanisms whose client sends one
// message share (PLAIN, EXTERNAL, OAUTHBEARER, XOAUTH2): without an initial
// response it asks for the message with an empty challenge (RFC 4422
// section 5); a call after the exchange ended is unexpected; a message over
// max octets is malformed. When ready is false, Next returns challenge and
// err as they are; when it is true, response is the message to check, and
// the step is already stepFailed until the caller records success.
func (st *step) single(mech string, response []byte, max int) (challenge []byte, ready bool, err error) {
	switch *st {
	case stepStart:
		if response == nil {
			*st = stepWait
			return []byte{}, false, nil
		}
	case stepWait:
	default:
		return nil, false, unexpected(mech, "exchange already ended")
	}
	*st = stepFailed
	if len(response) > max {
		return nil, false, malformed(mech, "response too long")
	}
	return nil, true, nil
}

// resolveIdentity applies the authorization rule shared by the servers: the
// identity is what the caller's check returned, or username when it returned
// "", and a non-empty authzid the client asked for must equal that identity
// exactly, so a check that ignores authzid can never grant it.
func resolveIdentity(authzid, username, got string) (string, bool) {
	id := got
	if id == "" {
		id = username
	}
	if id == "" {
		return "", false
	}
	if authzid != "" && authzid != id {
		return "", false
	}
	return id, true
}
