package maildir

import (
	"os"
	"testing"
)

// TestMain runs the test binary as one of the helper processes that the
// multi-process tests start, when their environment names one; otherwise
// it runs the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helperProcess(mode)
	}
	if dirs := os.Getenv(crashEnv); dirs != "" {
		crashHelper(dirs)
	}
	os.Exit(m.Run())
}
