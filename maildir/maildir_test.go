package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func newTestMaildir(t *testing.T, opts *Options) *Maildir {
	t.Helper()
	m, err := Create(filepath.Join(t.TempDir(), "Maildir"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func deliver(t *testing.T, m *Maildir, body string, opts *DeliverOptions) Message {
	t.Helper()
	msg, err := m.Deliver(context.Background(), strings.NewReader(body), opts)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func syncT(t *testing.T, m *Maildir, opts *SyncOptions) *Snapshot {
	t.Helper()
	s, err := m.Sync(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, &Options{Hostname: "mx/1:a"})
	body := "Subject: hi\r\n\r\nline\nbare lf\r\n"
	msg := deliver(t, m, body, nil)
	if msg.UID != 1 || msg.Size != int64(len(body)) || !msg.New || msg.Flags != "" {
		t.Fatalf("Deliver = %+v", msg)
	}
	n, err := ParseName(msg.Name)
	if err != nil || n.Size != int64(len(body)) || n.VSize != int64(len(body))+1 {
		t.Fatalf("name %q: %+v %v", msg.Name, n, err)
	}
	if !strings.Contains(msg.Name, `.mx\0571\072a,S=`) {
		t.Errorf("host not escaped in %q", msg.Name)
	}
	if got := dirNames(t, filepath.Join(m.Dir(), "new")); len(got) != 1 || got[0] != msg.Name {
		t.Errorf("new/ = %q", got)
	}
	if got := dirNames(t, filepath.Join(m.Dir(), "tmp")); len(got) != 0 {
		t.Errorf("tmp/ = %q, want empty", got)
	}
	f, err := m.OpenMessage(context.Background(), msg.UID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != body {
		t.Errorf("content = %q", got)
	}
	h, err := m.Header(context.Background(), msg.UID, nil)
	if err != nil || h.Get("Subject") != "hi" {
		t.Errorf("Header = %v, %v", h, err)
	}
	ul, _ := os.ReadFile(filepath.Join(m.Dir(), uidListName))
	if !strings.HasSuffix(string(ul), "\n1 :"+msg.Key+"\n") {
		t.Errorf("dovecot-uidlist = %q", ul)
	}
}

func TestDeliverWithFlagsAndKeywords(t *testing.T) {
	t.Parallel()
	mtime := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	m := newTestMaildir(t, nil)
	msg := deliver(t, m, "x\n", &DeliverOptions{Flags: "SFz", Keywords: []string{"$Junk", "Work"}, Time: mtime})
	if msg.New || msg.Flags != "FS" || strings.Join(msg.Keywords, " ") != "$Junk Work" {
		t.Fatalf("Deliver = %+v", msg)
	}
	if !strings.HasSuffix(msg.Name, ":2,FSab") {
		t.Errorf("name %q", msg.Name)
	}
	fi, err := os.Stat(filepath.Join(m.Dir(), "cur", msg.Name))
	if err != nil || !fi.ModTime().Equal(mtime) {
		t.Errorf("stat: %v %v", fi.ModTime(), err)
	}
	kw, _ := os.ReadFile(filepath.Join(m.Dir(), keywordsName))
	if string(kw) != "0 $Junk\n1 Work\n" {
		t.Errorf("dovecot-keywords = %q", kw)
	}
}

func TestDeliverLimitsAndCancel(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, &Options{MaxMessageBytes: 10})
	if _, err := m.Deliver(context.Background(), strings.NewReader("12345678901"), nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: err = %v", err)
	}
	if _, err := m.Deliver(context.Background(), strings.NewReader("1234567890"), nil); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelReader{cancel: cancel}
	if _, err := m.Deliver(ctx, r, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := m.Deliver(context.Background(), &failReader{}, nil); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error: err = %v", err)
	}
	if got := dirNames(t, filepath.Join(m.Dir(), "tmp")); len(got) != 0 {
		t.Errorf("tmp/ = %q, want empty", got)
	}
	if got := dirNames(t, filepath.Join(m.Dir(), "new")); len(got) != 1 {
		t.Errorf("new/ = %q, want the one message", got)
	}
	if _, err := m.Deliver(context.Background(), strings.NewReader("x"), &DeliverOptions{Keywords: []string{"bad keyword"}}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad keyword: err = %v", err)
	}
}

type cancelReader struct{ cancel func() }

func (r *cancelReader) Read(p []byte) (int, error) { r.cancel(); return copy(p, "abc"), nil }

type failReader struct{ n int }

func (r *failReader) Read(p []byte) (int, error) {
	if r.n++; r.n > 1 {
		return 0, errors.New("disk on fire")
	}
	return copy(p, "abc"), nil
}

func TestOpenMissing(t *testing.T) {
	t.Parallel()
	_, err := Open(filepath.Join(t.TempDir(), "nope"), nil)
	if !errors.Is(err, ErrNoFolder) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestSyncAssignsInArrivalOrder(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	// Files dropped in by another agent, without a uidlist.
	for _, n := range []string{"300.M1P1.h", "100.M5P1.h", "100.M20P1.h:2,S"} {
		sub := "new"
		if strings.Contains(n, ":") {
			sub = "cur"
		}
		if err := os.WriteFile(filepath.Join(m.Dir(), sub, n), []byte("hello"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := syncT(t, m, nil)
	if s.UIDValidity == 0 || s.UIDNext != 4 || len(s.Messages) != 3 {
		t.Fatalf("snapshot = %+v", s)
	}
	for i, want := range []string{"100.M5P1.h", "100.M20P1.h", "300.M1P1.h"} {
		if s.Messages[i].Key != want || s.Messages[i].UID != uint32(i+1) || s.Messages[i].Size != 5 {
			t.Errorf("message %d = %+v, want %s", i, s.Messages[i], want)
		}
	}
	// Claiming moves new/ to cur/, keeps UIDs and reports Recent once.
	c := syncT(t, m, &SyncOptions{ClaimNew: true})
	if len(c.Messages) != 3 || !c.Messages[0].Recent || c.Messages[1].Recent || c.Messages[0].UID != 1 {
		t.Fatalf("claimed = %+v", c.Messages)
	}
	if got := dirNames(t, filepath.Join(m.Dir(), "new")); len(got) != 0 {
		t.Errorf("new/ = %q", got)
	}
	again := syncT(t, m, &SyncOptions{ClaimNew: true})
	for _, msg := range again.Messages {
		if msg.Recent || msg.New {
			t.Errorf("second claim: %+v", msg)
		}
	}
	if again.UIDValidity != s.UIDValidity {
		t.Errorf("UIDVALIDITY changed")
	}
}

func TestFlagsKeepUID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newTestMaildir(t, nil)
	a := deliver(t, m, "a\n", nil)
	b := deliver(t, m, "b\n", nil)
	old := syncT(t, m, nil)
	got, err := m.SetFlags(ctx, []uint32{a.UID, b.UID, 99}, FlagsAdd, "SR", []string{"Work"})
	if err != nil || len(got) != 2 || got[0].Flags != "RS" || got[0].Keywords[0] != "Work" {
		t.Fatalf("SetFlags = %+v, %v", got, err)
	}
	// An unknown letter set by someone else is kept.
	p := filepath.Join(m.Dir(), "cur", got[1].Name)
	if err := os.Rename(p, p+"Z"); err != nil {
		t.Fatal(err)
	}
	got, err = m.SetFlags(ctx, []uint32{b.UID}, FlagsReplace, "F", nil)
	if err != nil || len(got) != 1 || got[0].Flags != "FZ" || got[0].Keywords != nil {
		t.Fatalf("replace = %+v, %v", got, err)
	}
	got, err = m.SetFlags(ctx, []uint32{a.UID}, FlagsRemove, "S", []string{"work"})
	if err != nil || got[0].Flags != "R" || got[0].Keywords != nil {
		t.Fatalf("remove = %+v, %v", got, err)
	}
	s := syncT(t, m, nil)
	if len(s.Messages) != 2 || s.Messages[0].UID != a.UID || s.Messages[1].UID != b.UID || s.Messages[0].Name != a.Key+":2,R" {
		t.Fatalf("after flags = %+v", s.Messages)
	}
	ch := s.Diff(old)
	if len(ch.Changed) != 2 || len(ch.Added) != 0 || len(ch.Expunged) != 0 || ch.Reset {
		t.Errorf("Diff = %+v", ch)
	}
	// Renamed behind our back: still opens.
	p = filepath.Join(m.Dir(), "cur", s.Messages[0].Name)
	if err := os.Rename(p, filepath.Join(m.Dir(), "cur", a.Key+":2,RT")); err != nil {
		t.Fatal(err)
	}
	f, err := m.OpenMessage(ctx, a.UID)
	if err != nil {
		t.Fatalf("open after foreign rename: %v", err)
	}
	f.Close()
}

func TestRemoveAndGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newTestMaildir(t, nil)
	a := deliver(t, m, "a\n", nil)
	b := deliver(t, m, "b\n", nil)
	old := syncT(t, m, nil)
	if err := m.Remove(ctx, []uint32{a.UID, a.UID, 1234}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.OpenMessage(ctx, a.UID); !errors.Is(err, ErrGone) {
		t.Errorf("open removed: %v", err)
	}
	// Expunged by another client.
	if err := os.Remove(filepath.Join(m.Dir(), "new", b.Name)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.OpenMessage(ctx, b.UID); !errors.Is(err, ErrGone) {
		t.Errorf("open expunged: %v", err)
	}
	c := deliver(t, m, "c\n", nil)
	if c.UID != 3 {
		t.Errorf("UID after removals = %d, want 3 (never reused)", c.UID)
	}
	s := syncT(t, m, nil)
	ch := s.Diff(old)
	if len(ch.Expunged) != 2 || ch.Expunged[0] != 1 || len(ch.Added) != 1 || ch.Added[0].UID != 3 {
		t.Errorf("Diff = %+v", ch)
	}
	ul, _ := os.ReadFile(filepath.Join(m.Dir(), uidListName))
	if strings.Contains(string(ul), a.Key) || !strings.Contains(string(ul), "N4") {
		t.Errorf("uidlist not compacted: %q", ul)
	}
}

func TestCopyMove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateFolder("Archive"); err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Folder("inbox")
	arch, err := st.Folder("Archive")
	if err != nil {
		t.Fatal(err)
	}
	a := deliver(t, inbox, "a\n", &DeliverOptions{Flags: "S", Keywords: []string{"Work"}})
	b := deliver(t, inbox, "b\n", nil)
	uids, err := inbox.Copy(ctx, []uint32{a.UID, 77}, arch)
	if err != nil || uids[0] != 1 || uids[1] != 0 {
		t.Fatalf("Copy = %v, %v", uids, err)
	}
	uids, err = inbox.Move(ctx, []uint32{b.UID}, arch)
	if err != nil || uids[0] != 2 {
		t.Fatalf("Move = %v, %v", uids, err)
	}
	s := syncT(t, arch, nil)
	if len(s.Messages) != 2 || s.Messages[0].Flags != "S" || s.Messages[0].Keywords[0] != "Work" || s.Messages[0].Size != 2 {
		t.Fatalf("archive = %+v", s.Messages)
	}
	if in := syncT(t, inbox, nil); len(in.Messages) != 1 || in.Messages[0].UID != a.UID {
		t.Fatalf("inbox = %+v", in.Messages)
	}
}

func TestCorruptUIDListRebuilt(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, &Options{Now: func() time.Time { return time.Unix(5000, 0) }})
	deliver(t, m, "a\n", nil)
	first := syncT(t, m, nil)
	if err := os.WriteFile(filepath.Join(m.Dir(), uidListName), []byte(fmt.Sprintf("3 V%d N1\n2 :x\n1 :y\n", first.UIDValidity)), 0o600); err != nil {
		t.Fatal(err)
	}
	m2, _ := Open(m.Dir(), &Options{Now: func() time.Time { return time.Unix(5000, 0) }})
	s := syncT(t, m2, nil)
	if s.UIDValidity == first.UIDValidity || len(s.Messages) != 1 || s.Messages[0].UID != 1 {
		t.Fatalf("rebuilt = %+v (was V%d)", s, first.UIDValidity)
	}
}

func TestStaleLock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	m := newTestMaildir(t, &Options{LockTimeout: 50 * time.Millisecond, Now: func() time.Time { return now }})
	lock := filepath.Join(m.Dir(), uidListName+".lock")
	if err := os.WriteFile(lock, []byte("1:crashed"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A fresh lock held by someone else: time out, and the message is
	// still delivered (its UID comes later).
	msg, err := m.Deliver(context.Background(), strings.NewReader("a\n"), nil)
	if err != nil || msg.UID != 0 {
		t.Fatalf("Deliver under a held lock = %+v, %v", msg, err)
	}
	if _, err := m.Sync(context.Background(), nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Sync under a held lock: %v", err)
	}
	// Three minutes later the lock is stale and removed.
	now = now.Add(3 * time.Minute)
	s := syncT(t, m, nil)
	if len(s.Messages) != 1 || s.Messages[0].UID != 1 {
		t.Fatalf("after stale lock: %+v", s.Messages)
	}
	if _, err := os.Stat(lock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock left behind: %v", err)
	}
}

func TestCrashLeftovers(t *testing.T) {
	t.Parallel()
	now := time.Now()
	m := newTestMaildir(t, &Options{Now: func() time.Time { return now }})
	old := filepath.Join(m.Dir(), "tmp", "1.M1P1Q1.h")
	fresh := filepath.Join(m.Dir(), "tmp", "2.M1P1Q1.h")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("half a mess"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Chtimes(old, now.Add(-37*time.Hour), now.Add(-37*time.Hour))
	os.Chtimes(fresh, now.Add(-35*time.Hour), now.Add(-35*time.Hour))
	if s := syncT(t, m, nil); len(s.Messages) != 0 {
		t.Fatalf("tmp file taken for a message: %+v", s.Messages)
	}
	n, err := m.CleanTmp()
	if err != nil || n != 1 {
		t.Fatalf("CleanTmp = %d, %v", n, err)
	}
	if got := dirNames(t, filepath.Join(m.Dir(), "tmp")); len(got) != 1 || got[0] != "2.M1P1Q1.h" {
		t.Errorf("tmp/ = %q", got)
	}

	// The same through a Store, in a subfolder.
	st, err := OpenStore(filepath.Join(t.TempDir(), "tree"), &Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateFolder("Sent"); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(st.Root(), ".Sent", "tmp", "3.M1P1Q1.h")
	os.WriteFile(stale, []byte("x"), 0o600)
	os.Chtimes(stale, now.Add(-40*time.Hour), now.Add(-40*time.Hour))
	if n, err := st.CleanTmp(); err != nil || n != 1 {
		t.Errorf("Store.CleanTmp = %d, %v", n, err)
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	st, err := OpenStore(root, &Options{Quota: Quota{Bytes: 100, Messages: 3}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Folder(Inbox)
	deliver(t, inbox, strings.Repeat("x", 60), nil)
	if _, err := inbox.Deliver(ctx, strings.NewReader(strings.Repeat("y", 50)), nil); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("over quota: %v", err)
	}
	if got := dirNames(t, filepath.Join(root, "tmp")); len(got) != 0 {
		t.Errorf("tmp/ = %q", got)
	}
	b := deliver(t, inbox, strings.Repeat("z", 40), nil)
	ms, _ := os.ReadFile(filepath.Join(root, maildirsizeName))
	if string(ms) != "100S,3C\n0 0\n60 1\n40 1\n" {
		t.Errorf("maildirsize = %q", ms)
	}
	if err := inbox.Remove(ctx, []uint32{b.UID}); err != nil {
		t.Fatal(err)
	}
	deliver(t, inbox, strings.Repeat("w", 30), nil)
	deliver(t, inbox, "v", nil)
	if _, err := inbox.Deliver(ctx, strings.NewReader("u"), nil); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("over message count: %v", err)
	}
	// A store opened without a quota honours the one in maildirsize.
	st2, _ := OpenStore(root, nil)
	in2, _ := st2.Folder(Inbox)
	if _, err := in2.Deliver(ctx, strings.NewReader("u"), nil); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("quota from maildirsize: %v", err)
	}
	// A maildirsize grown beyond 5120 bytes is recalculated from the
	// folders, whatever its lines claim.
	root3 := t.TempDir()
	st3, _ := OpenStore(root3, &Options{Quota: Quota{Bytes: 1000}})
	in3, _ := st3.Folder(Inbox)
	deliver(t, in3, "0123456789", nil)
	bloated := "1000S\n" + strings.Repeat("5 0\n", 2000)
	if err := os.WriteFile(filepath.Join(root3, maildirsizeName), []byte(bloated), 0o600); err != nil {
		t.Fatal(err)
	}
	deliver(t, in3, "abc", nil)
	ms, _ = os.ReadFile(filepath.Join(root3, maildirsizeName))
	if string(ms) != "1000S\n10 1\n3 1\n" {
		t.Errorf("recalculated maildirsize = %q", ms)
	}
}

func TestFolders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	st, err := OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Archive", "Archive.2024", "Archive.2024.Q1", "Entwürfe", "Lists.Go"} {
		if err := st.CreateFolder(n); err != nil {
			t.Fatalf("create %q: %v", n, err)
		}
	}
	if err := st.CreateFolder("Archive"); !errors.Is(err, ErrFolderExists) {
		t.Errorf("create twice: %v", err)
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a/b", "INBOX.x", "a\x01", "\xff", "~x", "a.~b"} {
		if err := st.CreateFolder(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("create %q: %v", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, ".Entw&APw-rfe", "maildirfolder")); err != nil {
		t.Errorf("modified UTF-7 directory: %v", err)
	}
	if _, err := st.Folder("Nope"); !errors.Is(err, ErrNoFolder) {
		t.Errorf("missing folder: %v", err)
	}
	f, _ := st.Folder("Archive.2024")
	msg := deliver(t, f, "a\n", nil)
	before := syncT(t, f, nil)
	if err := st.RenameFolder("Archive", "Old.Archive"); err != nil {
		t.Fatal(err)
	}
	list, err := st.Folders()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fi := range list {
		got = append(got, fmt.Sprintf("%s/%v/%v", fi.Name, fi.NoSelect, fi.HasChildren))
	}
	want := "INBOX/false/false Entwürfe/false/false Lists/true/true Lists.Go/false/false Old/true/true Old.Archive/false/true Old.Archive.2024/false/true Old.Archive.2024.Q1/false/false"
	if strings.Join(got, " ") != want {
		t.Errorf("Folders = %s\nwant      %s", strings.Join(got, " "), want)
	}
	moved, err := st.Folder("Old.Archive.2024")
	if err != nil {
		t.Fatal(err)
	}
	after := syncT(t, moved, nil)
	if after.UIDValidity != before.UIDValidity || after.Messages[0].UID != msg.UID {
		t.Errorf("rename lost UIDs: %+v vs %+v", after, before)
	}
	if err := st.RenameFolder("Nope", "X"); !errors.Is(err, ErrNoFolder) {
		t.Errorf("rename missing: %v", err)
	}
	if err := st.RenameFolder("Lists.Go", "Entwürfe"); !errors.Is(err, ErrFolderExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if err := st.DeleteFolder("Old.Archive"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFolder("Old.Archive"); !errors.Is(err, ErrNoFolder) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := st.Folder("Old.Archive.2024.Q1"); err != nil {
		t.Errorf("child lost with its parent: %v", err)
	}
	if err := st.DeleteFolder("inbox"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("delete INBOX: %v", err)
	}
	for _, n := range []string{"Entwürfe", "Lists.Go", "INBOX", "Lists.Go"} {
		if err := st.Subscribe(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Unsubscribe(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	subs, err := st.Subscriptions()
	if err != nil || strings.Join(subs, ",") != "Entwürfe,Lists.Go" {
		t.Errorf("Subscriptions = %q, %v", subs, err)
	}
	data, _ := os.ReadFile(filepath.Join(root, subscriptionsName))
	if string(data) != "V\t2\n\nEntw&APw-rfe\nLists\tGo\n" {
		t.Errorf("subscriptions file = %q", data)
	}
}

// TestSubscriptionsRead checks that reading the subscriptions file costs
// what the file holds, not the bound on its size, and that a file that
// cannot be read is an error rather than no subscriptions, which the next
// SUBSCRIBE would write back over the real ones.
func TestSubscriptionsRead(t *testing.T) {
	root := t.TempDir()
	st, err := OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Subscribe(ctx, "Lists.Go"); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const reads = 10
	for range reads {
		if subs, err := st.Subscriptions(); err != nil || len(subs) != 1 {
			t.Fatalf("Subscriptions = %q, %v", subs, err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / reads; per > 64<<10 {
		t.Errorf("a read of a 20-byte subscriptions file allocated %d bytes", per)
	}

	p := filepath.Join(root, subscriptionsName)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if subs, err := st.Subscriptions(); err == nil {
		t.Errorf("a subscriptions file that cannot be read: %q, no error", subs)
	}
}

func TestUIDListTooLarge(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	deliver(t, m, "a\n", nil)
	small, _ := Open(m.Dir(), &Options{MaxUIDListBytes: 10})
	if _, err := small.Sync(context.Background(), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Sync = %v, want ErrMalformed", err)
	}
	// The list was left alone: the UID is still there.
	if s := syncT(t, m, nil); len(s.Messages) != 1 || s.Messages[0].UID != 1 {
		t.Fatalf("after refusal: %+v", s.Messages)
	}
}
