package imapmaildir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
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

// crlfReaders keeps the readers, and their buffers, of the summaries made
// of one message after another.
var crlfReaders = sync.Pool{New: func() any { return newCRLFReader(nil) }}

// reset makes c read r from its start.
func (c *crlfReader) reset(r io.Reader) {
	c.r, c.prevCR, c.pending = r, false, c.pending[:0]
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

// smallFile is the largest message file Open reads whole, in one read,
// into a buffer of the pool of crlfContent (a read of smallFile+1 bytes
// tells the size): a FETCH of many small messages then costs an open, a
// read and a close per message, and the conversion runs on memory.
const smallFile = crlfBuffer - 1

// errFileSize is the error of a message file whose size is not the one
// its name gives.
var errFileSize = errors.New("the file does not have the size in its name")

// openSmall reads the message file path (relative to the directory dirfd,
// or unix.AT_FDCWD), raw bytes long as its name says and size bytes with
// CRLF, into a buffer of pool. With verify, the size with CRLF is counted
// and must be size; without, it is trusted (the metadata cache verified
// it).
func openSmall(dirfd int, path string, size, raw int64, verify bool, pool *sync.Pool) (*memContent, error) {
	if raw < 0 || raw > smallFile {
		return nil, errors.New("imapmaildir: not a small file")
	}
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var bp *[]byte
	if b, ok := pool.Get().(*[]byte); ok && cap(*b) >= crlfBuffer {
		bp = b
	} else {
		b := make([]byte, crlfBuffer)
		bp = &b
	}
	// One read normally does: a read of a regular file returns fewer
	// bytes than asked for only at the file's end, so a short read that
	// gave the raw bytes ends it without a second read to see the end.
	buf := (*bp)[:raw+1]
	n := 0
	for n < len(buf) {
		m, err := unix.Pread(fd, buf[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			pool.Put(bp)
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
		if n == int(raw) {
			break
		}
	}
	unix.Close(fd)
	c := &memContent{data: buf[:n], bp: bp, pool: pool, size: size}
	if int64(n) != raw || verify && raw+bareLFs(c.data) != size {
		pool.Put(bp)
		return nil, errFileSize
	}
	c.crlf = raw != size
	return c, nil
}

// bareLFs counts the LFs of b that no CR precedes.
func bareLFs(b []byte) int64 {
	var n int64
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return n
		}
		i += j
		if i == 0 || b[i-1] != '\r' {
			n++
		}
		i++
	}
}

// memContent is a message file held in memory, with bare LFs read as
// CRLF when crlf is set. It is safe for concurrent use.
type memContent struct {
	data []byte
	bp   *[]byte // data's buffer, back to pool at Close
	pool *sync.Pool
	size int64 // with CRLF
	crlf bool

	mu sync.Mutex
	// Where the next sequential read continues: the converted offset,
	// the offset in data, and whether the CR of the bare LF at phys was
	// sent but not the LF.
	seqV, phys int64
	pendLF     bool
}

// ReadAt reads the converted message at offset v.
func (c *memContent) ReadAt(p []byte, v int64) (int, error) {
	if v < 0 {
		return 0, errors.New("imapmaildir: negative offset")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data == nil {
		return 0, os.ErrClosed
	}
	if v >= c.size {
		return 0, io.EOF
	}
	var n int
	if !c.crlf {
		n = copy(p, c.data[v:])
	} else {
		if v != c.seqV {
			c.seek(v)
		}
		n = c.convert(p)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// seek sets the sequential position to the converted offset v, walking
// the data from its start.
func (c *memContent) seek(v int64) {
	var virt, phys int64
	c.pendLF = false
	for {
		j := int64(bytes.IndexByte(c.data[phys:], '\n'))
		if j < 0 || virt+j >= v {
			c.seqV, c.phys = v, phys+(v-virt)
			return
		}
		virt, phys = virt+j, phys+j
		// c.data[phys] is an LF.
		if phys == 0 || c.data[phys-1] != '\r' {
			if v == virt+1 {
				c.seqV, c.phys, c.pendLF = v, phys, true
				return
			}
			virt++
		}
		virt++
		phys++
	}
}

// convert copies the data from the sequential position into p, with a CR
// before each bare LF.
func (c *memContent) convert(p []byte) int {
	d := c.data
	n := 0
	phys := c.phys
	if c.pendLF && len(p) > 0 {
		p[0] = '\n'
		n = 1
		phys++
		c.pendLF = false
	}
	for n < len(p) && phys < int64(len(d)) {
		rest := d[phys:]
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			k := copy(p[n:], rest)
			n += k
			phys += int64(k)
			break
		}
		k := copy(p[n:], rest[:j])
		n += k
		phys += int64(k)
		if k < j || n == len(p) {
			break
		}
		// d[phys] is an LF.
		if phys == 0 || d[phys-1] != '\r' {
			p[n] = '\r'
			n++
			if n == len(p) {
				c.pendLF = true
				break
			}
		}
		p[n] = '\n'
		n++
		phys++
	}
	c.phys = phys
	c.seqV += int64(n)
	return n
}

// Close gives the buffer back to the pool.
func (c *memContent) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data == nil {
		return os.ErrClosed
	}
	c.data = nil
	c.pool.Put(c.bp)
	return nil
}
