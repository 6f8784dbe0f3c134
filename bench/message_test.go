package bench

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/heraldmail/herald/message"
)

// messageCorpus loads every message under ../testdata/messages, the
// messages of the mbox files split apart without their envelope lines
// (licences and metadata skipped),
// and returns them with the total size of their header sections, which is
// what the benchmarks parse.
func messageCorpus(tb testing.TB) ([][]byte, int64) {
	tb.Helper()
	var msgs [][]byte
	var hdrBytes int64
	err := filepath.WalkDir(filepath.Join("..", "testdata", "messages"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.Contains(strings.ToLower(name), "license") || strings.Contains(name, "COPYRIGHT") ||
			strings.HasSuffix(name, ".json") || strings.HasSuffix(name, "-summary.txt") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		parts := [][]byte{b}
		if strings.Contains(name, ".mbox") {
			parts = splitMboxMessages(b)
		}
		for _, m := range parts {
			msgs = append(msgs, m)
			hdrBytes += int64(headerLen(m))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(msgs) < 100 {
		tb.Fatalf("corpus has %d messages", len(msgs))
	}
	return msgs, hdrBytes
}

// splitMboxMessages splits an mbox file at its "From " lines (RFC 4155)
// and drops those envelope lines, which only Herald tolerates, so that every
// library is given the same plain messages.
func splitMboxMessages(b []byte) [][]byte {
	var msgs [][]byte
	start := -1
	for i := 0; i < len(b); {
		next := len(b)
		if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
			next = i + j + 1
		}
		if bytes.HasPrefix(b[i:], []byte("From ")) {
			if start >= 0 {
				msgs = append(msgs, b[start:i])
			}
			start = next
		}
		i = next
	}
	if start >= 0 && start < len(b) {
		msgs = append(msgs, b[start:])
	}
	return msgs
}

// headerLen is the length of the header section including the blank line,
// found the same way for every library: the first empty line.
func headerLen(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return len(b)
		}
		line := b[i : i+j+1]
		i += j + 1
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			return i
		}
	}
	return len(b)
}

// headerParsers are the libraries compared, each parsing one message's
// header the way its documentation shows.
var headerParsers = []struct {
	name  string
	parse func([]byte) error
}{
	{"herald", func(m []byte) error {
		_, err := message.ReadMessage(bytes.NewReader(m), nil)
		return err
	}},
	{"herald-plain-reader", func(m []byte) error {
		// The same through a reader that hides its length, as a network
		// connection would: no size hint for the first buffer.
		_, err := message.ReadMessage(plainReader{bytes.NewReader(m)}, nil)
		return err
	}},
	{"net-mail", func(m []byte) error {
		_, err := mail.ReadMessage(bytes.NewReader(m))
		return err
	}},
	{"go-message-textproto", func(m []byte) error {
		_, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(m)))
		return err
	}},
}

// plainReader hides the Len method of the reader it wraps.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// BenchmarkReadHeaderInterleaved runs the libraries in turn within every
// op, so that all three see the same machine load even on a busy shared
// machine. For each it reports throughput by wall clock (MB/s) and by the
// CPU time the process spent, garbage collection included (cpu-MB/s), which
// load from other processes disturbs less; and Herald's speedup over each.
func BenchmarkReadHeaderInterleaved(b *testing.B) {
	msgs, hdrBytes := messageCorpus(b)
	wall := make([]time.Duration, len(headerParsers))
	cpu := make([]time.Duration, len(headerParsers))
	// Each turn is several passes, so that the garbage collection one
	// library's garbage triggers is mostly paid within its own turn.
	const passes = 10
	for b.Loop() {
		for i, lib := range headerParsers {
			c0, w0 := cpuTime(), time.Now()
			for range passes {
				for _, m := range msgs {
					lib.parse(m)
				}
			}
			wall[i] += time.Since(w0)
			cpu[i] += cpuTime() - c0
		}
	}
	for i, lib := range headerParsers {
		total := float64(hdrBytes) * passes * float64(b.N) / 1e6
		b.ReportMetric(total/wall[i].Seconds(), lib.name+"-MB/s")
		b.ReportMetric(total/cpu[i].Seconds(), lib.name+"-cpu-MB/s")
		if i > 0 {
			b.ReportMetric(cpu[i].Seconds()/cpu[0].Seconds(), "herald-cpu-speedup-vs-"+lib.name)
		}
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReadHeader parses the header of every corpus message with each
// library, side by side in one run. Each op is one pass over the corpus;
// MB/s counts header bytes by wall clock, cpu-MB/s by the CPU time of the
// process (garbage collection included), which other load on a shared
// machine disturbs less; allocs/msg and B/msg are per message.
func BenchmarkReadHeader(b *testing.B) {
	msgs, hdrBytes := messageCorpus(b)
	for _, lib := range headerParsers {
		b.Run(lib.name, func(b *testing.B) {
			failed := 0
			for _, m := range msgs {
				if lib.parse(m) != nil {
					failed++
				}
			}
			b.ReportAllocs()
			b.SetBytes(hdrBytes)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				for _, m := range msgs {
					lib.parse(m)
				}
			}
			b.StopTimer()
			cpu := cpuTime() - c0
			runtime.ReadMemStats(&after)
			n := float64(b.N) * float64(len(msgs))
			b.ReportMetric(float64(hdrBytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/msg")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/msg")
			b.ReportMetric(float64(failed), "failed-msgs")
		})
	}
}

// TestMessageCorpusParses makes sure the benchmark measures real work:
// Herald reads every corpus header without error.
func TestMessageCorpusParses(t *testing.T) {
	msgs, _ := messageCorpus(t)
	for i, m := range msgs {
		if _, err := message.ReadMessage(bytes.NewReader(m), nil); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
}
