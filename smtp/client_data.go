package smtp

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"time"

	"github.com/heraldmail/herald/internal/wire"
)

// clientWriter is the transport under the client's bufio.Writer. While a
// message is streamed it gives every write a fresh deadline of
// DataBlockTimeout (RFC 5321 section 4.5.3.2.5), bounded by the context.
type clientWriter struct{ c *Client }

func (w clientWriter) Write(p []byte) (int, error) {
	c := w.c
	if c.blockTimeout > 0 {
		dl := time.Now().Add(c.blockTimeout)
		if cd, ok := c.blockCtx.Deadline(); ok && cd.Before(dl) {
			dl = cd
		}
		c.conn.SetWriteDeadline(dl)
		if c.blockCtx.Err() != nil {
			// Cancelled between the check and the deadline: the
			// AfterFunc may have run before SetWriteDeadline.
			c.conn.SetWriteDeadline(time.Unix(1, 0))
		}
	}
	return c.conn.Write(p)
}

// clientReader reads from the current transport, which changes after
// STARTTLS.
type clientReader struct{ c *Client }

func (r clientReader) Read(p []byte) (int, error) { return r.c.conn.Read(p) }

// startBlocks enters the data phase: writes get per-block deadlines and a
// cancellation of ctx interrupts them. endBlocks leaves it.
func (c *Client) startBlocks(ctx context.Context) clientArmed {
	c.blockCtx = ctx
	c.blockTimeout = c.timeout(c.opts.DataBlockTimeout, DefaultDataBlockTimeout)
	return c.arm(ctx, c.blockTimeout)
}

// endBlocks leaves the data phase and returns the context's error if it
// ended meanwhile. It may be called more than once.
func (c *Client) endBlocks(a *clientArmed) error {
	c.blockTimeout = 0
	c.blockCtx = nil
	return a.disarm()
}

// clientEndingWriter passes message data on with every line ending checked: a
// bare CR or bare LF fails with ErrBareLineEnding, or becomes CRLF when
// normalize is set. Nothing of a refused piece is written.
type clientEndingWriter struct {
	w         io.Writer
	normalize bool
	cr        bool // the last byte written was CR
	bol       bool // at the start of a line (or nothing written)
	started   bool
	scratch   []byte
}

func (e *clientEndingWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if e.normalize {
		return e.writeNormalized(p)
	}
	if err := clientCheckEndings(p, e.cr); err != nil {
		return 0, err
	}
	n, err := e.w.Write(p)
	e.track(p[:n])
	return n, err
}

// clientCheckEndings reports ErrBareLineEnding unless every CR in p is
// followed by LF and every LF preceded by CR; cr says the byte before p was
// a CR, and a CR at the end of p may find its LF in the next piece. It
// scans with IndexByte, line by line.
func clientCheckEndings(p []byte, cr bool) error {
	if cr {
		if p[0] != '\n' {
			return ErrBareLineEnding
		}
		p = p[1:]
	}
	for len(p) > 0 {
		j := bytes.IndexByte(p, '\n')
		line := p
		if j >= 0 {
			line = p[:j]
		}
		k := bytes.IndexByte(line, '\r')
		if j < 0 {
			// No LF left: a CR may only end the piece.
			if k >= 0 && k != len(line)-1 {
				return ErrBareLineEnding
			}
			return nil
		}
		// The line's only CR must be its last byte, right before the LF.
		if k != len(line)-1 || k < 0 {
			return ErrBareLineEnding
		}
		p = p[j+1:]
	}
	return nil
}

func (e *clientEndingWriter) track(p []byte) {
	if len(p) == 0 {
		return
	}
	e.started = true
	last := p[len(p)-1]
	e.cr = last == '\r'
	e.bol = last == '\n'
}

