package imapmaildir

import (
	"bytes"
	"io"
	"os"
	"sort"
	"sync"
)

// Messages on disk may end their lines with a bare LF, as Dovecot, mutt
// and procmail store them; IMAP sends CRLF. A message whose ",W=" size
// (with CRLF) differs from its ",S=" size is read through crlfContent,
// which inserts a CR before each bare LF. Reads that follow each other (a
// whole message or a range streamed to the client) convert the file as
// they go; a read elsewhere uses the offsets of the bare LFs, found by one
// scan of the file on first need, so that any offset of the converted
// message can be read without holding the message in memory.

// crlfContent is a message file with bare LFs read as CRLF. It is safe for
// concurrent use, as io.ReaderAt requires.
type crlfContent struct {
	f    *os.File
	size int64      // size with CRLF
	pool *sync.Pool // of *[]byte, for buf; nil to allocate

	mu      sync.Mutex
	scanned bool
	lfs     []int64 // file offsets of the bare LFs, ascending, once scanned
	buf     []byte
	// Where the next sequential read continues: the converted offset,
	// the file offset, whether the file byte before it is a CR, and
	// whether the CR of the bare LF at phys was sent but not the LF.
	seqV, seqPhys int64
	prevCR        bool
	pendLF        bool
}

// newCRLFContent returns f read with CRLF, size bytes long as its name
// says. With verify, it scans f first and fails unless the converted size
// is size; without, it trusts size (the metadata cache verified it).
func newCRLFContent(f *os.File, size int64, verify bool, pool *sync.Pool) (*crlfContent, error) {
	c := &crlfContent{f: f, size: size, pool: pool}
	if verify {
		if err := c.scanLocked(); err != nil {
			return nil, err
		}
		if got := c.physSize() + int64(len(c.lfs)); got != size {
			c.size = got
		}
	}
	return c, nil
}

func (c *crlfContent) physSize() int64 {
	fi, err := c.f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// crlfBuffer is the size of the buffer of a crlfContent.
const crlfBuffer = 64 << 10

func (c *crlfContent) buffer() []byte {
	if c.buf == nil {
		if c.pool != nil {
			if b, ok := c.pool.Get().(*[]byte); ok {
				c.buf = *b
			}
		}
		if c.buf == nil {
			c.buf = make([]byte, crlfBuffer)
		}
	}
	return c.buf
}

// scanLocked finds the bare LFs of the file.
func (c *crlfContent) scanLocked() error {
	if c.scanned {
		return nil
	}
	buf := c.buffer()
	var off int64
	prevCR := false
	for {
		n, err := c.f.ReadAt(buf, off)
		chunk := buf[:n]
		for i := 0; i < len(chunk); {
			j := bytes.IndexByte(chunk[i:], '\n')
			if j < 0 {
				break
			}
			p := i + j
			if p == 0 && !prevCR || p > 0 && chunk[p-1] != '\r' {
				c.lfs = append(c.lfs, off+int64(p))
			}
			i = p + 1
		}
		if n > 0 {
			prevCR = chunk[n-1] == '\r'
		}
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	c.scanned = true
	return nil
}

// ReadAt reads the converted message at offset v.
func (c *crlfContent) ReadAt(p []byte, v int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v >= c.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if v != c.seqV {
		if err := c.scanLocked(); err != nil {
			return 0, err
		}
		c.seek(v)
	}
	return c.readSeq(p)
}

// seek sets the sequential position to the converted offset v, with the
// offsets of the bare LFs known.
func (c *crlfContent) seek(v int64) {
	// k bare LFs end (with their CR) at or before v.
	k := sort.Search(len(c.lfs), func(i int) bool { return c.lfs[i]+int64(i)+2 > v })
	c.seqV = v
	c.pendLF = false
	if k < len(c.lfs) && c.lfs[k]+int64(k) < v {
		// v is the LF of the CRLF made of bare LF k.
		c.seqPhys = c.lfs[k]
		c.pendLF = true
		return
	}
	c.seqPhys = v - int64(k)
	c.prevCR = false
	if c.seqPhys > 0 {
		var b [1]byte
		if _, err := c.f.ReadAt(b[:], c.seqPhys-1); err == nil {
			c.prevCR = b[0] == '\r'
		}
	}
}

// readSeq converts the file from the sequential position into p.
func (c *crlfContent) readSeq(p []byte) (int, error) {
	n := 0
	if c.pendLF {
		p[0] = '\n'
		n = 1
		c.pendLF = false
		c.seqPhys++
		c.prevCR = false
	}
	buf := c.buffer()
	for n < len(p) {
		want := min(len(p)-n, len(buf))
		m, err := c.f.ReadAt(buf[:want], c.seqPhys)
		in := buf[:m]
		used := 0
		for used < len(in) && n < len(p) {
			j := bytes.IndexByte(in[used:], '\n')
			if j < 0 {
				k := copy(p[n:], in[used:])
				n += k
				used += k
				continue
			}
			k := copy(p[n:], in[used:used+j])
			n += k
			used += k
			if k < j || n == len(p) {
				break
			}
			// in[used] is an LF.
			bare := used == 0 && !c.prevCR || used > 0 && in[used-1] != '\r'
			if bare {
				p[n] = '\r'
				n++
				if n == len(p) {
					c.pendLF = true
					break
				}
			}
			p[n] = '\n'
			n++
			used++
		}
		if used > 0 {
			c.prevCR = in[used-1] == '\r'
		}
		c.seqPhys += int64(used)
		if c.pendLF {
			break
		}
		if err != nil && used == m {
			c.seqV += int64(n)
			if err == io.EOF {
				return n, io.EOF
			}
			return n, err
		}
	}
	c.seqV += int64(n)
	return n, nil
}

// Close closes the file.
func (c *crlfContent) Close() error {
	c.mu.Lock()
	if c.pool != nil && c.buf != nil {
		b := c.buf
		c.pool.Put(&b)
	}
	c.buf = nil
	c.mu.Unlock()
	return c.f.Close()
}

// crlfReader reads r with each bare LF as CRLF, for a message scanned once
// from its start.
type crlfReader struct {
	r      io.Reader
	buf    []byte
	prevCR bool
	// pending holds converted bytes that did not fit in the last Read.
	pending []byte
}

func newCRLFReader(r io.Reader) *crlfReader {
	return &crlfReader{r: r, buf: make([]byte, 32<<10)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if len(p) < 2 {
		var two [2]byte
		n, err := c.Read(two[:])
		copy(p, two[:n])
		if n > len(p) {
			c.pending = append(c.pending[:0], two[len(p):n]...)
			n = len(p)
		}
		return n, err
	}
	// At most half of p from the file: the conversion at most doubles it.
	m, err := c.r.Read(c.buf[:min(len(p)/2, len(c.buf))])
	in := c.buf[:m]
	n := 0
	for len(in) > 0 {
		j := bytes.IndexByte(in, '\n')
		if j < 0 {
			n += copy(p[n:], in)
			c.prevCR = in[len(in)-1] == '\r'
			break
		}
		n += copy(p[n:], in[:j])
		if j == 0 && !c.prevCR || j > 0 && in[j-1] != '\r' {
			p[n] = '\r'
			n++
		}
		p[n] = '\n'
		n++
		c.prevCR = false
		in = in[j+1:]
	}
	return n, err
}
