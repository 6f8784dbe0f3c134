package delivery

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/smtp"
)

func deliver(t *testing.T, d *Deliverer, env *smtp.Envelope) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := d.Deliver(ctx, env, BytesBody([]byte(testMessage)))
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if len(res.Recipients) != len(env.To) {
		t.Fatalf("%d results for %d recipients", len(res.Recipients), len(env.To))
	}
	return res
}

func wantStatus(t *testing.T, r RecipientResult, st Status, code smtp.ReplyCode, enh string, host string) {
	t.Helper()
	if r.Status != st || r.Code != code || r.Enhanced.String() != enh || r.Host != host {
		t.Errorf("%s: got %v %d %s host %q (%q), want %v %d %s host %q", r.To, r.Status, r.Code, r.Enhanced, r.Host, r.Text, st, code, enh, host)
	}
}

func TestDeliverHappyPathOneConnection(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{tls: true})
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	res := deliver(t, l.deliverer(), envelope("a@sender.test", "alice@example.test", "bob@EXAMPLE.test"))
	for _, r := range res.Recipients {
		wantStatus(t, r, StatusDelivered, 250, "2.0.0", "mx1.example.test")
		if !r.TLS || r.TLSVersion != tls.VersionTLS13 || r.TLSVersionName() != "TLS 1.3" {
			t.Errorf("%s: TLS %v version %x", r.To, r.TLS, r.TLSVersion)
		}
	}
	got := m.messages()
	if len(got) != 1 || len(got[0].to) != 2 || !got[0].tls || got[0].data != testMessage {
		t.Fatalf("server got %+v", got)
	}
	if m.connections() != 1 {
		t.Errorf("%d connections, want 1", m.connections())
	}
}

func TestDeliverFailureModes(t *testing.T) {
	l := newLab(t)
	mx1 := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{})
	mx2 := l.addMX("mx2.example.test", "127.0.0.3", serverOptions{})
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	l.zone.AddMX("example.test", 20, "mx2.example.test")
	d := l.deliverer()

	t.Run("4xx moves to the next MX", func(t *testing.T) {
		mx1.mu.Lock()
		mx1.rcpt = func(smtp.Path) error {
			return &smtp.Error{Code: 451, Enhanced: smtp.NewEnhancedCode(4, 2, 0), Message: "greylisted"}
		}
		mx1.mu.Unlock()
		defer func() { mx1.mu.Lock(); mx1.rcpt = nil; mx1.mu.Unlock() }()
		n := len(mx2.messages())
		res := deliver(t, d, envelope("a@sender.test", "alice@example.test"))
		wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx2.example.test")
		if len(mx2.messages()) != n+1 {
			t.Error("mx2 did not get the message")
		}
	})
	t.Run("5xx is final per recipient", func(t *testing.T) {
		mx1.mu.Lock()
		mx1.rcpt = func(to smtp.Path) error {
			if to.Local == "bob" {
				return &smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "no such user"}
			}
			return nil
		}
		mx1.mu.Unlock()
		defer func() { mx1.mu.Lock(); mx1.rcpt = nil; mx1.mu.Unlock() }()
		n := len(mx2.messages())
		res := deliver(t, d, envelope("a@sender.test", "alice@example.test", "bob@example.test"))
		wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
		wantStatus(t, res.Recipients[1], StatusPermanent, 550, "5.1.1", "mx1.example.test")
		if res.Recipients[1].Text != "no such user" || res.Recipients[1].Local {
			t.Errorf("text %q local %v", res.Recipients[1].Text, res.Recipients[1].Local)
		}
		if len(mx2.messages()) != n {
			t.Error("mx2 was tried after a 5xx")
		}
	})
	t.Run("4xx everywhere stays temporary with the last reply", func(t *testing.T) {
		busy := func(smtp.Path) error {
			return &smtp.Error{Code: 452, Enhanced: smtp.NewEnhancedCode(4, 2, 2), Message: "mailbox full"}
		}
		for _, m := range []*mx{mx1, mx2} {
			m.mu.Lock()
			m.rcpt = busy
			m.mu.Unlock()
		}
		defer func() {
			for _, m := range []*mx{mx1, mx2} {
				m.mu.Lock()
				m.rcpt = nil
				m.mu.Unlock()
			}
		}()
		res := deliver(t, d, envelope("a@sender.test", "alice@example.test"))
		wantStatus(t, res.Recipients[0], StatusTemporary, 452, "4.2.2", "mx2.example.test")
	})
	t.Run("DATA refused permanently", func(t *testing.T) {
		mx1.mu.Lock()
		mx1.data = func() error { return &smtp.Error{Code: 554, Enhanced: smtp.NewEnhancedCode(5, 7, 1), Message: "spam"} }
		mx1.mu.Unlock()
		defer func() { mx1.mu.Lock(); mx1.data = nil; mx1.mu.Unlock() }()
		res := deliver(t, d, envelope("a@sender.test", "alice@example.test", "bob@example.test"))
		for _, r := range res.Recipients {
			wantStatus(t, r, StatusPermanent, 554, "5.7.1", "mx1.example.test")
		}
	})
	t.Run("MAIL refused temporarily", func(t *testing.T) {
		mx1.mu.Lock()
		mx1.mail = func(smtp.Path, *smtp.MailOptions) error {
			return &smtp.Error{Code: 421, Enhanced: smtp.NewEnhancedCode(4, 3, 2), Message: "closing"}
		}
		mx1.mu.Unlock()
		defer func() { mx1.mu.Lock(); mx1.mail = nil; mx1.mu.Unlock() }()
		res := deliver(t, d, envelope("a@sender.test", "alice@example.test"))
		wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx2.example.test")
	})
}