func (e *clientEndingWriter) writeNormalized(p []byte) (int, error) {
	out := e.scratch[:0]
	cr := e.cr
	for _, b := range p {
		switch {
		case cr && b == '\n':
			out = append(out, '\n')
			cr = false
			continue
		case cr:
			out = append(out, '\n')
			cr = false
		}
		switch b {
		case '\r':
			out = append(out, '\r')
			cr = true
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, b)
		}
	}
	e.scratch = out[:0]
	if cap(e.scratch) > 64<<10 {
		e.scratch = nil
	}
	if _, err := e.w.Write(out); err != nil {
		return 0, err
	}
	e.track(out)
	return len(p), nil
}

// finish completes the last line with CRLF (RFC 5322 text ends with one).
func (e *clientEndingWriter) finish() error {
	var err error
	switch {
	case e.cr:
		_, err = e.w.Write([]byte{'\n'})
	case e.started && !e.bol:
		_, err = e.w.Write([]byte{'\r', '\n'})
	}
	e.cr, e.bol = false, true
	return err
}

// DataWriter streams a message after DATA with dot-stuffing. Write fails
// with ErrBareLineEnding on a bare CR or LF (unless the client normalises
// them); the connection is then closed, since a half-sent message can only
// be abandoned by dropping the connection. Close ends the data and reads
// the reply, or one reply per accepted recipient in LMTP.
type DataWriter struct {
	c      *Client
	ctx    context.Context
	head   io.Writer
	dot    *wire.DotWriter
	armed  clientArmed
	rcpts  int // replies expected after the data (LMTP)
	err    error
	closed bool
	reply  *Reply
	lmtp   []*Reply
}

// Data sends DATA (RFC 5321 section 4.1.1.4), waits for 354 and returns a
// writer for the message. ctx bounds the whole message, including Close.
// In LMTP mode Close reads one reply per recipient that Rcpt accepted;
// LMTPReplies returns them.
func (c *Client) Data(ctx context.Context) (*DataWriter, error) {
	if err := c.ensureHello(ctx); err != nil {
		return nil, err
	}
	if _, err := c.cmd(ctx, "DATA", c.timeout(c.opts.DataInitTimeout, DefaultDataInitTimeout), 3, "DATA"); err != nil {
		return nil, err
	}
	return c.newDataWriter(ctx, c.txRcpts), nil
}

func (c *Client) newDataWriter(ctx context.Context, rcpts int) *DataWriter {
	d := &DataWriter{c: c, ctx: ctx, rcpts: rcpts}
	d.dot = wire.NewDotWriter(c.w)
	d.head = d.dot
	if c.opts.LineEndings == LineEndingsNormalize {
		d.head = &clientEndingWriter{w: d.dot, normalize: true}
	}
	d.armed = c.startBlocks(ctx)
	return d
}

// Write implements io.Writer.
func (d *DataWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.closed {
		return 0, &CommandError{Command: "DATA", Err: io.ErrClosedPipe}
	}
	n, err := d.head.Write(p)
	if err != nil {
		d.fail(err)
		return n, d.err
	}
	return n, nil
}

// ReadFrom copies r into the message; it lets io.Copy skip a buffer.
func (d *DataWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := d.c.copyBuffer()
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := d.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			// The message cannot be finished: drop the connection
			// so that the server discards it.
			d.fail(rerr)
			return total, d.err
		}
	}
}

// fail abandons the message: the connection is closed without the final
// dot, so no partial message is delivered.
func (d *DataWriter) fail(err error) {
	if cerr := d.c.endBlocks(&d.armed); cerr != nil {
		err = cerr
	}
	d.err = d.c.fatal(&CommandError{Command: "DATA", Err: err})
}

