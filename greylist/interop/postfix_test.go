// Package interop_test runs greylist end to end: Herald's smtp.Server with a
// greylist.Policy as its RCPT policy, and a real Postfix sending to it. It
// lives apart from package greylist so that greylist's own tests never depend
// on the smtp package.
package interop_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/internal/postfixtest"
	"github.com/heraldmail/herald/smtp"
)

// Herald's dnsmx.Resolver serves the greylist's host name whitelist.
var _ greylist.Resolver = dnsmx.Resolver(nil)

// backend is a Herald smtp.Backend that greylists every recipient and
// records what it decided and what it received.
type backend struct {
	policy *greylist.Policy

	mu        sync.Mutex
	decisions []greylist.Decision
	messages  [][]byte
}

func (b *backend) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	return &session{b: b, client: c.RemoteAddr.Addr()}, nil
}

type session struct {
	b      *backend
	client netip.Addr
	from   smtp.Path
	header string // X-Greylist value when a recipient passed after a delay
}

func (s *session) Mail(ctx context.Context, from smtp.Path, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(ctx context.Context, to smtp.Path, _ *smtp.RcptOptions) error {
	d, err := s.b.policy.Check(ctx, greylist.Request{Client: s.client, Sender: s.from.Mailbox(), Recipient: to.Mailbox()})
	if err != nil {
		return err // answered 451 4.3.0 by the server
	}
	s.b.mu.Lock()
	s.b.decisions = append(s.b.decisions, d)
	s.b.mu.Unlock()
	if r, ok := s.b.policy.Reply(d); ok {
		enh, err := smtp.ParseEnhancedCode(r.Enhanced)
		if err != nil {
			return err
		}
		return &smtp.Error{Code: smtp.ReplyCode(r.Code), Enhanced: enh, Message: r.Text}
	}
	if h, ok := s.b.policy.HeaderValue(d); ok {
		s.header = h
	}
	return nil
}

func (s *session) Data(ctx context.Context, r io.Reader) error {
	var msg bytes.Buffer
	if s.header != "" {
		msg.WriteString(greylist.HeaderName + ": " + s.header + "\r\n")
	}
	if _, err := io.Copy(&msg, r); err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, msg.Bytes())
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset(ctx context.Context) { s.from, s.header = smtp.Path{}, "" }
func (s *session) Close() error              { return nil }

// TestPostfixRetriesGreylisted sends one message from Postfix to Herald's
// SMTP server guarded by the greylist: the first attempt is deferred with
// 451 4.7.1, Postfix retries on its own schedule, the retry after the delay
// passes, and the message arrives exactly once.
func TestPostfixRetriesGreylisted(t *testing.T) {
	const delay = 2 * time.Second
	policy, err := greylist.New(&greylist.Options{
		Delay:       delay,
		RetryWindow: time.Minute,
		Hostname:    "herald.test.invalid",
	})
	if err != nil {
		t.Fatal(err)
	}
	be := &backend{policy: policy}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &smtp.Server{Backend: be, Hostname: "herald.test.invalid"}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})

	pf := postfixtest.Start(t, l.Addr().String())
	const msgID = "<greylist-interop-1@postfix.test.invalid>"
	start := time.Now()
	pf.Send("alice@example.org", "bob@example.net",
		"From: alice@example.org\nTo: bob@example.net\nSubject: greylist interop\nMessage-ID: "+msgID+"\n\nHello through the greylist.\n")

	if !pf.WaitEmpty(60 * time.Second) {
		t.Fatalf("Postfix did not deliver within 60 s\nmaillog:\n%s", pf.Maillog())
	}
	elapsed := time.Since(start)
	// Give a duplicate delivery, if any, time to arrive.
	time.Sleep(3 * time.Second)

	be.mu.Lock()
	decisions := append([]greylist.Decision(nil), be.decisions...)
	messages := append([][]byte(nil), be.messages...)
	be.mu.Unlock()

	if len(messages) != 1 {
		t.Fatalf("received %d messages, want exactly 1\nmaillog:\n%s", len(messages), pf.Maillog())
	}
	if len(decisions) < 2 {
		t.Fatalf("%d RCPT decisions, want a deferral and a pass: %+v", len(decisions), decisions)
	}
	first, last := decisions[0], decisions[len(decisions)-1]
	if first.Action != greylist.Defer || first.Reason != greylist.ReasonNew {
		t.Errorf("first attempt: %v/%v, want defer/new", first.Action, first.Reason)
	}
	for i, d := range decisions[1 : len(decisions)-1] {
		if d.Action != greylist.Defer || d.Reason != greylist.ReasonEarly {
			t.Errorf("attempt %d: %v/%v, want defer/early", i+2, d.Action, d.Reason)
		}
	}
	if last.Action != greylist.Pass || last.Reason != greylist.ReasonRetried || last.Delayed < delay {
		t.Errorf("last attempt: %v/%v delayed %v, want pass/retried after at least %v", last.Action, last.Reason, last.Delayed, delay)
	}

	msg := string(messages[0])
	for _, want := range []string{
		"X-Greylist: delayed ",
		"by Herald greylist at herald.test.invalid;",
		"Message-ID: " + msgID,
		"Hello through the greylist.",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	// Postfix saw the deferral as Herald sent it, then the acceptance.
	log := pf.Maillog()
	if !strings.Contains(log, "status=deferred") || !strings.Contains(log, "said: 451 4.7.1 Greylisted, please retry in 2 seconds") {
		t.Errorf("maillog lacks the greylisting deferral:\n%s", log)
	}
	if n := strings.Count(log, "status=sent"); n != 1 {
		t.Errorf("maillog shows %d deliveries, want 1:\n%s", n, log)
	}
	t.Logf("delivered after %v and %d attempts", elapsed.Round(100*time.Millisecond), len(decisions))
}
