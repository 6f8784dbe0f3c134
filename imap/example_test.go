package imap_test

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmem"
	"github.com/heraldmail/herald/sasl"
)

// Example serves an in-memory mailbox and fetches a message from it over a
// pipe, as a client would over TCP.
func Example() {
	be := imapmem.New()
	user := be.AddUser("alice")
	user.Deliver("INBOX", []byte("From: bob@example.org\r\nSubject: Lunch?\r\n\r\nAt noon?\r\n"),
		nil, time.Date(2024, 3, 14, 12, 0, 0, 0, time.UTC))

	srv := &imap.Server{
		Backend: be,
		Auth: &sasl.Authenticator{
			Password: func(ctx context.Context, authzid, name, pass string) (string, error) {
				if name == "alice" && subtle.ConstantTimeCompare([]byte(pass), []byte("secret")) == 1 {
					return "", nil
				}
				return "", sasl.ErrAuthFailed
			},
			AllowInsecure: true, // a pipe; use TLS on a network
		},
	}
	client, server := net.Pipe()
	go srv.ServeConn(context.Background(), server)
	defer client.Close()

	r := bufio.NewReader(client)
	r.ReadString('\n') // greeting
	go io.WriteString(client, "a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])\r\nd LOGOUT\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		if strings.HasPrefix(line, "a OK") || strings.HasPrefix(line, "* OK [") {
			continue // capabilities and status codes vary with the build
		}
		fmt.Print(strings.ReplaceAll(line, "\r\n", "\n"))
		if strings.HasPrefix(line, "d ") {
			break
		}
	}
	// Output:
	// * 1 EXISTS
	// * 1 RECENT
	// * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
	// b OK [READ-WRITE] SELECT completed
	// * 1 FETCH (FLAGS (\Seen \Recent) BODY[HEADER.FIELDS (SUBJECT)] {19}
	// Subject: Lunch?
	//
	// )
	// c OK FETCH completed
	// * BYE Logging out
	// d OK LOGOUT completed
}

// ExampleServer_Shutdown stops a server gracefully: idle clients get
// "* BYE".
func ExampleServer_Shutdown() {
	be := imapmem.New()
	be.AddUser("alice")
	srv := &imap.Server{Backend: be}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	r.ReadString('\n') // greeting

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	line, _ := r.ReadString('\n')
	fmt.Println(strings.TrimSpace(line))
	fmt.Println(<-done)
	// Output:
	// * BYE Server shutting down
	// imap: server closed
}
