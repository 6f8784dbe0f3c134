package imapmaildir

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/iotest"

	"golang.org/x/sys/unix"
)

func crlf(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func FuzzCRLFContent(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\n\n"), int64(0), 3)
	f.Add([]byte("\n\n\r\n\n"), int64(1), 1)
	f.Add([]byte("no newline"), int64(4), 100)
	dir := f.TempDir()
	var pool sync.Pool
	f.Fuzz(func(t *testing.T, data []byte, off int64, n int) {
		if n <= 0 || n > 1<<16 {
			return
		}
		p := filepath.Join(dir, "m")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fl, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fl.Close()
		want := crlf(data)
		c, err := newCRLFContent(fl, 1, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.size != int64(len(want)) {
			t.Fatalf("size %d, want %d", c.size, len(want))
		}
		all, err := io.ReadAll(io.NewSectionReader(c, 0, c.size))
		if err != nil || !bytes.Equal(all, want) {
			t.Fatalf("whole: %q, %v; want %q", all, err, want)
		}
		// Unverified, read sequentially in pieces of n bytes, with a
		// read elsewhere in between, then on.
		seq, _ := newCRLFContent(fl, int64(len(want)), false, &pool)
		var got []byte
		buf := make([]byte, n)
		for v := int64(0); v < seq.size; {
			if v == int64(n) {
				one := make([]byte, 1)
				seq.ReadAt(one, off%max(seq.size, 1))
			}
			m, err := seq.ReadAt(buf, v)
			got = append(got, buf[:m]...)
			v += int64(m)
			if err != nil || m == 0 {
				break
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("sequential by %d: %q; want %q", n, got, want)
		}
		// The scanning reader, in reads of n bytes from a reader that
		// gives one byte at a time.
		got, err = io.ReadAll(&chunkReader{newCRLFReader(iotest.OneByteReader(bytes.NewReader(data))), n})
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("crlfReader by %d: %q, %v; want %q", n, got, err, want)
		}
		got, _ = io.ReadAll(newCRLFReader(bytes.NewReader(data)))
		if !bytes.Equal(got, want) {
			t.Fatalf("crlfReader: %q; want %q", got, want)
		}
		if off < 0 {
			off = -off
		}
		m, err := c.ReadAt(buf, off)
		var exp []byte
		if off < int64(len(want)) {
			exp = want[off:min(int64(len(want)), off+int64(n))]
		}
		if !bytes.Equal(buf[:m], exp) || m < n && err == nil {
			t.Fatalf("ReadAt(%d, %d) = %q, %v; want %q", n, off, buf[:m], err, exp)
		}
	})
}

// chunkReader reads at most n bytes at a time.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// FuzzMemContent reads a small message file through openSmall: whole,
// sequentially in pieces of n bytes with a read at off in between, and at
// off, against the file converted at once; and a size that is not the
// file's is refused.
func FuzzMemContent(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\n\n"), int64(0), 3)
	f.Add([]byte("\n\n\r\n\n"), int64(1), 1)
	f.Add([]byte("\r\n\r\r\n\n"), int64(2), 2)
	f.Add([]byte("no newline"), int64(4), 100)
	f.Add([]byte{}, int64(0), 1)
	dir := f.TempDir()
	var pool sync.Pool
	f.Fuzz(func(t *testing.T, data []byte, off int64, n int) {
		if n <= 0 || n > 1<<16 || len(data) > smallFile {
			return
		}
		if off < 0 {
			off = -off
		}
		p := filepath.Join(dir, "m")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		want := crlf(data)
		size, raw := int64(len(want)), int64(len(data))
		if _, err := openSmall(unix.AT_FDCWD, p, size, raw+1, false, &pool); err != errFileSize {
			t.Fatalf("file shorter than its name: %v", err)
		}
		if raw > 0 {
			if _, err := openSmall(unix.AT_FDCWD, p, size, raw-1, false, &pool); err != errFileSize {
				t.Fatalf("file longer than its name: %v", err)
			}
		}
		if bareLFs(data) > 0 {
			if _, err := openSmall(unix.AT_FDCWD, p, size+1, raw, true, &pool); err != errFileSize {
				t.Fatalf("wrong size with CRLF verified: %v", err)
			}
		}
		c, err := openSmall(unix.AT_FDCWD, p, size, raw, true, &pool)
		if err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(io.NewSectionReader(c, 0, size))
		if err != nil || !bytes.Equal(all, want) {
			t.Fatalf("whole: %q, %v; want %q", all, err, want)
		}
		var got []byte
		buf := make([]byte, n)
		for v := int64(0); v < size; {
			if v == int64(n) {
				one := make([]byte, 1)
				c.ReadAt(one, off%max(size, 1))
			}
			m, err := c.ReadAt(buf, v)
			got = append(got, buf[:m]...)
			v += int64(m)
			if err != nil || m == 0 {
				break
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("sequential by %d: %q; want %q", n, got, want)
		}
		m, err := c.ReadAt(buf, off)
		var exp []byte
		if off < size {
			exp = want[off:min(size, off+int64(n))]
		}
		if !bytes.Equal(buf[:m], exp) || m < n && err == nil {
			t.Fatalf("ReadAt(%d, %d) = %q, %v; want %q", n, off, buf[:m], err, exp)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReadAt(buf, 0); err == nil && size > 0 {
			t.Fatal("ReadAt after Close succeeded")
		}
	})
}
