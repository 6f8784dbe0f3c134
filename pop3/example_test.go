package pop3_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3mem"
)

// Example serves an in-memory maildrop and reads it with the client, over
// net.Pipe so that it runs anywhere.
func Example() {
	be := pop3mem.New()
	be.AddUser("alice", "secret")
	be.Deliver("alice", []byte("Subject: hello\r\n\r\nHi Alice!\r\n"))
	be.Deliver("alice", []byte("Subject: again\r\n\r\n.A line with a dot\r\n"))

	// AllowInsecure only because the pipe stands for a trusted link; on
	// a network, set TLSConfig and let clients use STLS.
	auth := be.Authenticator()
	auth.AllowInsecure = true
	srv := &pop3.Server{Backend: be, Auth: auth}
	cconn, sconn := net.Pipe()
	go srv.ServeConn(context.Background(), sconn)

	ctx := context.Background()
	c, err := pop3.NewClient(ctx, cconn, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		log.Fatal(err)
	}
	st, _ := c.Stat(ctx)
	fmt.Printf("%d messages, %d octets\n", st.Count, st.Size)
	uids, _ := c.Uidl(ctx)
	for _, u := range uids {
		r, err := c.Retr(ctx, u.Number)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(r)
		fmt.Printf("%d %s %q\n", u.Number, u.UID, body)
		c.Dele(ctx, u.Number)
	}
	if err := c.Quit(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("left on the server:", be.Count("alice"))
	// Output:
	// 2 messages, 67 octets
	// 1 m1 "Subject: hello\r\n\r\nHi Alice!\r\n"
	// 2 m2 "Subject: again\r\n\r\n.A line with a dot\r\n"
	// left on the server: 0
}

// ExampleClient_Top reads only the header of a message.
func ExampleClient_Top() {
	be := pop3mem.New()
	be.AddUser("bob", "pw")
	be.Deliver("bob", []byte("From: a@example.org\nSubject: report\n\nline 1\nline 2\n"))
	auth := be.Authenticator()
	auth.AllowInsecure = true
	srv := &pop3.Server{Backend: be, Auth: auth}
	cconn, sconn := net.Pipe()
	go srv.ServeConn(context.Background(), sconn)

	ctx := context.Background()
	c, _ := pop3.NewClient(ctx, cconn, nil)
	c.Login(ctx, "bob", "pw")
	r, _ := c.Top(ctx, 1, 0)
	head, _ := io.ReadAll(r)
	fmt.Printf("%q\n", head)
	c.Quit(ctx)
	// Output:
	// "From: a@example.org\r\nSubject: report\r\n\r\n"
}

// ExampleError shows how a client tells a locked maildrop from refused
// credentials.
func ExampleError() {
	err := error(&pop3.Error{Code: pop3.CodeInUse, Message: "Maildrop already locked"})
	var perr *pop3.Error
	switch {
	case errors.As(err, &perr) && perr.Temporary():
		fmt.Println("try again later:", perr.Code)
	case errors.Is(err, pop3.ErrAuthFailed):
		fmt.Println("wrong password")
	}
	// Output:
	// try again later: IN-USE
}
