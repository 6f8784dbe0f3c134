package pop3maildir_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3maildir"
	"github.com/heraldmail/herald/sasl"
)

// Example serves alice's Maildir over POP3 and reads it with the pop3
// client over an in-memory connection.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pop3maildir-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// A fixed clock makes the UIDVALIDITY, and so the unique-ids, the
	// same on every run.
	opts := &maildir.Options{Now: func() time.Time { return time.Unix(1700000000, 0) }}
	store, err := maildir.OpenStore(filepath.Join(dir, "alice"), opts)
	if err != nil {
		panic(err)
	}
	inbox, _ := store.Folder(maildir.Inbox)
	inbox.Deliver(ctx, strings.NewReader("Subject: hello\n\nHi Alice.\n"), nil)
	inbox.Deliver(ctx, strings.NewReader("Subject: again\r\n\r\nStill here.\r\n"), nil)

	be := &pop3maildir.Backend{
		Store: func(ctx context.Context, identity string) (*maildir.Store, error) {
			return store, nil
		},
	}
	auth := &sasl.Authenticator{
		Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
			if user != "alice" || pass != "secret" || authzid != "" && authzid != user {
				return "", pop3.ErrAuthFailed
			}
			return user, nil
		},
		AllowInsecure: true, // a pipe in one process: nothing to eavesdrop
	}
	srv := &pop3.Server{Backend: be, Auth: auth}
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		srv.ServeConn(ctx, sc)
		close(done)
	}()

	c, err := pop3.NewClient(ctx, cc, nil)
	if err != nil {
		panic(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		panic(err)
	}
	list, _ := c.List(ctx)
	uidl, _ := c.Uidl(ctx)
	for i := range list {
		fmt.Println(list[i].Number, list[i].Size, uidl[i].UID)
	}
	r, _ := c.Retr(ctx, 1)
	body, _ := io.ReadAll(r)
	fmt.Print(strings.ReplaceAll(string(body), "\r\n", "\n"))
	c.Dele(ctx, 1)
	c.Quit(ctx)
	<-done

	s, _ := inbox.Sync(ctx, nil)
	fmt.Println(len(s.Messages), "message left")
	// Output:
	// 1 29 000000016553f100
	// 2 31 000000026553f100
	// Subject: hello
	//
	// Hi Alice.
	// 1 message left
}
