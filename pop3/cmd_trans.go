package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/heraldmail/herald/internal/wire"
)

var errNoMessage = &Error{Message: "No such message"}

// message parses a message-number argument and returns its index, refusing
// numbers out of range and deleted messages (RFC 1939 section 5).
func (c *conn) message(arg string) (int, error) {
	n, ok := parseNumber(arg)
	if !ok {
		return 0, errSyntax
	}
	if n < 1 || n > len(c.msgs) {
		return 0, errNoMessage
	}
	if c.deleted[n-1] {
		return 0, &Error{Message: "Message " + arg + " already deleted"}
	}
	return n - 1, nil
}

func (c *conn) cmdStat(args []string) error {
	if len(args) != 0 {
		return errSyntax
	}
	c.ok(strconv.Itoa(len(c.msgs)-c.nDeleted) + " " + strconv.FormatInt(c.sizeLeft, 10))
	return nil
}

func (c *conn) cmdList(args []string) error {
	return c.listing(args, func(i int) string { return strconv.FormatInt(c.msgs[i].Size, 10) })
}

func (c *conn) cmdUidl(args []string) error {
	return c.listing(args, func(i int) string { return c.msgs[i].UID })
}

// listing answers LIST or UIDL: one scan line for one message, or a
// multi-line listing of every message not deleted.
func (c *conn) listing(args []string, field func(i int) string) error {
	switch len(args) {
	case 0:
		c.ok(plural(len(c.msgs)-c.nDeleted, "message"))
		for i := range c.msgs {
			if !c.deleted[i] {
				c.out = strconv.AppendInt(c.out, int64(i+1), 10)
				c.out = append(c.out, ' ')
				c.out = append(c.out, field(i)...)
				c.out = append(c.out, "\r\n"...)
				if len(c.out) >= maxPendingResponses {
					if err := c.flush(); err != nil {
						return nil
					}
				}
			}
		}
		c.end()
		return nil
	case 1:
		i, err := c.message(args[0])
		if err != nil {
			return err
		}
		c.ok(strconv.Itoa(i+1) + " " + field(i))
		return nil
	}
	return errSyntax
}

func (c *conn) cmdDele(args []string) error {
	if len(args) != 1 {
		return errSyntax
	}
	i, err := c.message(args[0])
	if err != nil {
		return err
	}
	c.deleted[i] = true
	c.nDeleted++
	c.sizeLeft -= c.msgs[i].Size
	c.ok("Message " + args[0] + " deleted")
	return nil
}

func (c *conn) cmdRset(args []string) error {
	if len(args) != 0 {
		return errSyntax
	}
	c.sizeLeft = 0
	for i := range c.deleted {
		c.deleted[i] = false
		c.sizeLeft += c.msgs[i].Size
	}
	c.nDeleted = 0
	c.ok("Maildrop has " + plural(len(c.msgs), "message") + " (" + strconv.FormatInt(c.sizeLeft, 10) + " octets)")
	return nil
}

func (c *conn) cmdRetr(args []string) error {
	if len(args) != 1 {
		return errSyntax
	}
	i, err := c.message(args[0])
	if err != nil {
		return err
	}
	return c.send(i, -1, strconv.FormatInt(c.msgs[i].Size, 10)+" octets")
}

func (c *conn) cmdTop(args []string) error {
	if len(args) != 2 {
		return errSyntax
	}
	i, err := c.message(args[0])
	if err != nil {
		return err
	}
	n, ok := parseNumber(args[1])
	if !ok {
		return errSyntax
	}
	return c.send(i, n, "Top of message follows")
}

// errTopDone stops the copy of a message once TOP has its lines.
var errTopDone = errors.New("pop3: TOP lines sent")

// send streams message i as a multi-line response: all of it, or with
// lines >= 0 its header, the blank line and that many body lines. The
// message is never held whole: it goes from the Mailbox's reader through
// line-ending repair, the TOP cut and dot-stuffing into a pooled buffer.
// A failure once the +OK is out cannot be told to the client, so the
// connection is closed without the terminating line.
func (c *conn) send(i, lines int, text string) error {
	rc, err := c.mbox.Message(c.ctx, i+1)
	if err != nil {
		return err
	}
	if rc == nil {
		return errors.New("pop3: Mailbox.Message returned a nil reader")
	}
	defer rc.Close()
	c.ok(text)
	bw, _ := c.srv.writePool.Get().(*bufio.Writer)
	if bw == nil {
		bw = bufio.NewWriterSize(c.lc, wire.LargeSize)
	} else {
		bw.Reset(c.lc)
	}
	defer func() {
		bw.Reset(nil)
		c.srv.writePool.Put(bw)
	}()
	bw.Write(c.out)
	c.out = c.out[:0]
	dw := wire.NewDotWriter(bw)
	var w io.Writer = dw
	if lines >= 0 {
		w = &topWriter{w: dw, lines: lines}
	}
	rb := retrBufs.Get().(*retrBuf)
	cw := &crlfWriter{w: w, buf: rb.conv[:0]}
	_, err = io.CopyBuffer(cw, struct{ io.Reader }{rc}, rb.copy[:]) // the Reader alone: a WriteTo would not use the buffer
	rb.conv = cw.buf[:0]
	retrBufs.Put(rb)
	if err == nil || errors.Is(err, errTopDone) {
		err = dw.Close()
		if err == nil {
			err = bw.Flush()
		}
	}
	if err != nil {
		c.log().Warn("pop3: sending message failed; closing connection", "msg", i+1, "err", err)
		c.closing = true
	}
	return nil
}

