package managesieve_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testkit"
	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/sieve/managesieve"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientStartTLSSession(t *testing.T) {
	t.Parallel()
	be := newBackend()
	logs := &testkit.LogBuffer{}
	s := newServer(t, be, "tls", logs)
	addr := listen(t, s)
	ctx := ctxT(t)
	c, err := managesieve.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps := c.Capabilities()
	if !caps.StartTLS || len(caps.SASL) != 0 || caps.Version != "1.0" || caps.Implementation == "" {
		t.Fatalf("capabilities before TLS: %+v", caps)
	}
	if err := c.Authenticate(ctx, sasl.NewPlainClient("", "alice", "secret")); !errors.Is(err, &managesieve.Error{Code: managesieve.CodeEncryptNeeded}) {
		t.Fatalf("PLAIN before TLS: %v", err)
	}
	if err := c.StartTLS(ctx, clientTLS(t)); err != nil {
		t.Fatal(err)
	}
	caps = c.Capabilities()
	if caps.StartTLS || !slices.Contains(caps.SASL, "PLAIN") {
		t.Fatalf("capabilities after TLS: %+v", caps)
	}
	if err := c.Authenticate(ctx, sasl.NewPlainClient("", "alice", "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Authenticate(ctx, sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	body := []byte("require \"fileinto\";\r\nfileinto \"BODYMARKER\";\r\n")
	if w, err := c.PutScript(ctx, "main", body); err != nil || w != "" {
		t.Fatalf("PutScript: %q, %v", w, err)
	}
	if w, err := c.PutScript(ctx, "warn", []byte("redirect;")); err != nil || !strings.Contains(w, "line 1") {
		t.Fatalf("PutScript with warning: %q, %v", w, err)
	}
	if _, err := c.PutScript(ctx, "bad", []byte("bogus;")); !errors.Is(err, &managesieve.Error{}) || !strings.Contains(err.Error(), "line 1: unknown command") {
		t.Fatalf("PutScript of a bad script: %v", err)
	}
	if _, err := c.CheckScript(ctx, []byte("keep;")); err != nil {
		t.Fatal(err)
	}
	if err := c.HaveSpace(ctx, "x", 100); err != nil {
		t.Fatal(err)
	}
	if err := c.SetActive(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListScripts(ctx)
	if err != nil || len(list) != 2 || list[0] != (managesieve.Script{Name: "main", Active: true}) {
		t.Fatalf("ListScripts: %+v, %v", list, err)
	}
	got, err := c.GetScript(ctx, "main")
	if err != nil || string(got) != string(body) {
		t.Fatalf("GetScript: %q, %v", got, err)
	}
	if err := c.DeleteScript(ctx, "main"); !errors.Is(err, managesieve.ErrActive) {
		t.Fatalf("DeleteScript of the active script: %v", err)
	}
	if err := c.RenameScript(ctx, "main", "warn"); !errors.Is(err, managesieve.ErrAlreadyExists) {
		t.Fatalf("RenameScript onto a taken name: %v", err)
	}
	if err := c.RenameScript(ctx, "main", "renamed"); err != nil {
		t.Fatal(err)
	}
	if name, _ := be.Active("alice"); name != "renamed" {
		t.Fatalf("active after rename: %q", name)
	}
	if err := c.DeleteScript(ctx, "gone"); !errors.Is(err, managesieve.ErrNonexistent) {
		t.Fatalf("DeleteScript of a missing script: %v", err)
	}
	if tag, err := c.Noop(ctx, "t1"); err != nil || tag != "t1" {
		t.Fatalf("Noop: %q, %v", tag, err)
	}
	if caps, err := c.Capability(ctx); err != nil || caps.Owner != "alice" {
		t.Fatalf("Capability: %+v, %v", caps, err)
	}
	if err := c.Unauthenticate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListScripts(ctx); err == nil {
		t.Fatal("LISTSCRIPTS after UNAUTHENTICATE")
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	l := logs.String()
	if strings.Contains(l, "secret") || strings.Contains(l, "wrong") || strings.Contains(l, "BODYMARKER") {
		t.Fatalf("log holds a password or a script:\n%s", l)
	}
	if !strings.Contains(l, "user=alice") {
		t.Fatalf("log misses the login:\n%s", l)
	}
}

// TestStartTLSDropsPipelinedCommands checks that commands sent in the
// clear after STARTTLS are not run over TLS.
func TestStartTLSDropsPipelinedCommands(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(), "tls", nil)
	nc := pipeConn(t, s)
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	readUntilOK(t, br)
	go nc.Write([]byte("STARTTLS\r\nLOGOUT\r\n"))
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	tc := tls.Client(nc, clientTLS(t))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tbr := bufio.NewReader(tc)
	caps := readUntilOK(t, tbr)
	if strings.Contains(caps, "STARTTLS") || !strings.Contains(caps, `"SASL" "PLAIN LOGIN"`) {
		t.Fatalf("capabilities after STARTTLS:\n%s", caps)
	}
	tc.Write([]byte("NOOP \"after\"\r\n"))
	if l, _ := tbr.ReadString('\n'); l != "OK (TAG \"after\") \"Done\"\r\n" {
		t.Fatalf("first response over TLS: %q (the pipelined LOGOUT ran?)", l)
	}
}

// readUntilOK reads lines up to an OK line and returns them all.
func readUntilOK(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading: %v (so far %q)", err, b.String())
		}
		b.WriteString(l)
		if strings.HasPrefix(l, "OK") {
			return b.String()
		}
	}
}

func TestImplicitTLSFromTLSListen(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(), "", nil)
	l, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	ctx := ctxT(t)
	nc, err := tls.Dial("tcp", l.Addr().String(), clientTLS(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := managesieve.NewClient(ctx, nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	caps := c.Capabilities()
	if caps.StartTLS || !slices.Contains(caps.SASL, "PLAIN") {
		t.Fatalf("capabilities on implicit TLS: %+v", caps)
	}
	if err := c.Authenticate(ctx, sasl.NewPlainClient("", "bob", "pw")); err != nil {
		t.Fatal(err)
	}
	c.Logout(ctx)
	s.Close()
	if err := <-done; !errors.Is(err, managesieve.ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
}

func TestShutdownSaysBye(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(), "", nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	greeting := readUntilOK(t, br)
	if !strings.HasPrefix(greeting, `"IMPLEMENTATION" "Herald ManageSieve"`) || !strings.HasSuffix(greeting, "OK \"ManageSieve ready\"\r\n") {
		t.Fatalf("greeting:\n%s", greeting)
	}
	ctx := ctxT(t)
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l, _ := br.ReadString('\n'); l != "BYE (TRYLATER) \"Server shutting down\"\r\n" {
		t.Fatalf("goodbye: %q", l)
	}
	if err := <-done; !errors.Is(err, managesieve.ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
}

func TestConnectionLimitSaysBye(t *testing.T) {
	t.Parallel()
	s := newServer(t, newBackend(), "", nil)
	s.MaxConnections = 1
	addr := listen(t, s)
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	first.SetDeadline(time.Now().Add(10 * time.Second))
	readUntilOK(t, bufio.NewReader(first))
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetDeadline(time.Now().Add(10 * time.Second))
	if l, _ := bufio.NewReader(second).ReadString('\n'); !strings.HasPrefix(l, "BYE (TRYLATER)") {
		t.Fatalf("over the limit: %q", l)
	}
}
