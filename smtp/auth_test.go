package smtp_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// plainSession is a testSession without SessionAuth: AUTH is the
// server's, through Server.Auth.
type plainSession struct{ s *testSession }

func (p plainSession) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	return p.s.Mail(ctx, from, opts)
}
func (p plainSession) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	return p.s.Rcpt(ctx, to, opts)
}
func (p plainSession) Data(ctx context.Context, r io.Reader) error { return p.s.Data(ctx, r) }
func (p plainSession) Reset(ctx context.Context)                   { p.s.Reset(ctx) }
func (p plainSession) Close() error                                { return p.s.Close() }

// testAuth accepts user/pass, and fails with an internal error for the
// user "down".
func testAuth() *sasl.Authenticator {
	return &sasl.Authenticator{Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
		switch {
		case user == "down":
			return "", errors.New("credential store down")
		case user == "user" && pass == "pass" && (authzid == "" || authzid == user):
			return user, nil
		}
		return "", sasl.ErrAuthFailed
	}}
}

func plainIR(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func expectEnhanced(t *testing.T, r *smtp.Reply, want string) {
	t.Helper()
	if r.Enhanced.String() != want {
		t.Fatalf("reply %d %v %q, want enhanced code %s", r.Code, r.Enhanced, r.Lines, want)
	}
}

func ehloText(c *client) string {
	c.send("EHLO c.example")
	return strings.Join(c.expect(250).Lines, "\n")
}

func TestServerAuth(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	be := &testBackend{serverAuth: true}
	logs := &logBuffer{}
	s := newServer(t, be, "received", logs)
	s.TLSConfig = srvTLS
	s.Auth = testAuth()
	conn := pipeConn(t, s)
	c := newClient(t, conn)
	c.expect(220)
	if text := ehloText(c); strings.Contains(text, "AUTH") {
		t.Fatalf("AUTH offered before TLS: %q", text)
	}
	c.send("AUTH PLAIN " + plainIR("user", "pass"))
	expectEnhanced(t, c.expect(538), "5.7.11")
	c.send("AUTH CRAM-MD5")
	expectEnhanced(t, c.expect(504), "5.5.4")

	c.send("STARTTLS")
	c.expect(220)
	tc := tls.Client(conn, cliTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, tc)
	if text := ehloText(c); !strings.Contains(text, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO after TLS: %q", text)
	}
	c.send("AUTH PLAIN " + plainIR("user", "wrong-secret"))
	expectEnhanced(t, c.expect(535), "5.7.8")
	c.send("AUTH XYZZY")
	expectEnhanced(t, c.expect(504), "5.5.4")
	c.send("AUTH PLAIN " + plainIR("down", "x"))
	expectEnhanced(t, c.expect(454), "4.7.0")
	c.send("AUTH PLAIN " + plainIR("user", "pass"))
	c.expect(235)
	c.send("AUTH PLAIN " + plainIR("user", "pass"))
	c.expect(503)
	c.send("MAIL FROM:<user@example.org>", "RCPT TO:<b@example.org>", "DATA")
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send("hi", ".", "QUIT")
	c.expect(250)
	c.expect(221)

	m := be.Messages()
	if len(m) != 1 || m[0].Info.AuthIdentity != "user" || m[0].Info.AuthMechanism != "PLAIN" || m[0].Info.TLS == nil {
		t.Fatalf("stored: %+v", m)
	}
	if !strings.Contains(m[0].Data, " with ESMTPSA id ") || withoutTrace(t, m[0], "ESMTPSA") != "hi\r\n" {
		t.Fatalf("data: %q", m[0].Data)
	}
	log := logs.String()
	if !strings.Contains(log, "authentication failed") || !strings.Contains(log, "username=user") ||
		!strings.Contains(log, "mechanism=PLAIN") || !strings.Contains(log, "level=INFO") {
		t.Errorf("failed AUTH not logged at Info with user and mechanism:\n%s", log)
	}
	if strings.Contains(log, "wrong-secret") {
		t.Errorf("password in the log:\n%s", log)
	}
}

func TestServerAuthAllowInsecure(t *testing.T) {
	t.Parallel()
	be := &testBackend{serverAuth: true}
	s := newServer(t, be, "", io.Discard)
	s.Auth = testAuth()
	s.Auth.AllowInsecure = true
	c := newClient(t, pipeConn(t, s))
	c.expect(220)
	if text := ehloText(c); !strings.Contains(text, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO: %q", text)
	}
	// LOGIN, with its two challenges.
	c.send("AUTH LOGIN")
	c.expect(334)
	c.send(base64.StdEncoding.EncodeToString([]byte("user")))
	c.expect(334)
	c.send(base64.StdEncoding.EncodeToString([]byte("pass")))
	c.expect(235)
	c.send("MAIL FROM:<user@example.org>", "RCPT TO:<b@example.org>", "DATA")
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send("hi", ".")
	c.expect(250)
	if m := be.Messages(); len(m) != 1 || m[0].Info.AuthIdentity != "user" || m[0].Info.AuthMechanism != "LOGIN" {
		t.Fatalf("stored: %+v", m)
	}
}

func TestServerAuthNilOffersNothing(t *testing.T) {
	t.Parallel()
	be := &testBackend{serverAuth: true}
	s := newServer(t, be, "", io.Discard)
	c := newClient(t, pipeConn(t, s))
	c.expect(220)
	if text := ehloText(c); strings.Contains(text, "AUTH") {
		t.Fatalf("EHLO: %q", text)
	}
	c.send("AUTH PLAIN " + plainIR("user", "pass"))
	c.expect(502)
}

func TestSessionAuthOverridesServerAuth(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	// Server.Auth refuses everyone; the session's own AUTH accepts
	// user/pass, and AllowInsecure still applies to it.
	s.Auth = &sasl.Authenticator{AllowInsecure: true, Password: func(ctx context.Context, _, _, _ string) (string, error) {
		return "", sasl.ErrAuthFailed
	}}
	c := newClient(t, pipeConn(t, s))
	c.expect(220)
	if text := ehloText(c); !strings.Contains(text, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO: %q", text)
	}
	c.send("AUTH PLAIN " + plainIR("user", "pass"))
	c.expect(235)
}
