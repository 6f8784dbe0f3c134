package smtp_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// cliMessage is what cliBackend stored for one accepted message.
type cliMessage struct {
	From  smtp.Path
	Mail  smtp.MailOptions
	To    []smtp.Path
	Rcpts []smtp.RcptOptions
	Data  string
	TLS   bool
	Auth  string
}

// cliBackend is the server side of the client tests. It accepts
// everything except: sender local part "reject" (550 5.7.1); recipient
// local parts "unknown" (550 5.1.1), "grey" (450 4.2.0), and in LMTP
// "full" (552 5.2.2 after the data); any recipient "dataerr" makes the
// data fail with 554 5.7.1. AUTH offers PLAIN, LOGIN, SCRAM-SHA-256(-PLUS),
// OAUTHBEARER and XOAUTH2 for user/pass and token "tok".
type cliBackend struct {
	mu   sync.Mutex
	msgs []cliMessage
}

func (b *cliBackend) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	return &cliSession{b: b, info: c}, nil
}

func (b *cliBackend) messages() []cliMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]cliMessage(nil), b.msgs...)
}

type cliSession struct {
	b     *cliBackend
	info  *smtp.ConnInfo
	msg   cliMessage
	creds sasl.ScramCredentials
}

func (s *cliSession) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	if from.Local == "reject" {
		return &smtp.Error{Code: 550, Enhanced: smtp.EnhancedNotAuthorized, Message: "Sender refused"}
	}
	s.msg = cliMessage{From: from, Mail: *opts}
	return nil
}

func (s *cliSession) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	switch to.Local {
	case "unknown":
		return &smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "No such user"}
	case "grey":
		return &smtp.Error{Code: 450, Enhanced: smtp.EnhancedTempMailbox, Message: "Greylisted"}
	}
	s.msg.To = append(s.msg.To, to)
	s.msg.Rcpts = append(s.msg.Rcpts, *opts)
	return nil
}

func (s *cliSession) has(local string) bool {
	for _, p := range s.msg.To {
		if p.Local == local {
			return true
		}
	}
	return false
}

func (s *cliSession) Data(ctx context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.has("dataerr") {
		return &smtp.Error{Code: 554, Enhanced: smtp.EnhancedNotAuthorized, Message: "Content refused"}
	}
	s.store(string(b))
	return nil
}

func (s *cliSession) store(data string) {
	m := s.msg
	m.Data = data
	m.TLS = s.info.TLS != nil
	m.Auth = s.info.AuthIdentity
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, m)
	s.b.mu.Unlock()
}

func (s *cliSession) LMTPData(ctx context.Context, r io.Reader, rcpts []smtp.Path) ([]error, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	res := make([]error, len(rcpts))
	for i, p := range rcpts {
		if p.Local == "full" {
			res[i] = &smtp.Error{Code: 552, Enhanced: smtp.EnhancedMailboxFull, Message: "Mailbox full"}
		}
	}
	s.store(string(b))
	return res, nil
}

func (s *cliSession) Reset(ctx context.Context) { s.msg = cliMessage{} }
func (s *cliSession) Close() error              { return nil }

func (s *cliSession) AuthMechanisms(ctx context.Context) []string {
	m := []string{sasl.ScramSHA256, sasl.OAuthBearer, sasl.XOAuth2, sasl.Plain, sasl.Login}
	if s.info.TLS != nil && s.info.TLS.Version == tls.VersionTLS13 {
		m = append([]string{sasl.ScramSHA256Plus}, m...)
	}
	return m
}

func (s *cliSession) Auth(ctx context.Context, mech string) (sasl.Server, error) {
	check := func(ctx context.Context, authzid, user, pass string) (string, error) {
		if user == "user" && pass == "pass" {
			return user, nil
		}
		return "", sasl.ErrAuthFailed
	}
	token := func(ctx context.Context, req sasl.TokenRequest) (string, error) {
		if req.Token == "tok" {
			return "user", nil
		}
		return "", sasl.ErrAuthFailed
	}
	lookup := func(ctx context.Context, authzid, user string) (sasl.ScramUser, error) {
		if user != "user" {
			return sasl.ScramUser{}, sasl.ErrAuthFailed
		}
		creds, err := sasl.NewScramCredentials("pass", []byte("0123456789abcdef"), 4096)
		return sasl.ScramUser{Credentials: creds}, err
	}
	var cb []byte
	if s.info.TLS != nil {
		cb, _ = sasl.TLSExporter(s.info.TLS)
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(check, nil), nil
	case sasl.Login:
		return sasl.NewLoginServer(check, nil), nil
	case sasl.ScramSHA256:
		return sasl.NewScramSHA256Server(lookup, &sasl.ScramServerOptions{ChannelBinding: cb}), nil
	case sasl.ScramSHA256Plus:
		return sasl.NewScramSHA256PlusServer(lookup, &sasl.ScramServerOptions{ChannelBinding: cb}), nil
	case sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(token, nil), nil
	case sasl.XOAuth2:
		return sasl.NewXOAuth2Server(token, nil), nil
	}
	return nil, errors.New("unexpected mechanism")
}

// cliServer returns a Server on a fresh cliBackend; configure may change
// it before use.
func cliServer(configure func(s *smtp.Server)) (*smtp.Server, *cliBackend) {
	be := &cliBackend{}
	s := &smtp.Server{Backend: be, Hostname: "mx.test", Auth: &sasl.Authenticator{AllowInsecure: true}, DisableReceived: true}
	if configure != nil {
		configure(s)
	}
	return s, be
}