func TestDeliverConnectionRefusedMovesOn(t *testing.T) {
	l := newLab(t)
	l.zone.AddA("dead.example.test", "127.0.0.4") // nothing listens
	m := l.addMX("mx2.example.test", "127.0.0.3", serverOptions{})
	l.zone.AddMX("example.test", 10, "dead.example.test")
	l.zone.AddMX("example.test", 20, "mx2.example.test")
	res := deliver(t, l.deliverer(), envelope("a@sender.test", "alice@example.test"))
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx2.example.test")
	if len(m.messages()) != 1 {
		t.Fatal("mx2 did not get the message")
	}

	// With no host at all, the recipient stays temporary with a local reply.
	l.zone.AddMX("dead.test", 10, "dead.example.test")
	res = deliver(t, l.deliverer(), envelope("a@sender.test", "x@dead.test"))
	wantStatus(t, res.Recipients[0], StatusTemporary, 451, "4.4.1", "")
	if !res.Recipients[0].Local {
		t.Error("reply not marked local")
	}
}

func TestDeliverTLSHandshakeFailureFallsBackToCleartext(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{badTLS: true})
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	d := l.deliverer()
	d.TLSRPT = &TLSReporter{}
	res := deliver(t, d, envelope("a@sender.test", "alice@example.test"))
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
	if res.Recipients[0].TLS {
		t.Error("recorded TLS after a failed handshake")
	}
	if got := m.messages(); len(got) != 1 || got[0].tls {
		t.Fatalf("server got %+v", got)
	}
	if m.connections() != 2 {
		t.Errorf("%d connections, want 2 (TLS, then cleartext)", m.connections())
	}
	rep := d.TLSRPT.Report("example.test", time.Now().Add(-24*time.Hour), time.Now().Add(24*time.Hour), ReportOptions{})
	if len(rep.Policies) != 1 || rep.Policies[0].Summary.Failed != 1 || rep.Policies[0].Policy.Type != PolicyTypeNoPolicyFound {
		t.Errorf("TLS-RPT %+v", rep.Policies)
	}
}

func TestDeliverSTARTTLSNotOffered(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{})
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	res := deliver(t, l.deliverer(), envelope("a@sender.test", "alice@example.test"))
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx1.example.test")
	if res.Recipients[0].TLS || len(m.messages()) != 1 {
		t.Errorf("TLS %v, %d messages", res.Recipients[0].TLS, len(m.messages()))
	}
}

func TestDeliverREQUIRETLS(t *testing.T) {
	l := newLab(t)
	plain := l.addMX("plain.example.test", "127.0.0.2", serverOptions{})
	noReq := l.addMX("noreq.example.test", "127.0.0.3", serverOptions{tls: true, disable: smtp.ExtRequireTLS})
	secure := l.addMX("secure.example.test", "127.0.0.4", serverOptions{tls: true})
	wrong := l.addMX("wrong.example.test", "127.0.0.5", serverOptions{tls: true, certName: "other.test"})
	l.zone.AddMX("example.test", 10, "plain.example.test")
	l.zone.AddMX("example.test", 20, "noreq.example.test")
	l.zone.AddMX("example.test", 25, "wrong.example.test")
	l.zone.AddMX("example.test", 30, "secure.example.test")
	l.zone.AddMX("strict.test", 10, "plain.example.test")
	l.zone.AddMX("strict.test", 20, "noreq.example.test")
	d := l.deliverer()
	d.MaxHosts = 10

	env := envelope("a@sender.test", "alice@example.test")
	env.Options.RequireTLS = true
	res := deliver(t, d, env)
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "secure.example.test")
	if !res.Recipients[0].TLS {
		t.Error("delivered without TLS")
	}
	for _, m := range []*mx{plain, noReq, wrong} {
		if len(m.messages()) != 0 {
			t.Errorf("%s got a REQUIRETLS message", m.name)
		}
	}
	if got := secure.messages(); len(got) != 1 || !got[0].opts.RequireTLS {
		t.Errorf("secure got %+v", got)
	}

	env = envelope("a@sender.test", "bob@strict.test")
	env.Options.RequireTLS = true
	res = deliver(t, d, env)
	wantStatus(t, res.Recipients[0], StatusPermanent, 550, "5.7.30", "")
	if len(plain.messages())+len(noReq.messages()) != 0 {
		t.Error("a REQUIRETLS message went to a host without REQUIRETLS")
	}
}

