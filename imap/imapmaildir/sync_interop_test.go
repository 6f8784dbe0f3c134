package imapmaildir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/maildir"
)

// writeLocal drops a message into a client's local Maildir, as a mail
// reader would.
func writeLocal(t testing.TB, dir, subject, info string) {
	t.Helper()
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o700)
	}
	name := fmt.Sprintf("%d.local%d.host", time.Now().Unix(), time.Now().UnixNano())
	sub := "new"
	if info != "" {
		name += ":2," + info
		sub = "cur"
	}
	body := "From: alice@example.org\r\nSubject: " + subject + "\r\n\r\nWritten locally.\r\n"
	if err := os.WriteFile(filepath.Join(dir, sub, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// localFind returns the path of the local message with the subject.
func localFind(t testing.TB, dir, subject string) string {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			p := filepath.Join(dir, sub, e.Name())
			data, _ := os.ReadFile(p)
			if strings.Contains(string(data), "Subject: "+subject+"\r\n") || strings.Contains(string(data), "Subject: "+subject+"\n") {
				return p
			}
		}
	}
	t.Fatalf("no local message %q in %s", subject, dir)
	return ""
}

// setLocalFlags renames a local message file to the flags given.
func setLocalFlags(t testing.TB, path, flags string) {
	t.Helper()
	base := filepath.Base(path)
	if i := strings.Index(base, ":2,"); i >= 0 {
		base = base[:i]
	}
	to := filepath.Join(filepath.Dir(filepath.Dir(path)), "cur", base+":2,"+flags)
	if err := os.Rename(path, to); err != nil {
		t.Fatal(err)
	}
}

// serverFlag sets flags on the server's copy of a message as another
// process would (maildir directly).
func (f *fixture) serverFlag(t testing.TB, folder, subject string, flags maildir.Flags) {
	t.Helper()
	md, _ := f.store(t, "alice").Folder(folder)
	snap, err := md.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range snap.Messages {
		h, _ := md.Header(context.Background(), m.UID, nil)
		if h.Get("Subject") == subject {
			if _, err := md.SetFlags(context.Background(), []uint32{m.UID}, maildir.FlagsReplace, flags, nil); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no server message %q in %s", subject, folder)
}

// TestMbsync syncs a folder tree both ways with mbsync (isync): new mail,
// flag changes and deletions on both sides, a folder made on each side.
func TestMbsync(t *testing.T) {
	mbsync := peertest.LookPath(t, "mbsync")
	f := newFixture(t, nil)
	f.deliver(t, "alice", "INBOX", "in one", "")
	f.deliver(t, "alice", "INBOX", "in two", maildir.FlagSeen)
	st := f.store(t, "alice")
	if err := st.CreateFolder("Work.Projects"); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, "alice", "Work.Projects", "project", "")
	port := f.listen(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	os.Mkdir(local, 0o700)
	conf := filepath.Join(dir, "mbsyncrc")
	os.WriteFile(conf, []byte(`IMAPAccount herald
Host 127.0.0.1
Port `+strconv.Itoa(port)+`
User alice
Pass secret
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account herald

MaildirStore local
Path `+local+`/
Inbox `+local+`/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
`), 0o600)
	sync := func() { run(t, time.Minute, mbsync, "-c", conf, "-a") }
	sync()
	sameState(t, "local INBOX", localState(t, filepath.Join(local, "INBOX")), "in one|", "in two|S")
	sameState(t, "local Work/Projects", localState(t, filepath.Join(local, "Work", "Projects")), "project|")
	if _, err := os.Stat(filepath.Join(local, "Sent", "cur")); err != nil {
		t.Errorf("special folders not synced: %v", err)
	}

	// Both sides change.
	f.serverFlag(t, "INBOX", "in one", maildir.FlagFlagged)
	f.deliver(t, "alice", "INBOX", "in three", "")
	f.serverFlag(t, "Work.Projects", "project", maildir.FlagTrashed)
	setLocalFlags(t, localFind(t, filepath.Join(local, "INBOX"), "in two"), "RS")
	writeLocal(t, filepath.Join(local, "Work", "Projects"), "local project", "S")
	writeLocal(t, filepath.Join(local, "Notes"), "a note", "")
	sync()
	sync() // a second run settles what the first learnt (expunges, new UIDs)

	want := []string{"in one|F", "in two|RS", "in three|"}
	sameState(t, "server INBOX", f.serverState(t, "alice", "INBOX"), want...)
	sameState(t, "local INBOX", localState(t, filepath.Join(local, "INBOX")), want...)
	sameState(t, "server Work.Projects", f.serverState(t, "alice", "Work.Projects"), "local project|S")
	sameState(t, "local Work/Projects", localState(t, filepath.Join(local, "Work", "Projects")), "local project|S")
	sameState(t, "server Notes", f.serverState(t, "alice", "Notes"), "a note|")

	// A local deletion reaches the server.
	setLocalFlags(t, localFind(t, filepath.Join(local, "INBOX"), "in three"), "T")
	sync()
	sameState(t, "server INBOX after delete", f.serverState(t, "alice", "INBOX"), "in one|F", "in two|RS")
}

// TestOfflineimap syncs with offlineimap3 both ways.
func TestOfflineimap(t *testing.T) {
	offlineimap := peertest.LookPath(t, "offlineimap")
	f := newFixture(t, nil)
	f.deliver(t, "alice", "INBOX", "for offlineimap", "")
	f.deliver(t, "alice", "INBOX", "second", maildir.FlagSeen)
	port := f.listen(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	conf := filepath.Join(dir, "offlineimaprc")
	os.WriteFile(conf, []byte(`[general]
accounts = herald
metadata = `+filepath.Join(dir, "meta")+`
ui = quiet

[Account herald]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = `+local+`

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = `+strconv.Itoa(port)+`
remoteuser = alice
remotepass = secret
ssl = no
starttls = no
`), 0o600)
	sync := func() { run(t, 2*time.Minute, offlineimap, "-c", conf, "-o", "-u", "quiet") }
	sync()
	sameState(t, "local INBOX", localState(t, filepath.Join(local, "INBOX")), "for offlineimap|", "second|S")
	setLocalFlags(t, localFind(t, filepath.Join(local, "INBOX"), "for offlineimap"), "FS")
	writeLocal(t, filepath.Join(local, "INBOX"), "written offline", "S")
	f.serverFlag(t, "INBOX", "second", maildir.FlagSeen.Union(maildir.FlagReplied))
	sync()
	want := []string{"for offlineimap|FS", "second|RS", "written offline|S"}
	sameState(t, "server INBOX", f.serverState(t, "alice", "INBOX"), want...)
	sameState(t, "local INBOX", localState(t, filepath.Join(local, "INBOX")), want...)
}
