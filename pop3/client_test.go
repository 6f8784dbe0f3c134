package pop3_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/sasl"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dialPipe connects a Herald client to s over net.Pipe.
func dialPipe(t *testing.T, s *pop3.Server) *pop3.Client {
	t.Helper()
	c, err := pop3.NewClient(ctxT(t), pipeConn(t, s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readAll(t *testing.T, r io.Reader, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClientServer runs every client method against the Herald server.
func TestClientServer(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "insecure", nil)
	c := dialPipe(t, s)
	caps, err := c.Capa(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := caps["UIDL"]; !ok || strings.Join(caps["SASL"], " ") != "PLAIN LOGIN" {
		t.Errorf("Capa = %v", caps)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stat(ctx)
	if err != nil || st != (pop3.Stat{Count: 3, Size: 119}) {
		t.Fatalf("Stat = %v, %v", st, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 3 || list[1] != (pop3.Entry{Number: 2, Size: 58}) {
		t.Fatalf("List = %v, %v", list, err)
	}
	uids, err := c.Uidl(ctx)
	if err != nil || len(uids) != 3 || uids[2] != (pop3.Entry{Number: 3, UID: "m3"}) {
		t.Fatalf("Uidl = %v, %v", uids, err)
	}
	if e, err := c.ListOne(ctx, 1); err != nil || e.Size != 34 {
		t.Fatalf("ListOne = %v, %v", e, err)
	}
	if e, err := c.UidlOne(ctx, 2); err != nil || e.UID != "m2" {
		t.Fatalf("UidlOne = %v, %v", e, err)
	}
	r, err := c.Retr(ctx, 1)
	if got := readAll(t, r, err); got != fixture[0] {
		t.Errorf("Retr 1 = %q", got)
	}
	r, err = c.Top(ctx, 2, 1)
	if got := readAll(t, r, err); got != "Subject: two\r\nFrom: b@example.org\r\n\r\nline1\r\n" {
		t.Errorf("Top = %q", got)
	}
	// A body left unread is skipped by the next command.
	if _, err := c.Retr(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	var perr *pop3.Error
	if _, err := c.Retr(ctx, 9); !errors.As(err, &perr) || perr.Message != "No such message" {
		t.Fatalf("Retr 9: %v", err)
	}
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Rset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := be.Count("alice"); n != 2 {
		t.Errorf("after QUIT alice has %d messages, want 2", n)
	}
}

// TestDeletionNeedsQuit checks that a connection dropped without QUIT
// commits nothing, and that QUIT commits for the next session to see.
func TestDeletionNeedsQuit(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "insecure", nil)
	addr := listen(t, s)
	c, err := pop3.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// The lock is released when the server sees the close.
	var c2 *pop3.Client
	for {
		c2, err = pop3.Dial(ctx, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = c2.Login(ctx, "alice", "secret")
		if err == nil {
			break
		}
		if !errors.Is(err, &pop3.Error{Code: pop3.CodeInUse}) {
			t.Fatal(err)
		}
		c2.Close()
		time.Sleep(5 * time.Millisecond)
	}
	if st, err := c2.Stat(ctx); err != nil || st.Count != 3 {
		t.Fatalf("Stat after a dropped session = %v, %v", st, err)
	}
	if err := c2.Dele(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := c2.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	c3, err := pop3.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c3.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	uids, err := c3.Uidl(ctx)
	if err != nil || len(uids) != 2 || uids[0].UID != "m1" || uids[1].UID != "m2" {
		t.Fatalf("Uidl after QUIT = %v, %v", uids, err)
	}
	c3.Quit(ctx)
}

// TestInUse checks that a second login to a locked maildrop gets [IN-USE]
// and can log in again once the first session quits.
func TestInUse(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "insecure", nil)
	c1 := dialPipe(t, s)
	if err := c1.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	c2 := dialPipe(t, s)
	err := c2.Login(ctx, "alice", "secret")
	var perr *pop3.Error
	if !errors.As(err, &perr) || perr.Code != pop3.CodeInUse || !perr.Temporary() {
		t.Fatalf("second login: %v", err)
	}
	if err := c1.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	// Still in AUTHORIZATION: the same connection may try again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err = c2.Login(ctx, "alice", "secret")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestAPOP logs in with APOP against the timestamp in the greeting.
func TestAPOP(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "apop", nil)
	c := dialPipe(t, s)
	g := c.Greeting().Text
	if !strings.HasPrefix(g, "POP3 server ready <") || !strings.HasSuffix(g, "@localhost>") {
		t.Fatalf("greeting %q has no APOP timestamp", g)
	}
	if err := c.APOP(ctx, "alice", "wrong"); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Fatalf("APOP with a wrong secret: %v", err)
	}
	if err := c.APOP(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Stat(ctx); err != nil || st.Count != 3 {
		t.Fatalf("Stat = %v, %v", st, err)
	}
	// Without APOPBackend there is no timestamp and APOP is refused.
	c2 := dialPipe(t, newServer(t, be, "", nil))
	if strings.Contains(c2.Greeting().Text, "<") {
		t.Errorf("greeting %q has a timestamp", c2.Greeting().Text)
	}
	sum := md5.Sum([]byte("<x@y>secret"))
	nc := pipeConn(t, newServer(t, be, "", nil))
	runTranscript(t, nc, "S: +OK POP3 server ready\nC: APOP alice "+hex.EncodeToString(sum[:])+"\nS: -ERR APOP not available\n")
}

// TestSTLS upgrades with STLS, then logs in with USER/PASS, which the
// server refused before TLS; commands pipelined after STLS are dropped.
func TestSTLS(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "tls", nil)
	addr := listen(t, s)
	c, err := pop3.Dial(ctx, addr, &pop3.ClientOptions{TLSConfig: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.User(ctx, "alice"); !errors.Is(err, &pop3.Error{Code: pop3.CodeSysPerm}) {
		t.Fatalf("USER before TLS: %v", err)
	}
	if err := c.STLS(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS after STLS")
	}
	caps, err := c.Capa(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := caps["STLS"]; ok {
		t.Error("STLS still advertised under TLS")
	}
	if _, ok := caps["USER"]; !ok || strings.Join(caps["SASL"], " ") != "PLAIN LOGIN" {
		t.Errorf("Capa under TLS = %v", caps)
	}
	if err := c.Auth(ctx, sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)

	// The injection of RFC 2595 section 4 / CVE-2011-0411: a command sent
	// in the clear with STLS must not be executed after the handshake.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	buf := make([]byte, 512)
	n, _ := nc.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "+OK") {
		t.Fatalf("greeting %q", buf[:n])
	}
	nc.Write([]byte("STLS\r\nCAPA\r\n"))
	n, _ = nc.Read(buf)
	if string(buf[:n]) != "+OK Begin TLS negotiation\r\n" {
		t.Fatalf("STLS answer %q", buf[:n])
	}
	tc := tlsClient(nc, clientTLS(t))
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	tc.Write([]byte("NOOP\r\n"))
	n, _ = tc.Read(buf)
	if got := string(buf[:n]); got != "-ERR Command not valid in this state\r\n" {
		t.Fatalf("first answer after STLS %q: the pipelined CAPA was executed", got)
	}
}

// TestImplicitTLS serves port-995 style TLS and reads a message.
func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "tls", nil)
	s.ImplicitTLS = true
	addr := listen(t, s)
	c, err := pop3.DialTLS(ctx, addr, &pop3.ClientOptions{TLSConfig: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Retr(ctx, 3)
	if got := readAll(t, r, err); got != "Subject: three\r\n\r\nbare lf\r\n" {
		t.Errorf("Retr = %q", got)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestClientLimits checks the client's bounds on messages and lines.
func TestClientLimits(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	be := newBackend(t)
	s := newServer(t, be, "insecure", nil)
	c, err := pop3.NewClient(ctx, pipeConn(t, s), &pop3.ClientOptions{MaxMessageBytes: 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Retr(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, pop3.ErrMessageTooLarge) {
		t.Fatalf("Retr over the limit: %v", err)
	}
	// The client refuses CR and LF in arguments.
	c2 := dialPipe(t, s)
	if err := c2.User(ctx, "alice\r\nDELE 1"); err == nil {
		t.Fatal("USER with CRLF sent")
	}
}

// TestClientContext checks that a cancelled context interrupts a call.
func TestClientContext(t *testing.T) {
	t.Parallel()
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	go func() {
		sc.Write([]byte("+OK hi\r\n"))
		io.Copy(io.Discard, sc) // never answers
	}()
	c, err := pop3.NewClient(ctxT(t), cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Noop(ctx); err == nil {
		t.Fatal("Noop returned without an answer")
	}
	if err := c.Noop(context.Background()); err == nil {
		t.Fatal("the client is usable after an interrupted exchange")
	}
}