// cliPipe serves one connection of s over net.Pipe and returns the client
// end, wrapped so that the test can see the client's writes.
func cliPipe(t testing.TB, s *smtp.Server) *cliRecConn {
	t.Helper()
	return &cliRecConn{Conn: pipeConn(t, s)}
}

// cliListen serves s on a loopback port until the test ends and returns
// the address.
func cliListen(t testing.TB, s *smtp.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(l)
	}()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	return l.Addr().String()
}

// cliRecConn records every Write of the client.
type cliRecConn struct {
	net.Conn
	mu     sync.Mutex
	writes []string
}

func (c *cliRecConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, string(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// writesWith returns the writes that contain s.
func (c *cliRecConn) writesWith(s string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, w := range c.writes {
		if strings.Contains(w, s) {
			out = append(out, w)
		}
	}
	return out
}

// cliDial returns a Client on a pipe to s, after Hello.
func cliDial(t testing.TB, s *smtp.Server, opts *smtp.ClientOptions) (*smtp.Client, *cliRecConn) {
	t.Helper()
	conn := cliPipe(t, s)
	c := smtp.NewClient(conn, opts)
	if err := c.Hello(context.Background()); err != nil {
		t.Fatalf("Hello: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, conn
}

func cliPath(s string) smtp.Path {
	p, err := smtp.ParsePath("<"+s+">", true)
	if err != nil {
		panic(err)
	}
	return p
}

// cliEnv builds an envelope from addresses.
func cliEnv(from string, to ...string) *smtp.Envelope {
	env := &smtp.Envelope{From: cliPath(from)}
	if from == "" {
		env.From = smtp.Path{}
	}
	for _, a := range to {
		env.To = append(env.To, smtp.Recipient{Path: cliPath(a)})
	}
	return env
}

// cliTLS is a self-signed certificate for mx.test, localhost and the
// loopback addresses, with a pool that trusts it.
type cliTLS struct {
	server          *tls.Config
	pool            *x509.CertPool
	certPEM, keyPEM []byte
}

var cliTLSOnce = sync.OnceValues(func() (*cliTLS, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mx.test"},
		DNSNames:              []string{"mx.test", "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &cliTLS{
		server:  &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}},
		pool:    pool,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
})

func cliTestTLS(t testing.TB) *cliTLS {
	t.Helper()
	c, err := cliTLSOnce()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cliScript plays a scripted server on the other end of a pipe:
//
//	S: line      the server sends line + CRLF (consecutive S: lines go in one write)
//	C: line      the client must send exactly line + CRLF
//	R: "quoted"  the client must send exactly these bytes
//	T:           the server starts TLS (after its 220 to STARTTLS)
//	E:           the client must close the connection (EOF)
//	X:           the server closes the connection
//
// Mismatches are reported with t.Errorf; the script stops at the first.
func cliScript(t testing.TB, script string) net.Conn {
	t.Helper()
	cli, srv := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer srv.Close()
		var conn net.Conn = srv
		br := bufio.NewReader(conn)
		var out []byte
		flush := func() bool {
			if len(out) == 0 {
				return true
			}
			_, err := conn.Write(out)
			out = out[:0]
			return err == nil
		}
		for n, line := range strings.Split(script, "\n") {
			line = strings.TrimRight(line, "\r")
			if line == "" || line[0] == '#' {
				continue
			}
			tag, rest, _ := strings.Cut(line, ":")
			rest = strings.TrimPrefix(rest, " ")
			where := "script line " + strconv.Itoa(n+1)
			if tag != "S" && !flush() {
				t.Errorf("%s: write failed", where)
				return
			}
			switch tag {
			case "S":
				out = append(out, rest+"\r\n"...)
			case "C", "R":
				want := rest + "\r\n"
				if tag == "R" {
					var err error
					if want, err = strconv.Unquote(rest); err != nil {
						t.Errorf("%s: %v", where, err)
						return
					}
				}
				got := make([]byte, len(want))
				if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
					t.Errorf("%s: client sent %q (%v), want %q", where, got, err, want)
					return
				}
			case "T":
				tc := tls.Server(conn, cliTestTLS(t).server)
				if err := tc.Handshake(); err != nil {
					t.Errorf("%s: handshake: %v", where, err)
					return
				}
				conn = tc
				br = bufio.NewReader(conn)
			case "E":
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				if b, err := br.ReadByte(); err == nil {
					rest, _ := br.Peek(br.Buffered())
					t.Errorf("%s: client sent %q, want close", where, string(b)+string(rest))
				}
				return
			case "X":
				return
			default:
				t.Errorf("%s: bad tag", where)
				return
			}
		}
		flush()
		// Let the client finish reading before the pipe closes.
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, br)
	}()
	t.Cleanup(func() {
		cli.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("script goroutine did not end")
		}
	})
	return cli
}

// cliScriptFile reads testdata/client/<name>.txt.
func cliScriptFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "client", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// asCommandError returns err as a *smtp.CommandError or fails the test.
func asCommandError(t testing.TB, err error) *smtp.CommandError {
	t.Helper()
	var ce *smtp.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *smtp.CommandError", err, err)
	}
	return ce
}
