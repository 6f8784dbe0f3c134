package smtp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTranscripts plays every testdata/transcripts/*.txt file. A line
// "# server: opt opt=value" configures the server (see newServer).
func TestTranscripts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			script := string(b)
			var options string
			for _, l := range strings.Split(script, "\n") {
				if o, ok := strings.CutPrefix(l, "# server:"); ok {
					options = o
				}
			}
			be := &testBackend{}
			logs := &logBuffer{}
			s := newServer(t, be, options, logs)
			runTranscript(t, s, be, logs, script)
		})
	}
}
