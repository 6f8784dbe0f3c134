package smtp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// cliSilent returns the client end of a pipe whose server sends prefix
// and then reads everything without ever answering.
func cliSilent(t *testing.T, prefix string) net.Conn {
	cli, srv := net.Pipe()
	go func() {
		defer srv.Close()
		go srv.Write([]byte(prefix))
		io.Copy(io.Discard, srv)
	}()
	t.Cleanup(func() { cli.Close() })
	return cli
}

const cliEHLOReply = "220 mx.example ESMTP\r\n250-mx.example\r\n250 PIPELINING\r\n"

// TestClientTimeouts checks the RFC 5321 section 4.5.3.2 timeouts and
// their interplay with the context, on a fake clock.
func TestClientTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prefix  string // what the server says before falling silent
		opts    smtp.ClientOptions
		ctx     time.Duration // context timeout, 0 for none
		cancel  time.Duration // cancel after, 0 for never
		run     func(context.Context, *smtp.Client) error
		command string
		elapsed time.Duration
		want    error
	}{
		{name: "greeting", run: cliHello, command: "greeting", elapsed: smtp.DefaultGreetingTimeout, want: os.ErrDeadlineExceeded},
		{name: "greeting option", opts: smtp.ClientOptions{GreetingTimeout: time.Minute}, run: cliHello, command: "greeting", elapsed: time.Minute, want: os.ErrDeadlineExceeded},
		{name: "EHLO", prefix: "220 mx.example\r\n", run: cliHello, command: "EHLO", elapsed: smtp.DefaultClientCommandTimeout, want: os.ErrDeadlineExceeded},
		{name: "context deadline first", ctx: 10 * time.Second, run: cliHello, command: "greeting", elapsed: 10 * time.Second, want: context.DeadlineExceeded},
		{name: "cancelled", cancel: 3 * time.Second, run: cliHello, command: "greeting", elapsed: 3 * time.Second, want: context.Canceled},
		{name: "MAIL", prefix: cliEHLOReply, run: cliSendOne, command: "MAIL", elapsed: smtp.DefaultMailTimeout, want: os.ErrDeadlineExceeded},
		{name: "RCPT", prefix: cliEHLOReply + "250 ok\r\n", run: cliSendOne, command: "RCPT", elapsed: smtp.DefaultRcptTimeout, want: os.ErrDeadlineExceeded},
		{name: "DATA", prefix: cliEHLOReply + "250 ok\r\n250 ok\r\n", run: cliSendOne, command: "DATA", elapsed: smtp.DefaultDataInitTimeout, want: os.ErrDeadlineExceeded},
		{name: "end of data", prefix: cliEHLOReply + "250 ok\r\n250 ok\r\n354 go\r\n", run: cliSendOne, command: "DATA", elapsed: smtp.DefaultDataTermTimeout, want: os.ErrDeadlineExceeded},
		{name: "end of data cancelled", prefix: cliEHLOReply + "250 ok\r\n250 ok\r\n354 go\r\n", cancel: time.Minute, run: cliSendOne, command: "DATA", elapsed: time.Minute, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.ctx > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.ctx)
					defer cancel()
				}
				if tt.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
					time.AfterFunc(tt.cancel, cancel)
				}
				c := smtp.NewClient(cliSilent(t, tt.prefix), &tt.opts)
				start := time.Now()
				err := tt.run(ctx, c)
				if got := time.Since(start); got != tt.elapsed {
					t.Errorf("failed after %v, want %v", got, tt.elapsed)
				}
				ce := asCommandError(t, err)
				if ce.Command != tt.command || !errors.Is(err, tt.want) || !ce.Temporary() {
					t.Errorf("got %v, want %s: %v", err, tt.command, tt.want)
				}
				// The client is broken for good.
				if err2 := c.Noop(context.Background()); err2 != err {
					t.Errorf("after failure: %v", err2)
				}
			})
		})
	}
}

func cliHello(ctx context.Context, c *smtp.Client) error { return c.Hello(ctx) }

func cliSendOne(ctx context.Context, c *smtp.Client) error {
	_, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
	return err
}

// TestClientBodyReadError checks that a body that fails half-way never
// becomes a truncated message.
func TestClientBodyReadError(t *testing.T) {
	t.Parallel()
	for _, chunking := range []bool{true, false} {
		t.Run(map[bool]string{true: "BDAT", false: "DATA"}[chunking], func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) {
				if !chunking {
					s.Disable = smtp.ExtChunking
				}
			})
			c, _ := cliDial(t, s, &smtp.ClientOptions{ChunkSize: 1000})
			boom := errors.New("disk on fire")
			body := io.MultiReader(strings.NewReader(strings.Repeat("line\r\n", 100000)), cliErrReader{boom})
			_, err := c.Send(context.Background(), cliEnv("a@example.org", "b@example.net"), body)
			if !errors.Is(err, boom) {
				t.Fatalf("got %v", err)
			}
			if n := len(be.messages()); n != 0 {
				t.Fatalf("%d messages stored", n)
			}
			if chunking {
				// RSET abandoned the chunks; the session goes on.
				if _, err := c.Send(context.Background(), cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

type cliErrReader struct{ err error }

func (r cliErrReader) Read([]byte) (int, error) { return 0, r.err }
