package smtp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// FuzzServer feeds arbitrary client input to a whole server. Whatever the
// input, the server must not panic (a recovered panic is logged and fails
// the test), must end when the client goes away, and must only write
// well-formed replies.
func FuzzServer(f *testing.F) {
	// Seeds: the client side of every transcript, plus a few raw ones.
	files, _ := filepath.Glob("testdata/transcripts/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var in bytes.Buffer
		for _, l := range strings.Split(string(b), "\n") {
			if c, ok := strings.CutPrefix(l, "C: "); ok {
				in.WriteString(c + "\r\n")
			} else if l == "C:" {
				in.WriteString("\r\n")
			} else if r, ok := strings.CutPrefix(l, "R: "); ok {
				if u, err := strconv.Unquote(r); err == nil {
					in.WriteString(u)
				}
			}
		}
		f.Add(in.Bytes())
	}
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 5 LAST\r\nabcdeQUIT\r\n"))
	f.Add([]byte("EHLO x\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		be := &testBackend{noPanic: true}
		logs := &logBuffer{}
		s := newServer(t, be, "insecureauth", logs)
		s.MaxMessageBytes = 4096
		s.MaxErrors = 50
		// The client's bytes come from a reader, so the server sees EOF
		// once it has consumed them, after answering everything.
		conn := &scriptConn{in: bytes.NewReader(in)}
		done := make(chan struct{})
		go func() {
			s.ServeConn(context.Background(), conn)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("server did not end at the end of input")
		}
		out := &conn.out
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("server panicked: %s", logs)
		}
		br := bufio.NewReader(out)
		for {
			r, err := smtp.ReadReply(br)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				t.Fatalf("malformed reply in %q: %v", out.String(), err)
			}
			if !r.Code.Valid() {
				t.Fatalf("invalid code %d", r.Code)
			}
		}
	})
}

// scriptConn is a net.Conn that reads a fixed input and records output.
type scriptConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *scriptConn) Close() error                { return nil }
func (c *scriptConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4321}
}
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// chunkConn is a scriptConn whose reads return at most n bytes, and which
// records the largest write.
type chunkConn struct {
	scriptConn
	n        int
	maxWrite int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	return c.in.Read(p[:min(len(p), c.n)])
}

func (c *chunkConn) Write(p []byte) (int, error) {
	c.maxWrite = max(c.maxWrite, len(p))
	return c.out.Write(p)
}

// TestPipelinedRepliesBounded streams commands in reads that never end on
// a line boundary for long, so the input buffer rarely empties; the
// pending replies must still be written in bounded batches.
func TestPipelinedRepliesBounded(t *testing.T) {
	t.Parallel()
	s := newServer(t, &testBackend{}, "", io.Discard)
	conn := &chunkConn{scriptConn: scriptConn{in: bytes.NewReader(bytes.Repeat([]byte("NOOP\r\n"), 50000))}, n: 997}
	s.ServeConn(context.Background(), conn)
	if got := strings.Count(conn.out.String(), "250 OK\r\n"); got != 50000 {
		t.Fatalf("%d replies, want 50000", got)
	}
	if conn.maxWrite > 4096+64 {
		t.Fatalf("a write of %d bytes: replies piled up", conn.maxWrite)
	}
}
