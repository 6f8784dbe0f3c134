// Command smtpclient sends messages to an SMTP server with Herald's smtp
// client or with github.com/emersion/go-smtp's, for the comparison in
// bench/smtpclient.sh: -n messages of -size bytes over -conns persistent
// connections, one recipient each, as "smtp-source -d" sends them. It
// prints "sent N messages in SECONDS s".
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/heraldmail/herald/smtp"
)

func main() {
	impl := flag.String("impl", "herald", "client: herald or gosmtp")
	addr := flag.String("addr", "127.0.0.1:25", "server address")
	n := flag.Int("n", 20000, "messages in total")
	conns := flag.Int("conns", 20, "parallel connections")
	size := flag.Int("size", 4096, "message size in bytes")
	flag.Parse()

	msg := Message(*size)
	var send func(worker, count int) error
	switch *impl {
	case "herald":
		send = func(worker, count int) error { return sendHerald(*addr, msg, count) }
	case "gosmtp":
		send = func(worker, count int) error { return sendGoSMTP(*addr, msg, count) }
	default:
		log.Fatalf("unknown -impl %q", *impl)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *conns)
	for w := range *conns {
		count := *n / *conns
		if w < *n%*conns {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := send(w, count); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		log.Fatal(err)
	}
	fmt.Printf("sent %d messages in %.3f s\n", *n, time.Since(start).Seconds())
}

// Message returns a message of exactly size bytes: a short header and
// 72-character lines.
func Message(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: bench@example.org\r\nTo: sink@example.net\r\nSubject: bench\r\n\r\n")
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	for b.Len()+len(line) <= size-2 {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("x", max(size-2-b.Len(), 0)))
	b.WriteString("\r\n")
	return b.Bytes()
}

func sendHerald(addr string, msg []byte, count int) error {
	ctx := context.Background()
	c, err := smtp.Dial(ctx, addr, &smtp.ClientOptions{LocalName: "bench.example.org", TLSPolicy: smtp.TLSNone})
	if err != nil {
		return err
	}
	defer c.Close()
	env := &smtp.Envelope{
		From: smtp.Path{Local: "bench", Domain: "example.org"},
		To:   []smtp.Recipient{{Path: smtp.Path{Local: "sink", Domain: "example.net"}}},
	}
	r := bytes.NewReader(msg)
	for range count {
		r.Reset(msg)
		if _, err := c.Send(ctx, env, r); err != nil {
			return err
		}
	}
	return c.Quit(ctx)
}

func sendGoSMTP(addr string, msg []byte, count int) error {
	c, err := gosmtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("bench.example.org"); err != nil {
		return err
	}
	for range count {
		if err := c.Mail("bench@example.org", nil); err != nil {
			return err
		}
		if err := c.Rcpt("sink@example.net", nil); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return c.Quit()
}
