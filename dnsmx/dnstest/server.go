package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/miekg/dns"
)

// Query is one query the server received.
type Query struct {
	Name    string // lower case, fully qualified
	Type    uint16
	Network string // "udp" or "tcp"
}

// String returns "name TYPE/network".
func (q Query) String() string {
	return q.Name + " " + dns.TypeToString[q.Type] + "/" + q.Network
}

// Server is a DNS server on 127.0.0.1 that serves a [Zone] over UDP and
// TCP on the same random port. It answers every query from the zone with
// the AA and RA bits set, so it stands in for a recursive resolver.
type Server struct {
	// Addr is the "127.0.0.1:port" address served on UDP and TCP.
	Addr string
	// Zone is the data served; it may change while serving.
	Zone *Zone

	udp, tcp *dns.Server

	mu      sync.Mutex
	queries []Query
	closed  bool
}

// NewServer starts a server for z (nil means an empty zone) and stops it
// when the test ends. It fails the test if the server cannot start.
func NewServer(tb testing.TB, z *Zone) *Server {
	tb.Helper()
	s, err := Start(z)
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Start starts a server for z (nil means an empty zone). Close stops it.
func Start(z *Zone) (*Server, error) {
	if z == nil {
		z = NewZone()
	}
	s := &Server{Zone: z}
	var lastErr error
	// UDP and TCP must share a port; another process may take the TCP
	// port between the two listens, so try a few times.
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen udp: %w", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = pc.LocalAddr().String()
		s.udp = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve("udp"))}
		s.tcp = &dns.Server{Listener: l, Handler: dns.HandlerFunc(s.serve("tcp"))}
		if err := startServer(s.udp); err != nil {
			pc.Close()
			l.Close()
			return nil, err
		}
		if err := startServer(s.tcp); err != nil {
			s.udp.Shutdown()
			l.Close()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("listen tcp: %w", lastErr)
}

func startServer(srv *dns.Server) error {
	started := make(chan struct{})
	done := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-done:
		return fmt.Errorf("dnstest: serve: %w", err)
	}
}

// Close stops the server. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
}

// Queries returns the queries received so far, in order.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// QueryCount returns how many queries for name (any case, trailing dot
// optional) of type qtype (every type when 0) the server received.
func (s *Server) QueryCount(name string, qtype uint16) int {
	name = fqdn(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.queries {
		if q.Name == name && (qtype == 0 || q.Type == qtype) {
			n++
		}
	}
	return n
}

// ResetQueries forgets the queries received so far.
func (s *Server) ResetQueries() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = nil
}

// DefaultClientTimeout is the per-attempt timeout of the clients that
// Resolver returns when the options leave it zero. A loopback answer takes
// microseconds, but a loaded test machine can delay a goroutine by tens of
// milliseconds, so the default leaves room; tests of an injected Timeout
// fault set a shorter ClientOptions.Timeout to stay fast.
const DefaultClientTimeout = 500 * time.Millisecond

// Resolver returns a [*dnsmx.Client] that asks only this server. opts may
// be nil; its Servers field is replaced, a zero Timeout becomes
// DefaultClientTimeout and a zero Attempts becomes 1, so that an injected
// Timeout costs exactly one timeout. Everything else (cache, CNAME limit,
// clock) is as given.
func (s *Server) Resolver(opts *dnsmx.ClientOptions) *dnsmx.Client {
	var o dnsmx.ClientOptions
	if opts != nil {
		o = *opts
	}
	o.Servers = []string{s.Addr}
	if o.Timeout == 0 {
		o.Timeout = DefaultClientTimeout
	}
	if o.Attempts == 0 {
		o.Attempts = 1
	}
	c, err := dnsmx.NewClient(&o)
	if err != nil {
		// Only a malformed server address fails, and Addr is ours.
		panic(fmt.Sprintf("dnstest: %v", err))
	}
	return c
}

func (s *Server) serve(network string) func(dns.ResponseWriter, *dns.Msg) {
	return func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(req)
		resp.Authoritative = true
		resp.RecursionAvailable = true
		if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
			resp.Rcode = dns.RcodeFormatError
			w.WriteMsg(resp)
			return
		}
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		s.mu.Lock()
		s.queries = append(s.queries, Query{Name: name, Type: q.Qtype, Network: network})
		s.mu.Unlock()

		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
			resp.SetEdns0(4096, false)
		}
		switch s.Zone.fault(name, q.Qtype) {
		case Timeout:
			return
		case ServFail:
			resp.Rcode = dns.RcodeServerFailure
		case Refused:
			resp.Rcode = dns.RcodeRefused
		case Malformed:
			// The right ID and flags, one question announced, then junk.
			w.Write([]byte{byte(req.Id >> 8), byte(req.Id), 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0xff, 0xff})
			return
		case Truncate:
			if network == "udp" {
				resp.Truncated = true
				break
			}
			s.Zone.answer(q, resp)
		default:
			s.Zone.answer(q, resp)
		}
		if network == "udp" {
			resp.Truncate(size)
		}
		w.WriteMsg(resp)
	}
}
