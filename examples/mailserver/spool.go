package main

import (
	"bytes"
	"io"
	"os"
)

// spoolMemory is how much of a spooled message is held in memory.
const spoolMemory = 1 << 20

// spool holds a message: the first spoolMemory bytes in memory, the rest
// in an unlinked temporary file.
type spool struct {
	dir  string
	mem  bytes.Buffer
	file *os.File
}

func newSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &spool{dir: dir}, nil
}

func (sp *spool) Write(p []byte) (int, error) {
	if sp.file == nil && sp.mem.Len()+len(p) <= spoolMemory {
		return sp.mem.Write(p)
	}
	if sp.file == nil {
		f, err := os.CreateTemp(sp.dir, "spool-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name()) // gone when closed, even after a crash
		sp.file = f
	}
	return sp.file.Write(p)
}

// reader returns a reader of everything written, from the start.
func (sp *spool) reader() (io.Reader, error) {
	mem := bytes.NewReader(sp.mem.Bytes())
	if sp.file == nil {
		return mem, nil
	}
	fi, err := sp.file.Stat()
	if err != nil {
		return nil, err
	}
	return io.MultiReader(mem, io.NewSectionReader(sp.file, 0, fi.Size())), nil
}

// size is the number of bytes written.
func (sp *spool) size() (int64, error) {
	n := int64(sp.mem.Len())
	if sp.file != nil {
		fi, err := sp.file.Stat()
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

func (sp *spool) close() {
	if sp.file != nil {
		sp.file.Close()
	}
}
