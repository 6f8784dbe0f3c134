package sasl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TokenRequest is what an OAUTHBEARER or XOAUTH2 client presents.
type TokenRequest struct {
	// Username is whom the client says the token is for: the GS2 authzid
	// ("a=") of OAUTHBEARER, which may be "", or the "user=" of XOAUTH2.
	Username string
	// Token is the OAuth 2.0 bearer token (RFC 6750), without "Bearer ".
	Token string
	// Host and Port are the server the client thinks it talks to, from the
	// OAUTHBEARER "host" and "port" keys; "" and 0 when absent, and always
	// with XOAUTH2. A validator may check them against the token's audience.
	Host string
	Port int
}

// TokenFunc validates a bearer token for the OAUTHBEARER and XOAUTH2
// servers and returns the identity the session acts as: the token's subject.
// Returning "" means req.Username. A non-empty req.Username is granted only
// when the identity equals it exactly.
//
// To refuse the token it returns an error matching [ErrAuthFailed], or an
// [*OAuthError] to choose the status, scope and discovery URL the client is
// told; any other error (the authorization server is unreachable, say) is
// passed up wrapped, for the protocol layer to answer as a temporary failure.
type TokenFunc func(ctx context.Context, req TokenRequest) (identity string, err error)

// OAuthError is the failure a server reports to an OAUTHBEARER or XOAUTH2
// client as a JSON challenge before the exchange fails (RFC 7628 section
// 3.2.2). A [TokenFunc] returns one to choose its fields; it matches
// [ErrAuthFailed] with errors.Is. The fields go on the wire, so they must
// not hold internal detail.
type OAuthError struct {
	// Status is the error code: for OAUTHBEARER an RFC 6749 code such as
	// "invalid_token" (the default), for XOAUTH2 an HTTP status such as
	// "401" (the default).
	Status string `json:"status"`
	// Schemes lists the accepted authentication schemes ("Bearer").
	// XOAUTH2 servers send it; it defaults to "Bearer" there.
	Schemes string `json:"schemes,omitempty"`
	// Scope is the OAuth scope a valid token needs, if any.
	Scope string `json:"scope,omitempty"`
	// OpenIDConfiguration is the URL of the OpenID Connect discovery
	// document of the authorization server, if any (OAUTHBEARER).
	OpenIDConfiguration string `json:"openid-configuration,omitempty"`
}

// Error returns "sasl: oauth error <status>".
func (e *OAuthError) Error() string { return "sasl: oauth error " + e.Status }

// Unwrap returns ErrAuthFailed.
func (e *OAuthError) Unwrap() error { return ErrAuthFailed }

// maxOAuthKeys bounds the key-value pairs of one OAUTHBEARER response.
const maxOAuthKeys = 32

// tokenServer is the shared machinery of OAUTHBEARER and XOAUTH2: one
// response with the token, then, on refusal, an error challenge and a last
// response the server discards before failing.
type tokenServer struct {
	mech     string
	check    TokenFunc
	max      int
	step     step
	identity string
	parse    func([]byte) (TokenRequest, error)
	failure  OAuthError // defaults for the error challenge
}

// OAuthBearerServer is the server side of OAUTHBEARER (RFC 7628). Create it
// with [NewOAuthBearerServer]; it serves one exchange.
type OAuthBearerServer struct{ tokenServer }

// NewOAuthBearerServer returns the server side of one OAUTHBEARER exchange
// that validates tokens with check, which must not be nil. opts may be nil.
// Bearer tokens are
// replayable: offer OAUTHBEARER only on TLS connections.
func NewOAuthBearerServer(check TokenFunc, opts *ServerOptions) *OAuthBearerServer {
	if check == nil {
		panic("sasl: NewOAuthBearerServer with a nil func")
	}
	return &OAuthBearerServer{tokenServer{
		mech: OAuthBearer, check: check, max: opts.maxResponse(),
		parse: parseOAuthBearer, failure: OAuthError{Status: "invalid_token"},
	}}
}

