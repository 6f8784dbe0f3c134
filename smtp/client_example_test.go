package smtp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// exampleMailbox is the backend of the client examples: it knows two
// users, greylists a third, and prints what it receives.
type exampleMailbox struct{ to []string }

func (m *exampleMailbox) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	return nil
}

func (m *exampleMailbox) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	switch to.Local {
	case "alice", "bob":
		m.to = append(m.to, to.Mailbox())
		return nil
	case "carol":
		return &smtp.Error{Code: smtp.CodeMailboxBusy, Enhanced: smtp.EnhancedTempMailbox, Message: "Greylisted, try later"}
	}
	return &smtp.Error{Code: smtp.CodeMailboxUnavailable, Enhanced: smtp.EnhancedBadDestMailbox, Message: "No such user"}
}

func (m *exampleMailbox) Data(ctx context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	fmt.Printf("server: %d bytes for %s\n", len(b), strings.Join(m.to, ", "))
	return nil
}

func (m *exampleMailbox) Reset(ctx context.Context) { m.to = nil }
func (m *exampleMailbox) Close() error              { return nil }

func (m *exampleMailbox) AuthMechanisms(ctx context.Context) []string {
	return []string{sasl.ScramSHA256, sasl.Plain}
}

func (m *exampleMailbox) Auth(ctx context.Context, mech string) (sasl.Server, error) {
	lookup := func(ctx context.Context, authzid, user string) (sasl.ScramUser, error) {
		creds, err := sasl.NewScramCredentials("secret", []byte("example salt"), 4096)
		return sasl.ScramUser{Credentials: creds}, err
	}
	return sasl.NewScramSHA256Server(lookup, nil), nil
}

// examplePipe serves one connection of Herald's server over net.Pipe and
// returns the client end.
func examplePipe() net.Conn {
	srv := &smtp.Server{
		Hostname:        "mx.example.net",
		Auth:            &sasl.Authenticator{AllowInsecure: true}, // a pipe in one process: nothing to eavesdrop
		DisableReceived: true,                                     // print the sizes the client sent
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			return &exampleMailbox{}, nil
		}),
	}
	client, server := net.Pipe()
	go srv.ServeConn(context.Background(), server)
	return client
}

// Send delivers to every recipient the server accepts and reports each
// one's outcome.
func ExampleClient_Send() {
	ctx := context.Background()
	c := smtp.NewClient(examplePipe(), &smtp.ClientOptions{LocalName: "client.example.org"})
	defer c.Close()

	env := &smtp.Envelope{
		From: smtp.Path{Local: "me", Domain: "example.org"},
		To: []smtp.Recipient{
			{Path: smtp.Path{Local: "alice", Domain: "example.net"}},
			{Path: smtp.Path{Local: "carol", Domain: "example.net"}},
			{Path: smtp.Path{Local: "dave", Domain: "example.net"}, Options: smtp.RcptOptions{Notify: smtp.NotifyFailure}},
			{Path: smtp.Path{Local: "bob", Domain: "example.net"}},
		},
	}
	msg := "From: me@example.org\r\nSubject: Hello\r\n\r\nHi all.\r\n"
	res, err := c.Send(ctx, env, strings.NewReader(msg))
	if err != nil {
		fmt.Println("not sent:", err)
		return
	}
	for _, r := range res.Recipients {
		if err := r.Err(); err != nil {
			fmt.Printf("%s: %d %s %s (temporary: %v)\n", r.To, r.Reply.Code, r.Reply.Enhanced, r.Reply.Lines[0], r.Reply.Code.Temporary())
			continue
		}
		fmt.Printf("%s: delivered\n", r.To)
	}
	c.Quit(ctx)
	// Output:
	// server: 49 bytes for alice@example.net, bob@example.net
	// <alice@example.net>: delivered
	// <carol@example.net>: 450 4.2.0 Greylisted, try later (temporary: true)
	// <dave@example.net>: 550 5.1.1 No such user (temporary: false)
	// <bob@example.net>: delivered
}

// Hello reads the greeting and the server's extensions.
func ExampleClient_Hello() {
	ctx := context.Background()
	c := smtp.NewClient(examplePipe(), nil)
	defer c.Close()
	if err := c.Hello(ctx); err != nil {
		fmt.Println(err)
		return
	}
	caps := c.Capabilities()
	fmt.Println("server:", caps.Domain)
	fmt.Println("pipelining:", caps.Pipelining, "chunking:", caps.Chunking, "SMTPUTF8:", caps.SMTPUTF8)
	fmt.Println("size limit:", caps.MaxSize, "recipients:", caps.RcptMax)
	fmt.Println("auth:", caps.Auth)
	c.Quit(ctx)
	// Output:
	// server: mx.example.net
	// pipelining: true chunking: true SMTPUTF8: true
	// size limit: 33554432 recipients: 100
	// auth: [SCRAM-SHA-256 PLAIN]
}

// Auth takes any sasl.Client; SCRAM also checks that the server knew the
// password.
func ExampleClient_Auth() {
	ctx := context.Background()
	c := smtp.NewClient(examplePipe(), nil)
	defer c.Close()
	err := c.Auth(ctx, sasl.NewScramSHA256Client("me", "wrong", nil))
	fmt.Println(err)
	err = c.Auth(ctx, sasl.NewScramSHA256Client("me", "secret", nil))
	fmt.Println("authenticated:", err == nil)
	c.Quit(ctx)
	// Output:
	// smtp: AUTH: 535 5.7.8 Authentication credentials invalid
	// authenticated: true
}

// A missing extension is reported before anything is sent.
func ExampleExtensionError() {
	ctx := context.Background()
	srv := &smtp.Server{
		Disable:         smtp.ExtSMTPUTF8,
		DisableReceived: true,
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			return &exampleMailbox{}, nil
		}),
	}
	client, server := net.Pipe()
	go srv.ServeConn(ctx, server)
	c := smtp.NewClient(client, nil)
	defer c.Close()
	env := &smtp.Envelope{
		From: smtp.Path{Local: "me", Domain: "example.org"},
		To:   []smtp.Recipient{{Path: smtp.Path{Local: "jösé", Domain: "example.net"}}},
	}
	_, err := c.Send(ctx, env, strings.NewReader("Subject: x\r\n\r\n"))
	fmt.Println(err)
	c.Quit(ctx)
	// Output:
	// smtp: MAIL: server lacks SMTPUTF8
}

// SendMail submits a message in one call. Here it dials Herald's server
// over a pipe and, as the pipe has no TLS, is told that plain text is fine;
// against a real submission server leave TLSPolicy alone, and SendMail
// insists on TLS with a verified certificate.
func ExampleSendMail() {
	opts := &smtp.SendMailOptions{
		ClientOptions: smtp.ClientOptions{
			TLSPolicy: smtp.TLSNone,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return examplePipe(), nil
			},
		},
		Username: "me",
		Password: "secret",
	}
	env := &smtp.Envelope{
		From: smtp.Path{Local: "me", Domain: "example.org"},
		To:   []smtp.Recipient{{Path: smtp.Path{Local: "bob", Domain: "example.net"}}},
	}
	res, err := smtp.SendMail(context.Background(), "submission.example.net:587", opts, env, strings.NewReader("Subject: Hi\r\n\r\nHello Bob.\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("delivered to", res.Delivered(), "recipient; TLS:", res.TLS != nil)
	// Output:
	// server: 27 bytes for bob@example.net
	// delivered to 1 recipient; TLS: false
}
