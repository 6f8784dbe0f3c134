package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3maildir"
	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/serving"
	"github.com/heraldmail/herald/sieve/managesieve"
	"github.com/heraldmail/herald/smtp"
)

// server is the running mail server: its configuration, the user
// database, the mailboxes, the outbound queue and the protocol servers.
type server struct {
	cfg   *config
	log   *slog.Logger
	db    *userDB
	boxes *mailboxes
	queue *delivery.Queue
	conns *smtp.ClientCache // outbound connections kept between messages
	dkim  *signing          // nil with -dkim=false
	tls   *tls.Config
	auth  *sasl.Authenticator

	policy *policy
	// mailboxRelay, with -role mx, hands local users' mail to the
	// mailbox instance over LMTP; nil stores it here.
	mailboxRelay *smarthost

	dmarcReports *dmarcReporter // nil without -dmarc-reports

	mx, submission, submissions *smtp.Server
	lmtp                        *smtp.Server // -lmtp, from the MX instances
	imap, imaps                 *imap.Server
	pop3, pop3s                 *pop3.Server
	managesieve                 *managesieve.Server
	http                        *http.Server
	control                     *controlServer

	listeners []listener
}

type listener struct {
	name  string
	addr  string
	l     net.Listener
	serve func(net.Listener) error
}

