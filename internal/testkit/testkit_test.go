package testkit

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestLogBufferConcurrentWrites(t *testing.T) {
	var l LogBuffer
	log := slog.New(slog.NewTextHandler(&l, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				log.Info("line", "writer", i, "n", j)
			}
		})
	}
	wg.Wait()
	out := l.String()
	if n := strings.Count(out, "\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
	for i := range 8 {
		if !strings.Contains(out, fmt.Sprintf("writer=%d n=99", i)) {
			t.Errorf("writer %d's last line is missing", i)
		}
	}
}
