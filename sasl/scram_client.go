package sasl

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"unicode/utf8"
)

// ScramClientOptions configures the SCRAM clients. A nil *ScramClientOptions
// means the defaults.
type ScramClientOptions struct {
	// Authzid is the identity to act as; "" acts as the username.
	Authzid string
	// ChannelBinding is the connection's tls-exporter data ([TLSExporter]).
	// SCRAM-SHA-256-PLUS needs it. Given to the SCRAM-SHA-256 client, it
	// makes the client say it could bind ("y"), so a server that offered
	// -PLUS notices the mechanism list was tampered with.
	ChannelBinding []byte
	// MinIterations is the lowest iteration count the client accepts from
	// the server; zero means DefaultScramIterations. A man in the middle
	// could otherwise ask for a low count to make the proof cheap to crack.
	MinIterations int
	// MaxIterations is the highest iteration count the client accepts;
	// zero means DefaultScramMaxIterations.
	MaxIterations int
}

// ScramClient is the client side of SCRAM-SHA-256 or SCRAM-SHA-256-PLUS.
// Create it with [NewScramSHA256Client] or [NewScramSHA256PlusClient].
type ScramClient struct {
	mech               string
	username, password string
	authzid            string
	cb                 []byte
	minIter, maxIter   int

	step            int
	gs2             string
	clientNonce     string
	clientFirstBare string
	serverSignature []byte
	verified        bool
}

// NewScramSHA256Client returns the client side of one SCRAM-SHA-256
// exchange. The username is sent as given (with "," and "=" escaped); the
// password is prepared with SASLprep (RFC 4013: non-ASCII spaces to U+0020,
// soft hyphens and the like removed, NFKC), or used as given when SASLprep
// refuses it; [NewScramCredentials] does the same.
// opts may be nil.
func NewScramSHA256Client(username, password string, opts *ScramClientOptions) *ScramClient {
	return newScramClient(ScramSHA256, username, password, opts)
}

// NewScramSHA256PlusClient returns the client side of one
// SCRAM-SHA-256-PLUS exchange bound to the TLS connection through
// opts.ChannelBinding, which must be set.
func NewScramSHA256PlusClient(username, password string, opts *ScramClientOptions) *ScramClient {
	return newScramClient(ScramSHA256Plus, username, password, opts)
}

func newScramClient(mech, username, password string, opts *ScramClientOptions) *ScramClient {
	c := &ScramClient{
		mech: mech, username: username, password: password,
		minIter: DefaultScramIterations, maxIter: DefaultScramMaxIterations,
	}
	if opts != nil {
		c.authzid, c.cb = opts.Authzid, opts.ChannelBinding
		if opts.MinIterations > 0 {
			c.minIter = opts.MinIterations
		}
		if opts.MaxIterations > 0 {
			c.maxIter = opts.MaxIterations
		}
	}
	return c
}

// Start implements [Client] and returns the client-first message.
func (c *ScramClient) Start() (string, []byte, error) {
	if c.step != 0 {
		return "", nil, unexpected(c.mech, "Start called twice")
	}
	c.step = 1
	if c.username == "" || c.password == "" {
		return "", nil, malformed(c.mech, "empty username or password")
	}
	for _, s := range []string{c.username, c.authzid} {
		if !utf8.ValidString(s) || hasNUL(s) {
			return "", nil, malformed(c.mech, "username or authzid is not NUL-free UTF-8")
		}
	}
	switch {
	case c.mech == ScramSHA256Plus && len(c.cb) == 0:
		return "", nil, malformed(c.mech, "no channel binding data")
	case c.mech == ScramSHA256Plus:
		c.gs2 = formatGS2Header('p', ChannelBindingTLSExporter, c.authzid)
	case len(c.cb) > 0:
		c.gs2 = formatGS2Header('y', "", c.authzid)
	default:
		c.gs2 = formatGS2Header('n', "", c.authzid)
	}
	if c.clientNonce == "" {
		c.clientNonce = rand.Text()
	}
	c.clientFirstBare = "n=" + encodeSaslname(c.username) + ",r=" + c.clientNonce
	return c.mech, []byte(c.gs2 + c.clientFirstBare), nil
}

