package imap_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imaptest"
	"github.com/heraldmail/herald/sasl"
)

func pipeIMAPClient(t *testing.T) (*imap.Client, *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	cc, sc := net.Pipe()
	go s.ServeConn(context.Background(), sc)
	t.Cleanup(func() { cc.Close() })
	c, err := imap.NewClient(context.Background(), cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, t
}

func TestClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := pipeIMAPClient(t)
	if !c.Has("IMAP4rev2") || !c.Has("AUTH=PLAIN") {
		t.Fatal("greeting capabilities not recorded")
	}
	var ie *imap.Error
	if err := c.Login(ctx, "alice", "wrong"); !errors.As(err, &ie) || ie.Code != imap.CodeAuthFailed {
		t.Fatalf("bad login: %v", err)
	}
	if err := c.Authenticate(ctx, sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	if c.Has("AUTH=PLAIN") {
		t.Fatal("capabilities not refreshed after login")
	}
	d, err := c.Select(ctx, "INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Exists != 3 || d.UIDNext != 4 || d.UIDValidity == 0 || d.ReadOnly || len(d.PermanentFlags) == 0 {
		t.Fatalf("select: %+v", d)
	}
	msgs, err := c.Fetch(ctx, imap.SeqSet{{1, 0}}, "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODY.PEEK[] BODY.PEEK[2.2])", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("fetched %d", len(msgs))
	}
	m := msgs[0]
	if m.UID != 1 || string(m.Sections["BODY[]"]) != msgPlain || m.Size != int64(len(msgPlain)) ||
		!m.InternalDate.Equal(testDate) || !reflect.DeepEqual(m.Flags, []imap.Flag{imap.FlagSeen}) {
		t.Fatalf("message 1: %+v", m)
	}
	if e := m.Envelope; e == nil || e.Subject != "Hello there" || len(e.To) != 2 || e.To[0].Addr != "bob@example.net" || e.From[0].Name != "Alice Example" {
		t.Fatalf("envelope: %+v", m.Envelope)
	}
	if e := msgs[1].Envelope; len(e.Cc) != 1 || !e.Cc[0].Group || len(e.Cc[0].Members) != 2 {
		t.Fatalf("group: %+v", e.Cc)
	}
	if got := string(msgs[1].Sections["BODY[2.2]"]); got != "" {
		t.Fatalf("BODY[2.2] of message 2 = %q", got)
	}
	uids, err := c.Search(ctx, `FROM "bob"`, true)
	if err != nil || !reflect.DeepEqual(uids, []uint32{3}) {
		t.Fatalf("search: %v %v", uids, err)
	}
	if err := c.Store(ctx, imap.SeqSet{{2, 3}}, imap.StoreAdd, []imap.Flag{imap.FlagFlagged}, false); err != nil {
		t.Fatal(err)
	}
	seqs, err := c.Search(ctx, "FLAGGED", false)
	if err != nil || !reflect.DeepEqual(seqs, []uint32{2, 3}) {
		t.Fatalf("flagged: %v %v", seqs, err)
	}
	res, err := c.Copy(ctx, imap.SeqSet{{1, 2}}, "Archive", false)
	if err != nil || !reflect.DeepEqual(res.Source, []imap.UID{1, 2}) || !reflect.DeepEqual(res.Dest, []imap.UID{1, 2}) {
		t.Fatalf("copy: %+v %v", res, err)
	}
	if _, err := c.Copy(ctx, imap.SeqSet{{1, 1}}, "Nowhere", false); !errors.As(err, &ie) || ie.Code != imap.CodeTryCreate {
		t.Fatalf("copy to nowhere: %v", err)
	}
	res, err = c.Move(ctx, imap.SeqSet{{3, 3}}, "Trash", true)
	if err != nil || !reflect.DeepEqual(res.Source, []imap.UID{3}) {
		t.Fatalf("move: %+v %v", res, err)
	}
	if err := c.Store(ctx, imap.SeqSet{{1, 1}}, imap.StoreAdd, []imap.Flag{imap.FlagDeleted}, false); err != nil {
		t.Fatal(err)
	}
	gone, err := c.Expunge(ctx)
	if err != nil || !reflect.DeepEqual(gone, []uint32{1}) {
		t.Fatalf("expunge: %v %v", gone, err)
	}
	body := "Subject: appended\r\n\r\nline with {3}\r\n"
	ar, err := c.Append(ctx, "Entwürfe/Neu", strings.NewReader(body), int64(len(body)), nil)
	if !errors.As(err, &ie) || ie.Code != imap.CodeTryCreate {
		t.Fatalf("append to a missing mailbox: %v", err)
	}
	if err := c.Create(ctx, "Entwürfe/Neu"); err != nil {
		t.Fatal(err)
	}
	ar, err = c.Append(ctx, "Entwürfe/Neu", strings.NewReader(body), int64(len(body)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, InternalDate: testDate})
	if err != nil || ar.UID != 1 {
		t.Fatalf("append: %+v %v", ar, err)
	}
	list, err := c.List(ctx, "", "*")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Name)
	}
	if !reflect.DeepEqual(names, []string{"INBOX", "Archive", "Entwürfe", "Entwürfe/Neu", "Sent", "Trash", "Work", "Work/Projects"}) {
		t.Fatalf("list: %q", names)
	}
	st, err := c.Status(ctx, "Entwürfe/Neu")
	if err != nil || st.Messages != 1 || st.UIDNext != 2 || st.Size != int64(len(body)) || st.Unseen != 0 {
		t.Fatalf("status: %+v %v", st, err)
	}
	if err := c.Rename(ctx, "Entwürfe/Neu", "Alt"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "Alt"); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClientIdle(t *testing.T) {
	be, u := newFixture(t)
	s := testServer(be)
	cc, sc := net.Pipe()
	go s.ServeConn(context.Background(), sc)
	defer cc.Close()
	ctx := context.Background()
	c, err := imap.NewClient(ctx, cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", true); err != nil {
		t.Fatal(err)
	}
	idleCtx, stop := context.WithCancel(ctx)
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- c.Idle(idleCtx, func(name string, n uint32) {
			got = append(got, name)
			stop()
		})
	}()
	// Deliver until the IDLE has started and reported it.
	for range 100 {
		if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, testDate); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil || len(got) == 0 || got[0] != "EXISTS" {
				t.Fatalf("idle: %v %v", got, err)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("IDLE never reported the delivery")
}

