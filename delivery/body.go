package delivery

import (
	"bytes"
	"io"
	"os"
)

// Body is the source of a message that delivery may read more than once,
// since one message goes to several hosts and, after a temporary failure,
// to the same host again. Reader returns a fresh reader positioned at the
// start of the message each time it is called.
type Body interface {
	Reader() (io.Reader, error)
}

// BodyFunc adapts a function to the Body interface.
type BodyFunc func() (io.Reader, error)

// Reader calls f.
func (f BodyFunc) Reader() (io.Reader, error) { return f() }

// sizedBody is a Body over an io.ReaderAt of known size.
type sizedBody struct {
	r    io.ReaderAt
	size int64
}

// NewBody returns a Body that reads size bytes of r from offset 0, such as an
// *os.File of the spool. Each reader is an independent io.SectionReader, so
// readers may be used at the same time.
func NewBody(r io.ReaderAt, size int64) Body {
	return sizedBody{r: r, size: size}
}

// BytesBody returns a Body over b, which must not change while it is in use.
func BytesBody(b []byte) Body {
	return sizedBody{r: bytes.NewReader(b), size: int64(len(b))}
}

func (b sizedBody) Reader() (io.Reader, error) {
	return io.NewSectionReader(b.r, 0, b.size), nil
}

// Size returns the message size, used for the SIZE parameter.
func (b sizedBody) Size() int64 { return b.size }

// bodySize returns the size of body when it is known, else 0.
func bodySize(body Body) int64 {
	if s, ok := body.(interface{ Size() int64 }); ok {
		return s.Size()
	}
	return 0
}

// fileBody opens path for each reader; the queue uses it so that no file
// descriptor is held between attempts.
type fileBody struct {
	f    *os.File
	size int64
}

func (b *fileBody) Reader() (io.Reader, error) {
	return io.NewSectionReader(b.f, 0, b.size), nil
}

func (b *fileBody) Size() int64 { return b.size }
