package smtp

import (
	"context"
	"crypto/tls"
)

// tlsConfig returns the configuration for a handshake: a clone of
// ClientOptions.TLSConfig with the server name filled in, or a default that
// verifies the certificate when verify is set.
func (c *Client) tlsConfig(verify bool) *tls.Config {
	var cfg *tls.Config
	if c.opts.TLSConfig != nil {
		cfg = c.opts.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !verify}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = c.serverName
	}
	return cfg
}

// StartTLS sends STARTTLS (RFC 3207), makes the TLS handshake with cfg (nil
// means the configuration ClientOptions describes) and says EHLO again, as
// the extensions may differ over TLS. Hello calls it as the TLSPolicy says;
// call it directly only with TLSNone. A refusal is returned as an *Error in
// a *CommandError and leaves the connection usable; a failed handshake
// breaks it.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if err := c.ensureHello(ctx); err != nil {
		return err
	}
	if c.tls != nil {
		return &CommandError{Command: "STARTTLS", Err: clientInvalidArg("TLS is already active")}
	}
	if !c.caps.StartTLS {
		return &CommandError{Command: "STARTTLS", Err: &ExtensionError{Extension: "STARTTLS"}}
	}
	if cfg == nil {
		cfg = c.tlsConfig(c.opts.TLSPolicy == TLSRequired)
	} else if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = c.serverName
	}
	if _, err := c.cmd(ctx, "STARTTLS", c.timeout(c.opts.CommandTimeout, DefaultClientCommandTimeout), 2, "STARTTLS"); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		// Whatever came with the 220 was sent before the handshake and
		// would be read as if it came over TLS (CVE-2011-1575 and
		// relatives): refuse to go on.
		return c.fatal(&CommandError{Command: "STARTTLS", Err: &ProtocolError{Reason: "data after the STARTTLS reply"}})
	}
	if err := c.handshake(ctx, tls.Client(c.conn, cfg), cfg); err != nil {
		return err
	}
	// RFC 3207 section 4.2: forget what was learnt before TLS.
	return c.hello(ctx)
}

// handshake runs the TLS handshake on tc and switches the client to it.
// The certificate counts as verified when crypto/tls verified the chain or
// the configuration verifies by callback (DANE, MTA-STS);
// cfg is the configuration tc was made with, nil when the caller made tc
// (NewClient on a *tls.Conn) and so answers for its verification.
func (c *Client) handshake(ctx context.Context, tc *tls.Conn, cfg *tls.Config) error {
	armed := c.arm(ctx, c.timeout(c.opts.CommandTimeout, DefaultClientCommandTimeout))
	err := tc.HandshakeContext(ctx)
	if cerr := armed.disarm(); cerr != nil {
		err = cerr
	}
	if err != nil {
		return c.fatal(&CommandError{Command: "TLS handshake", Err: err})
	}
	cs := tc.ConnectionState()
	c.tls = &cs
	c.tlsVerified = cfg == nil || len(cs.VerifiedChains) > 0 || cfg.VerifyConnection != nil || cfg.VerifyPeerCertificate != nil
	c.conn = tc
	c.helloed, c.caps, c.inTx = false, Capabilities{}, false
	return nil
}
