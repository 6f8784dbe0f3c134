package lifecycle

import (
	"errors"
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
