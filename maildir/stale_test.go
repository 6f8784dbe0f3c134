package maildir

import (
	"context"
	"strings"
	"testing"
)

// TestOtherMaildirsUID is what the imapmaildir stress test found: a
// Maildir that had read dovecot-uidlist did not know the UIDs another
// Maildir on the same folder gave since, so SetFlags and Remove of such a
// message did nothing and returned no error (a STORE answered OK and lost,
// an EXPUNGE that left the file).
func TestOtherMaildirsUID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Create(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(ctx, strings.NewReader("Subject: 1\r\n\r\n1\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := b.Deliver(ctx, strings.NewReader("Subject: 2\r\n\r\n2\r\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if msg.UID == 0 {
		t.Fatal("no UID from Deliver")
	}
	got, err := a.SetFlags(ctx, []uint32{msg.UID}, FlagsAdd, FlagFlagged, nil)
	if err != nil || len(got) != 1 || !got[0].Flags.Has(FlagFlagged) {
		t.Fatalf("SetFlags through the other Maildir: %+v, %v", got, err)
	}
	snap, err := b.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := snap.Messages[len(snap.Messages)-1]; m.UID != msg.UID || !m.Flags.Has(FlagFlagged) {
		t.Fatalf("on disk: %+v", m)
	}
	if err := a.Remove(ctx, []uint32{msg.UID}); err != nil {
		t.Fatal(err)
	}
	if snap, _ := b.Sync(ctx, nil); len(snap.Messages) != 1 {
		t.Fatalf("after Remove: %+v", snap.Messages)
	}
}
