// Command smtp-herald-sink is a discard SMTP server built on Herald's smtp
// package, for the comparison in bench/smtp.sh. It prints "listening ADDR"
// once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/heraldmail/herald/serving"
	"github.com/heraldmail/herald/smtp"
)

type session struct{}

func (session) Mail(context.Context, smtp.Path, *smtp.MailOptions) error { return nil }
func (session) Rcpt(context.Context, smtp.Path, *smtp.RcptOptions) error { return nil }
func (session) Data(_ context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (session) Reset(context.Context) {}
func (session) Close() error          { return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here until SIGTERM")
	received := flag.Bool("received", true, "prepend the Received: field (false for comparisons with servers that write none)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		go func() {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM)
			<-sig
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(0)
		}()
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := &smtp.Server{
		Backend: smtp.BackendFunc(func(context.Context, *smtp.ConnInfo) (smtp.Session, error) {
			return session{}, nil
		}),
		Hostname:        "sink.test",
		DisableReceived: !*received,
		Lifecycle:       serving.Lifecycle{MaxConnections: -1},
	}
	fmt.Fprintln(os.Stdout, "listening", l.Addr())
	log.Fatal(s.Serve(l))
}