// Next implements [Client]. It answers the server-first message with the
// client-final message carrying the proof, and checks the server-final
// message, answering it with an empty response. A server-final message with
// "e=", or one whose signature does not match, fails with ErrAuthFailed.
func (c *ScramClient) Next(challenge []byte) ([]byte, error) {
	switch c.step {
	case 1:
		c.step = 3
		resp, err := c.serverFirst(string(challenge))
		if err != nil {
			return nil, err
		}
		c.step = 2
		return resp, nil
	case 2:
		c.step = 3
		return c.serverFinal(string(challenge))
	default:
		return nil, unexpected(c.mech, "unexpected challenge")
	}
}

// ServerVerified reports whether the client has checked the server's
// signature in the server-final message. A protocol layer that sees a
// success reply before that must treat the server as not authenticated.
func (c *ScramClient) ServerVerified() bool { return c.verified }

// serverFirst handles
//
//	server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
func (c *ScramClient) serverFirst(msg string) ([]byte, error) {
	attrs, err := scramAttrs(c.mech, msg)
	if err != nil {
		return nil, err
	}
	if attrs[0].name == 'm' {
		return nil, malformed(c.mech, "unsupported mandatory extension")
	}
	if len(attrs) < 3 || attrs[0].name != 'r' || attrs[1].name != 's' || attrs[2].name != 'i' {
		return nil, malformed(c.mech, "want r=, s= and i= attributes")
	}
	nonce := attrs[0].value
	if len(nonce) <= len(c.clientNonce) || nonce[:len(c.clientNonce)] != c.clientNonce || !validNonce(nonce) {
		return nil, malformed(c.mech, "server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.Strict().DecodeString(attrs[1].value)
	if err != nil || len(salt) == 0 {
		return nil, malformed(c.mech, "bad salt")
	}
	iter, err := parseIterations(attrs[2].value)
	if err != nil {
		return nil, malformed(c.mech, "bad iteration count")
	}
	if iter < c.minIter || iter > c.maxIter {
		return nil, authFailed(c.mech, "iteration count out of the accepted range")
	}
	salted, err := saltPassword(c.password, salt, iter)
	if err != nil {
		return nil, err
	}
	cbind := []byte(c.gs2)
	if c.mech == ScramSHA256Plus {
		cbind = append(cbind, c.cb...)
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString(cbind) + ",r=" + nonce
	authMessage := c.clientFirstBare + "," + msg + "," + withoutProof

	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	proof := hmacSHA256(storedKey[:], authMessage) // ClientSignature
	subtle.XORBytes(proof, proof, clientKey)       // ClientProof
	c.serverSignature = hmacSHA256(hmacSHA256(salted, "Server Key"), authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// serverFinal handles
//
//	server-final-message = (server-error / verifier) ["," extensions]
func (c *ScramClient) serverFinal(msg string) ([]byte, error) {
	attrs, err := scramAttrs(c.mech, msg)
	if err != nil {
		return nil, err
	}
	switch attrs[0].name {
	case 'e':
		reason := attrs[0].value
		if len(reason) > 64 || !printableASCII(reason) {
			reason = "(unprintable)"
		}
		return nil, authFailed(c.mech, "server error "+reason)
	case 'v':
		sig, err := base64.StdEncoding.Strict().DecodeString(attrs[0].value)
		if err != nil {
			return nil, malformed(c.mech, "bad verifier")
		}
		if subtle.ConstantTimeCompare(sig, c.serverSignature) != 1 {
			return nil, authFailed(c.mech, "server signature mismatch: the server does not know the credentials")
		}
		c.verified = true
		return []byte{}, nil
	default:
		return nil, malformed(c.mech, "want v= or e= attribute")
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
