package sasl

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ScramUser is what a [ScramLookupFunc] returns for a user.
type ScramUser struct {
	// Credentials are the user's stored SCRAM-SHA-256 credentials.
	Credentials ScramCredentials
	// Identity is the identity the session acts as once the client's proof
	// has verified; "" means the username. A non-empty authzid is granted
	// only when Identity equals it exactly.
	Identity string
}

// ScramLookupFunc finds the stored credentials of username for the SCRAM
// servers. authzid is the identity the client asks to act as, "" for none;
// the func grants it by returning it as ScramUser.Identity. Both strings are
// as the client sent them, with saslname escapes decoded.
//
// For an unknown user it returns an error matching [ErrAuthFailed]; the
// server then goes on with made-up credentials and fails only at the proof,
// so a client cannot tell unknown users from wrong passwords. Any other
// error is passed up wrapped, for the protocol layer to answer as a
// temporary failure.
type ScramLookupFunc func(ctx context.Context, authzid, username string) (ScramUser, error)

// ScramServerOptions configures the SCRAM servers. A nil *ScramServerOptions
// means the defaults.
type ScramServerOptions struct {
	// MaxResponseLength caps each client response in bytes. Zero or a
	// negative value means DefaultMaxResponseLength.
	MaxResponseLength int
	// ChannelBinding is the connection's tls-exporter data ([TLSExporter]).
	// SCRAM-SHA-256-PLUS needs it. Give it to the SCRAM-SHA-256 server too
	// whenever the connection offers SCRAM-SHA-256-PLUS: the server then
	// refuses a client that says it could bind but thinks the server cannot,
	// which is how RFC 5802 section 6 detects a stripped mechanism list.
	ChannelBinding []byte
	// UnknownUserKey is a secret, stable for the installation, from which
	// the server derives the salt it shows for unknown users, so that they
	// look the same on every attempt. Nil means a random key per exchange:
	// unknown users then get a new salt each time, which a patient client
	// can notice.
	UnknownUserKey []byte
}

// ScramServer is the server side of SCRAM-SHA-256 or SCRAM-SHA-256-PLUS
// (RFC 5802, RFC 7677, RFC 9266). Create it with [NewScramSHA256Server] or
// [NewScramSHA256PlusServer]; it serves one exchange.
type ScramServer struct {
	mech       string
	lookup     ScramLookupFunc
	max        int
	cb         []byte
	unknownKey []byte

	step            step
	gs2             gs2Header
	username        string
	clientFirstBare string
	serverFirst     string
	nonce           string
	user            ScramUser
	known           bool
	identity        string

	serverNonce string // fixed server nonce for tests; "" means random
}

// NewScramSHA256Server returns the server side of one SCRAM-SHA-256
// exchange that finds credentials with lookup, which must not be nil. opts
// may be nil.
func NewScramSHA256Server(lookup ScramLookupFunc, opts *ScramServerOptions) *ScramServer {
	return newScramServer(ScramSHA256, lookup, opts)
}

// NewScramSHA256PlusServer returns the server side of one
// SCRAM-SHA-256-PLUS exchange, bound to the TLS connection through
// opts.ChannelBinding, which must be set (else Next fails with an error that
// is none of the sentinels).
func NewScramSHA256PlusServer(lookup ScramLookupFunc, opts *ScramServerOptions) *ScramServer {
	return newScramServer(ScramSHA256Plus, lookup, opts)
}

func newScramServer(mech string, lookup ScramLookupFunc, opts *ScramServerOptions) *ScramServer {
	if lookup == nil {
		panic("sasl: NewScramSHA256Server with a nil func")
	}
	s := &ScramServer{mech: mech, lookup: lookup, max: DefaultMaxResponseLength}
	if opts != nil {
		s.max = maxResponse(opts.MaxResponseLength)
		s.cb = opts.ChannelBinding
		s.unknownKey = opts.UnknownUserKey
	}
	return s
}

// Next implements [Server]. The exchange is client-first, server-first,
// client-final; on success, done comes with the server-final message
// ("v=...") as additional data, which the client needs to check the server.
func (s *ScramServer) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	switch s.step {
	case stepStart:
		if response == nil {
			s.step = stepWait
			return []byte{}, false, nil
		}
		return s.clientFirst(ctx, response)
	case stepWait:
		return s.clientFirst(ctx, response)
	case stepWait2:
		return s.clientFinal(response)
	default:
		return nil, false, unexpected(s.mech, "exchange already ended")
	}
}

// Identity returns the authenticated identity once Next has returned done.
func (s *ScramServer) Identity() string { return s.identity }

