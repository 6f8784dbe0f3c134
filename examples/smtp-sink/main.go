// Command smtp-sink is a small SMTP (or LMTP) server that accepts every
// message and throws it away, printing one line per message. It is handy
// for testing mail clients and as the smallest complete use of package
// smtp.
//
//	go run ./examples/smtp-sink -addr 127.0.0.1:2525
//	go run ./examples/smtp-sink -addr 127.0.0.1:2525 -cert cert.pem -key key.pem
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// session discards the message and prints its envelope.
type session struct {
	info *smtp.ConnInfo
	from smtp.Path
	to   []smtp.Path
	out  io.Writer
}

func (s *session) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(ctx context.Context, r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "%s from %s: %s -> %v, %d bytes\n", s.info.RemoteAddr, s.info.HeloName, s.from, s.to, n)
	return nil
}

func (s *session) Reset(ctx context.Context) { s.from, s.to = smtp.Path{}, nil }
func (s *session) Close() error              { return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "listen address")
	hostname := flag.String("hostname", "localhost", "name in the greeting")
	lmtp := flag.Bool("lmtp", false, "speak LMTP instead of SMTP")
	cert := flag.String("cert", "", "PEM certificate file; enables STARTTLS with -key")
	key := flag.String("key", "", "PEM key file")
	flag.Parse()

	s := &smtp.Server{
		Hostname: *hostname,
		LMTP:     *lmtp,
		// A sink reports what the client sent: no trace field of its own.
		DisableReceived: true,
		Logger:          slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			return &session{info: c, out: os.Stdout}, nil
		}),
	}
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}}
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("smtp-sink listening on %s", l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(shutdown)
	}()
	if err := s.Serve(l); err != nil && err != smtp.ErrServerClosed {
		log.Fatal(err)
	}
}