// XOAuth2Server is the server side of XOAUTH2, Google's predecessor of
// OAUTHBEARER. Create it with [NewXOAuth2Server]; it serves one exchange.
type XOAuth2Server struct{ tokenServer }

// NewXOAuth2Server returns the server side of one XOAUTH2 exchange that
// validates tokens with check, which must not be nil. opts may be nil.
// Offer XOAUTH2 only on TLS connections.
func NewXOAuth2Server(check TokenFunc, opts *ServerOptions) *XOAuth2Server {
	if check == nil {
		panic("sasl: NewXOAuth2Server with a nil func")
	}
	return &XOAuth2Server{tokenServer{
		mech: XOAuth2, check: check, max: opts.maxResponse(),
		parse: parseXOAuth2, failure: OAuthError{Status: "401", Schemes: "Bearer"},
	}}
}

// Next implements [Server]. A refused token is answered with a JSON error
// challenge ([OAuthError]); whatever the client answers to it, Next then
// fails with ErrAuthFailed, as RFC 7628 section 3.2.3 describes.
func (s *tokenServer) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	if s.step == stepWait2 {
		// The client's answer to the error challenge.
		s.step = stepFailed
		return nil, false, authFailed(s.mech, "token refused")
	}
	if challenge, ready, err := s.step.single(s.mech, response, s.max); !ready {
		return challenge, false, err
	}
	req, err := s.parse(response)
	if err != nil {
		return nil, false, err
	}
	got, err := s.check(ctx, req)
	if err != nil && !errors.Is(err, ErrAuthFailed) {
		return nil, false, checkErr(s.mech, err)
	}
	if err == nil {
		id, ok := resolveIdentity(req.Username, req.Username, got)
		if ok {
			s.step, s.identity = stepDone, id
			return nil, true, nil
		}
	}
	failure := s.failure
	var oe *OAuthError
	if errors.As(err, &oe) {
		failure.Scope, failure.OpenIDConfiguration = oe.Scope, oe.OpenIDConfiguration
		if oe.Status != "" {
			failure.Status = oe.Status
		}
		if oe.Schemes != "" {
			failure.Schemes = oe.Schemes
		}
	}
	challenge, err := json.Marshal(failure)
	if err != nil {
		return nil, false, err
	}
	s.step = stepWait2
	return challenge, false, nil
}

// Identity returns the authenticated identity once Next has returned done.
func (s *tokenServer) Identity() string { return s.identity }

// parseOAuthBearer parses the client response of RFC 7628 section 3.1:
//
//	client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep
//	kvpair      = key "=" value kvsep
//	key         = 1*(ALPHA)
//	value       = *(VCHAR / SP / HTAB / CR / LF)
func parseOAuthBearer(b []byte) (TokenRequest, error) {
	const mech = OAuthBearer
	if !utf8.Valid(b) {
		return TokenRequest{}, malformed(mech, "invalid UTF-8")
	}
	h, rest, err := parseGS2Header(mech, string(b))
	if err != nil {
		return TokenRequest{}, err
	}
	if h.flag == 'p' {
		return TokenRequest{}, malformed(mech, "channel binding is not supported")
	}
	if !strings.HasPrefix(rest, "\x01") {
		return TokenRequest{}, malformed(mech, "missing separator after GS2 header")
	}
	kv, err := parseKVPairs(mech, rest[1:])
	if err != nil {
		return TokenRequest{}, err
	}
	req := TokenRequest{Username: h.authzid, Host: kv["host"]}
	if req.Token, err = bearerToken(mech, kv["auth"]); err != nil {
		return TokenRequest{}, err
	}
	if p, ok := kv["port"]; ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 || p == "" || p[0] < '0' || p[0] > '9' {
			return TokenRequest{}, malformed(mech, "bad port")
		}
		req.Port = n
	}
	return req, nil
}

