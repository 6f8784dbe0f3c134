package imapmaildir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/imapstress"
	"github.com/heraldmail/herald/maildir"
)

// TestStress is issue 20's acceptance in short: 10 clients at once on one
// INBOX for some seconds, logging in and out, appending, fetching,
// setting flags, expunging and idling (internal/imapstress checks every
// response each one gets against the numbering it was told and its own
// messages), then the Maildir as package maildir reads it holds exactly
// the messages the clients left, with the flags they gave them.
func TestStress(t *testing.T) {
	dur := 6 * time.Second
	if testing.Short() {
		dur = 2 * time.Second
	}
	f := newFixture(t, nil)
	inbox, err := f.store(t, "alice").Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	// Messages of no client, which stay.
	const others = 30
	for i := range others {
		msg := fmt.Sprintf("Subject: other %d\r\n\r\nNot a client's message.\r\n", i)
		if _, err := inbox.Deliver(context.Background(), strings.NewReader(msg), nil); err != nil {
			t.Fatal(err)
		}
	}
	port := f.listen(t)
	o := imapstress.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), User: "alice", Password: "secret", Clients: 10, Duration: dur, Seed: uint64(time.Now().UnixNano())}
	t.Logf("seed %d", o.Seed)
	res := imapstress.Run(context.Background(), o)
	for _, err := range res.Errors {
		t.Error(err)
	}
	t.Logf("%d commands in %v: %v", res.Total(), dur, res.Ops)
	for _, op := range []string{"LOGIN", "SELECT", "APPEND", "UID STORE", "UID FETCH", "FETCH", "UID EXPUNGE", "IDLE", "NOOP", "LOGOUT"} {
		if res.Ops[op] == 0 {
			t.Errorf("no %s completed", op)
		}
	}
	if err := imapstress.Verify(context.Background(), o, res.Want); err != nil {
		t.Fatalf("over IMAP: %v", err)
	}

	// The Maildir itself, read by another process's Maildir.
	md, err := f.store(t, "alice").Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := md.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	n := 0
	for _, m := range snap.Messages {
		sub := "cur"
		if m.New {
			sub = "new"
		}
		data, err := os.ReadFile(filepath.Join(md.Dir(), sub, m.Name))
		if err != nil {
			t.Fatal(err)
		}
		id := imapstress.StressID(data)
		if id == "" {
			n++
			continue
		}
		w, ok := res.Want[id]
		if !ok {
			t.Errorf("%s (%s) is in the Maildir, expunged or never appended", id, m.Name)
			continue
		}
		if seen[id] {
			t.Errorf("%s is in the Maildir twice", id)
		}
		seen[id] = true
		if m.UID != w.UID {
			t.Errorf("%s (%s) has UID %d, want %d", id, m.Name, m.UID, w.UID)
		}
		if got := imapFlagsOf(m); !slices.Equal(got, w.Flags) {
			t.Errorf("%s (%s) has flags %v, want %v", id, m.Name, got, w.Flags)
		}
		if string(data) != string(w.Body) {
			t.Errorf("%s: the file differs from what was appended", id)
		}
	}
	for id := range res.Want {
		if !seen[id] {
			t.Errorf("%s is not in the Maildir", id)
		}
	}
	if n != others {
		t.Errorf("%d messages of no client left, want %d", n, others)
	}
}

// imapFlagsOf returns the IMAP flags of a message as package maildir
// reads them, sorted.
func imapFlagsOf(m maildir.Message) []string {
	var out []string
	for _, l := range m.Flags {
		switch maildir.Flags(l) {
		case maildir.FlagDraft:
			out = append(out, `\Draft`)
		case maildir.FlagFlagged:
			out = append(out, `\Flagged`)
		case maildir.FlagReplied:
			out = append(out, `\Answered`)
		case maildir.FlagSeen:
			out = append(out, `\Seen`)
		case maildir.FlagTrashed:
			out = append(out, `\Deleted`)
		default:
			out = append(out, "letter "+string(l))
		}
	}
	out = append(out, m.Keywords...)
	slices.Sort(out)
	return out
}
