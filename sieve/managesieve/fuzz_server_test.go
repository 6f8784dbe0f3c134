package managesieve_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testkit"
)

// scriptConn is a net.Conn that reads a fixed input and collects what is
// written, for driving the server without goroutines.
type scriptConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *scriptConn) Close() error                { return nil }
func (c *scriptConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4190}
}
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
}
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzServer runs the dispatcher on arbitrary input, logged in or not:
// it must not panic (a recovered panic is logged and fails the test), and
// every response must end with CRLF.
func FuzzServer(f *testing.F) {
	f.Add([]byte("PUTSCRIPT \"a\" {5+}\r\nkeep;\r\nSETACTIVE \"a\"\r\nLISTSCRIPTS\r\nGETSCRIPT \"a\"\r\n"), true)
	f.Add([]byte("AUTHENTICATE \"PLAIN\"\r\n{8+}\r\nAGEAYg==\r\nNOOP\r\n"), false)
	f.Add([]byte("AUTHENTICATE \"LOGIN\"\r\n\"YQ==\"\r\n\"*\"\r\nCAPABILITY\r\n"), false)
	f.Add([]byte("HAVESPACE \"a\" 99999999999\r\nRENAMESCRIPT \"a\" \"b\"\r\nDELETESCRIPT \"b\"\r\nUNAUTHENTICATE\r\nLOGOUT\r\n"), true)
	f.Add([]byte("CHECKSCRIPT {7}\r\nbogus;\r\n\r\nPUTSCRIPT \"x\" \"redirect;\"\r\nSTARTTLS\r\n"), true)
	f.Fuzz(func(t *testing.T, in []byte, loggedIn bool) {
		logs := &testkit.LogBuffer{}
		s := newServer(t, newBackend(), "insecure maxsize=256 maxstring=64 maxline=200 maxdiscard=512 maxerrors=-1", logs)
		s.MaxLoginFailures = -1
		var input []byte
		if loggedIn {
			input = append(input, "AUTHENTICATE \"PLAIN\" \""+plainIR("alice", "secret")+"\"\r\n"...)
		}
		input = append(input, in...)
		c := &scriptConn{in: bytes.NewReader(input)}
		s.ServeConn(context.Background(), c)
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("panic on %q:\n%s", in, logs.String())
		}
		if out := c.out.Bytes(); !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end with CRLF: %q", out)
		}
	})
}
