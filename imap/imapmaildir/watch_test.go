package imapmaildir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// TestStaleRenameEvent is what the stress test found: two STOREs on one
// message in a row rename its file twice, and the index takes each new
// name at once; the watcher then applied the inotify event of the first
// rename after the second STORE, giving the message back its old flags
// (a STORE response showed a flag just removed) and, at the removal
// event of that old name, dropping the message from the index as if
// expunged, though its file was there under the newer name.
func TestStaleRenameEvent(t *testing.T) {
	ctx := context.Background()
	st, err := maildir.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Store: func(context.Context, *imap.ConnInfo, string) (*maildir.Store, error) { return st, nil }, NoInotify: true, PollInterval: 1 << 40}
	u, err := b.Open(ctx, &imap.ConnInfo{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	msg := "Subject: x\r\n\r\nx\r\n"
	if _, err := u.Append(ctx, "INBOX", strings.NewReader(msg), int64(len(msg)), imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	mb, err := u.Select(ctx, "INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close(ctx)
	x := mb.(*handle).idx
	name := func() string {
		x.mu.Lock()
		defer x.mu.Unlock()
		if len(x.msgs) == 0 {
			return ""
		}
		return x.msgs[0].name
	}
	n0 := name()
	if err := mb.Store(ctx, []imap.UID{1}, imap.StoreAdd, []imap.Flag{imap.FlagFlagged}); err != nil {
		t.Fatal(err)
	}
	n1 := name()
	if err := mb.Store(ctx, []imap.UID{1}, imap.StoreRemove, []imap.Flag{imap.FlagFlagged}); err != nil {
		t.Fatal(err)
	}
	n2 := name()
	if n0 == n1 || n1 == n2 {
		t.Fatalf("names %q %q %q", n0, n1, n2)
	}
	// The events of the first rename, late.
	x.apply([]event{{sub: "cur", name: n1, add: true}, {sub: "cur", name: n0}}, false)
	msgs, _ := mb.Messages(ctx)
	if len(msgs) != 1 || has(msgs[0].Flags, imap.FlagFlagged) || name() != n2 {
		t.Fatalf("after the late add event: %+v, name %q, want %q without \\Flagged", msgs, name(), n2)
	}
	// And of the second one: the removal of the name of the first.
	x.apply([]event{{sub: "cur", name: n2, add: true}, {sub: "cur", name: n1}}, false)
	msgs, _ = mb.Messages(ctx)
	if len(msgs) != 1 || has(msgs[0].Flags, imap.FlagFlagged) || name() != n2 {
		t.Fatalf("after the late events: %+v, name %q, want %q", msgs, name(), n2)
	}
}

// TestSplitRenameEvents: the events of one rename made by another
// process can come in two batches, when the watcher reads them later than
// its settle time; the batch with only the removal of the old name
// dropped the message as if expunged (the stress test saw an EXPUNGE of a
// message no one expunged, then the message again).
func TestSplitRenameEvents(t *testing.T) {
	ctx := context.Background()
	st, err := maildir.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Store: func(context.Context, *imap.ConnInfo, string) (*maildir.Store, error) { return st, nil }, NoInotify: true, PollInterval: 1 << 40}
	u, err := b.Open(ctx, &imap.ConnInfo{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	msg := "Subject: x\r\n\r\nx\r\n"
	if _, err := u.Append(ctx, "INBOX", strings.NewReader(msg), int64(len(msg)), imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	mb, err := u.Select(ctx, "INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close(ctx)
	x := mb.(*handle).idx
	dir := x.md.Dir()
	x.mu.Lock()
	old, oldPath, oldSub := x.msgs[0].name, x.msgs[0].path(dir), filepath.Base(filepath.Dir(x.msgs[0].path(dir)))
	x.mu.Unlock()
	base, _, _ := strings.Cut(old, ":")
	renamed := base + ":2,F"
	if err := os.Rename(oldPath, filepath.Join(dir, "cur", renamed)); err != nil {
		t.Fatal(err)
	}
	x.apply([]event{{sub: oldSub, name: old}}, false)
	msgs, _ := mb.Messages(ctx)
	if len(msgs) != 1 || !has(msgs[0].Flags, imap.FlagFlagged) {
		t.Fatalf("after the removal event alone: %+v, want the message with \\Flagged", msgs)
	}
	x.apply([]event{{sub: "cur", name: renamed, add: true}}, false)
	if msgs, _ := mb.Messages(ctx); len(msgs) != 1 || !has(msgs[0].Flags, imap.FlagFlagged) {
		t.Fatalf("after the add event: %+v", msgs)
	}
	// A message really gone is dropped.
	if err := os.Remove(filepath.Join(dir, "cur", renamed)); err != nil {
		t.Fatal(err)
	}
	x.apply([]event{{sub: "cur", name: renamed}}, false)
	if msgs, _ := mb.Messages(ctx); len(msgs) != 0 {
		t.Fatalf("after the removal: %+v", msgs)
	}
}
