package pop3_test

import (
	"errors"
	"io"
	"testing"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/sasl"
)

// TestInteropDovecot runs the Herald client against a private Dovecot
// pop3d: every command, with Dovecot's own listing and message data.
func TestInteropDovecot(t *testing.T) {
	t.Parallel()
	d := startDovecot(t, t.TempDir())
	msgs := []string{
		"Subject: one\n\nHello\n.dot line\n",
		"Subject: two\nFrom: b@example.org\n\nline1\nline2\nline3\n",
	}
	deliverMaildir(t, d.Maildir, "1000000000.M1P1.test", []byte(msgs[0]))
	deliverMaildir(t, d.Maildir, "1000000001.M2P1.test", []byte(msgs[1]))
	ctx := ctxT(t)
	c, err := pop3.Dial(ctx, d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	caps, err := c.Capa(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TOP", "UIDL", "USER", "SASL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"} {
		if _, ok := caps[want]; !ok {
			t.Errorf("Dovecot CAPA lacks %s: %v", want, caps)
		}
	}
	if err := c.Login(ctx, "alice", "wrong"); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := c.Auth(ctx, sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stat(ctx)
	if err != nil || st.Count != 2 {
		t.Fatalf("Stat = %v, %v", st, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}
	crlf := []string{"Subject: one\r\n\r\nHello\r\n.dot line\r\n", "Subject: two\r\nFrom: b@example.org\r\n\r\nline1\r\nline2\r\nline3\r\n"}
	for i, e := range list {
		if e.Size != int64(len(crlf[i])) {
			t.Errorf("LIST %d size %d, want %d", e.Number, e.Size, len(crlf[i]))
		}
	}
	uids, err := c.Uidl(ctx)
	if err != nil || len(uids) != 2 || uids[0].UID != "1000000000.M1P1.test" {
		t.Fatalf("Uidl = %v, %v", uids, err)
	}
	r, err := c.Retr(ctx, 1)
	if got := readAll(t, r, err); got != crlf[0] {
		t.Errorf("Retr 1 = %q", got)
	}
	r, err = c.Top(ctx, 2, 1)
	if got := readAll(t, r, err); got != "Subject: two\r\nFrom: b@example.org\r\n\r\nline1\r\n" {
		t.Errorf("Top = %q", got)
	}
	if _, err := c.Retr(ctx, 3); !errors.As(err, new(*pop3.Error)) {
		t.Errorf("Retr 3: %v", err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Rset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	c, err = pop3.Dial(ctx, d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	uids, err = c.Uidl(ctx)
	if err != nil || len(uids) != 1 || uids[0].UID != "1000000000.M1P1.test" {
		t.Fatalf("Uidl after QUIT = %v, %v", uids, err)
	}
	r, err = c.Retr(ctx, 1)
	if got := readAll(t, r, err); got != crlf[0] {
		t.Errorf("Retr = %q", got)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Error(err)
	}
	c.Quit(ctx)
}
