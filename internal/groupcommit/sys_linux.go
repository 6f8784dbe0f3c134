package groupcommit

import (
	"os"

	"golang.org/x/sys/unix"
)

const syncfsSupported = true

// fdatasync flushes f's data and the metadata needed to read it back.
func fdatasync(f *os.File) error {
	return control(f, func(fd int) error { return unix.Fdatasync(fd) }, "fdatasync")
}

// syncfs flushes the whole file system holding f (Linux 5.8 and later
// report write-back errors from it).
func syncfs(f *os.File) error {
	return control(f, unix.Syncfs, "syncfs")
}

func device(f *os.File) (uint64, error) {
	var dev uint64
	err := control(f, func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		dev = st.Dev
		return nil
	}, "fstat")
	return dev, err
}

// control runs op on f's descriptor, which f's own reference counting keeps
// open meanwhile; a closed f gives os.ErrClosed.
func control(f *os.File, op func(int) error, name string) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) {
		for {
			opErr = op(int(fd))
			if opErr != unix.EINTR {
				break
			}
		}
	}); err != nil {
		// Control fails only on a file closed meanwhile.
		return &os.PathError{Op: name, Path: f.Name(), Err: os.ErrClosed}
	}
	if opErr != nil {
		return &os.PathError{Op: name, Path: f.Name(), Err: opErr}
	}
	return nil
}
