package smtp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

func TestParseCapabilities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  smtp.Capabilities
	}{
		{
			name:  "typical",
			lines: []string{"mx.example.net Hello client", "PIPELINING", "SIZE 35882577", "8BITMIME", "AUTH LOGIN PLAIN XOAUTH2", "ENHANCEDSTATUSCODES", "CHUNKING", "SMTPUTF8"},
			want: smtp.Capabilities{Domain: "mx.example.net", Pipelining: true, Size: true, MaxSize: 35882577, EightBitMIME: true,
				Auth: []string{"LOGIN", "PLAIN", "XOAUTH2"}, EnhancedStatusCodes: true, Chunking: true, SMTPUTF8: true},
		},
		{
			name:  "lower case, old AUTH=, duplicates",
			lines: []string{"mx", "auth=login", "auth plain login", "dsn", "binarymime", "starttls", "requiretls"},
			want:  smtp.Capabilities{Domain: "mx", Auth: []string{"LOGIN", "PLAIN"}, DSN: true, BinaryMIME: true, StartTLS: true, RequireTLS: true},
		},
		{
			name:  "SIZE without or with a bad limit",
			lines: []string{"mx", "SIZE", "SIZE x"},
			want:  smtp.Capabilities{Domain: "mx", Size: true},
		},
		{
			name:  "LIMITS",
			lines: []string{"mx", "LIMITS RCPTMAX=50 MAILMAX=1000 RCPTDOMAINMAX=5", "LIMITS RCPTMAX=-1"},
			want:  smtp.Capabilities{Domain: "mx", RcptMax: 50, MailMax: 1000},
		},
		{
			name:  "junk is skipped",
			lines: []string{"", "", "-X", "BAD_KEYWORD", "AUTH PL\x00AIN TOOLONGMECHANISMNAMEFORSASL9 OK"},
			want:  smtp.Capabilities{Auth: []string{"OK"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := smtp.ParseCapabilities(&smtp.Reply{Code: 250, Lines: tt.lines})
			got.Keywords = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	c := smtp.ParseCapabilities(&smtp.Reply{Code: 250, Lines: []string{"mx", "X-CUSTOM a b", "PIPELINING"}})
	if !c.Has("x-custom") || c.Keywords["X-CUSTOM"] != "a b" || c.Has("CHUNKING") {
		t.Errorf("keywords %+v", c.Keywords)
	}
	if c := smtp.ParseCapabilities(nil); c.Keywords != nil || c.Domain != "" {
		t.Errorf("nil reply: %+v", c)
	}
}

func TestClientErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err       *smtp.CommandError
		text      string
		temporary bool
	}{
		{&smtp.CommandError{Command: "RCPT", Err: &smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "No such user"}}, "smtp: RCPT: 550 5.1.1 No such user", false},
		{&smtp.CommandError{Command: "MAIL", Err: &smtp.Error{Code: 451, Message: "later"}}, "smtp: MAIL: 451 later", true},
		{&smtp.CommandError{Command: "MAIL", Err: &smtp.ExtensionError{Extension: "SMTPUTF8"}}, "smtp: MAIL: server lacks SMTPUTF8", false},
		{&smtp.CommandError{Command: "greeting", Err: io.ErrUnexpectedEOF}, "smtp: greeting: unexpected EOF", true},
		{&smtp.CommandError{Command: "DATA", Err: smtp.ErrBareLineEnding}, "smtp: DATA: bare CR or LF in data", false},
		{&smtp.CommandError{Command: "EHLO", Err: &smtp.ProtocolError{Reason: "malformed reply", Err: smtp.ErrMalformedReply}}, "smtp: EHLO: protocol violation: malformed reply: smtp: malformed reply", true},
		{&smtp.CommandError{Command: "RCPT", Err: context.Canceled}, "smtp: RCPT: context canceled", true},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.text {
			t.Errorf("Error() = %q, want %q", got, tt.text)
		}
		if got := tt.err.Temporary(); got != tt.temporary {
			t.Errorf("%q: Temporary() = %v", tt.text, got)
		}
	}
	for p, s := range map[smtp.TLSPolicy]string{smtp.TLSOpportunistic: "opportunistic", smtp.TLSRequired: "required", smtp.TLSNone: "none", 7: "TLSPolicy(7)"} {
		if p.String() != s {
			t.Errorf("%d: %q", int(p), p.String())
		}
	}
}

// TestClientSizeFromBody checks that a body of known length is declared
// with SIZE and refused before sending when over the server's limit.
func TestClientSizeFromBody(t *testing.T) {
	t.Parallel()
	s, be := cliServer(func(s *smtp.Server) { s.MaxMessageBytes = 1000 })
	c, conn := cliDial(t, s, nil)
	ctx := context.Background()
	if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody)); err != nil {
		t.Fatal(err)
	}
	if m := be.messages(); m[0].Mail.Size != int64(len(cliBody)) {
		t.Fatalf("SIZE %d", m[0].Mail.Size)
	}
	_, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(strings.Repeat("x", 1001)))
	if !errors.Is(err, smtp.ErrMessageTooLarge) || len(conn.writesWith("SIZE=1001")) != 0 {
		t.Fatalf("got %v", err)
	}
}

