package bench

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	hmime "github.com/heraldmail/herald/mime"
)

// mimeCorpus loads every message and bounce of the shared corpus.
func mimeCorpus(tb testing.TB) ([][]byte, int64) {
	tb.Helper()
	var msgs [][]byte
	var total int64
	for _, dir := range []string{"messages", "dsn"} {
		err := filepath.WalkDir(filepath.Join("..", "testdata", dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "mbox" {
					return filepath.SkipDir
				}
				return nil
			}
			name := d.Name()
			if strings.Contains(strings.ToLower(name), "license") || strings.Contains(name, "COPYRIGHT") ||
				strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".mbox") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			msgs = append(msgs, b)
			total += int64(len(b))
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if len(msgs) < 500 {
		tb.Fatalf("corpus has %d messages", len(msgs))
	}
	return msgs, total
}

// heraldWalk walks every entity of msg with Herald and reads every
// decoded leaf body. It returns the decoded bytes.
func heraldWalk(msg []byte) (int64, error) {
	rd := hmime.NewReader(bytes.NewReader(msg), nil)
	var n int64
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if p.IsContainer() {
			continue
		}
		body, err := p.Body()
		if err != nil {
			return n, err
		}
		c, err := io.Copy(io.Discard, body)
		n += c
		if err != nil {
			return n, err
		}
	}
}

// goMessageWalk walks msg with go-message's mail.CreateReader, which
// flattens nested multiparts and decodes transfer encodings.
func goMessageWalk(msg []byte) (int64, error) {
	mr, err := gomail.CreateReader(bytes.NewReader(msg))
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		c, err := io.Copy(io.Discard, p.Body)
		n += c
		if err != nil {
			return n, err
		}
	}
}

// stdlibWalk walks msg with net/mail and mime/multipart, decoding bodies
// with mime/quotedprintable and encoding/base64.
func stdlibWalk(msg []byte) (int64, error) {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return 0, err
	}
	return stdlibEntity(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, 0)
}

func stdlibEntity(ctype, cte string, body io.Reader, depth int) (int64, error) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err == nil && strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" && depth < 32 {
		mr := multipart.NewReader(body, params["boundary"])
		var n int64
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
			c, err := stdlibEntity(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			n += c
			if err != nil {
				return n, err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	return io.Copy(io.Discard, body)
}

// mimeWalkers are the three ways of walking a message compared.
func mimeWalkers() []struct {
	name string
	fn   func([]byte) (int64, error)
} {
	return []struct {
		name string
		fn   func([]byte) (int64, error)
	}{
		{"herald", heraldWalk},
		{"go-message", goMessageWalk},
		{"stdlib", stdlibWalk},
	}
}

// BenchmarkMIMEWalkCommon is BenchmarkMIMEWalk on the messages all three
// libraries walk without an error, so that no side is spared the work of
// a message it gives up on.
func BenchmarkMIMEWalkCommon(b *testing.B) {
	all, _ := mimeCorpus(b)
	msgs, total := mimeCommon(all)
	for _, w := range mimeWalkers() {
		b.Run(w.name, func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range msgs {
					w.fn(m)
				}
			}
			b.ReportMetric(float64(len(msgs)), "msgs")
		})
	}
}

// BenchmarkMIMEWalk walks every part of the whole corpus with decoded
// bodies. The three libraries run side by side in one run; bytes per
// second count the raw corpus, and B/op divided by the number of
// messages (reported as msgs) gives memory per message. Messages a
// library rejects are skipped for that library (counted in failed/op).
func BenchmarkMIMEWalk(b *testing.B) {
	msgs, total := mimeCorpus(b)
	for _, w := range mimeWalkers() {
		b.Run(w.name, func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			failed := 0
			for b.Loop() {
				failed = 0
				for _, m := range msgs {
					if _, err := w.fn(m); err != nil {
						failed++
					}
				}
			}
			b.ReportMetric(float64(failed), "failed/op")
			b.ReportMetric(float64(len(msgs)), "msgs")
		})
	}
}

