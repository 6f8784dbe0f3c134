// Package testkit holds small helpers that the tests of several Herald
// packages share. It is imported by tests only.
package testkit

import (
	"strings"
	"sync"
)

// LogBuffer collects the output of a logger written from several
// goroutines, so that a test can check what was logged (and that internal
// error text went to the log rather than to the wire).
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
