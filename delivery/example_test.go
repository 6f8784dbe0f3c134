package delivery_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/smtp"
)

func ExampleParsePolicy() {
	p, err := delivery.ParsePolicy([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Mode, p.MaxAge)
	fmt.Println(p.Match("mail.example.com"), p.Match("mx1.example.net"), p.Match("a.b.example.net"))
	// Output:
	// enforce 168h0m0s
	// true true false
}

// sink is a backend that prints what it receives.
type sink struct{}

func (sink) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error { return nil }
func (sink) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	if to.Local == "nobody" {
		return &smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "no such user"}
	}
	return nil
}
func (sink) Data(ctx context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (sink) Reset(ctx context.Context) {}
func (sink) Close() error              { return nil }

// startMX runs Herald's SMTP server on 127.0.0.1 and serves example.net's
// MX record from a loopback DNS server.
func startMX() (d *delivery.Deliverer, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &smtp.Server{Hostname: "mx.example.net", Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
		return sink{}, nil
	})}
	go srv.Serve(ln)
	zone := dnstest.NewZone().AddMX("example.net", 10, "mx.example.net").AddA("mx.example.net", "127.0.0.1")
	dns, err := dnstest.Start(zone)
	if err != nil {
		panic(err)
	}
	d = &delivery.Deliverer{
		Resolver:  dns.Resolver(nil),
		Port:      ln.Addr().(*net.TCPAddr).Port, // 25 in real life
		LocalName: "out.example.org",
	}
	return d, func() { srv.Close(); dns.Close() }
}

func ExampleDeliverer_Deliver() {
	d, stop := startMX()
	defer stop()
	env := &smtp.Envelope{
		From: smtp.Path{Local: "alice", Domain: "example.org"},
		To: []smtp.Recipient{
			{Path: smtp.Path{Local: "bob", Domain: "example.net"}},
			{Path: smtp.Path{Local: "nobody", Domain: "example.net"}},
		},
	}
	msg := []byte("From: alice@example.org\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello.\r\n")
	res, err := d.Deliver(context.Background(), env, delivery.BytesBody(msg))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Recipients {
		fmt.Println(r.To, r.Status, r.Code, r.Enhanced, r.Host)
	}
	// Output:
	// <bob@example.net> delivered 250 2.0.0 mx.example.net
	// <nobody@example.net> permanent 550 5.1.1 mx.example.net
}

func ExampleQueue() {
	d, stop := startMX()
	defer stop()
	dir, _ := os.MkdirTemp("", "queue")
	defer os.RemoveAll(dir)

	done := make(chan struct{}, 1)
	q, err := delivery.OpenQueue(dir, &delivery.QueueOptions{
		Transport: delivery.TransportFunc(func(ctx context.Context, env *smtp.Envelope, body delivery.Body) (*delivery.Result, error) {
			res, err := d.Deliver(ctx, env, body)
			done <- struct{}{}
			return res, err
		}),
		ReportingMTA: "out.example.org",
		// Notifications would normally be enqueued; here they are printed.
		Notify: func(ctx context.Context, n *delivery.Notification) error {
			for _, r := range n.Message.Report.Recipients {
				fmt.Println("notify", n.Envelope.To[0].Path, r.Action, r.FinalRecipient.Value, r.Status)
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx)
	env := &smtp.Envelope{
		From: smtp.Path{Local: "alice", Domain: "example.org"},
		To:   []smtp.Recipient{{Path: smtp.Path{Local: "bob", Domain: "example.net"}}, {Path: smtp.Path{Local: "nobody", Domain: "example.net"}}},
	}
	if _, err := q.Enqueue(ctx, env, strings.NewReader("Subject: hi\r\n\r\nHello.\r\n")); err != nil {
		fmt.Println(err)
		return
	}
	<-done
	for q.Len() > 0 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("queued:", q.Len())
	// Output:
	// notify <alice@example.org> failed nobody@example.net 5.1.1
	// queued: 0
}

func ExampleTLSReporter_Report() {
	var r delivery.TLSReporter
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	policy, _ := delivery.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n"))
	r.RecordSuccess(day, "example.net", policy)
	r.RecordSuccess(day, "example.net", policy)
	r.RecordFailure(day, "example.net", policy, delivery.ResultCertificateExpired, "mx.example.net", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.7"))
	rep := r.Report("example.net", day.Truncate(24*time.Hour), day.Truncate(24*time.Hour).Add(24*time.Hour),
		delivery.ReportOptions{OrganizationName: "Example Org", ContactInfo: "tlsrpt@example.org", ReportID: "2026-03-01.example.net"})
	rep.WriteTo(os.Stdout)
	// Output:
	// {
	//   "organization-name": "Example Org",
	//   "date-range": {
	//     "start-datetime": "2026-03-01T00:00:00Z",
	//     "end-datetime": "2026-03-02T00:00:00Z"
	//   },
	//   "contact-info": "tlsrpt@example.org",
	//   "report-id": "2026-03-01.example.net",
	//   "policies": [
	//     {
	//       "policy": {
	//         "policy-type": "sts",
	//         "policy-string": [
	//           "version: STSv1",
	//           "mode: enforce",
	//           "mx: mx.example.net",
	//           "max_age: 86400"
	//         ],
	//         "policy-domain": "example.net",
	//         "mx-host": [
	//           "mx.example.net"
	//         ]
	//       },
	//       "summary": {
	//         "total-successful-session-count": 2,
	//         "total-failure-session-count": 1
	//       },
	//       "failure-details": [
	//         {
	//           "result-type": "certificate-expired",
	//           "sending-mta-ip": "198.51.100.7",
	//           "receiving-mx-hostname": "mx.example.net",
	//           "receiving-ip": "192.0.2.1",
	//           "failed-session-count": 1
	//         }
	//       ]
	//     }
	//   ]
	// }
}
