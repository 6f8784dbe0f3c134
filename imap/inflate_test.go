package imap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"testing"
)

// FuzzInflate checks the inflater against compress/flate: text deflated
// at every level, with sync flushes inside, inflates back to itself, read
// in small pieces; and arbitrary input never panics and stays bounded.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("a NOOP\r\n"), uint8(6))
	f.Add(bytes.Repeat([]byte("All work and no play "), 500), uint8(1))
	f.Add([]byte{0xff, 0x00, 0x12}, uint8(0))
	f.Add([]byte("\x00\x05\x00\xfa\xffhello"), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, level uint8) {
		// Arbitrary input: an error or some text, never more than a
		// stream of that size can expand to.
		inf := newInflater(bufio.NewReader(bytes.NewReader(data)))
		got, _ := io.ReadAll(io.LimitReader(inf, 300*int64(len(data))+300))
		if len(got) > 260*8*len(data)+1 {
			t.Fatalf("%d bytes from %d", len(got), len(data))
		}
		// Deflated text inflates back.
		var z bytes.Buffer
		zw, err := flate.NewWriter(&z, int(level%12)-2)
		if err != nil {
			t.Fatalf("flate.NewWriter(level %d): %v", int(level%12)-2, err)
		}
		for i := 0; i < len(data); i += 100 {
			zw.Write(data[i:min(len(data), i+100)])
			if level&0x10 != 0 {
				zw.Flush()
			}
		}
		zw.Close()
		inf = newInflater(bufio.NewReader(bytes.NewReader(z.Bytes())))
		var out []byte
		buf := make([]byte, 7)
		for {
			n, err := inf.Read(buf)
			out = append(out, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("inflating compress/flate output: %v", err)
			}
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("inflated %d bytes, want %d", len(out), len(data))
		}
	})
}