// TestClientDovecot runs the client against a private Dovecot.
func TestClientDovecot(t *testing.T) {
	dv := imaptest.StartDovecot(t, map[string]string{"alice": "secret"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := imap.Dial(ctx, dv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, "Entwürfe"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{msgPlain, msgMultipart} {
		if _, err := c.Append(ctx, "Entwürfe", strings.NewReader(m), int64(len(m)), nil); err != nil {
			t.Fatal(err)
		}
	}
	d, err := c.Select(ctx, "Entwürfe", false)
	if err != nil || d.Exists != 2 {
		t.Fatalf("select: %+v %v", d, err)
	}
	msgs, err := c.Fetch(ctx, imap.SeqSet{{1, 2}}, "(UID ENVELOPE BODY.PEEK[1.1])", true)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("fetch: %v %v", msgs, err)
	}
	if msgs[0].Envelope.Subject != "Hello there" || string(msgs[1].Sections["BODY[1.1]"]) != "Gr=C3=BC=C3=9Fe aus K=C3=B6ln" {
		t.Fatalf("fetched %+v", msgs)
	}
	uids, err := c.Search(ctx, "FROM alice", true)
	if err != nil || !reflect.DeepEqual(uids, []uint32{1}) {
		t.Fatalf("search: %v %v", uids, err)
	}
	list, err := c.List(ctx, "", "Entw*")
	if err != nil || len(list) != 1 || list[0].Name != "Entwürfe" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}
