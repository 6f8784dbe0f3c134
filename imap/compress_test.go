package imap_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/internal/peertest"
)

// compressServer runs the fixture's server on 127.0.0.1 with TLS
// configured, implicit TLS when implicit is set.
func compressServer(t *testing.T, implicit bool) (*imap.Server, string) {
	t.Helper()
	be, u := newFixture(t)
	// A big message, so a response is longer than one 16 KiB segment.
	big := "Subject: big\r\n\r\n" + strings.Repeat("All work and no play makes Jack a dull boy.\r\n", 2000)
	if _, err := u.Deliver("INBOX", []byte(big), nil, testDate); err != nil {
		t.Fatal(err)
	}
	s := testServer(be)
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, l.Addr().String()
}

// TestCompressClient runs Herald's client against the server with
// COMPRESS=DEFLATE after STARTTLS and on implicit TLS: bodies, an APPEND
// literal, IDLE updates and a second COMPRESS refused with
// [COMPRESSIONACTIVE].
func TestCompressClient(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		t.Run(fmt.Sprintf("implicit=%v", implicit), func(t *testing.T) {
			_, addr := compressServer(t, implicit)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opts := &imap.ClientOptions{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
			var c *imap.Client
			var err error
			if implicit {
				c, err = imap.DialTLS(ctx, addr, opts)
			} else {
				c, err = imap.Dial(ctx, addr, opts)
				if err == nil {
					err = c.StartTLS(ctx, nil)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(ctx, "alice", "secret"); err != nil {
				t.Fatal(err)
			}
			if !c.Has("COMPRESS=DEFLATE") {
				t.Fatal("COMPRESS=DEFLATE not announced")
			}
			if err := c.Compress(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Select(ctx, "INBOX", false); err != nil {
				t.Fatal(err)
			}
			msgs, err := c.Fetch(ctx, imap.SeqSet{{Start: 1, Stop: 0}}, "(UID BODY.PEEK[])", false)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 4 || !bytes.Contains(msgs[3].Sections["BODY[]"], []byte("dull boy.\r\nAll work")) || len(msgs[3].Sections["BODY[]"]) < 80000 {
				t.Fatalf("FETCH over COMPRESS: %d messages", len(msgs))
			}
			body := "Subject: appended\r\n\r\n" + strings.Repeat("x", 5000) + "\r\n"
			if _, err := c.Append(ctx, "INBOX", strings.NewReader(body), int64(len(body)), nil); err != nil {
				t.Fatal(err)
			}
			got, err := c.Search(ctx, "SUBJECT appended", false)
			if err != nil || len(got) != 1 || got[0] != 5 {
				t.Fatalf("SEARCH after APPEND: %v %v", got, err)
			}
			var ierr *imap.Error
			if err := c.Compress(ctx); !errors.As(err, &ierr) || ierr.Code != imap.CodeCompressionActive {
				t.Fatalf("second COMPRESS: %v", err)
			}
			if err := c.Noop(ctx); err != nil {
				t.Fatalf("NOOP after the refused COMPRESS: %v", err)
			}
			if err := c.Logout(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCompressWire checks the server side with a raw deflate stream:
// COMPRESS before login and with an unknown mechanism are BAD; after the
// OK, a command pipelined in the same packet is read compressed; each
// response burst ends with exactly one sync flush (empty stored block
// 00 00 ff ff), not one per line; and a corrupt stream ends the
// connection.
func TestCompressWire(t *testing.T) {
	_, addr := compressServer(t, false)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	raw := &rawReader{c: nc}
	raw.line(t)
	io.WriteString(nc, "a COMPRESS DEFLATE\r\n")
	expectPrefix(t, raw.line(t), "a BAD")
	io.WriteString(nc, "b LOGIN alice secret\r\nc COMPRESS GZIP\r\n")
	expectPrefix(t, raw.line(t), "b OK")
	expectPrefix(t, raw.line(t), "c BAD")

	// COMPRESS and, in the same write, the first compressed command.
	var zbuf bytes.Buffer
	zw, _ := flate.NewWriter(&zbuf, flate.BestSpeed)
	zw.Write([]byte("e SELECT INBOX\r\n"))
	zw.Flush()
	nc.Write(append([]byte("d COMPRESS DEFLATE\r\n"), zbuf.Bytes()...))
	expectPrefix(t, raw.line(t), "d OK")
	zbuf.Reset()

	zr := flate.NewReader(raw)
	dec := &inflated{r: zr}
	send := func(s string) {
		zw.Write([]byte(s))
		zw.Flush()
		nc.Write(zbuf.Bytes())
		zbuf.Reset()
	}
	until := func(tag string) (lines []string, segs int) {
		t.Helper()
		start := raw.n
		flushes := raw.flushes
		for {
			l := dec.line(t)
			lines = append(lines, l)
			if strings.HasPrefix(l, tag+" ") {
				_ = start
				return lines, raw.flushes - flushes
			}
		}
	}
	lines, _ := until("e")
	if !strings.HasPrefix(last(lines), "e OK [READ-WRITE]") || len(lines) < 5 {
		t.Fatalf("SELECT over COMPRESS: %q", lines)
	}
	// A burst of several lines: one segment.
	send("f FETCH 1:3 (UID FLAGS RFC822.SIZE)\r\n")
	lines, segs := until("f")
	if len(lines) != 4 || segs != 1 {
		t.Fatalf("FETCH: %d lines in %d segments: %q", len(lines), segs, lines)
	}
	// A long response: segments of at most 16 KiB of text each.
	send("g FETCH 4 BODY.PEEK[]\r\n")
	lines, segs = until("g")
	if segs < 5 || segs > 12 {
		t.Fatalf("a 90 KB FETCH in %d segments", segs)
	}
	// Garbage instead of deflate data: the server closes the
	// connection.
	nc.Write([]byte{0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8})
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := raw.Read(make([]byte, 512)); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept the connection after a corrupt stream")
			}
			break
		}
	}
}

// rawReader reads the connection, counting bytes and the sync flush
// markers of deflate output at the ends of reads' data.
type rawReader struct {
	c       net.Conn
	n       int
	flushes int
	tail    []byte
}

func (r *rawReader) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	r.n += n
	r.tail = append(r.tail, p[:n]...)
	for {
		i := bytes.Index(r.tail, []byte{0, 0, 0xff, 0xff})
		if i < 0 {
			break
		}
		r.flushes++
		r.tail = r.tail[i+4:]
	}
	if len(r.tail) > 3 {
		r.tail = r.tail[len(r.tail)-3:]
	}
	return n, err
}

// line reads an uncompressed line byte by byte, so nothing after it is
// taken from the connection.
func (r *rawReader) line(t *testing.T) string {
	t.Helper()
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := r.c.Read(one); err != nil {
			t.Fatalf("reading: %v (%q)", err, b)
		}
		if one[0] == '\n' {
			return strings.TrimSuffix(string(b), "\r")
		}
		b = append(b, one[0])
	}
}

// inflated reads lines of the decompressed stream.
type inflated struct {
	r   io.Reader
	buf []byte
}

func (d *inflated) line(t *testing.T) string {
	t.Helper()
	for {
		if i := bytes.IndexByte(d.buf, '\n'); i >= 0 {
			l := string(d.buf[:i])
			d.buf = d.buf[i+1:]
			return strings.TrimSuffix(l, "\r")
		}
		p := make([]byte, 4096)
		n, err := d.r.Read(p)
		d.buf = append(d.buf, p[:n]...)
		if err != nil && n == 0 {
			t.Fatalf("inflating: %v", err)
		}
	}
}

// TestCompressPython drives COMPRESS=DEFLATE with Python's zlib over a raw
// socket, on plain TCP and on implicit TLS (testdata/interop/compress_client.py).
func TestCompressPython(t *testing.T) {
	python := peertest.LookPath(t, "python3")
	for _, implicit := range []bool{false, true} {
		_, addr := compressServer(t, implicit)
		_, port, _ := net.SplitHostPort(addr)
		args := []string{"testdata/interop/compress_client.py", port}
		if implicit {
			args = append(args, "tls")
		}
		out, err := exec.Command(python, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "\nDONE\n") {
			t.Fatalf("implicit TLS %v: %v\n%s", implicit, err, out)
		}
		t.Logf("%s", out)
	}
}
