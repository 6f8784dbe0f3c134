package sasl

import (
	"context"
	"errors"
)

// Server is the server side of one authentication exchange for one mechanism.
//
// The protocol layer (smtp, imap, pop3) decodes the client's base64 responses
// and calls Next with the raw bytes until done is true or an error is
// returned. The first call carries the client's initial response, or nil when
// the client sent none; a server that needs an initial response answers with
// an empty challenge. A Server is used for one exchange only and is not safe
// for concurrent use.
type Server interface {
	// Next takes the client's response and returns the next challenge to
	// send. When done is true the exchange has succeeded and challenge, if
	// not nil, is additional data to send with the success reply.
	// ctx bounds any credential lookup the mechanism performs.
	Next(ctx context.Context, response []byte) (challenge []byte, done bool, err error)
}

// Client is the client side of one authentication exchange for one mechanism.
// A Client is used for one exchange only and is not safe for concurrent use.
type Client interface {
	// Start returns the mechanism name and the initial response, or nil
	// when the mechanism sends none first.
	Start() (mech string, initial []byte, err error)
	// Next takes the server's challenge and returns the response.
	Next(challenge []byte) (response []byte, err error)
}

// Errors shared by every mechanism. The protocol layer maps them to replies
// with errors.Is; their text never goes on the wire.
var (
	// ErrAuthFailed means the credentials were refused.
	ErrAuthFailed = errors.New("sasl: authentication failed")
	// ErrMalformed means the client's response does not follow the
	// mechanism's syntax.
	ErrMalformed = errors.New("sasl: malformed response")
	// ErrUnexpected means a call came after the exchange had ended.
	ErrUnexpected = errors.New("sasl: unexpected message")
)
