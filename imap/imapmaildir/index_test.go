package imapmaildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// TestNoRereads checks that commands on a selected mailbox are answered
// from the index: neither the Backend's own changes nor another process's
// flag changes, removals and deliveries with a UID make it list the folder
// again.
func TestNoRereads(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st, err := maildir.OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Store: func(context.Context, *imap.ConnInfo, string) (*maildir.Store, error) { return st, nil }}
	u, err := b.Open(ctx, &imap.ConnInfo{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		msg := fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)
		if _, err := u.Append(ctx, "INBOX", strings.NewReader(msg), int64(len(msg)), imap.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mb, err := u.Select(ctx, "INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close(ctx)
	idx := mb.(*handle).idx
	reads := func() int {
		idx.mu.Lock()
		defer idx.mu.Unlock()
		return idx.reads
	}
	before := reads()
	if err := mb.Store(ctx, []imap.UID{1, 2, 3}, imap.StoreAdd, []imap.Flag{imap.FlagSeen, imap.FlagDeleted, "Todo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(ctx, []imap.UID{2}); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: x\r\n\r\nx\r\n"
	if _, err := u.Append(ctx, "INBOX", strings.NewReader(msg), int64(len(msg)), imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Copy(ctx, []imap.UID{4, 5}, "Archive"); err != nil {
		t.Fatal(err)
	}
	// Another process: flags, removes and delivers.
	other, err := maildir.OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := other.Folder("INBOX")
	if _, err := md.SetFlags(ctx, []uint32{10}, maildir.FlagsAdd, maildir.FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	if err := md.Remove(ctx, []uint32{11}); err != nil {
		t.Fatal(err)
	}
	if _, err := md.Deliver(ctx, strings.NewReader(msg), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, _ := mb.Messages(ctx)
		if len(msgs) == 50 && msgs[len(msgs)-1].UID == 52 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index not updated: %d messages", len(msgs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	msgs, _ := mb.Messages(ctx)
	for _, m := range msgs {
		if m.UID == 10 && !has(m.Flags, imap.FlagFlagged) || m.UID == 3 && !has(m.Flags, "Todo") {
			t.Errorf("UID %d flags %v", m.UID, m.Flags)
		}
		if m.UID == 11 || m.UID == 2 {
			t.Errorf("UID %d still there", m.UID)
		}
	}
	if _, err := mb.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if n := reads() - before; n != 0 {
		t.Errorf("the folder was read %d times", n)
	}
}

func has(flags []imap.Flag, f imap.Flag) bool {
	for _, g := range flags {
		if strings.EqualFold(string(g), string(f)) {
			return true
		}
	}
	return false
}

// TestSelectUnchanged checks that SELECT of a folder nothing changed since
// the last session does not list it again, and that a delivery by another
// process in between is seen.
func TestSelectUnchanged(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st, err := maildir.OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Store: func(context.Context, *imap.ConnInfo, string) (*maildir.Store, error) { return st, nil }}
	u, err := b.Open(ctx, &imap.ConnInfo{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		msg := fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)
		if _, err := u.Append(ctx, "INBOX", strings.NewReader(msg), int64(len(msg)), imap.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The files are older than the grace of a signature.
	age := func() {
		old := time.Now().Add(-time.Hour)
		for _, name := range sigFiles {
			os.Chtimes(filepath.Join(root, name), old, old)
		}
	}
	age()
	sel := func() (*index, int) {
		mb, err := u.Select(ctx, "INBOX", false)
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close(ctx)
		msgs, _ := mb.Messages(ctx)
		idx := mb.(*handle).idx
		idx.mu.Lock()
		defer idx.mu.Unlock()
		return idx, len(msgs)
	}
	idx, n := sel()
	reads := idx.reads
	if _, n2 := sel(); n2 != n || idx.reads != reads {
		t.Fatalf("second SELECT: %d messages, %d reads of the folder; want %d, 0", n2, idx.reads-reads, n)
	}
	other, _ := maildir.OpenStore(root, nil)
	md, _ := other.Folder("INBOX")
	if _, err := md.Deliver(ctx, strings.NewReader("Subject: new\r\n\r\nx\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if _, n3 := sel(); n3 != n+1 {
		t.Fatalf("after a delivery by another process SELECT sees %d messages, want %d", n3, n+1)
	}
	// A flag change alone (a rename in cur/) is seen too.
	age()
	sel()
	if _, err := md.SetFlags(ctx, []uint32{1}, maildir.FlagsAdd, maildir.FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	mb, _ := u.Select(ctx, "INBOX", false)
	defer mb.Close(ctx)
	msgs, _ := mb.Messages(ctx)
	if !has(msgs[0].Flags, imap.FlagFlagged) {
		t.Fatalf("flag set by another process not seen: %v", msgs[0].Flags)
	}
}