// Close ends the data with CRLF "." CRLF and waits for the server's reply
// (RFC 5321 section 4.5.3.2.6: up to 10 minutes). It returns the refusal
// as an *Error in a *CommandError. In LMTP mode it returns an error only
// when no recipient got the message; LMTPReplies says which did.
func (d *DataWriter) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.closed {
		return nil
	}
	d.closed = true
	if err := d.dot.Close(); err != nil {
		d.fail(err)
		return d.err
	}
	c := d.c
	if err := c.w.Flush(); err != nil {
		d.fail(err)
		return d.err
	}
	if cerr := d.c.endBlocks(&d.armed); cerr != nil {
		return c.fatal(&CommandError{Command: "DATA", Err: cerr})
	}
	c.inTx = false
	tt := c.timeout(c.opts.DataTermTimeout, DefaultDataTermTimeout)
	if !c.opts.LMTP {
		reply, err := c.read(d.ctx, "DATA", tt)
		if err != nil {
			return err
		}
		d.reply = reply
		return c.check("DATA", reply, 2)
	}
	var first error
	ok := false
	for range d.rcpts {
		reply, err := c.read(d.ctx, "DATA", tt)
		if err != nil {
			return err
		}
		d.lmtp = append(d.lmtp, reply)
		if err := c.check("DATA", reply, 2); err != nil {
			if c.broken != nil {
				return err
			}
			if first == nil {
				first = err
			}
			continue
		}
		ok = true
	}
	if !ok && first != nil {
		return first
	}
	return nil
}

// Reply returns the server's reply to the end of the data, nil before
// Close or in LMTP mode.
func (d *DataWriter) Reply() *Reply { return d.reply }

// LMTPReplies returns the replies read by Close in LMTP mode, one per
// accepted recipient in the order of the RCPT commands.
func (d *DataWriter) LMTPReplies() []*Reply { return d.lmtp }

// clientBdatWriter sends a message in BDAT chunks (RFC 3030) of at most
// ClientOptions.ChunkSize, waiting for the reply to each. finish sends the
// last chunk with LAST and leaves its reply (or, in LMTP, replies) to the
// caller.
type clientBdatWriter struct {
	c    *Client
	ctx  context.Context
	buf  []byte
	max  int
	sent int64
	err  error
}

func (c *Client) chunkSize() int {
	if c.opts.ChunkSize > 0 {
		return c.opts.ChunkSize
	}
	return DefaultChunkSize
}

func (b *clientBdatWriter) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n := 0
	for len(p) > 0 {
		if len(b.buf) == b.max {
			if err := b.send(false); err != nil {
				return n, err
			}
		}
		room := b.max - len(b.buf)
		take := min(room, len(p))
		if cap(b.buf)-len(b.buf) < take {
			nb := make([]byte, len(b.buf), min(max(2*cap(b.buf), len(b.buf)+take, 4096), b.max))
			copy(nb, b.buf)
			b.buf = nb
		}
		b.buf = append(b.buf, p[:take]...)
		p = p[take:]
		n += take
	}
	return n, nil
}

// send writes "BDAT n [LAST]" and the buffered chunk. For a chunk that is
// not the last it reads the reply; a refusal ends the transaction.
func (b *clientBdatWriter) send(last bool) error {
	c := b.c
	line := "BDAT " + strconv.Itoa(len(b.buf))
	if last {
		line += " LAST"
	}
	c.writeLine(line)
	armed := c.startBlocks(b.ctx)
	_, err := c.w.Write(b.buf)
	if err == nil {
		err = c.w.Flush()
	}
	if cerr := c.endBlocks(&armed); cerr != nil {
		err = cerr
	}
	if err != nil {
		b.err = c.fatal(&CommandError{Command: "BDAT", Err: err})
		return b.err
	}
	b.sent += int64(len(b.buf))
	b.buf = b.buf[:0]
	if last {
		return nil
	}
	reply, err := c.read(b.ctx, "BDAT", c.timeout(c.opts.DataTermTimeout, DefaultDataTermTimeout))
	if err == nil {
		err = c.check("BDAT", reply, 2)
	}
	if err != nil {
		b.err = err
	}
	return err
}

// copyBuffer returns the client's buffer for copying message bodies.
func (c *Client) copyBuffer() []byte {
	if c.copyBuf == nil {
		c.copyBuf = make([]byte, 32<<10)
	}
	return c.copyBuf
}
