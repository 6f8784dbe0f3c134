package goimaptest

import (
	"context"
	"crypto/subtle"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/sasl"
)

// startHerald serves alice's Maildir under a temporary directory over
// imapmaildir on a free port of 127.0.0.1.
func startHerald(t *testing.T) (addr, root string) {
	root = t.TempDir()
	be := &imapmaildir.Backend{Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
		return maildir.OpenStore(filepath.Join(root, identity), nil)
	}}
	srv := &imap.Server{Backend: be, Auth: &sasl.Authenticator{
		Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
			if user == "alice" && subtle.ConstantTimeCompare([]byte(pass), []byte("secret")) == 1 {
				return "", nil
			}
			return "", sasl.ErrAuthFailed
		},
		AllowInsecure: true,
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return l.Addr().String(), root
}

func dial(t *testing.T, addr string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("alice", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// view is what a client knows of a mailbox: the flags of each UID.
type view map[goimap.UID][]goimap.Flag

// sortedFlags returns the flags of a message, sorted, without \Recent
// (which belongs to a session, not to the message).
func sortedFlags(fs []goimap.Flag) []goimap.Flag {
	out := slices.DeleteFunc(slices.Clone(fs), func(f goimap.Flag) bool { return strings.EqualFold(string(f), `\Recent`) })
	slices.Sort(out)
	return out
}

// mailboxState fetches every message's UID and flags.
func mailboxState(t *testing.T, c *imapclient.Client) view {
	t.Helper()
	msgs, err := c.Fetch(allSeqs(), &goimap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	v := view{}
	for _, m := range msgs {
		v[m.UID] = sortedFlags(m.Flags)
	}
	return v
}

func allSeqs() goimap.SeqSet {
	var s goimap.SeqSet
	s.AddRange(1, 0)
	return s
}

// TestGoIMAPCondstoreSync syncs a mailbox with go-imap's client and
// CONDSTORE: an initial sync over imapmaildir with mod-sequences, changes
// by another session (flags, a keyword, an expunge, new mail) that the
// first sees as unsolicited EXPUNGE and FETCH with MODSEQ (never
// VANISHED, which go-imap does not parse, as QRESYNC is not enabled),
// then a resync after reconnecting: SELECT (CONDSTORE), FETCH
// (CHANGEDSINCE) for the flags and UID SEARCH for the expunges, as RFC
// 7162 section 3.2.1 has a CONDSTORE-only client do; the client's view
// must equal the mailbox. STORE (UNCHANGEDSINCE), SEARCH MODSEQ and
// STATUS (HIGHESTMODSEQ) are checked on the way.
//
// go-imap v2.0.0-beta.8 has no QRESYNC: it neither sends SELECT (QRESYNC
// ...) nor parses VANISHED ("unsupported response type"), so the QRESYNC
// resync is tested with Herald's client and against Dovecot in package
// imap instead.
func TestGoIMAPCondstoreSync(t *testing.T) {
	addr, root := startHerald(t)
	st0, err := maildir.OpenStore(filepath.Join(root, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	md, err := st0.Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		msg := "Subject: m" + string(rune('0'+i)) + "\r\n\r\nbody\r\n"
		if _, err := md.Deliver(context.Background(), strings.NewReader(msg), nil); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	var expunged []uint32
	// go-imap runs the handler in a goroutine of its own: the FETCH
	// data arrive on a channel.
	unsolicited := make(chan *imapclient.FetchMessageBuffer, 16)
	c := dial(t, addr, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) {
			mu.Lock()
			expunged = append(expunged, seq)
			mu.Unlock()
		},
		Fetch: func(m *imapclient.FetchMessageData) {
			if buf, err := m.Collect(); err == nil {
				unsolicited <- buf
			}
		},
	}})
	if !c.Caps().Has(goimap.CapCondStore) {
		t.Fatal("CONDSTORE not offered")
	}
	sel, err := c.Select("INBOX", &goimap.SelectOptions{CondStore: true}).Wait()
	if err != nil || sel.HighestModSeq == 0 || sel.NumMessages != 5 {
		t.Fatalf("SELECT (CONDSTORE): %+v %v", sel, err)
	}
	known, validity := sel.HighestModSeq, sel.UIDValidity
	msgs, err := c.Fetch(allSeqs(), &goimap.FetchOptions{UID: true, Flags: true, ModSeq: true}).Collect()
	if err != nil || len(msgs) != 5 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	v := view{}
	for _, m := range msgs {
		if m.ModSeq == 0 || m.ModSeq > known {
			t.Fatalf("UID %d MODSEQ %d, HIGHESTMODSEQ %d", m.UID, m.ModSeq, known)
		}
		v[m.UID] = sortedFlags(m.Flags)
	}

	// Another session changes the mailbox.
	o := dial(t, addr, nil)
	if _, err := o.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := func(uid goimap.UID, op goimap.StoreFlagsOp, flags ...goimap.Flag) {
		t.Helper()
		if _, err := o.Store(goimap.UIDSetNum(uid), &goimap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Collect(); err != nil {
			t.Fatal(err)
		}
	}
	store(2, goimap.StoreFlagsAdd, goimap.FlagFlagged, "$Work")
	store(3, goimap.StoreFlagsAdd, goimap.FlagSeen)
	store(4, goimap.StoreFlagsAdd, goimap.FlagDeleted)
	if err := o.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: new\r\n\r\nnew mail\r\n"
	app := o.Append("INBOX", int64(len(msg)), nil)
	app.Write([]byte(msg))
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}

	// The first session is told, with EXPUNGE (QRESYNC is off).
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("NOOP after the other session's changes: %v", err)
	}
	// In any order: go-imap runs each handler in a goroutine.
	var got []goimap.UID
	for range 2 {
		select {
		case m := <-unsolicited:
			if m.ModSeq <= known {
				t.Fatalf("unsolicited FETCH: UID %d MODSEQ %d, not above %d", m.UID, m.ModSeq, known)
			}
			got = append(got, m.UID)
		case <-time.After(5 * time.Second):
			t.Fatalf("unsolicited FETCH: only UIDs %v", got)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []goimap.UID{2, 3}) {
		t.Fatalf("unsolicited FETCH for UIDs %v, want 2 and 3", got)
	}
	mu.Lock()
	if !slices.Equal(expunged, []uint32{4}) {
		t.Fatalf("unsolicited EXPUNGE %v, want 4", expunged)
	}
	mu.Unlock()
	c.Logout().Wait()

	// Resync after reconnecting.
	r := dial(t, addr, nil)
	sel, err = r.Select("INBOX", &goimap.SelectOptions{CondStore: true}).Wait()
	if err != nil || sel.UIDValidity != validity || sel.HighestModSeq <= known {
		t.Fatalf("SELECT again: %+v %v, HIGHESTMODSEQ was %d", sel, err, known)
	}
	changed, err := r.Fetch(allSeqs(), &goimap.FetchOptions{UID: true, Flags: true, ChangedSince: known}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var changedUIDs []goimap.UID
	for _, m := range changed {
		if m.ModSeq <= known {
			t.Fatalf("CHANGEDSINCE %d returned UID %d at MODSEQ %d", known, m.UID, m.ModSeq)
		}
		v[m.UID] = sortedFlags(m.Flags)
		changedUIDs = append(changedUIDs, m.UID)
	}
	slices.Sort(changedUIDs)
	if !slices.Equal(changedUIDs, []goimap.UID{2, 3, 6}) {
		t.Fatalf("CHANGEDSINCE: UIDs %v, want 2, 3 and the new 6", changedUIDs)
	}
	all, err := r.UIDSearch(&goimap.SearchCriteria{}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	exists := all.AllUIDs()
	for uid := range v {
		if !slices.Contains(exists, uid) {
			delete(v, uid)
		}
	}
	state := mailboxState(t, r)
	if len(state) != len(v) {
		t.Fatalf("view %v, mailbox %v", v, state)
	}
	for uid, fs := range state {
		if !slices.Equal(v[uid], fs) {
			t.Fatalf("UID %d: view %v, mailbox %v", uid, v[uid], fs)
		}
	}

	// STORE (UNCHANGEDSINCE) from the old state: UID 2 changed since, so
	// it keeps its flags; UID 1 did not and is stored.
	if _, err := r.Store(goimap.UIDSetNum(1, 2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagAnswered}}, &goimap.StoreOptions{UnchangedSince: known}).Collect(); err != nil {
		t.Fatal(err)
	}
	state = mailboxState(t, r)
	if !slices.Contains(state[1], goimap.FlagAnswered) || slices.Contains(state[2], goimap.FlagAnswered) {
		t.Fatalf("UNCHANGEDSINCE %d: UID 1 %v, UID 2 %v", known, state[1], state[2])
	}

	// SEARCH MODSEQ and STATUS (HIGHESTMODSEQ).
	found, err := r.UIDSearch(&goimap.SearchCriteria{ModSeq: &goimap.SearchCriteriaModSeq{ModSeq: known + 1}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := found.AllUIDs(); !slices.Equal(got, []goimap.UID{1, 2, 3, 6}) || found.ModSeq == 0 {
		t.Fatalf("SEARCH MODSEQ %d: %v (MODSEQ %d)", known+1, got, found.ModSeq)
	}
	st, err := r.Status("INBOX", &goimap.StatusOptions{HighestModSeq: true}).Wait()
	if err != nil || st.HighestModSeq != found.ModSeq {
		t.Fatalf("STATUS HIGHESTMODSEQ %d, the newest message's %d (%v)", st.HighestModSeq, found.ModSeq, err)
	}
}