// TestMIMEWalkCorpus checks that Herald walks the whole corpus the
// benchmark measures without an error.
func TestMIMEWalkCorpus(t *testing.T) {
	msgs, _ := mimeCorpus(t)
	for i, m := range msgs {
		if _, err := heraldWalk(m); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
}

// BenchmarkMIMEWalkInterleaved runs the three walkers on each message in
// turn (rotating which goes first) and times each walk, so that the load
// of a shared machine weighs on all three alike. It reports each
// library's throughput and Herald's speed-up over the faster of the other
// two, on the whole corpus ("all": a library that rejects a message
// counts the time it took to give up) and on the messages all three
// accept ("common").
func BenchmarkMIMEWalkInterleaved(b *testing.B) {
	msgs, _ := mimeCorpus(b)
	walkers := mimeWalkers()
	common := make([]bool, len(msgs))
	var totalAll, totalCommon int64
	for i, m := range msgs {
		common[i] = true
		for _, w := range walkers {
			if _, err := w.fn(m); err != nil {
				common[i] = false
			}
		}
		totalAll += int64(len(m))
		if common[i] {
			totalCommon += int64(len(m))
		}
	}
	var spentAll, spentCommon [3]time.Duration
	rounds := 0
	for b.Loop() {
		for i, m := range msgs {
			for k := range walkers {
				w := (i + k) % len(walkers)
				start := time.Now()
				walkers[w].fn(m)
				d := time.Since(start)
				spentAll[w] += d
				if common[i] {
					spentCommon[w] += d
				}
			}
		}
		rounds++
	}
	mbps := func(total int64, d time.Duration) float64 {
		return float64(total) * float64(rounds) / d.Seconds() / 1e6
	}
	for w := range walkers {
		b.ReportMetric(mbps(totalAll, spentAll[w]), walkers[w].name+"-all-MB/s")
		b.ReportMetric(mbps(totalCommon, spentCommon[w]), walkers[w].name+"-common-MB/s")
	}
	b.ReportMetric(float64(min(spentAll[1], spentAll[2]))/float64(spentAll[0]), "speedup-all")
	b.ReportMetric(float64(min(spentCommon[1], spentCommon[2]))/float64(spentCommon[0]), "speedup-common")
}

// mimeCPUTime returns the user and system CPU time the process has used.
func mimeCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mimeCommon returns the messages that all three walkers accept.
func mimeCommon(msgs [][]byte) ([][]byte, int64) {
	var common [][]byte
	var total int64
	for _, m := range msgs {
		ok := true
		for _, w := range mimeWalkers() {
			if _, err := w.fn(m); err != nil {
				ok = false
			}
		}
		if ok {
			common = append(common, m)
			total += int64(len(m))
		}
	}
	return common, total
}

// BenchmarkMIMEWalkCPU measures the CPU time (not the wall time) each
// walker spends on the corpus, the three in turn within each round, with
// garbage collection included (run it with GOMAXPROCS=1 so that the
// collector works on the same thread). CPU time is what a shared, loaded
// machine distorts least. "all" is the whole corpus, where a library that
// rejects a message is charged only the time it took to give up;
// "common" is the messages all three accept.
func BenchmarkMIMEWalkCPU(b *testing.B) {
	all, totalAll := mimeCorpus(b)
	common, totalCommon := mimeCommon(all)
	for _, set := range []struct {
		name  string
		msgs  [][]byte
		total int64
	}{{"all", all, totalAll}, {"common", common, totalCommon}} {
		b.Run(set.name, func(b *testing.B) {
			walkers := mimeWalkers()
			var spent [3]time.Duration
			rounds := 0
			for b.Loop() {
				for k := range walkers {
					w := (rounds + k) % len(walkers)
					start := mimeCPUTime()
					for _, m := range set.msgs {
						walkers[w].fn(m)
					}
					spent[w] += mimeCPUTime() - start
				}
				rounds++
			}
			for w := range walkers {
				b.ReportMetric(float64(set.total)*float64(rounds)/spent[w].Seconds()/1e6, walkers[w].name+"-cpu-MB/s")
			}
			b.ReportMetric(float64(min(spent[1], spent[2]))/float64(spent[0]), "speedup-cpu")
		})
	}
}