// newServer opens everything the server needs in the data directory.
func newServer(cfg *config, log *slog.Logger) (*server, error) {
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return nil, err
	}
	db, err := openUserDB(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	tc, _, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	key, err := secretKey(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: log, db: db, tls: tc}
	s.boxes = newMailboxes(cfg, db, log.With("proto", "maildir"))
	s.auth = db.authenticator(key)

	var opts dnsmx.ClientOptions
	if cfg.dns != "" {
		opts.Servers = []string{cfg.dns}
	}
	res, err := dnsmx.NewClient(&opts)
	if err != nil {
		return nil, err
	}
	s.policy, err = newPolicy(cfg, res, log.With("proto", "policy"))
	if err != nil {
		return nil, err
	}
	s.conns = &smtp.ClientCache{}
	if cfg.role == roleMX {
		s.mailboxRelay = newMailboxRelay(cfg, s.conns)
	}
	remote, err := newRemote(cfg, res, s.conns, log.With("proto", "delivery"))
	if err != nil {
		return nil, err
	}
	if cfg.policy.dkim {
		if s.dkim, err = loadSigning(cfg); err != nil {
			return nil, err
		}
		remote = &signingTransport{s: s.dkim, next: remote, log: log.With("proto", "delivery")}
	}
	s.queue, err = delivery.OpenQueue(filepath.Join(cfg.dataDir, "queue"), &delivery.QueueOptions{
		Transport:       &router{srv: s, remote: remote},
		ReportingMTA:    cfg.hostname,
		MaxMessageBytes: cfg.maxSize + 1<<20,
		Logger:          log.With("proto", "queue"),
	})
	if err != nil {
		return nil, err
	}
	if s.dmarcReports, err = newDMARCReporter(s, res); err != nil {
		return nil, err
	}

	// Behind load balancers, every connection starts with a PROXY header
	// and comes from one of them.
	proxied := func(l *serving.Lifecycle) {
		if len(cfg.proxyFrom) > 0 {
			l.ProxyProtocol = true
			l.TrustedProxies = cfg.proxyFrom
		}
	}
	smtpServer := func(submission, implicit bool) *smtp.Server {
		srv := &smtp.Server{
			Backend:         &smtpBackend{srv: s, submission: submission},
			Hostname:        cfg.hostname,
			TLSConfig:       tc,
			ImplicitTLS:     implicit,
			MaxMessageBytes: cfg.maxSize,
			Logger:          log.With("proto", "smtp"),
		}
		srv.MaxConnections = cfg.maxConns
		proxied(&srv.Lifecycle)
		if submission {
			srv.Auth = s.auth
		}
		return srv
	}
	s.mx = smtpServer(false, false)
	s.lmtp = &smtp.Server{
		Backend:  &lmtpBackend{srv: s},
		Hostname: cfg.hostname,
		LMTP:     true,
		// Room for the trace fields the MX instance added.
		MaxMessageBytes: cfg.maxSize + 1<<20,
		Logger:          log.With("proto", "lmtp"),
	}
	s.lmtp.MaxConnections = cfg.maxConns
	s.submission = smtpServer(true, false)
	s.submissions = smtpServer(true, true)
	// The implicit-TLS ports have servers of their own that do the TLS
	// handshake (after a PROXY header, when there is one); each pair
	// shares one backend, so its sessions share the folders' state.
	imapBackend := &imapmaildir.Backend{
		Store: func(ctx context.Context, info *imap.ConnInfo, identity string) (*maildir.Store, error) {
			st, err := s.boxes.store(identity)
			if err == nil {
				log.Info("login", "proto", "imap", "user", identity, "client", info.RemoteAddr.String(), "tls", info.TLS != nil)
			}
			return st, err
		},
		Logger: log.With("proto", "imap"),
	}
	imapServer := func(implicit bool) *imap.Server {
		srv := &imap.Server{
			Backend:     imapBackend,
			Auth:        s.auth,
			TLSConfig:   tc,
			ImplicitTLS: implicit,
			Logger:      log.With("proto", "imap"),
		}
		srv.MaxConnections = cfg.maxConns
		proxied(&srv.Lifecycle)
		return srv
	}
	s.imap, s.imaps = imapServer(false), imapServer(true)
	pop3Backend := &pop3maildir.Backend{
		Store: func(ctx context.Context, identity string) (*maildir.Store, error) {
			return s.boxes.store(identity)
		},
		Logger: log.With("proto", "pop3"),
	}
	pop3Server := func(implicit bool) *pop3.Server {
		srv := &pop3.Server{
			Backend:     pop3Backend,
			Hostname:    cfg.hostname,
			Auth:        s.auth,
			TLSConfig:   tc,
			ImplicitTLS: implicit,
			Logger:      log.With("proto", "pop3"),
		}
		srv.MaxConnections = cfg.maxConns
		proxied(&srv.Lifecycle)
		return srv
	}
	s.pop3, s.pop3s = pop3Server(false), pop3Server(true)
	s.http = &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.With("proto", "http").Handler(), slog.LevelWarn),
	}
	s.control = &controlServer{srv: s}
	f := newFilter(cfg, log.With("proto", "sieve"))
	f.send = func(ctx context.Context, from smtp.Path, to string, msg io.Reader) error {
		local, domain, ok := strings.Cut(to, "@")
		if !ok {
			return fmt.Errorf("bad address %q", to)
		}
		env := &smtp.Envelope{From: from, To: []smtp.Recipient{{Path: smtp.Path{Local: local, Domain: domain}}}}
		_, err := s.queue.Enqueue(ctx, env, msg)
		return err
	}
	if cfg.role != roleMX {
		// An MX instance runs no scripts: they live with the
		// mailboxes, and the mailbox instance runs them at LMTP.
		s.boxes.filter = f
	}
	s.managesieve = f.managesieveServer(s)
	return s, nil
}

// secretKey returns the server's random secret, made on first start: SCRAM
// uses it to answer for unknown users as for known ones.
func secretKey(dir string) ([]byte, error) {
	p := filepath.Join(dir, "secret")
	b, err := os.ReadFile(p)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	rand.Read(b)
	return b, writeFileAtomic(p, b, 0o600)
}

