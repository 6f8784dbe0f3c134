// Command smtp-gosmtp-sink is a discard SMTP server built on
// github.com/emersion/go-smtp, the baseline of bench/smtp.sh. It prints
// "listening ADDR" once it accepts connections.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"

	"github.com/emersion/go-smtp"
)

type session struct{}

func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (session) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (session) Reset()        {}
func (session) Logout() error { return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return session{}, nil
	}))
	s.Domain = "sink.test"
	s.MaxMessageBytes = 32 << 20
	fmt.Fprintln(os.Stdout, "listening", l.Addr())
	log.Fatal(s.Serve(l))
}
