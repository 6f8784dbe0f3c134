package delivery

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/smtp"
)

func TestDeliverCacheReusesConnections(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{tls: true})
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	d := l.deliverer()
	d.TLSRPT = &TLSReporter{}
	d.Cache = &smtp.ClientCache{IdleTimeout: time.Minute}
	defer d.Cache.Close()
	for i := range 3 {
		res := deliver(t, d, envelope("a@sender.test", fmt.Sprintf("user%d@example.test", i)))
		wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
		if !res.Recipients[0].TLS {
			t.Errorf("message %d: not over TLS", i)
		}
	}
	if got := m.messages(); len(got) != 3 || !got[2].tls {
		t.Fatalf("server got %+v", got)
	}
	if m.connections() != 1 {
		t.Errorf("%d connections for 3 messages, want 1", m.connections())
	}
	// TLS-RPT counts sessions: one.
	rep := d.TLSRPT.Report("example.test", time.Now().Add(-24*time.Hour), time.Now().Add(24*time.Hour), ReportOptions{})
	if len(rep.Policies) != 1 || rep.Policies[0].Summary.Successful != 1 {
		t.Errorf("TLS-RPT %+v", rep.Policies)
	}
}

func TestDeliverCacheKeepsCleartextFallback(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{badTLS: true})
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	d := l.deliverer()
	d.Cache = &smtp.ClientCache{IdleTimeout: time.Minute}
	defer d.Cache.Close()
	for range 3 {
		res := deliver(t, d, envelope("a@sender.test", "alice@example.test"))
		wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
	}
	// The failed handshake and the cleartext connection, then reuse.
	if m.connections() != 2 || len(m.messages()) != 3 {
		t.Errorf("%d connections for %d messages, want 2 for 3", m.connections(), len(m.messages()))
	}
}

// closingMX accepts one message per connection, then closes the
// connection without a reply when the next MAIL comes: what a cached
// connection looks like when the server dropped it after the check.
type closingMX struct {
	ln    net.Listener
	mu    sync.Mutex
	conns int
	got   int
}

func (m *closingMX) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		m.conns++
		m.mu.Unlock()
		go m.session(c)
	}
}

func (m *closingMX) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 closing.test ESMTP\r\n")
	mails := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
		case "EHLO":
			fmt.Fprint(c, "250-closing.test\r\n250 8BITMIME\r\n")
		case "MAIL":
			if mails++; mails > 1 {
				return
			}
			fmt.Fprint(c, "250 2.1.0 ok\r\n")
		case "RCPT":
			fmt.Fprint(c, "250 2.1.5 ok\r\n")
		case "DATA":
			fmt.Fprint(c, "354 go\r\n")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			m.mu.Lock()
			m.got++
			m.mu.Unlock()
			fmt.Fprint(c, "250 2.0.0 queued\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

func TestDeliverCacheRetriesAClosedConnection(t *testing.T) {
	l := newLab(t)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.2:%d", l.port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := &closingMX{ln: ln}
	go m.serve()
	l.zone.AddA("mx1.example.test", "127.0.0.2")
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	d := l.deliverer()
	d.Cache = &smtp.ClientCache{IdleTimeout: time.Minute}
	defer d.Cache.Close()
	for i := range 3 {
		res := deliver(t, d, envelope("a@sender.test", "alice@example.test"))
		wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
		if i > 0 && res.Recipients[0].Local {
			t.Errorf("message %d: a local result after the retry", i)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.got != 3 || m.conns != 3 {
		t.Errorf("%d messages over %d connections, want 3 over 3", m.got, m.conns)
	}
}
