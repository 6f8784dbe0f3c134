package imap_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
)

// TestClientQresync resynchronizes a mailbox with the client against the
// server: an initial view with mod-sequences, changes by another session
// (flags, an expunge, new mail), then SELECT (QRESYNC) and UID FETCH
// (CHANGEDSINCE VANISHED) bring the view to the mailbox's state, and
// STORE (UNCHANGEDSINCE) reports MODIFIED.
func TestClientQresync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	be, _ := newFixture(t)
	srv := testServer(be)
	dial := func() *imap.Client {
		cc, sc := net.Pipe()
		go srv.ServeConn(context.Background(), sc)
		t.Cleanup(func() { cc.Close() })
		c, err := imap.NewClient(ctx, cc, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := dial()
	if !c.Has("CONDSTORE") || !c.Has("QRESYNC") {
		t.Fatal("CONDSTORE and QRESYNC not offered")
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if on, err := c.Enable(ctx, "QRESYNC"); err != nil || !slices.Equal(on, []string{"QRESYNC"}) {
		t.Fatalf("ENABLE: %q %v", on, err)
	}
	d, err := c.SelectWith(ctx, "INBOX", nil)
	if err != nil || d.HighestModSeq == 0 || d.NoModSeq {
		t.Fatalf("SELECT: %+v %v", d, err)
	}
	msgs, err := c.Fetch(ctx, imap.SeqSet{{Start: 1, Stop: 0}}, "(UID FLAGS MODSEQ)", false)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	view := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		if m.ModSeq == 0 || m.ModSeq > d.HighestModSeq {
			t.Fatalf("MODSEQ %d, HIGHESTMODSEQ %d", m.ModSeq, d.HighestModSeq)
		}
		view[m.UID] = m.Flags
	}
	known := d.HighestModSeq
	validity := d.UIDValidity
	if err := c.Unselect(ctx); err != nil {
		t.Fatal(err)
	}

	// Another session: a keyword, an expunge, new mail.
	o := dial()
	if err := o.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Select(ctx, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	if err := o.Store(ctx, imap.SeqSet{{Start: 2, Stop: 2}}, imap.StoreAdd, []imap.Flag{"$Work", imap.FlagFlagged}, false); err != nil {
		t.Fatal(err)
	}
	if err := o.Store(ctx, imap.SeqSet{{Start: 1, Stop: 1}}, imap.StoreAdd, []imap.Flag{imap.FlagDeleted}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Expunge(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Append(ctx, "INBOX", strings.NewReader(msgPlain), int64(len(msgPlain)), nil); err != nil {
		t.Fatal(err)
	}

	d, err = c.SelectWith(ctx, "INBOX", &imap.SelectOptions{QResync: &imap.QResyncParams{UIDValidity: validity, ModSeq: known, KnownUIDs: imap.SeqSet{{Start: 1, Stop: 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Vanished, []imap.UID{1}) || d.HighestModSeq <= known {
		t.Fatalf("QRESYNC SELECT: vanished %v, HIGHESTMODSEQ %d after %d", d.Vanished, d.HighestModSeq, known)
	}
	for _, u := range d.Vanished {
		delete(view, u)
	}
	for _, m := range d.Changed {
		view[m.UID] = m.Flags
	}
	// New mail is outside the known UIDs: UID FETCH (CHANGEDSINCE).
	got, gone, err := c.FetchChangedSince(ctx, imap.SeqSet{{Start: 1, Stop: 0}}, "(FLAGS)", true, known, true)
	if err != nil || !slices.Equal(gone, []imap.UID{1}) {
		t.Fatalf("UID FETCH CHANGEDSINCE: %v %v %v", got, gone, err)
	}
	for _, m := range got {
		view[m.UID] = m.Flags
	}
	all, err := c.Fetch(ctx, imap.SeqSet{{Start: 1, Stop: 0}}, "(UID FLAGS)", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(view) {
		t.Fatalf("view %v, mailbox %v", view, all)
	}
	for _, m := range all {
		if !slices.Equal(view[m.UID], m.Flags) {
			t.Fatalf("UID %d: view %q, mailbox %q", m.UID, view[m.UID], m.Flags)
		}
	}

	st, err := c.Status(ctx, "INBOX")
	if err != nil || st.HighestModSeq != d.HighestModSeq {
		t.Fatalf("STATUS HIGHESTMODSEQ %d, want %d (%v)", st.HighestModSeq, d.HighestModSeq, err)
	}
	res, modified, err := c.StoreUnchangedSince(ctx, imap.SeqSet{{Start: 2, Stop: 4}}, imap.StoreAdd, []imap.Flag{imap.FlagSeen}, true, known)
	if err != nil || !slices.Equal(modified, []uint32{2, 4}) || len(res) != 1 || res[0].UID != 3 || res[0].ModSeq <= d.HighestModSeq {
		t.Fatalf("UID STORE UNCHANGEDSINCE: %+v modified %v %v", res, modified, err)
	}
}