func TestDeliverDNSCases(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{})
	l.zone.AddMX("nullmx.test", 0, ".")
	l.zone.AddA("implicit.test", "127.0.0.2") // no MX: the implicit MX
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	l.zone.AddMX("cname.test", 10, "alias.cname.test")
	l.zone.AddCNAME("alias.cname.test", "mx1.example.test")
	l.zone.AddMX("literal.test", 10, "127.0.0.2")
	res := deliver(t, l.deliverer(), envelope("a@sender.test",
		"a@nullmx.test", "b@implicit.test", "c@nxdomain.test", "d@example.test", "e@cname.test", "f@[127.0.0.2]", "g@literal.test"))
	wantStatus(t, res.Recipients[0], StatusPermanent, 556, "5.1.10", "")
	wantStatus(t, res.Recipients[1], StatusDelivered, 250, "2.0.0", "implicit.test")
	wantStatus(t, res.Recipients[2], StatusPermanent, 550, "5.1.2", "")
	wantStatus(t, res.Recipients[3], StatusDelivered, 250, "2.0.0", "mx1.example.test")
	wantStatus(t, res.Recipients[4], StatusDelivered, 250, "2.0.0", "alias.cname.test")
	wantStatus(t, res.Recipients[5], StatusDelivered, 250, "2.0.0", "[127.0.0.2]")
	wantStatus(t, res.Recipients[6], StatusPermanent, 550, "5.4.4", "")
	if n := len(m.messages()); n != 4 {
		t.Errorf("server got %d messages, want 4 (one per domain)", n)
	}
}

func TestDeliverIPv6AndAddressLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback")
	}
	ln.Close()
	l := newLab(t)
	if ln, err := net.Listen("tcp", net.JoinHostPort("::1", itoa(l.port))); err != nil {
		t.Skip("lab port taken on ::1")
	} else {
		ln.Close()
	}
	m := l.addMX("mx6.example.test", "::1", serverOptions{})
	l.zone.AddA("mx6.example.test", "127.0.0.6") // nothing listens there
	l.zone.AddMX("example.test", 10, "mx6.example.test")
	d := l.deliverer()
	d.Prefer = 1 // dnsmx.PreferIPv4: the dead IPv4 first, then IPv6
	res := deliver(t, d, envelope("a@sender.test", "alice@example.test"))
	wantStatus(t, res.Recipients[0], StatusDelivered, 250, "2.0.0", "mx6.example.test")
	if !res.Recipients[0].Addr.Addr().Is6() || len(m.messages()) != 1 {
		t.Errorf("delivered via %v", res.Recipients[0].Addr)
	}
	d.MaxAttempts = 1
	res = deliver(t, d, envelope("a@sender.test", "alice@example.test"))
	wantStatus(t, res.Recipients[0], StatusTemporary, 451, "4.4.1", "")
}

func TestDeliverRecipientsOverRCPTMAX(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{})
	m.srv.MaxRecipients = 2
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	var to []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		to = append(to, n+"@example.test")
	}
	res := deliver(t, l.deliverer(), envelope("s@sender.test", to...))
	if n := res.Count(StatusDelivered); n != 5 {
		for _, r := range res.Recipients {
			t.Logf("%s %v %d %s %s", r.To, r.Status, r.Code, r.Enhanced, r.Text)
		}
		t.Fatalf("%d delivered, want 5", n)
	}
	if m.connections() != 1 || len(m.messages()) != 3 {
		t.Errorf("%d connections and %d transactions, want 1 and 3", m.connections(), len(m.messages()))
	}
}

func TestDeliverUnicodeDomainGrouping(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{})
	l.zone.AddMX("xn--bcher-kva.test", 10, "mx1.example.test")
	env := envelope("a@sender.test", "a@bücher.test", "b@xn--bcher-kva.test")
	env.Options.UTF8 = true
	res := deliver(t, l.deliverer(), env)
	if res.Count(StatusDelivered) != 2 || len(m.messages()) != 1 {
		for _, r := range res.Recipients {
			t.Logf("%s %v %d %s %s", r.To, r.Status, r.Code, r.Enhanced, r.Text)
		}
		t.Fatalf("delivered %d in %d transactions", res.Count(StatusDelivered), len(m.messages()))
	}
	if !strings.Contains(m.messages()[0].to[0].Domain, "b") {
		t.Error("odd recipient")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
