package imapmaildir

import (
	"bytes"
	"io"
	"os"
	"sort"
)

// Messages on disk may end their lines with a bare LF, as Dovecot, mutt
// and procmail store them; IMAP sends CRLF. A message whose ",W=" size
// (with CRLF) differs from its ",S=" size is read through crlfContent,
// which inserts a CR before each bare LF. It keeps the offsets of the bare
// LFs only, so that any offset of the converted message can be read
// without holding the message in memory.

// crlfContent is a message file with bare LFs read as CRLF.
type crlfContent struct {
	f    *os.File
	lfs  []int64 // file offsets of the bare LFs, ascending
	size int64   // size with CRLF
}

// newCRLFContent scans f for bare LFs.
func newCRLFContent(f *os.File) (*crlfContent, error) {
	c := &crlfContent{f: f}
	buf := make([]byte, 64<<10)
	var off int64
	prevCR := false
	for {
		n, err := f.ReadAt(buf, off)
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
			return nil, err
		}
	}
	c.size = off + int64(len(c.lfs))
	return c, nil
}

// ReadAt reads the converted message at offset v.
func (c *crlfContent) ReadAt(p []byte, v int64) (int, error) {
	if v >= c.size {
		return 0, io.EOF
	}
	// k bare LFs end (with their CR) at or before v.
	k := sort.Search(len(c.lfs), func(i int) bool { return c.lfs[i]+int64(i)+2 > v })
	n := 0
	phys := v - int64(k)
	if k < len(c.lfs) && c.lfs[k]+int64(k) <= v {
		// v falls inside the CRLF of bare LF k.
		if v == c.lfs[k]+int64(k) {
			p[n] = '\r'
			n++
		}
		if n < len(p) {
			p[n] = '\n'
			n++
			phys = c.lfs[k] + 1
			k++
		} else {
			return n, nil
		}
	}
	buf := make([]byte, min(len(p), 64<<10))
	for n < len(p) {
		want := len(p) - n
		if want > len(buf) {
			want = len(buf)
		}
		m, err := c.f.ReadAt(buf[:want], phys)
		for i := 0; i < m && n < len(p); i++ {
			if k < len(c.lfs) && c.lfs[k] == phys+int64(i) {
				p[n] = '\r'
				n++
				if n == len(p) {
					// The LF comes with the next read.
					return n, nil
				}
				k++
			}
			p[n] = buf[i]
			n++
			if n == len(p) {
				return n, nil
			}
		}
		phys += int64(m)
		if err == io.EOF {
			if n < len(p) {
				return n, io.EOF
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Close closes the file.
func (c *crlfContent) Close() error { return c.f.Close() }
