package dnsmx_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/miekg/dns"
)

// spoofServer answers every UDP query first with the given forgeries, then
// with the real answer, from a raw socket: what an off-path attacker racing
// the real server looks like to the client.
func spoofServer(t *testing.T, forge func(q *dns.Msg) []*dns.Msg) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, m := range forge(q) {
				if wire, err := m.Pack(); err == nil {
					pc.WriteTo(wire, addr)
				} else {
					pc.WriteTo([]byte("garbage"), addr)
				}
			}
			real := new(dns.Msg)
			real.SetReply(q)
			rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.1")
			real.Answer = append(real.Answer, rr)
			wire, _ := real.Pack()
			pc.WriteTo(wire, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestClientIgnoresForgedAnswers(t *testing.T) {
	t.Parallel()
	forged := func(q *dns.Msg, edit func(m *dns.Msg)) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 203.0.113.66")
		m.Answer = append(m.Answer, rr)
		edit(m)
		return m
	}
	addr := spoofServer(t, func(q *dns.Msg) []*dns.Msg {
		return []*dns.Msg{
			forged(q, func(m *dns.Msg) { m.Id ^= 0x5a5a }),
			forged(q, func(m *dns.Msg) { m.Question[0].Name = "other.example." }),
			forged(q, func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeAAAA }),
			forged(q, func(m *dns.Msg) { m.Response = false }),
			forged(q, func(m *dns.Msg) { m.Question = nil }),
		}
	})
	r, err := dnsmx.NewClient(&dnsmx.ClientOptions{Servers: []string{addr}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.LookupNetIP(t.Context(), "ip4", "victim.example")
	if err != nil || format(got) != "[192.0.2.1]" {
		t.Fatalf("got %v, %v; want the real answer", got, err)
	}
}

func TestClientIgnoresOutOfChainRecords(t *testing.T) {
	t.Parallel()
	// A server that adds records for other names (cache poisoning
	// attempts): they must not answer later questions.
	srv := newPoisoningServer(t)
	r, _ := dnsmx.NewClient(&dnsmx.ClientOptions{Servers: []string{srv}, Timeout: 2 * time.Second})
	if got, err := r.LookupNetIP(t.Context(), "ip4", "a.example"); err != nil || format(got) != "[192.0.2.1]" {
		t.Fatalf("a.example: %v, %v", got, err)
	}
	// bank.example was in the first answer's extra records; asking for
	// it must go to the server, which says NXDOMAIN.
	if _, err := r.LookupNetIP(t.Context(), "ip4", "bank.example"); !errors.Is(err, dnsmx.ErrNotFound) {
		t.Fatalf("bank.example: err = %v, want ErrNotFound from the server", err)
	}
}

// newPoisoningServer answers a.example with its A record plus records for
// bank.example in the answer, authority and additional sections, and
// NXDOMAIN for anything else.
func newPoisoningServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Name == "a.example." {
			for _, s := range []string{"a.example. 60 IN A 192.0.2.1", "bank.example. 60 IN A 203.0.113.66"} {
				rr, _ := dns.NewRR(s)
				m.Answer = append(m.Answer, rr)
			}
			rr, _ := dns.NewRR("bank.example. 60 IN A 203.0.113.67")
			m.Ns = append(m.Ns, rr)
			m.Extra = append(m.Extra, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}