// TestClientDataBlockTimeout checks the per-write timeout of RFC 5321
// section 4.5.3.2.5 against a server that stops reading in the middle of
// the data.
func TestClientDataBlockTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cli, srv := net.Pipe()
		defer cli.Close()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			defer srv.Close()
			srv.Write([]byte(cliEHLOReply))
			var got []byte
			buf := make([]byte, 1)
			for !strings.HasSuffix(string(got), "DATA\r\n") {
				if _, err := srv.Read(buf); err != nil {
					return
				}
				got = append(got, buf[0])
			}
			srv.Write([]byte("250 ok\r\n250 ok\r\n354 go\r\n"))
			// Read no more: the client's writes block.
			<-stop
		}()
		c := smtp.NewClient(cli, &smtp.ClientOptions{DataBlockTimeout: 30 * time.Second})
		start := time.Now()
		_, err := c.Send(context.Background(), cliEnv("a@example.org", "b@example.net"), strings.NewReader(strings.Repeat("line\r\n", 100000)))
		if got := time.Since(start); got != 30*time.Second {
			t.Errorf("failed after %v", got)
		}
		if ce := asCommandError(t, err); ce.Command != "DATA" || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("got %v", err)
		}
	})
}

// TestSendMailAuthFunc uses SendMailOptions.Auth to pick OAuth.
func TestSendMailAuthFunc(t *testing.T) {
	t.Parallel()
	ct := cliTestTLS(t)
	s, be := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server; s.Auth = nil })
	var offered []string
	opts := &smtp.SendMailOptions{
		ClientOptions: smtp.ClientOptions{TLSConfig: &tls.Config{RootCAs: ct.pool}},
		Auth: func(caps smtp.Capabilities, cs *tls.ConnectionState) (sasl.Client, error) {
			if cs == nil {
				return nil, errors.New("no TLS")
			}
			offered = caps.Auth
			return sasl.NewXOAuth2Client("user", "tok"), nil
		},
	}
	if _, err := smtp.SendMail(context.Background(), cliListen(t, s), opts, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody)); err != nil {
		t.Fatal(err)
	}
	if m := be.messages(); len(m) != 1 || m[0].Auth != "user" || !strings.Contains(fmt.Sprint(offered), "XOAUTH2") {
		t.Fatalf("stored %+v, offered %v", m, offered)
	}
}

// TestClientInlineBoundary sends bodies around the size that Send
// pipelines as one BDAT chunk with the envelope.
func TestClientInlineBoundary(t *testing.T) {
	t.Parallel()
	s, be := cliServer(nil)
	ctx := context.Background()
	for _, chunk := range []int{0, 65536, 1000} {
		c, _ := cliDial(t, s, &smtp.ClientOptions{ChunkSize: chunk})
		for _, size := range []int{0, 1, 65535, 65536, 65537, 200001} {
			for _, binary := range []bool{false, true} {
				body := make([]byte, size)
				for i := range body {
					body[i] = byte('a' + i%26)
					if i%80 == 78 {
						body[i] = '\r'
					} else if i%80 == 79 {
						body[i] = '\n'
					}
				}
				want := string(body)
				env := cliEnv("a@example.org", "b@example.net")
				if binary {
					env.Options.Body = smtp.BodyBinaryMIME
				} else if size > 0 && body[size-1] != '\n' {
					want += "\r\n"
					if body[size-1] == '\r' {
						want = want[:len(want)-1]
					}
				}
				// Hide the length, so that SIZE stays out of it.
				if _, err := c.Send(ctx, env, io.MultiReader(strings.NewReader(string(body)))); err != nil {
					t.Fatalf("chunk %d size %d binary %v: %v", chunk, size, binary, err)
				}
				msgs := be.messages()
				if got := msgs[len(msgs)-1].Data; got != want {
					t.Fatalf("chunk %d size %d binary %v: got %d bytes, want %d", chunk, size, binary, len(got), len(want))
				}
			}
		}
	}
}

