package delivery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/smtp"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Herald delivery test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for names, valid from notBefore to notAfter.
func (ca *testCA) issue(t testing.TB, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// received is one message a test server accepted.
type received struct {
	host string
	from smtp.Path
	to   []smtp.Path
	opts smtp.MailOptions
	data string
	tls  bool
}

// mx is a scripted SMTP server, Herald's own, on one loopback address.
type mx struct {
	name string
	addr string // ip:port
	srv  *smtp.Server

	mu    sync.Mutex
	got   []received
	conns int
	// rcpt decides each RCPT; nil accepts.
	rcpt func(to smtp.Path) error
	// data decides the end of DATA; nil accepts.
	data func() error
	// mail decides MAIL; nil accepts.
	mail func(from smtp.Path, opts *smtp.MailOptions) error
}

func (m *mx) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.got...)
}

func (m *mx) connections() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns
}

type mxSession struct {
	m    *mx
	ci   *smtp.ConnInfo
	cur  received
	rcpt []smtp.Path
}

func (s *mxSession) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	s.m.mu.Lock()
	f := s.m.mail
	s.m.mu.Unlock()
	if f != nil {
		if err := f(from, opts); err != nil {
			return err
		}
	}
	s.cur = received{host: s.m.name, from: from, opts: *opts, tls: s.ci.TLS != nil}
	return nil
}

func (s *mxSession) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	s.m.mu.Lock()
	f := s.m.rcpt
	s.m.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *mxSession) Data(ctx context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	f := s.m.data
	s.m.mu.Unlock()
	if f != nil {
		if err := f(); err != nil {
			return err
		}
	}
	s.cur.data = string(b)
	s.m.mu.Lock()
	s.m.got = append(s.m.got, s.cur)
	s.m.mu.Unlock()
	return nil
}

func (s *mxSession) Reset(ctx context.Context) { s.cur = received{} }
func (s *mxSession) Close() error              { return nil }

// lab is a test network: a DNS server and SMTP servers on loopback
// addresses that share one port, as real MX hosts share port 25.
type lab struct {
	t    testing.TB
	zone *dnstest.Zone
	dns  *dnstest.Server
	port int
	ca   *testCA
	mxs  map[string]*mx
}

func newLab(t testing.TB) *lab {
	t.Helper()
	z := dnstest.NewZone()
	l := &lab{t: t, zone: z, dns: dnstest.NewServer(t, z), ca: newTestCA(t), mxs: map[string]*mx{}}
	// Find a port free on the loopback addresses the tests use.
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := true
		for i := 2; i <= 6; i++ {
			ln2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%d", i, port))
			if err != nil {
				ok = false
				break
			}
			ln2.Close()
		}
		if ok {
			l.port = port
			return l
		}
	}
	t.Fatal("no free port on 127.0.0.1-6")
	return nil
}

// serverOptions tunes a test MX.
type serverOptions struct {
	tls      bool   // offer STARTTLS
	certName string // name in the certificate; default the host name
	expired  bool   // certificate already expired
	badTLS   bool   // offer STARTTLS and fail every handshake
	// tlsConfig, when set, is the server's TLS configuration as it is,
	// for a certificate from another authority.
	tlsConfig *tls.Config
	disable   smtp.Extension
}

// addMX starts a server named name on ip (with the lab's port) and adds its
// A or AAAA record. It does not add MX records.
func (l *lab) addMX(name, ip string, o serverOptions) *mx {
	t := l.t
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(l.port)))
	if err != nil {
		t.Fatal(err)
	}
	m := &mx{name: name, addr: ln.Addr().String()}
	srv := &smtp.Server{
		Hostname:        name,
		Disable:         o.disable,
		DisableReceived: true,
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			m.mu.Lock()
			m.conns++
			m.mu.Unlock()
			return &mxSession{m: m, ci: c}, nil
		}),
	}
	switch {
	case o.tlsConfig != nil:
		srv.TLSConfig = o.tlsConfig
	case o.badTLS:
		srv.TLSConfig = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return nil, errors.New("no certificate here")
		}}
	case o.tls:
		cn := o.certName
		if cn == "" {
			cn = name
		}
		notAfter := time.Now().Add(time.Hour)
		if o.expired {
			notAfter = time.Now().Add(-time.Hour)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{l.ca.issue(t, notAfter, cn)}}
	}
	m.srv = srv
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	l.zone.AddA(name, ip)
	l.mxs[name] = m
	return m
}

func (l *lab) deliverer() *Deliverer {
	return &Deliverer{
		Resolver:  l.dns.Resolver(nil),
		Port:      l.port,
		LocalName: "client.test",
		RootCAs:   l.ca.pool,
		Client: smtp.ClientOptions{
			GreetingTimeout: 10 * time.Second,
			CommandTimeout:  10 * time.Second,
		},
		ConnectTimeout: 5 * time.Second,
	}
}

func path(s string) smtp.Path {
	local, domain, _ := strings.Cut(s, "@")
	return smtp.Path{Local: local, Domain: domain}
}

func envelope(from string, to ...string) *smtp.Envelope {
	env := &smtp.Envelope{From: path(from)}
	for _, r := range to {
		env.To = append(env.To, smtp.Recipient{Path: path(r)})
	}
	return env
}

const testMessage = "From: a@sender.test\r\nTo: b@example.test\r\nSubject: test\r\nMessage-ID: <1@sender.test>\r\n\r\nHello.\r\n"