// parseKVPairs parses *kvpair kvsep, the end of an OAUTHBEARER response.
func parseKVPairs(mech, s string) (map[string]string, error) {
	if !strings.HasSuffix(s, "\x01") {
		return nil, malformed(mech, "missing final separator")
	}
	s = s[:len(s)-1]
	kv := make(map[string]string)
	for s != "" {
		var pair string
		var ok bool
		pair, s, ok = strings.Cut(s, "\x01")
		if !ok {
			return nil, malformed(mech, "unterminated key-value pair")
		}
		key, value, ok := strings.Cut(pair, "=")
		if !ok || key == "" {
			return nil, malformed(mech, "bad key-value pair")
		}
		for i := 0; i < len(key); i++ {
			if !isAlpha(key[i]) {
				return nil, malformed(mech, "bad key")
			}
		}
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
				return nil, malformed(mech, "bad value")
			}
		}
		if _, dup := kv[key]; dup {
			return nil, malformed(mech, "repeated key")
		}
		if len(kv) == maxOAuthKeys {
			return nil, malformed(mech, "too many keys")
		}
		kv[key] = value
	}
	return kv, nil
}

// bearerToken takes the token out of an "auth" value:
//
//	credentials = "Bearer" 1*SP b64token                      ; RFC 6750 section 2.1
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme name is compared without regard to case (RFC 9110 section 11.1).
func bearerToken(mech, auth string) (string, error) {
	if len(auth) < 7 || !equalFoldASCII(auth[:6], "Bearer") || auth[6] != ' ' {
		return "", malformed(mech, "missing Bearer credentials")
	}
	tok := strings.TrimLeft(auth[6:], " ")
	if !validB64Token(tok) {
		return "", malformed(mech, "bad bearer token")
	}
	return tok, nil
}

func validB64Token(tok string) bool {
	body := strings.TrimRight(tok, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && !strings.ContainsRune("-._~+/", rune(c)) {
			return false
		}
	}
	return true
}

// parseXOAuth2 parses Google's XOAUTH2 response:
//
//	"user=" username %x01 "auth=Bearer " token %x01 %x01
func parseXOAuth2(b []byte) (TokenRequest, error) {
	const mech = XOAuth2
	if !utf8.Valid(b) {
		return TokenRequest{}, malformed(mech, "invalid UTF-8")
	}
	rest, ok := strings.CutPrefix(string(b), "user=")
	if !ok {
		return TokenRequest{}, malformed(mech, "missing user=")
	}
	user, rest, ok := strings.Cut(rest, "\x01")
	if !ok || user == "" || strings.ContainsAny(user, "\x00") {
		return TokenRequest{}, malformed(mech, "bad user")
	}
	auth, ok := strings.CutPrefix(rest, "auth=")
	if !ok {
		return TokenRequest{}, malformed(mech, "missing auth=")
	}
	auth, ok = strings.CutSuffix(auth, "\x01\x01")
	if !ok || strings.Contains(auth, "\x01") {
		return TokenRequest{}, malformed(mech, "bad terminator")
	}
	tok, err := bearerToken(mech, auth)
	if err != nil {
		return TokenRequest{}, err
	}
	return TokenRequest{Username: user, Token: tok}, nil
}

// OAuthBearerClient is the client side of OAUTHBEARER (RFC 7628). Create it
// with [NewOAuthBearerClient].
type OAuthBearerClient struct {
	req     TokenRequest
	step    int
	failure *OAuthError
}

// NewOAuthBearerClient returns the client side of one OAUTHBEARER exchange
// presenting req.Token for req.Username (which may be ""), telling the
// server req.Host and req.Port when they are set.
func NewOAuthBearerClient(req TokenRequest) *OAuthBearerClient {
	return &OAuthBearerClient{req: req}
}