// listen opens every configured listener, so that a port in use is
// reported before anything starts.
func (s *server) listen() error {
	plain := func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
	specs := []struct {
		name, addr string
		open       func(string) (net.Listener, error)
		serve      func(net.Listener) error
	}{
		{"smtp (MX)", s.cfg.smtpAddr, plain, s.mx.Serve},
		{"submission (STARTTLS)", s.cfg.submissionAddr, plain, s.submission.Serve},
		{"submissions (TLS)", s.cfg.submissionsAddr, plain, s.submissions.Serve},
		{"lmtp (from MX instances)", s.cfg.lmtpAddr, plain, s.lmtp.Serve},
		{"imap (STARTTLS)", s.cfg.imapAddr, plain, s.imap.Serve},
		{"imaps (TLS)", s.cfg.imapsAddr, plain, s.imaps.Serve},
		{"pop3 (STLS)", s.cfg.pop3Addr, plain, s.pop3.Serve},
		{"pop3s (TLS)", s.cfg.pop3sAddr, plain, s.pop3s.Serve},
		{"http (autoconfig, MTA-STS)", s.cfg.httpAddr, plain, s.http.Serve},
		{"managesieve (STARTTLS)", s.cfg.managesieveAddr, plain, s.managesieve.Serve},
	}
	for _, sp := range specs {
		if sp.addr == "" {
			continue
		}
		l, err := sp.open(sp.addr)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("%s: %w", sp.name, err)
		}
		s.listeners = append(s.listeners, listener{name: sp.name, addr: l.Addr().String(), l: l, serve: sp.serve})
	}
	l, err := s.control.listen()
	if err != nil {
		s.closeListeners()
		return err
	}
	s.listeners = append(s.listeners, listener{name: "control", addr: l.Addr().String(), l: l, serve: s.control.serve})
	return nil
}

func (s *server) closeListeners() {
	for _, l := range s.listeners {
		l.l.Close()
	}
	s.listeners = nil
}

// run serves until ctx is done, then shuts down gracefully: no new
// connections, sessions in the middle of DATA finish (up to grace), the
// queue stops between attempts.
func (s *server) run(ctx context.Context, grace time.Duration) error {
	qctx, qcancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.queue.Run(qctx)
	}()
	wg.Go(func() { s.dmarcReports.run(qctx) })
	errc := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.serve(l.l)
			if err != nil && !isClosed(err) {
				errc <- fmt.Errorf("%s: %w", l.name, err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "grace", grace)
	case err = <-errc:
		s.log.Error("listener failed, shutting down", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var sw sync.WaitGroup
	for _, sh := range []func(context.Context) error{
		s.mx.Shutdown, s.submission.Shutdown, s.submissions.Shutdown, s.lmtp.Shutdown,
		s.imap.Shutdown, s.imaps.Shutdown, s.pop3.Shutdown, s.pop3s.Shutdown, s.managesieve.Shutdown, s.http.Shutdown, s.control.shutdown,
	} {
		sw.Add(1)
		go func() {
			defer sw.Done()
			sh(sctx)
		}()
	}
	sw.Wait()
	if err := s.policy.close(); err != nil {
		s.log.Warn("greylist state not saved", "err", err)
	}
	// The queue stops only once no session can enqueue any more.
	qcancel()
	wg.Wait()
	s.conns.Close()
	s.queue.Close()
	s.log.Info("stopped")
	return err
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) ||
		errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, imap.ErrServerClosed) ||
		errors.Is(err, pop3.ErrServerClosed)
}

// banner tells the operator what runs where.
func (s *server) banner(w io.Writer, certFile string) {
	fmt.Fprintf(w, "Herald mail server for %v as %s, data in %s\n", s.cfg.domains, s.cfg.hostname, s.cfg.dataDir)
	switch s.cfg.role {
	case roleMX:
		fmt.Fprintf(w, "Role mx: local users' mail goes over LMTP to the mailbox instance at %s\n", s.cfg.mailboxLMTP)
	case roleMailbox:
		fmt.Fprintf(w, "Role mailbox: mail for local users comes over LMTP from %v\n", s.cfg.lmtpFrom)
	}
	for _, l := range s.listeners {
		if l.name == "control" {
			continue
		}
		fmt.Fprintf(w, "  %-28s %s\n", l.name, l.addr)
	}
	if s.cfg.tlsCert == "" {
		fmt.Fprintf(w, "TLS certificate: self-signed, %s\n", certFile)
	}
	if s.dkim != nil {
		fmt.Fprintf(w, "DKIM: publish, for outbound mail to pass DKIM and DMARC:\n")
		for _, d := range s.cfg.domains {
			fmt.Fprintf(w, "  %s._domainkey.%s. TXT \"%s\"\n", dkimSelector, d, s.dkim.records[d])
		}
	}
	n := len(s.db.users)
	fmt.Fprintf(w, "%d users. Add one with:\n  echo 'password' | %s -data %s adduser you@%s\n",
		n, os.Args[0], s.cfg.dataDir, s.cfg.domains[0])
}