// clientFirst handles
//
//	client-first-message = gs2-header client-first-message-bare
//	client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
func (s *ScramServer) clientFirst(ctx context.Context, b []byte) ([]byte, bool, error) {
	s.step = stepFailed
	if len(b) > s.max {
		return nil, false, malformed(s.mech, "response too long")
	}
	if s.mech == ScramSHA256Plus && len(s.cb) == 0 {
		return nil, false, errors.New("sasl SCRAM-SHA-256-PLUS: server has no channel binding data")
	}
	h, bare, err := parseGS2Header(s.mech, string(b))
	if err != nil {
		return nil, false, err
	}
	switch {
	case h.flag == 'p' && s.mech != ScramSHA256Plus:
		return nil, false, malformed(s.mech, "channel binding requested without -PLUS")
	case h.flag != 'p' && s.mech == ScramSHA256Plus:
		return nil, false, malformed(s.mech, "-PLUS without channel binding")
	case h.flag == 'p' && h.cbName != ChannelBindingTLSExporter:
		return nil, false, authFailed(s.mech, "unsupported channel binding type")
	case h.flag == 'y' && len(s.cb) > 0:
		return nil, false, authFailed(s.mech, "client could bind but saw no -PLUS: mechanism list may have been tampered with")
	}
	attrs, err := scramAttrs(s.mech, bare)
	if err != nil {
		return nil, false, err
	}
	if attrs[0].name == 'm' {
		return nil, false, malformed(s.mech, "unsupported mandatory extension")
	}
	if len(attrs) < 2 || attrs[0].name != 'n' || attrs[1].name != 'r' {
		return nil, false, malformed(s.mech, "want n= and r= attributes")
	}
	username, err := decodeSaslname(attrs[0].value)
	if err != nil || username == "" {
		return nil, false, malformed(s.mech, "bad username")
	}
	if !validNonce(attrs[1].value) {
		return nil, false, malformed(s.mech, "bad client nonce")
	}

	user, err := s.lookup(ctx, h.authzid, username)
	switch {
	case err == nil:
		if err := user.Credentials.valid(1<<31 - 1); err != nil {
			return nil, false, fmt.Errorf("sasl %s: stored credentials of %q: %w", s.mech, username, err)
		}
		s.known = true
	case errors.Is(err, ErrAuthFailed):
		user = ScramUser{Credentials: s.unknownCredentials(username)}
	default:
		return nil, false, checkErr(s.mech, err)
	}

	snonce := s.serverNonce
	if snonce == "" {
		snonce = rand.Text()
	}
	s.gs2, s.username, s.user = h, username, user
	s.clientFirstBare = bare
	s.nonce = attrs[1].value + snonce
	s.serverFirst = "r=" + s.nonce +
		",s=" + base64.StdEncoding.EncodeToString(user.Credentials.Salt) +
		",i=" + strconv.Itoa(user.Credentials.Iterations)
	s.step = stepWait2
	return []byte(s.serverFirst), false, nil
}

// unknownCredentials makes up credentials for a user the lookup does not
// know: a salt stable under UnknownUserKey and keys no proof matches.
func (s *ScramServer) unknownCredentials(username string) ScramCredentials {
	key := s.unknownKey
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("herald sasl unknown user salt\x00"))
	m.Write([]byte(username))
	salt := m.Sum(nil)[:ScramSaltLength]
	stored, server := make([]byte, sha256.Size), make([]byte, sha256.Size)
	rand.Read(stored)
	rand.Read(server)
	return ScramCredentials{Salt: salt, Iterations: DefaultScramIterations, StoredKey: stored, ServerKey: server}
}

// clientFinal handles
//
//	client-final-message = channel-binding "," nonce ["," extensions] "," proof
func (s *ScramServer) clientFinal(b []byte) ([]byte, bool, error) {
	s.step = stepFailed
	if len(b) > s.max {
		return nil, false, malformed(s.mech, "response too long")
	}
	msg := string(b)
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, false, malformed(s.mech, "no proof")
	}
	withoutProof, proof64 := msg[:i], msg[i+3:]
	proof, err := base64.StdEncoding.Strict().DecodeString(proof64)
	if err != nil || len(proof) != sha256.Size {
		return nil, false, malformed(s.mech, "bad proof")
	}
	attrs, err := scramAttrs(s.mech, withoutProof)
	if err != nil {
		return nil, false, err
	}
	if len(attrs) < 2 || attrs[0].name != 'c' || attrs[1].name != 'r' {
		return nil, false, malformed(s.mech, "want c= and r= attributes")
	}
	cbind, err := base64.StdEncoding.Strict().DecodeString(attrs[0].value)
	if err != nil {
		return nil, false, malformed(s.mech, "channel binding is not base64")
	}
	want := []byte(s.gs2.raw)
	if s.gs2.flag == 'p' {
		want = append(want, s.cb...)
	}
	if subtle.ConstantTimeCompare(cbind, want) != 1 {
		return nil, false, authFailed(s.mech, "channel binding mismatch")
	}
	if attrs[1].value != s.nonce {
		return nil, false, authFailed(s.mech, "nonce mismatch")
	}

	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + withoutProof
	creds := s.user.Credentials
	clientKey := hmacSHA256(creds.StoredKey, authMessage) // ClientSignature
	subtle.XORBytes(clientKey, clientKey, proof)          // ClientKey = ClientProof XOR ClientSignature
	stored := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(stored[:], creds.StoredKey) != 1 || !s.known {
		return nil, false, authFailed(s.mech, "invalid proof")
	}
	id, ok := resolveIdentity(s.gs2.authzid, s.username, s.user.Identity)
	if !ok {
		return nil, false, authFailed(s.mech, "authorization identity not granted")
	}
	s.step, s.identity = stepDone, id
	verifier := hmacSHA256(creds.ServerKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(verifier)), true, nil
}
