package imap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"io"
	"net"
	"strings"
	"sync"
)

// COMPRESS=DEFLATE (RFC 4978): after the tagged OK both directions are a
// raw DEFLATE stream (RFC 1951, no zlib header).
//
// The server's inflater (inflate.go, not compress/flate's, which holds
// back the text of a block ended by zlib's Z_PARTIAL_FLUSH) holds its
// 32 KiB window and tables (about 36 KiB a connection), and its output buffers 16 KiB of text and one compressed
// segment. Its output is a run of segments, one for each response
// burst (what the connection writes before it waits for the client, or
// every 16 KiB of a long response), each compressed on its own and ended
// with a sync flush (an empty stored block), so the client can decode
// every response as soon as it arrives. As no segment refers to an earlier
// one, the deflater (some 800 KiB in compress/flate) is not kept with the
// connection but borrowed from a pool of the Server for each segment:
// memory grows with the connections writing at the same moment, not with
// those open.

// deflaters is a pool of *flate.Writer shared by a Server's connections.
type deflaters struct{ pool sync.Pool }

func (p *deflaters) get(w io.Writer) *flate.Writer {
	if fw, ok := p.pool.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, flate.DefaultCompression) // the level is valid
	return fw
}

// maxSegment bounds the text of one compressed segment.
const maxSegment = 16 << 10

// segmentWriter compresses each Write (cut at maxSegment) as one segment
// ended by a sync flush, and sends each segment with one write.
type segmentWriter struct {
	dst  io.Writer
	pool *deflaters
	buf  bytes.Buffer // the compressed segment
}

func (w *segmentWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxSegment)]
		w.buf.Reset()
		fw := w.pool.get(&w.buf)
		fw.Write(chunk) // writes to a bytes.Buffer do not fail
		fw.Flush()
		fw.Reset(io.Discard) // drop the reference to the buffer
		w.pool.pool.Put(fw)
		if _, err := w.dst.Write(w.buf.Bytes()); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// compressMechanisms are the mechanisms COMPRESS takes.
const compressDeflate = "DEFLATE"

func (c *conn) cmdCompress(cmd *command) error {
	if c.compressed {
		return &Error{Type: StatusNo, Code: CodeCompressionActive, Text: "Compression is already active"}
	}
	if !strings.EqualFold(cmd.mech, compressDeflate) {
		return &Error{Type: StatusBad, Text: "Unknown compression mechanism"}
	}
	c.writeString(cmd.tag + " OK DEFLATE active\r\n")
	if err := c.bw.Flush(); err != nil {
		c.bye = true
		return errReplied
	}
	// Bytes the client pipelined after the command are compressed
	// already: the inflater reads them from the old buffer first.
	src := c.br
	c.br = bufio.NewReaderSize(newInflater(src), 4096)
	c.bw = bufio.NewWriterSize(&segmentWriter{dst: deadlineWriter{c}, pool: &c.srv.deflaters}, 16<<10)
	c.dec = newDecoder(c.br, c.lim, c.continuation)
	c.dec.saved = c.savedSet
	c.compressed = true
	return errReplied
}

// CodeCompressionActive is the response code of a second COMPRESS (RFC
// 4978 section 3).
const CodeCompressionActive ResponseCode = "COMPRESSIONACTIVE"

// compressConn is a client connection after COMPRESS: reads inflate,
// every Write is compressed and flushed, so each command reaches the
// server whole. Deadlines and Close go to the underlying connection.
type compressConn struct {
	net.Conn
	r   io.Reader
	w   *flate.Writer // writes to buf
	buf bytes.Buffer
}

func (c *compressConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *compressConn) Write(p []byte) (int, error) {
	c.buf.Reset()
	c.w.Write(p) // writes to a bytes.Buffer do not fail
	c.w.Flush()
	if _, err := c.Conn.Write(c.buf.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Compress turns on COMPRESS=DEFLATE (RFC 4978) when the server offers
// it; from then on both directions are compressed. It runs alone, after
// every pipelined command has finished. It fails with an [*Error] when
// the server refuses (a second Compress: NO [COMPRESSIONACTIVE]).
func (c *Client) Compress(ctx context.Context) error {
	c.excl.Lock()
	defer c.excl.Unlock()
	if _, err := c.send(ctx, "COMPRESS", []arg{rawArg(compressDeflate)}, nil); err != nil {
		return err
	}
	cc := &compressConn{Conn: c.conn, r: newInflater(c.br)}
	cc.w, _ = flate.NewWriter(&cc.buf, flate.DefaultCompression) // the level is valid
	c.setConn(cc)
	return nil
}
