package maildir_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldmail/herald/maildir"
)

// A mail server delivers a message: when Deliver returns nil the message is
// on disk, and the server may answer 250 to DATA.
func ExampleMaildir_Deliver() {
	dir, _ := os.MkdirTemp("", "maildir-example")
	defer os.RemoveAll(dir)

	store, err := maildir.OpenStore(filepath.Join(dir, "alice"), nil)
	if err != nil {
		log.Fatal(err)
	}
	inbox, err := store.Folder(maildir.Inbox)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := inbox.Deliver(context.Background(), strings.NewReader("Subject: hello\r\n\r\nHi Alice!\r\n"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("UID", msg.UID, "size", msg.Size, "in new/:", msg.New)
	// Output: UID 1 size 29 in new/: true
}

// An IMAP server selects a folder, reads a message, sets flags and a
// keyword, and learns what changed since it last looked.
func ExampleMaildir_Sync() {
	dir, _ := os.MkdirTemp("", "maildir-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	m, err := maildir.Create(filepath.Join(dir, "Maildir"), nil)
	if err != nil {
		log.Fatal(err)
	}
	m.Deliver(ctx, strings.NewReader("Subject: one\r\n\r\n1\r\n"), nil)
	m.Deliver(ctx, strings.NewReader("Subject: two\r\n\r\n2\r\n"), nil)

	before, err := m.Sync(ctx, &maildir.SyncOptions{ClaimNew: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, msg := range before.Messages {
		h, _ := m.Header(ctx, msg.UID, nil)
		fmt.Printf("%d %q recent=%v\n", msg.UID, h.Get("Subject"), msg.Recent)
	}

	f, _ := m.OpenMessage(ctx, 2)
	body, _ := io.ReadAll(f)
	f.Close()
	fmt.Printf("%d bytes\n", len(body))

	m.SetFlags(ctx, []uint32{2}, maildir.FlagsAdd, maildir.FlagSeen, []string{"$Important"})
	m.Remove(ctx, []uint32{1})
	m.Deliver(ctx, strings.NewReader("Subject: three\r\n\r\n3\r\n"), nil)

	after, _ := m.Sync(ctx, nil)
	c := after.Diff(before)
	fmt.Println("expunged", c.Expunged)
	for _, msg := range c.Changed {
		fmt.Println("changed", msg.UID, msg.Flags, msg.Keywords)
	}
	for _, msg := range c.Added {
		fmt.Println("added", msg.UID)
	}
	fmt.Println("UIDNEXT", after.UIDNext)
	// Output:
	// 1 "one" recent=true
	// 2 "two" recent=true
	// 19 bytes
	// expunged [1]
	// changed 2 S [$Important]
	// added 3
	// UIDNEXT 4
}

// Folders of a Maildir++ tree, with a name outside US-ASCII stored in
// modified UTF-7 as Dovecot does.
func ExampleStore_Folders() {
	dir, _ := os.MkdirTemp("", "maildir-example")
	defer os.RemoveAll(dir)

	store, _ := maildir.OpenStore(dir, nil)
	store.CreateFolder("Archive.2024")
	store.CreateFolder("Entwürfe")
	store.RenameFolder("Archive.2024", "Archive.Old")

	folders, _ := store.Folders()
	for _, f := range folders {
		fmt.Printf("%s noselect=%v children=%v\n", f.Name, f.NoSelect, f.HasChildren)
	}
	_, err := os.Stat(filepath.Join(dir, ".Entw&APw-rfe"))
	fmt.Println("on disk:", err == nil)
	// Output:
	// INBOX noselect=false children=false
	// Archive noselect=true children=true
	// Archive.Old noselect=false children=false
	// Entwürfe noselect=false children=false
	// on disk: true
}
