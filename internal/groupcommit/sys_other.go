//go:build !linux

package groupcommit

import (
	"errors"
	"os"
)

const syncfsSupported = false

func fdatasync(f *os.File) error { return f.Sync() }

func syncfs(*os.File) error { return errors.ErrUnsupported }

func device(*os.File) (uint64, error) { return 0, errors.ErrUnsupported }
