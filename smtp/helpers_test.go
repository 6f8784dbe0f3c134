package smtp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testkit"
	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// message is what the test backend stored for one accepted message.
type message struct {
	From  smtp.Path
	To    []smtp.Path
	Mail  smtp.MailOptions
	Rcpts []smtp.RcptOptions
	Data  string
	Info  smtp.ConnInfo
}

// testBackend accepts everything except addresses whose local part names a
// behaviour: reject, tempfail, panic (MAIL); unknown, grey, panic, dataerr,
// early, full (RCPT); and the HELO name bad.helo. AUTH PLAIN and LOGIN
// accept user/pass.
type testBackend struct {
	mu       sync.Mutex
	messages []message
	closed   int
	refuse   error // returned by NewSession
	noPanic  bool  // for fuzzing: "panic" addresses are refused instead
	// serverAuth hands out sessions without SessionAuth, so that
	// Server.Auth runs AUTH.
	serverAuth bool
}

func (b *testBackend) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	if b.refuse != nil {
		return nil, b.refuse
	}
	if b.serverAuth {
		return plainSession{&testSession{b: b, info: c}}, nil
	}
	return &testSession{b: b, info: c}, nil
}

func (b *testBackend) Messages() []message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]message(nil), b.messages...)
}

type testSession struct {
	b     *testBackend
	info  *smtp.ConnInfo
	from  smtp.Path
	mail  smtp.MailOptions
	to    []smtp.Path
	rcpts []smtp.RcptOptions
}

func (s *testSession) Hello(ctx context.Context, name string) error {
	if name == "bad.helo" {
		return &smtp.Error{Code: smtp.CodeMailboxUnavailable, Enhanced: smtp.EnhancedNotAuthorized, Message: "HELO name refused"}
	}
	return nil
}

func (s *testSession) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	switch from.Local {
	case "reject":
		return &smtp.Error{Code: smtp.CodeMailboxUnavailable, Enhanced: smtp.EnhancedNotAuthorized, Message: "Sender refused"}
	case "tempfail":
		return errors.New("database on fire: secret internal detail")
	case "panic":
		if !s.b.noPanic {
			panic("backend bug")
		}
		return errors.New("bug address refused")
	}
	s.from, s.mail = from, *opts
	return nil
}

func (s *testSession) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	switch to.Local {
	case "unknown":
		return &smtp.Error{Code: smtp.CodeMailboxUnavailable, Enhanced: smtp.EnhancedBadDestMailbox, Message: "No such user"}
	case "grey":
		return &smtp.Error{Code: smtp.CodeMailboxBusy, Enhanced: smtp.EnhancedTempMailbox, Message: "Greylisted, try again later"}
	case "panic":
		if !s.b.noPanic {
			panic("backend bug")
		}
		return errors.New("bug address refused")
	}
	s.to = append(s.to, to)
	s.rcpts = append(s.rcpts, *opts)
	return nil
}

func (s *testSession) has(local string) bool {
	for _, p := range s.to {
		if p.Local == local {
			return true
		}
	}
	return false
}

func (s *testSession) Data(ctx context.Context, r io.Reader) error {
	if s.has("early") {
		return &smtp.Error{Code: smtp.CodeTransactionFailed, Enhanced: smtp.EnhancedNotAuthorized, Message: "Refused before reading"}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.has("dataerr") {
		return &smtp.Error{Code: smtp.CodeTransactionFailed, Enhanced: smtp.EnhancedNotAuthorized, Message: "Content refused"}
	}
	s.store(string(b))
	return nil
}

func (s *testSession) store(data string) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.messages = append(s.b.messages, message{From: s.from, To: append([]smtp.Path(nil), s.to...), Mail: s.mail, Rcpts: s.rcpts, Data: data, Info: *s.info})
}

