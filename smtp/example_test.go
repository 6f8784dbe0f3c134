package smtp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// printSession prints what the backend is told and refuses one recipient.
type printSession struct{}

func (printSession) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	fmt.Println("backend: MAIL", from, "size", opts.Size)
	return nil
}

func (printSession) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	if to.Local == "nobody" {
		return &smtp.Error{Code: smtp.CodeMailboxUnavailable, Enhanced: smtp.EnhancedBadDestMailbox, Message: "No such user"}
	}
	fmt.Println("backend: RCPT", to)
	return nil
}

func (printSession) Data(ctx context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	// The server put its Received: field first; it ends at the first
	// line break not followed by a tab.
	end := 0
	for {
		i := strings.Index(string(b[end:]), "\r\n")
		end += i + 2
		if i < 0 || end >= len(b) || b[end] != '\t' {
			break
		}
	}
	first, _, _ := strings.Cut(string(b), "\r\n")
	fmt.Printf("backend: trace %q...\n", first)
	fmt.Printf("backend: DATA %q\n", b[end:])
	return nil
}

func (printSession) Reset(ctx context.Context) {}
func (printSession) Close() error              { return nil }

// A server on one side of net.Pipe, a scripted client on the other.
func ExampleServer() {
	s := &smtp.Server{
		Hostname: "mx.example.org",
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			return printSession{}, nil
		}),
	}
	cli, srv := net.Pipe()
	go s.ServeConn(context.Background(), srv)
	defer cli.Close()

	br := bufio.NewReader(cli)
	say := func(lines ...string) {
		go io.WriteString(cli, strings.Join(lines, "\r\n")+"\r\n")
	}
	expect := func(n int) {
		for range n {
			r, err := smtp.ReadReply(br)
			if err != nil {
				fmt.Println(err)
				return
			}
			line := r.Code.String()
			if r.Enhanced.IsSet() {
				line += " " + r.Enhanced.String()
			}
			fmt.Println("client:", line, r.Lines[0])
		}
	}
	expect(1)
	say("EHLO client.example.net")
	expect(1)
	say("MAIL FROM:<alice@example.net> SIZE=20", "RCPT TO:<nobody@example.org>", "RCPT TO:<bob@example.org>", "DATA")
	expect(4)
	say("Subject: hi", "", "..dot", ".", "QUIT")
	expect(2)
	// Output:
	// client: 220 mx.example.org ESMTP Service ready
	// client: 250 mx.example.org Hello client.example.net
	// backend: MAIL <alice@example.net> size 20
	// backend: RCPT <bob@example.org>
	// client: 250 2.1.0 Sender OK
	// client: 550 5.1.1 No such user
	// client: 250 2.1.5 Recipient OK
	// client: 354 Start mail input; end with <CRLF>.<CRLF>
	// backend: trace "Received: from client.example.net ([unknown])"...
	// backend: DATA "Subject: hi\r\n\r\n.dot\r\n"
	// client: 250 2.0.0 Message accepted for delivery
	// client: 221 2.0.0 mx.example.org Service closing transmission channel
}

func ExampleParseMail() {
	from, opts, err := smtp.ParseMail("FROM:<bounce+x=y@example.org> SIZE=1024 BODY=8BITMIME RET=HDRS ENVID=q+2B1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(from.Local, from.Domain, opts.Size, opts.Body, opts.Return, opts.EnvelopeID)

	_, _, err = smtp.ParseMail("FROM:<user@exa mple.org>")
	var e *smtp.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Enhanced, e.Message)
	}
	// Output:
	// bounce+x=y example.org 1024 8BITMIME HDRS q+1
	// 501 5.1.7 Bad domain
}

func ExampleReceived() {
	info := &smtp.ConnInfo{HeloName: "client.example.net", ESMTP: true}
	// The field ends lines with CRLF; print it with LF.
	fmt.Print(strings.ReplaceAll(smtp.Received(info, smtp.ReceivedOptions{
		By:   "mx.example.org",
		ID:   "q1",
		Time: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC),
	}), "\r\n", "\n"))
	// Output:
	// Received: from client.example.net ([unknown])
	// 	by mx.example.org with ESMTP id q1; Mon, 2 Jan 2006 15:04:05 +0000
}

func ExampleReadReply() {
	r, err := smtp.ReadReply(bufio.NewReader(strings.NewReader("550-5.1.1 No such user\r\n550 5.1.1 Try another\r\n")))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Code, r.Enhanced, r.Lines)
	var e *smtp.Error
	if errors.As(r.Err(), &e) {
		fmt.Println("temporary:", e.Temporary())
	}
	// Output:
	// 550 5.1.1 [No such user Try another]
	// temporary: false
}
