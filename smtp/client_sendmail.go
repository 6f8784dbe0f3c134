package smtp

import (
	"context"
	"crypto/tls"
	"io"
	"net"

	"github.com/heraldmail/herald/sasl"
)

// SendMailOptions configures SendMail. A nil *SendMailOptions means no
// authentication and the defaults below.
type SendMailOptions struct {
	// ClientOptions configures the connection. SendMail treats the zero
	// TLSPolicy (TLSOpportunistic) as TLSRequired, since submission
	// carries credentials; TLSNone is honoured for local relays that
	// have no TLS.
	ClientOptions

	// ImplicitTLS connects with TLS from the start (RFC 8314, port
	// 465) instead of STARTTLS. It is implied when the port of the
	// address is 465.
	ImplicitTLS bool

	// Username and Password authenticate with the strongest mechanism
	// the server offers: SCRAM-SHA-256-PLUS (over TLS 1.3),
	// SCRAM-SHA-256, PLAIN, then LOGIN. PLAIN and LOGIN are used only
	// over TLS, unless TLSPolicy is TLSNone. Empty Username means no
	// authentication.
	Username string
	Password string

	// Auth, when set, chooses the mechanism instead of Username and
	// Password, for example sasl.NewXOAuth2Client with an OAuth token.
	// It is called after EHLO (over TLS when TLS is in use) with what
	// the server offers and the TLS state (nil in plain text).
	Auth func(caps Capabilities, cs *tls.ConnectionState) (sasl.Client, error)
}

// SendMail submits one message the way a mail user agent does: it connects
// to addr ("host:port", usually port 587 or 465) with DialSubmission, sends
// the message with Send and says QUIT. The result tells each recipient's
// outcome and the TLS state; on error it is nil when no transaction was
// started.
func SendMail(ctx context.Context, addr string, opts *SendMailOptions, env *Envelope, body io.Reader) (*SendResult, error) {
	c, err := DialSubmission(ctx, addr, opts)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res, err := c.Send(ctx, env, body)
	if err != nil {
		if c.broken == nil {
			c.Quit(ctx)
		}
		return res, err
	}
	// The message is delivered; a failed QUIT changes nothing.
	c.Quit(ctx)
	return res, nil
}

// DialSubmission connects to a submission server as SendMail does: it
// starts TLS (STARTTLS on any port but 465, implicit TLS there), verifies
// the server certificate against the host name unless opts.TLSConfig says
// otherwise, and authenticates. The Client can then send any number of
// messages, and be kept between them in a ClientCache.
func DialSubmission(ctx context.Context, addr string, opts *SendMailOptions) (*Client, error) {
	var o SendMailOptions
	if opts != nil {
		o = *opts
	}
	if o.TLSPolicy == TLSOpportunistic {
		o.TLSPolicy = TLSRequired
	}
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "465" {
		o.ImplicitTLS = true
	}
	var (
		c   *Client
		err error
	)
	if o.ImplicitTLS {
		c, err = DialTLS(ctx, addr, &o.ClientOptions)
	} else {
		c, err = Dial(ctx, addr, &o.ClientOptions)
	}
	if err != nil {
		return nil, err
	}
	if err := o.authenticate(ctx, c); err != nil {
		c.Quit(ctx)
		return nil, err
	}
	return c, nil
}

func (o *SendMailOptions) authenticate(ctx context.Context, c *Client) error {
	var cs *tls.ConnectionState
	if c.tls != nil {
		cs = c.tls
	}
	var client sasl.Client
	switch {
	case o.Auth != nil:
		var err error
		if client, err = o.Auth(c.caps, cs); err != nil {
			return &CommandError{Command: "AUTH", Err: err}
		}
	case o.Username != "":
		client = o.passwordClient(c.caps, cs)
		if client == nil {
			return &CommandError{Command: "AUTH", Err: &ExtensionError{Extension: "AUTH with a usable mechanism"}}
		}
	default:
		return nil
	}
	return c.Auth(ctx, client)
}

// passwordClient picks the strongest offered mechanism for a password.
func (o *SendMailOptions) passwordClient(caps Capabilities, cs *tls.ConnectionState) sasl.Client {
	var cb []byte
	if cs != nil {
		cb, _ = sasl.TLSExporter(cs) // nil below TLS 1.3
	}
	if caps.HasAuth(sasl.ScramSHA256Plus) && cb != nil {
		return sasl.NewScramSHA256PlusClient(o.Username, o.Password, &sasl.ScramClientOptions{ChannelBinding: cb})
	}
	if caps.HasAuth(sasl.ScramSHA256) {
		// With cb set, the client tells the server it could have bound
		// the channel, which exposes a downgrade from -PLUS.
		return sasl.NewScramSHA256Client(o.Username, o.Password, &sasl.ScramClientOptions{ChannelBinding: cb})
	}
	if cs == nil && o.TLSPolicy != TLSNone {
		return nil
	}
	if caps.HasAuth(sasl.Plain) {
		return sasl.NewPlainClient("", o.Username, o.Password)
	}
	if caps.HasAuth(sasl.Login) {
		return sasl.NewLoginClient(o.Username, o.Password)
	}
	return nil
}
