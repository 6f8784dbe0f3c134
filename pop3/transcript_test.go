package pop3_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTranscripts plays every testdata/transcripts/*.txt file over
// net.Pipe against the in-memory backend. A line "# server: opt ..."
// configures the server (see newServer); a line "# logs: text" says the
// server's log must contain text, and "# nologs: text" that it must not.
func TestTranscripts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			script := string(b)
			var options string
			var logWant, logNot []string
			for _, l := range strings.Split(script, "\n") {
				if o, ok := strings.CutPrefix(l, "# server:"); ok {
					options = o
				}
				if o, ok := strings.CutPrefix(l, "# logs: "); ok {
					logWant = append(logWant, o)
				}
				if o, ok := strings.CutPrefix(l, "# nologs: "); ok {
					logNot = append(logNot, o)
				}
			}
			logs := &logBuffer{}
			be := newBackend(t)
			s := newServer(t, be, options, logs)
			nc, done := pipeConnDone(t, s)
			runTranscript(t, nc, script)
			nc.Close()
			<-done
			for _, w := range logWant {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, logs)
				}
			}
			for _, w := range logNot {
				if strings.Contains(logs.String(), w) {
					t.Errorf("log has %q:\n%s", w, logs)
				}
			}
		})
	}
}