func (s *testSession) LMTPData(ctx context.Context, r io.Reader, rcpts []smtp.Path) ([]error, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	res := make([]error, len(rcpts))
	for i, p := range rcpts {
		if p.Local == "full" {
			res[i] = &smtp.Error{Code: smtp.CodeExceededStorage, Enhanced: smtp.EnhancedMailboxFull, Message: "Mailbox full"}
		}
	}
	s.store(string(b))
	return res, nil
}

func (s *testSession) Reset(ctx context.Context) {
	s.from, s.mail, s.to, s.rcpts = smtp.Path{}, smtp.MailOptions{}, nil, nil
}

func (s *testSession) Close() error {
	s.b.mu.Lock()
	s.b.closed++
	s.b.mu.Unlock()
	return nil
}

func (s *testSession) AuthMechanisms(ctx context.Context) []string {
	return []string{sasl.Plain, sasl.Login}
}

func (s *testSession) Auth(ctx context.Context, mech string) (sasl.Server, error) {
	check := func(ctx context.Context, authzid, user, pass string) (string, error) {
		if user == "user" && pass == "pass" {
			return user, nil
		}
		if user == "down" {
			return "", errors.New("credential store down")
		}
		return "", sasl.ErrAuthFailed
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(check, nil), nil
	case sasl.Login:
		return sasl.NewLoginServer(check, nil), nil
	}
	return nil, errors.New("unexpected mechanism")
}

// logBuffer collects log output for assertions.
type logBuffer = testkit.LogBuffer

// newServer returns a Server on the test backend with the options of a
// transcript's "# server:" line applied.
func newServer(t *testing.T, be *testBackend, options string, logs io.Writer) *smtp.Server {
	t.Helper()
	// Transcripts compare the message bytes; the Received: field the
	// server adds is checked by the tests that ask for "received".
	s := &smtp.Server{Backend: be, Hostname: "mx.test", Logger: slog.New(slog.NewTextHandler(logs, nil)), DisableReceived: true}
	for _, o := range strings.Fields(options) {
		k, v, _ := strings.Cut(o, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "lmtp":
			s.LMTP = true
		case "received":
			s.DisableReceived = false
		case "maxrcpt":
			s.MaxRecipients = n
		case "maxsize":
			s.MaxMessageBytes = int64(n)
		case "maxerrors":
			s.MaxErrors = n
		case "maxline":
			s.MaxLineLength = n
		case "insecureauth":
			s.Auth = &sasl.Authenticator{AllowInsecure: true}
		case "xclient":
			s.XClientTrusted = nil // set by the caller; net.Pipe has no address
		case "disable":
			for _, e := range strings.Split(v, ",") {
				s.Disable |= map[string]smtp.Extension{
					"DSN": smtp.ExtDSN, "CHUNKING": smtp.ExtChunking, "PIPELINING": smtp.ExtPipelining,
					"SMTPUTF8": smtp.ExtSMTPUTF8, "ENHANCEDSTATUSCODES": smtp.ExtEnhancedStatusCodes,
					"AUTH": smtp.ExtAuth, "8BITMIME": smtp.Ext8BitMIME, "BINARYMIME": smtp.ExtBinaryMIME, "LIMITS": smtp.ExtLimits,
				}[e]
			}
		case "refuse":
			be.refuse = &smtp.Error{Code: smtp.CodeTransactionFailed, Message: "No SMTP service here"}
		default:
			t.Fatalf("unknown server option %q", o)
		}
	}
	return s
}

// pipeConn serves one connection of s over net.Pipe and returns the
// client end. The server goroutine ends before the test does.
func pipeConn(t testing.TB, s *smtp.Server) net.Conn {
	t.Helper()
	cli, srv := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeConn(context.Background(), srv)
	}()
	t.Cleanup(func() {
		cli.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server goroutine did not end")
		}
	})
	return cli
}

