package imapmaildir

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
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
		c, err := newCRLFContent(fl)
		if err != nil {
			t.Fatal(err)
		}
		want := crlf(data)
		if c.size != int64(len(want)) {
			t.Fatalf("size %d, want %d", c.size, len(want))
		}
		all, err := io.ReadAll(io.NewSectionReader(c, 0, c.size))
		if err != nil || !bytes.Equal(all, want) {
			t.Fatalf("whole: %q, %v; want %q", all, err, want)
		}
		if off < 0 {
			off = -off
		}
		buf := make([]byte, n)
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