// Start implements [Client]; the initial response carries the token.
func (c *OAuthBearerClient) Start() (string, []byte, error) {
	const mech = OAuthBearer
	if c.step != 0 {
		return "", nil, unexpected(mech, "Start called twice")
	}
	c.step = 1
	r := c.req
	if !validB64Token(r.Token) {
		return "", nil, malformed(mech, "token is not a b64token")
	}
	if !utf8.ValidString(r.Username) || hasNUL(r.Username) {
		return "", nil, malformed(mech, "username is not NUL-free UTF-8")
	}
	if r.Port < 0 || r.Port > 65535 {
		return "", nil, malformed(mech, "bad port")
	}
	for i := 0; i < len(r.Host); i++ {
		if c := r.Host[i]; c <= 0x20 || c == 0x7f {
			return "", nil, malformed(mech, "bad host")
		}
	}
	var b bytes.Buffer
	b.WriteString(formatGS2Header('n', "", r.Username))
	b.WriteByte(1)
	if r.Host != "" {
		b.WriteString("host=" + r.Host + "\x01")
	}
	if r.Port != 0 {
		b.WriteString("port=" + strconv.Itoa(r.Port) + "\x01")
	}
	b.WriteString("auth=Bearer " + r.Token + "\x01\x01")
	return mech, b.Bytes(), nil
}

// Next implements [Client]. The only challenge OAUTHBEARER has is the
// server's error report: Next keeps it for [OAuthBearerClient.ServerError]
// and answers with the %x01 the RFC requires; the server then fails the
// exchange.
func (c *OAuthBearerClient) Next(challenge []byte) ([]byte, error) {
	if c.step != 1 {
		return nil, unexpected(OAuthBearer, "unexpected challenge")
	}
	c.step = 2
	c.failure = parseOAuthError(challenge)
	return []byte{1}, nil
}

// ServerError returns the error the server reported, or nil if none came or
// it could not be parsed.
func (c *OAuthBearerClient) ServerError() *OAuthError { return c.failure }

// XOAuth2Client is the client side of XOAUTH2. Create it with
// [NewXOAuth2Client].
type XOAuth2Client struct {
	username, token string
	step            int
	failure         *OAuthError
}

// NewXOAuth2Client returns the client side of one XOAUTH2 exchange.
func NewXOAuth2Client(username, token string) *XOAuth2Client {
	return &XOAuth2Client{username: username, token: token}
}

// Start implements [Client]; the initial response carries the token.
func (c *XOAuth2Client) Start() (string, []byte, error) {
	if c.step != 0 {
		return "", nil, unexpected(XOAuth2, "Start called twice")
	}
	c.step = 1
	if c.username == "" || !utf8.ValidString(c.username) || strings.ContainsAny(c.username, "\x00\x01") {
		return "", nil, malformed(XOAuth2, "bad username")
	}
	if !validB64Token(c.token) {
		return "", nil, malformed(XOAuth2, "token is not a b64token")
	}
	return XOAuth2, []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next implements [Client]. The only challenge is the server's error
// report: Next keeps it for [XOAuth2Client.ServerError] and answers with an
// empty response; the server then fails the exchange.
func (c *XOAuth2Client) Next(challenge []byte) ([]byte, error) {
	if c.step != 1 {
		return nil, unexpected(XOAuth2, "unexpected challenge")
	}
	c.step = 2
	c.failure = parseOAuthError(challenge)
	return []byte{}, nil
}

// ServerError returns the error the server reported, or nil if none came or
// it could not be parsed.
func (c *XOAuth2Client) ServerError() *OAuthError { return c.failure }

// maxOAuthErrorLength bounds the error JSON a client parses.
const maxOAuthErrorLength = 4096

func parseOAuthError(b []byte) *OAuthError {
	if len(b) > maxOAuthErrorLength {
		return nil
	}
	var e OAuthError
	if err := json.Unmarshal(b, &e); err != nil || e.Status == "" {
		return nil
	}
	return &e
}