// crlfWriter turns a bare LF or bare CR into CRLF, so a store that keeps
// LF line endings can be sent as POP3 requires. A CR at the end of one
// write is paired with an LF at the start of the next. A write that needs
// repair is converted into buf and passed on whole, so the writer below
// sees one write, not two a line.
type crlfWriter struct {
	w      io.Writer
	lastCR bool
	buf    []byte // the converted write; its room is reused
}

var onlyCR = []byte{'\r'}

// retrBuf is the buffers of one message sent: what the copy reads, and
// what crlfWriter converts that into (at most twice as long).
type retrBuf struct {
	copy [32 << 10]byte
	conv []byte
}

var retrBufs = sync.Pool{New: func() any { return &retrBuf{conv: make([]byte, 0, 64<<10)} }}

func (cw *crlfWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !cw.lastCR && p[0] != '\n' && crlfOnly(p) {
		cw.lastCR = p[len(p)-1] == '\r'
		return cw.w.Write(p)
	}
	out := cw.buf[:0]
	// The next CR and LF at or after i: -1 when there is none left,
	// recomputed once passed.
	nextCR, nextLF := indexFrom(p, 0, '\r'), indexFrom(p, 0, '\n')
	for i := 0; i < len(p); {
		if cw.lastCR {
			// A CR was sent: its LF, whether or not p has one.
			cw.lastCR = false
			out = append(out, '\n')
			if p[i] == '\n' {
				i++
			}
			continue
		}
		if nextCR >= 0 && nextCR < i {
			nextCR = indexFrom(p, i, '\r')
		}
		if nextLF >= 0 && nextLF < i {
			nextLF = indexFrom(p, i, '\n')
		}
		j := nextLF
		if nextCR >= 0 && (j < 0 || nextCR < j) {
			j = nextCR
		}
		if j < 0 {
			out = append(out, p[i:]...)
			break
		}
		out = append(out, p[i:j]...)
		out = append(out, '\r')
		if p[j] == '\r' {
			cw.lastCR = true
		} else {
			out = append(out, '\n')
		}
		i = j + 1
	}
	cw.buf = out[:0] // grown, if p was larger than usual
	if _, err := cw.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// indexFrom returns the index of the first c in p at or after i, or -1.
func indexFrom(p []byte, i int, c byte) int {
	if k := bytes.IndexByte(p[i:], c); k >= 0 {
		return i + k
	}
	return -1
}

// crlfOnly reports whether every LF in p after the first byte follows a CR
// and every CR is followed by an LF, except a CR that ends p.
func crlfOnly(p []byte) bool {
	pairs := 0
	for i := 1; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		if p[i+j-1] != '\r' {
			return false
		}
		pairs++
		i += j + 1
	}
	crs := bytes.Count(p, onlyCR)
	if p[len(p)-1] == '\r' {
		crs--
	}
	return crs == pairs
}

// topWriter passes the header, the blank line after it and then lines body
// lines, and fails with errTopDone once they are out (RFC 1939 section 7).
// Its input has CRLF line endings.
type topWriter struct {
	w       io.Writer
	lines   int  // body lines still to pass
	body    bool // the blank line after the header was passed
	lineLen int  // bytes of the current line passed so far
}

func (t *topWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if t.body && t.lines <= 0 {
			return n, errTopDone
		}
		end := len(p)
		i := bytes.IndexByte(p[n:], '\n')
		if i >= 0 {
			end = n + i + 1
		}
		if _, err := t.w.Write(p[n:end]); err != nil {
			return n, err
		}
		if i >= 0 {
			if t.body {
				t.lines--
			} else if t.lineLen+end-n == 2 {
				t.body = true
			}
			t.lineLen = 0
		} else {
			t.lineLen += end - n
		}
		n = end
	}
	return n, nil
}
