package lifecycle

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/heraldmail/herald/serving"
)

// fakeInput stands for a connection's buffered reader.
type fakeInput struct {
	buffered int
	shrunk   bool
}

func (f *fakeInput) Buffered() int { return f.buffered }
func (f *fakeInput) Shrink()       { f.shrunk = true }

func TestReadCommand(t *testing.T) {
	c := &Conn{srv: &Server{Settings: &serving.Lifecycle{}}}
	flushes := 0
	flush := func() error { flushes++; return nil }
	var idleDuringRead bool
	read := func() ([]byte, error) { idleDuringRead = c.Idle.Load(); return []byte("NOOP"), nil }

	// Pipelined input waiting: replies stay queued, not idle.
	in := &fakeInput{buffered: 10}
	if line, err := c.ReadCommand(in, 100, 4096, flush, read); err != nil || string(line) != "NOOP" {
		t.Fatalf("ReadCommand = %q, %v", line, err)
	}
	if flushes != 0 || in.shrunk || idleDuringRead {
		t.Fatalf("with pipelined input: %d flushes, shrunk %v, idle %v", flushes, in.shrunk, idleDuringRead)
	}
	// Too many queued replies: flushed even so.
	c.ReadCommand(in, 4096, 4096, flush, read)
	if flushes != 1 || idleDuringRead {
		t.Fatalf("over maxPending: %d flushes, idle %v", flushes, idleDuringRead)
	}
	// Drained input: flush, shrink, idle while reading, not after.
	in = &fakeInput{}
	c.ReadCommand(in, 1, 4096, flush, read)
	if flushes != 2 || !in.shrunk || !idleDuringRead || c.Idle.Load() {
		t.Fatalf("drained input: %d flushes, shrunk %v, idle during read %v, after %v", flushes, in.shrunk, idleDuringRead, c.Idle.Load())
	}
	// A failed flush is returned without reading.
	boom := errors.New("broken pipe")
	if _, err := c.ReadCommand(&fakeInput{}, 1, 4096, func() error { return boom }, read); err != boom {
		t.Fatalf("flush error: %v", err)
	}
	// Shutting down: no read, ErrShuttingDown, idle cleared.
	c.srv.shutting.Store(true)
	called := false
	if _, err := c.ReadCommand(&fakeInput{}, 0, 4096, flush, func() ([]byte, error) { called = true; return nil, nil }); !errors.Is(err, ErrShuttingDown) || called || c.Idle.Load() {
		t.Fatalf("shutting down: err %v, read called %v, idle %v", err, called, c.Idle.Load())
	}
}

func TestCheck(t *testing.T) {
	checked := false
	s := &Server{Settings: &serving.Lifecycle{}, Name: "proto", ImplicitTLS: true, Check: func() { checked = true }}
	defer func() {
		if r := recover(); r != "proto: Server.ImplicitTLS needs TLSConfig" || !checked {
			t.Fatalf("recovered %v, Check called %v", r, checked)
		}
	}()
	s.Serve(nil)
}

func TestFlush(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &Conn{srv: &Server{Settings: &serving.Lifecycle{}}, nc: a}
	got := make(chan []byte, 1)
	go func() { p, _ := io.ReadAll(b); got <- p }()

	// Nothing pending: no write, the buffer comes back as it was.
	small := make([]byte, 0, 256)
	if out, err := c.Flush(small); err != nil || cap(out) != 256 {
		t.Fatalf("Flush(empty) = cap %d, %v", cap(out), err)
	}
	// A small buffer is kept for reuse, emptied.
	out, err := c.Flush(append(small, "+OK\r\n"...))
	if err != nil || len(out) != 0 || cap(out) != 256 {
		t.Fatalf("Flush(small) = len %d cap %d, %v", len(out), cap(out), err)
	}
	// One grown by a large response is dropped for a small one, so an
	// idle connection does not hold it.
	big := append(make([]byte, 0, 8192), bytes.Repeat([]byte("x"), 5000)...)
	if out, err = c.Flush(big); err != nil || len(out) != 0 || cap(out) != 256 {
		t.Fatalf("Flush(big) = len %d cap %d, %v", len(out), cap(out), err)
	}
	a.Close()
	if p := <-got; string(p) != "+OK\r\n"+strings.Repeat("x", 5000) {
		t.Fatalf("the peer read %d bytes, want the two responses", len(p))
	}
	// A failed write is reported.
	if _, err := c.Flush([]byte("late\r\n")); err == nil {
		t.Fatal("Flush on a closed connection succeeded")
	}
}
