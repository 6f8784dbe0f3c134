package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/heraldmail/herald/smtp"
)

func TestSessionPrintsEnvelope(t *testing.T) {
	var out bytes.Buffer
	s := &smtp.Server{Hostname: "sink", DisableReceived: true, Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
		return &session{info: c, out: &out}, nil
	})}
	cli, srv := net.Pipe()
	done := make(chan struct{})
	go func() { s.ServeConn(context.Background(), srv); close(done) }()
	go io.WriteString(cli, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n")
	br := bufio.NewReader(cli)
	for range 4 {
		if _, err := smtp.ReadReply(br); err != nil {
			t.Fatal(err)
		}
	}
	go io.WriteString(cli, "hello\r\n.\r\nQUIT\r\n")
	for range 2 {
		if _, err := smtp.ReadReply(br); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if !strings.Contains(out.String(), "from c.test: <a@b.test> -> [<c@d.test>], 7 bytes") {
		t.Fatalf("printed %q", out.String())
	}
}
