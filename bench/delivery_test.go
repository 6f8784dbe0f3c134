// Benchmarks of package delivery against a Herald SMTP sink on loopback,
// with MX records from a loopback DNS server:
//
//   - BenchmarkDeliveryQueueThroughput: messages enqueued (fsync) by 8
//     concurrent producers and delivered by Queue.Run, until the sink has
//     them all; reports msgs/s.
//   - BenchmarkDeliveryEnqueue: Enqueue alone, with the fsync of the
//     message, the state file and their directories; ns/op is the latency.
//   - BenchmarkDeliveryDirect: Deliverer.Deliver without the queue, one
//     connection per message, for comparison.
//
// Run them side by side with:
//
//	cd bench && go test -run '^$' -bench BenchmarkDelivery -count 5
package bench

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/serving"
	"github.com/heraldmail/herald/smtp"
)

type countingSink struct{ n *atomic.Int64 }

func (countingSink) Mail(context.Context, smtp.Path, *smtp.MailOptions) error { return nil }
func (countingSink) Rcpt(context.Context, smtp.Path, *smtp.RcptOptions) error { return nil }
func (s countingSink) Data(ctx context.Context, r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.n.Add(1)
	return nil
}
func (countingSink) Reset(context.Context) {}
func (countingSink) Close() error          { return nil }

// deliveryLab starts the sink and the DNS server and returns a Deliverer
// aimed at them, and the sink's message counter.
func deliveryLab(b *testing.B) (*delivery.Deliverer, *atomic.Int64) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	srv := &smtp.Server{Hostname: "mx.example.net", Lifecycle: serving.Lifecycle{MaxConnections: -1}, Backend: smtp.BackendFunc(func(context.Context, *smtp.ConnInfo) (smtp.Session, error) {
		return countingSink{&n}, nil
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	zone := dnstest.NewZone().AddMX("example.net", 10, "mx.example.net").AddA("mx.example.net", "127.0.0.1")
	dns := dnstest.NewServer(b, zone)
	return &delivery.Deliverer{
		Resolver:  dns.Resolver(nil),
		Port:      ln.Addr().(*net.TCPAddr).Port,
		LocalName: "bench.example.org",
	}, &n
}

func deliveryMessage() string {
	return string(clientBenchMessage(clientBenchSize))
}

func deliveryEnvelope() *smtp.Envelope {
	return &smtp.Envelope{
		From: smtp.Path{Local: "bench", Domain: "example.org"},
		To:   []smtp.Recipient{{Path: smtp.Path{Local: "sink", Domain: "example.net"}}},
	}
}

func BenchmarkDeliveryQueueThroughput(b *testing.B) {
	d, n := deliveryLab(b)
	q, err := delivery.OpenQueue(b.TempDir(), &delivery.QueueOptions{Transport: d, MaxConcurrent: 16, MaxPerDomain: 16})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	msg := deliveryMessage()
	b.SetBytes(int64(len(msg)))
	b.SetParallelism(4) // several receiving sessions enqueue at once
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Enqueue(ctx, deliveryEnvelope(), strings.NewReader(msg)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for n.Load() < int64(b.N) || q.Len() > 0 {
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	cancel()
	<-done
}

func BenchmarkDeliveryEnqueue(b *testing.B) {
	d, _ := deliveryLab(b)
	q, err := delivery.OpenQueue(b.TempDir(), &delivery.QueueOptions{Transport: d})
	if err != nil {
		b.Fatal(err)
	}
	msg := deliveryMessage()
	b.SetBytes(int64(len(msg)))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := q.Enqueue(ctx, deliveryEnvelope(), strings.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliveryDirect(b *testing.B) {
	d, _ := deliveryLab(b)
	msg := []byte(deliveryMessage())
	b.SetBytes(int64(len(msg)))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := d.Deliver(ctx, deliveryEnvelope(), delivery.BytesBody(msg))
		if err != nil || res.Count(delivery.StatusDelivered) != 1 {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkDeliveryEnqueueConcurrent compares Enqueue from 20 goroutines
// with group commit (herald) and with QueueOptions.SyncEach (four fsyncs
// per message, as before group commit).
//
//	bench/interleave.sh '^BenchmarkDeliveryEnqueueConcurrent$' 5 2000x
func BenchmarkDeliveryEnqueueConcurrent(b *testing.B) {
	for _, side := range []string{"herald", "synceach"} {
		b.Run(side, func(b *testing.B) {
			d, _ := deliveryLab(b)
			q, err := delivery.OpenQueue(b.TempDir(), &delivery.QueueOptions{Transport: d, SyncEach: side == "synceach"})
			if err != nil {
				b.Fatal(err)
			}
			msg := deliveryMessage()
			b.SetBytes(int64(len(msg)))
			runConcurrent(b, 20, func() error {
				_, err := q.Enqueue(context.Background(), deliveryEnvelope(), strings.NewReader(msg))
				return err
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