// runTranscript plays a transcript against a server:
//
//	C: line      client sends line + CRLF
//	R: "quoted"  client sends the Go-quoted bytes as they are
//	S: line      server must reply this line
//	E:           server must close the connection
//	D: "quoted"  the next stored message must have exactly this data
//	L: text      the log must contain text
//	!L: text     the log must not contain text (checked at the end)
//
// Consecutive C:/R: lines are written together (pipelining) by a writer
// goroutine, while S: lines are read in order.
func runTranscript(t *testing.T, s *smtp.Server, be *testBackend, logs *logBuffer, script string) {
	t.Helper()
	cli := pipeConn(t, s)
	cli.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(cli)
	writes := make(chan []byte, 64)
	go func() {
		for b := range writes {
			if _, err := cli.Write(b); err != nil {
				for range writes {
				}
				return
			}
		}
	}()
	defer close(writes)
	var pending []byte
	flush := func() {
		if len(pending) > 0 {
			writes <- pending
			pending = nil
		}
	}
	var notLogged []string
	msgIndex := 0
	for n, raw := range strings.Split(script, "\n") {
		line := strings.TrimRight(raw, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tag, rest, _ := strings.Cut(line, ":")
		rest = strings.TrimPrefix(rest, " ")
		where := fmt.Sprintf("line %d (%q)", n+1, line)
		switch tag {
		case "C":
			pending = append(pending, rest+"\r\n"...)
		case "R":
			b, err := strconv.Unquote(rest)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			pending = append(pending, b...)
		case "S":
			flush()
			got, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: reading reply: %v (log: %s)", where, err, logs)
			}
			if !strings.HasSuffix(got, "\r\n") {
				t.Fatalf("%s: reply %q does not end in CRLF", where, got)
			}
			if got = strings.TrimSuffix(got, "\r\n"); got != rest {
				t.Fatalf("%s: got %q", where, got)
			}
		case "E":
			flush()
			got, err := br.ReadString('\n')
			if err == nil || got != "" {
				t.Fatalf("%s: want closed connection, got %q %v", where, got, err)
			}
		case "D":
			want, err := strconv.Unquote(rest)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			msgs := be.Messages()
			if msgIndex >= len(msgs) {
				t.Fatalf("%s: only %d messages stored", where, len(msgs))
			}
			if msgs[msgIndex].Data != want {
				t.Fatalf("%s: message %d is %q", where, msgIndex, msgs[msgIndex].Data)
			}
			msgIndex++
		case "L":
			if !strings.Contains(logs.String(), rest) {
				t.Fatalf("%s: log lacks %q: %s", where, rest, logs)
			}
		case "!L":
			notLogged = append(notLogged, rest)
		default:
			t.Fatalf("%s: unknown tag", where)
		}
	}
	flush()
	if msgIndex != len(be.Messages()) {
		t.Fatalf("%d messages stored, transcript checked %d", len(be.Messages()), msgIndex)
	}
	for _, s := range notLogged {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("log contains %q", s)
		}
	}
}

// withoutTrace checks that m.Data starts with the Received: field the
// server adds, naming the client's HELO and address, the server, the
// transaction id and the single recipient, and returns the rest.
func withoutTrace(t *testing.T, m message, proto string) string {
	t.Helper()
	addr := "unknown"
	if a := m.Info.RemoteAddr.Addr(); a.IsValid() {
		addr = a.String()
	}
	want := "Received: from " + m.Info.HeloName + " ([" + addr + "])\r\n" +
		"\tby mx.test with " + proto + " id " + m.Info.TransactionID + "\r\n"
	if cs := m.Info.TLS; cs != nil {
		want += "\t(" + tls.VersionName(cs.Version) + " " + tls.CipherSuiteName(cs.CipherSuite) + ")\r\n"
	}
	if len(m.To) == 1 {
		want += "\tfor " + m.To[0].String() + "; "
	}
	if m.Info.TransactionID == "" || !strings.HasPrefix(m.Data, want) {
		t.Fatalf("message does not start with %q:\n%q", want, m.Data)
	}
	_, rest, ok := strings.Cut(m.Data[len(want):], "\r\n")
	if !ok {
		t.Fatalf("unterminated Received: field in %q", m.Data)
	}
	return rest
}
