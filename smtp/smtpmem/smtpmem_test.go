package smtpmem_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
	"github.com/heraldmail/herald/smtp/smtpmem"
)

// dialog runs lines against a server over net.Pipe and returns the first
// line of each reply.
func dialog(t testing.TB, s *smtp.Server, replies int, lines ...string) []string {
	cli, srv := net.Pipe()
	go s.ServeConn(context.Background(), srv)
	defer cli.Close()
	go io.WriteString(cli, strings.Join(lines, "\r\n")+"\r\n")
	br := bufio.NewReader(cli)
	var got []string
	for range replies {
		r, err := smtp.ReadReply(br)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		line := r.Code.String()
		if r.Enhanced.IsSet() {
			line += " " + r.Enhanced.String()
		}
		got = append(got, line)
	}
	return got
}

func TestRelayAndAuth(t *testing.T) {
	t.Parallel()
	be := &smtpmem.Backend{Domains: []string{"example.org"}, Users: map[string]string{"u": "p"}}
	s := &smtp.Server{Backend: be, Auth: &sasl.Authenticator{AllowInsecure: true}}
	got := dialog(t, s, 9,
		"EHLO c.test",
		"MAIL FROM:<a@example.net>",
		"RCPT TO:<x@elsewhere.example>",
		"RCPT TO:<b@EXAMPLE.org>",
		"DATA", "hi", ".",
		"AUTH PLAIN AHUAeA==", // u / x: wrong
		"AUTH PLAIN AHUAcA==", // u / p
		"QUIT")
	want := []string{"220", "250", "250 2.1.0", "550 5.7.1", "250 2.1.5", "354", "250 2.0.0", "535 5.7.8", "235 2.7.0"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	m := be.Messages()
	if len(m) != 1 || !strings.HasPrefix(string(m[0].Data), "Received: from c.test") || !strings.HasSuffix(string(m[0].Data), "\r\nhi\r\n") {
		t.Fatalf("stored %+v", m)
	}
	// After AUTH, relaying is allowed.
	got = dialog(t, s, 5, "EHLO c.test", "AUTH PLAIN AHUAcA==", "MAIL FROM:<u@example.org>", "RCPT TO:<x@elsewhere.example>", "QUIT")
	if got[4] != "250 2.1.5" {
		t.Fatalf("authenticated relay: %q", got)
	}
}

func TestFull(t *testing.T) {
	t.Parallel()
	be := &smtpmem.Backend{MaxMessages: 1}
	s := &smtp.Server{Backend: be}
	got := dialog(t, s, 10, "EHLO c", "MAIL FROM:<>", "RCPT TO:<a@b.c>", "DATA", "x", ".", "MAIL FROM:<>", "RCPT TO:<a@b.c>", "DATA", "y", ".")
	if got[9] != "452 4.3.1" {
		t.Fatalf("got %q", got)
	}
	if n := len(be.Messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func ExampleBackend() {
	be := &smtpmem.Backend{
		Domains: []string{"example.org"},
	}
	s := &smtp.Server{Hostname: "mx.example.org", Backend: be}
	replies := dialog(&testing.T{}, s, 6,
		"EHLO client.example.net",
		"MAIL FROM:<alice@example.net>",
		"RCPT TO:<bob@example.org>",
		"DATA", "Subject: hello", "", "Hi Bob.", ".",
		"QUIT")
	fmt.Println(replies)
	m := be.Messages()[0]
	// The server's Received: field comes first; its id and date change
	// with each run.
	lines := strings.Split(string(m.Data), "\r\n")
	fmt.Println(lines[0])
	fmt.Println(strings.Fields(lines[1])[:4], "id", m.Conn.TransactionID != "")
	fmt.Println(lines[2][:len("\tfor <bob@example.org>;")])
	fmt.Print(strings.Join(lines[3:], "\n"))
	// Output:
	// [220 250 250 2.1.0 250 2.1.5 354 250 2.0.0]
	// Received: from client.example.net ([unknown])
	// [by mx.example.org with ESMTP] id true
	// 	for <bob@example.org>;
	// Subject: hello
	//
	// Hi Bob.
}
