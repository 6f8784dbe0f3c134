package smtp

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/heraldmail/herald/sasl"
)

// clientMaxAuthLine is the longest AUTH command or response line the client
// sends: the 12288 octets of RFC 4954 section 4. A longer initial response
// is sent after an empty challenge instead.
const clientMaxAuthLine = MaxAuthLineLength

// Auth authenticates with the SASL mechanism that client implements
// (RFC 4954): sasl.PlainClient, sasl.LoginClient, sasl.ScramClient,
// sasl.OAuthBearerClient, sasl.XOAuth2Client or any other. The mechanism
// must be among those the server announced, else the error wraps
// ErrMissingExtension. The initial response goes with the AUTH command when
// it fits. A mechanism that verifies the server (SCRAM, through a
// ServerVerified method) must have done so before success counts. A
// refusal is an *Error in a *CommandError, for example 535 5.7.8.
func (c *Client) Auth(ctx context.Context, client sasl.Client) error {
	if err := c.ensureHello(ctx); err != nil {
		return err
	}
	mech, ir, err := client.Start()
	if err != nil {
		return &CommandError{Command: "AUTH", Err: err}
	}
	mech = strings.ToUpper(mech)
	if !clientIsMech(mech) {
		return &CommandError{Command: "AUTH", Err: clientInvalidArg("mechanism name " + clientQuote(mech))}
	}
	if !c.caps.HasAuth(mech) {
		return &CommandError{Command: "AUTH", Err: &ExtensionError{Extension: "AUTH " + mech}}
	}
	d := c.timeout(c.opts.CommandTimeout, DefaultClientCommandTimeout)
	line := "AUTH " + mech
	if ir != nil {
		enc := "="
		if len(ir) > 0 {
			enc = base64.StdEncoding.EncodeToString(ir)
		}
		if len(line)+1+len(enc) <= clientMaxAuthLine {
			line += " " + enc
			ir = nil
		}
	}
	if c.opts.Logger != nil {
		redacted := "AUTH " + mech
		if line != redacted {
			redacted += " <SASL response>"
		}
		c.logSend(redacted)
	}
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	pendingIR := ir
	for {
		if err := c.flush(ctx, "AUTH", d); err != nil {
			return err
		}
		// A challenge may be as long as a response: 12288 octets
		// (RFC 4954 section 4), more than other replies.
		reply, err := c.readLimit(ctx, "AUTH", d, max(c.opts.MaxReplyLineLength, clientMaxAuthLine+4))
		if err != nil {
			return err
		}
		if reply.Code != CodeAuthContinue {
			if err := c.check("AUTH", reply, 2); err != nil {
				return err
			}
			if v, ok := client.(interface{ ServerVerified() bool }); ok && !v.ServerVerified() {
				return c.fatal(&CommandError{Command: "AUTH", Err: &ProtocolError{Reason: "server not verified by " + mech}})
			}
			return nil
		}
		var resp []byte
		if pendingIR != nil {
			// The initial response did not fit on the command line.
			resp, pendingIR = pendingIR, nil
		} else {
			chal, derr := base64.StdEncoding.DecodeString(strings.Join(reply.Lines, ""))
			if derr != nil {
				return c.cancelAuth(ctx, d, &ProtocolError{Reason: "challenge is not base64", Err: derr})
			}
			if resp, err = client.Next(chal); err != nil {
				return c.cancelAuth(ctx, d, err)
			}
		}
		enc := base64.StdEncoding.EncodeToString(resp)
		if len(enc) > clientMaxAuthLine {
			return c.cancelAuth(ctx, d, clientInvalidArg("SASL response too long"))
		}
		if c.opts.Logger != nil {
			c.logSend("<SASL response>")
		}
		c.w.WriteString(enc)
		c.w.WriteString("\r\n")
	}
}

// cancelAuth sends "*" to abandon the exchange (RFC 4954 section 4), reads
// the server's 501 and returns cause.
func (c *Client) cancelAuth(ctx context.Context, d time.Duration, cause error) error {
	if _, err := c.cmd(ctx, "AUTH", d, 5, "*"); err != nil {
		return err
	}
	return &CommandError{Command: "AUTH", Err: cause}
}