// TestClientChunkRefused checks that a BDAT chunk refused half-way (the
// message grows over the server's limit) ends in RSET and a usable
// connection, for a body whose size was not declared.
func TestClientChunkRefused(t *testing.T) {
	t.Parallel()
	for _, chunking := range []bool{true, false} {
		t.Run(map[bool]string{true: "BDAT", false: "DATA"}[chunking], func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) {
				s.MaxMessageBytes = 1000
				if !chunking {
					s.Disable = smtp.ExtChunking
				}
			})
			c, _ := cliDial(t, s, &smtp.ClientOptions{ChunkSize: 300})
			ctx := context.Background()
			body := io.MultiReader(strings.NewReader(strings.Repeat("0123456789\r\n", 500)))
			res, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), body)
			ce := asCommandError(t, err)
			if ce.Reply() == nil || ce.Reply().Code != 552 || ce.Temporary() || res.Recipients[0].Reply.Code != 552 || res.Delivered() != 0 {
				t.Fatalf("got %v, %+v", err, res)
			}
			if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody)); err != nil {
				t.Fatalf("next message: %v", err)
			}
			if m := be.messages(); len(m) != 1 {
				t.Fatalf("%d stored", len(m))
			}
		})
	}
}

// TestClientAuthLongChallenge checks that a SASL challenge longer than
// other replies may be (up to the 12288 octets of RFC 4954) is read.
func TestClientAuthLongChallenge(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("QUJD", 2500) // 10000 octets of base64
	script := "S: 220 mx\nC: EHLO localhost\nS: 250-mx\nS: 250 AUTH LOGIN\nC: AUTH LOGIN\nS: 334 " + long +
		"\nC: dXNlcg==\nS: 334 " + long + "\nC: cGFzcw==\nS: 235 ok\nC: QUIT\nS: 221 bye\nE:\n"
	c := smtp.NewClient(cliScript(t, script), nil)
	ctx := context.Background()
	if err := c.Auth(ctx, sasl.NewLoginClient("user", "pass")); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestClientLogger checks the debug transcript, and that credentials stay
// out of it.
func TestClientLogger(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, _ := cliServer(nil)
	c, _ := cliDial(t, s, &smtp.ClientOptions{Logger: logger})
	ctx := context.Background()
	if err := c.Auth(ctx, sasl.NewPlainClient("", "user", "pass")); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(ctx, sasl.NewLoginClient("user", "pass")); err == nil {
		t.Fatal("second AUTH accepted")
	}
	if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody)); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, want := range []string{`line="EHLO localhost"`, `line="AUTH PLAIN <SASL response>"`, `line="MAIL FROM:<a@example.org> SIZE=`, `line="RCPT TO:<b@example.net>"`, "command=RCPT code=250 enhanced=2.1.5"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	for _, secret := range []string{"AHVzZXIAcGFzcw", "cGFzcw", "Hello."} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains %q:\n%s", secret, log)
		}
	}
}

// TestClientNewClientTLS gives NewClient a *tls.Conn before its handshake:
// the client makes the handshake and does not try STARTTLS.
func TestClientNewClientTLS(t *testing.T) {
	t.Parallel()
	ct := cliTestTLS(t)
	s, be := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server; s.ImplicitTLS = true })
	addr := cliListen(t, s)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(tls.Client(nc, &tls.Config{RootCAs: ct.pool, ServerName: "mx.test"}), &smtp.ClientOptions{TLSPolicy: smtp.TLSRequired})
	defer c.Close()
	ctx := context.Background()
	res, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody))
	if err != nil || res.TLS == nil || !be.messages()[0].TLS {
		t.Fatalf("%v %+v", err, res)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestClientPipelineNoDeadlock plays a server that answers every command
// at once, before reading the next, over an unbuffered pipe: the client
// must read replies while it is still writing a large pipelined batch
// (RFC 2920 section 3.1).
func TestClientPipelineNoDeadlock(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu\r\n", 900)
	tests := []struct {
		name  string
		ext   string
		rcpts int
		data  string // what follows the RCPT commands
	}{
		{name: "inline BDAT", ext: "CHUNKING", rcpts: 40, data: "R: " + strconv.Quote(fmt.Sprintf("BDAT %d LAST\r\n", len(body))+body) + "\nS: 250 queued\n"},
		{name: "many recipients and DATA", ext: "8BITMIME", rcpts: 500, data: "C: DATA\nS: 354 go\nR: " + strconv.Quote(body+".\r\n") + "\nS: 250 queued\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var script strings.Builder
			script.WriteString("S: 220 mx\nC: EHLO localhost\nS: 250-mx\nS: 250-PIPELINING\nS: 250 " + tt.ext + "\n")
			script.WriteString("C: MAIL FROM:<a@example.org>\nS: 250 ok\n")
			env := cliEnv("a@example.org")
			for i := range tt.rcpts {
				to := fmt.Sprintf("recipient-number-%d@example.net", i)
				env.To = append(env.To, smtp.Recipient{Path: cliPath(to)})
				script.WriteString("C: RCPT TO:<" + to + ">\nS: 250 ok\n")
			}
			script.WriteString(tt.data + "C: QUIT\nS: 221 bye\nE:\n")
			c := smtp.NewClient(cliScript(t, script.String()), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := c.Send(ctx, env, strings.NewReader(body))
			if err != nil || res.Delivered() != tt.rcpts {
				t.Fatalf("%v", err)
			}
			if err := c.Quit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
