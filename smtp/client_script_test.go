package smtp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// TestClientTranscripts plays the golden transcripts of testdata/client
// against the client: each file is what a scripted server sends and what
// the client must send, byte for byte.
func TestClientTranscripts(t *testing.T) {
	t.Parallel()
	const body = "Subject: x\r\n\r\n.dot\r\n"
	send := func(env *smtp.Envelope) func(context.Context, *smtp.Client) (*smtp.SendResult, error) {
		return func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
			return c.Send(ctx, env, strings.NewReader(body))
		}
	}
	dsnEnv := cliEnv("a@example.org", "b@example.net", "c@example.net")
	dsnEnv.Options = smtp.MailOptions{Size: int64(len(body)), Return: smtp.ReturnHeaders, EnvelopeID: "e+1"}
	dsnEnv.To[0].Options = smtp.RcptOptions{Notify: smtp.NotifySuccess | smtp.NotifyFailure, OriginalRecipient: "b@example.net"}

	tests := []struct {
		name  string
		opts  smtp.ClientOptions
		run   func(context.Context, *smtp.Client) (*smtp.SendResult, error)
		check func(t *testing.T, res *smtp.SendResult, err error)
		quit  bool
	}{
		{
			name: "helo_fallback", run: send(cliEnv("a@example.org", "b@example.net", "c@example.net")), quit: true,
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if err != nil || res.Delivered() != 1 || res.Recipients[1].Reply.Code != 550 || res.Data.Lines[0] != "queued as 123" {
					t.Errorf("%v %+v", err, res)
				}
			},
		},
		{
			name: "pipelined", run: send(dsnEnv), quit: true,
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if err != nil || res.Delivered() != 1 || res.Recipients[0].Reply.Code != 450 || res.Recipients[0].Reply.Enhanced != smtp.EnhancedTempMailbox {
					t.Errorf("%v %+v", err, res)
				}
			},
		},
		{
			name: "pipelined_no_rcpt", run: send(cliEnv("a@example.org", "b@example.net")), quit: true,
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if ce := asCommandError(t, err); ce.Command != "RCPT" || ce.Reply().Code != 550 {
					t.Errorf("%v", err)
				}
			},
		},
		{
			name: "pipelined_354_no_rcpt", run: send(cliEnv("a@example.org", "b@example.net")), quit: true,
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if ce := asCommandError(t, err); ce.Command != "RCPT" {
					t.Errorf("%v", err)
				}
			},
		},
		{
			name: "bdat_inline", quit: true,
			run: func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
				return c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader("Subject: x\r\n\r\n.dot"))
			},
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if err != nil || res.Delivered() != 1 {
					t.Errorf("%v %+v", err, res)
				}
			},
		},
		{
			name: "greeting_refused",
			run: func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
				return nil, c.Hello(ctx)
			},
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if ce := asCommandError(t, err); ce.Command != "greeting" || ce.Temporary() || ce.Reply().Code != 554 {
					t.Errorf("%v", err)
				}
			},
		},
		{
			name: "closing_421", run: send(cliEnv("a@example.org", "b@example.net")),
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if ce := asCommandError(t, err); ce.Command != "RCPT" || !ce.Temporary() || ce.Reply().Code != 421 {
					t.Errorf("%v", err)
				}
			},
		},
		{
			name: "starttls_injection",
			run: func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
				return nil, c.Hello(ctx)
			},
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if !errors.Is(err, smtp.ErrProtocol) || asCommandError(t, err).Command != "STARTTLS" {
					t.Errorf("%v", err)
				}
			},
		},
		{
			name: "starttls", quit: true, opts: smtp.ClientOptions{TLSPolicy: smtp.TLSRequired},
			run: func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
				if err := c.Hello(ctx); err != nil {
					return nil, err
				}
				if c.Capabilities().StartTLS || !c.Capabilities().HasAuth("PLAIN") {
					return nil, errors.New("capabilities not replaced")
				}
				return nil, c.Auth(ctx, sasl.NewPlainClient("", "user", "pass"))
			},
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "auth_login", quit: true,
			run: func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
				return nil, c.Auth(ctx, sasl.NewLoginClient("user", "pass"))
			},
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "auth_bad_challenge", quit: true,
			run: func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
				return nil, c.Auth(ctx, sasl.NewLoginClient("user", "pass"))
			},
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if !errors.Is(err, smtp.ErrProtocol) {
					t.Error(err)
				}
			},
		},
		{
			name: "malformed_reply",
			run: func(ctx context.Context, c *smtp.Client) (*smtp.SendResult, error) {
				return nil, c.Hello(ctx)
			},
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				if !errors.Is(err, smtp.ErrProtocol) || !errors.Is(err, smtp.ErrMalformedReply) || !asCommandError(t, err).Temporary() {
					t.Errorf("%v", err)
				}
			},
		},
		{
			name: "lmtp", quit: true, opts: smtp.ClientOptions{LMTP: true},
			run: send(cliEnv("a@example.org", "b@example.net", "x@example.net", "c@example.net")),
			check: func(t *testing.T, res *smtp.SendResult, err error) {
				r := res.Recipients
				if err != nil || !r[0].Delivered || r[1].Reply.Code != 550 || r[2].Delivered || r[2].Reply.Code != 452 || r[2].Reply.Lines[0] != "c over quota" {
					t.Errorf("%v %+v", err, res)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn := cliScript(t, cliScriptFile(t, tt.name))
			opts := tt.opts
			opts.LocalName = "client.test"
			if opts.TLSConfig == nil {
				opts.TLSConfig = &tls.Config{RootCAs: cliTestTLS(t).pool, ServerName: "mx.test"}
			}
			c := smtp.NewClient(conn, &opts)
			ctx := context.Background()
			res, err := tt.run(ctx, c)
			tt.check(t, res, err)
			if tt.quit {
				if err := c.Quit(ctx); err != nil {
					t.Errorf("Quit: %v", err)
				}
			} else {
				c.Close()
			}
		})
	}
}
