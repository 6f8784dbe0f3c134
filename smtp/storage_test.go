package smtp_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/smtp"
)

// maildirSession delivers each recipient into the INBOX of the store named
// by its local part; the smtp package itself knows nothing of maildir.
type maildirSession struct {
	stores map[string]*maildir.Store
}

func (s *maildirSession) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	return nil
}

func (s *maildirSession) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	if to.Local == "diskfull" {
		// What a store sees from the file system when the disk is full.
		return &os.PathError{Op: "write", Path: "/var/mail/x", Err: syscall.ENOSPC}
	}
	if s.stores[to.Local] == nil {
		return &smtp.Error{Code: smtp.CodeMailboxUnavailable, Enhanced: smtp.EnhancedBadDestMailbox, Message: "No such user"}
	}
	return nil
}

func (s *maildirSession) deliver(ctx context.Context, to smtp.Path, msg string) error {
	inbox, err := s.stores[to.Local].Folder(maildir.Inbox)
	if err != nil {
		return err
	}
	_, err = inbox.Deliver(ctx, strings.NewReader(msg), nil)
	return err
}

func (s *maildirSession) Data(ctx context.Context, r io.Reader) error {
	return fmt.Errorf("SMTP mode is not used here")
}

func (s *maildirSession) LMTPData(ctx context.Context, r io.Reader, rcpts []smtp.Path) ([]error, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	res := make([]error, len(rcpts))
	for i, to := range rcpts {
		res[i] = s.deliver(ctx, to, string(b))
	}
	return res, nil
}

func (s *maildirSession) Reset(ctx context.Context) {}
func (s *maildirSession) Close() error              { return nil }

func openStore(t *testing.T, opts *maildir.Options) *maildir.Store {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	st, err := maildir.OpenStore(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStorageErrorsMapped delivers over LMTP into real Maildirs: one over
// its Maildir++ quota, one whose message limit is too small, one with
// room. Each recipient gets the reply its store's error calls for.
func TestStorageErrorsMapped(t *testing.T) {
	t.Parallel()
	sess := &maildirSession{stores: map[string]*maildir.Store{
		"full": openStore(t, &maildir.Options{Quota: maildir.Quota{Bytes: 100}}),
		"tiny": openStore(t, &maildir.Options{MaxMessageBytes: 64}),
		"ok":   openStore(t, nil),
	}}
	s := &smtp.Server{Hostname: "mx.test", LMTP: true, Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
		return sess, nil
	})}
	c := newClient(t, pipeConn(t, s))
	c.expect(220)
	c.send("LHLO c.example")
	c.expect(250)
	c.send("MAIL FROM:<a@example.org>")
	c.expect(250)
	c.send("RCPT TO:<diskfull@example.org>")
	expectEnhanced(t, c.expect(452), "4.3.1")
	for _, rcpt := range []string{"full", "tiny", "ok"} {
		c.send("RCPT TO:<" + rcpt + "@example.org>")
		c.expect(250)
	}
	c.send("DATA")
	c.expect(354)
	c.send("Subject: quota", "", strings.Repeat("0123456789", 20), ".")
	r := c.expect(452)
	expectEnhanced(t, r, "4.2.2")
	if !strings.Contains(strings.ToLower(r.Lines[0]), "mailbox full") {
		t.Errorf("quota reply %q", r.Lines)
	}
	r = c.expect(552)
	expectEnhanced(t, r, "5.3.4")
	if !strings.Contains(r.Lines[0], "too big for the mailbox") {
		t.Errorf("size reply %q", r.Lines)
	}
	c.expect(250)

	inbox, err := sess.stores["ok"].Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(inbox.Dir(), "new"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("new/ of ok: %v, %v", entries, err)
	}
	data, err := os.ReadFile(filepath.Join(inbox.Dir(), "new", entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "Received: from c.example ([unknown])\r\n\tby mx.test with LMTP id ") ||
		!strings.Contains(string(data), "\r\nSubject: quota\r\n") {
		t.Errorf("stored message:\n%q", data)
	}
	for _, name := range []string{"full", "tiny"} {
		inbox, _ := sess.stores[name].Folder(maildir.Inbox)
		if entries, _ := os.ReadDir(filepath.Join(inbox.Dir(), "new")); len(entries) != 0 {
			t.Errorf("%s got a message: %v", name, entries)
		}
	}
}
