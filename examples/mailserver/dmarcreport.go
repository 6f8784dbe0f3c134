package main

// DMARC aggregate reports (RFC 7489 section 7.2), with -dmarc-reports:
// every DMARC evaluation of MX mail is recorded in DIR/dmarc-reports (a
// dmarc.Collector: one append log per UTC day, kept across restarts), and
// once a day has ended, its reports go out through the outbound queue to
// the rua= addresses that may receive them, DKIM-signed like other mail of
// the primary domain. A day that ended while the server was down is
// reported at the next start. The reports name the primary domain as
// their submitter, -dmarc-report-org (default the primary domain) as the
// organization and come from -dmarc-report-from (default
// dmarc-reports@PRIMARY-DOMAIN).

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/smtp"
)

// dmarcReportConfig is what the report flags say.
type dmarcReportConfig struct {
	enabled bool
	org     string
	from    string
}

func (c *dmarcReportConfig) addFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.enabled, "dmarc-reports", false, "send DMARC aggregate reports once a day (UTC) to the rua= addresses of the domains whose mail the MX port evaluated; off by default, since it sends mail to third parties")
	fs.StringVar(&c.org, "dmarc-report-org", "", "the reporting organization's `name` in DMARC reports; default the primary domain")
	fs.StringVar(&c.from, "dmarc-report-from", "", "the `address` DMARC reports come from; default dmarc-reports@ the primary domain")
}

// testClockEnv names a file holding the time (RFC 3339) that the DMARC
// reporter takes as now, read at every use, so that the end-to-end test
// can move a running server past midnight. Not for production use.
const testClockEnv = "HERALD_MAILSERVER_TEST_CLOCK"

// dmarcReporter records DMARC results and sends the reports. A nil
// *dmarcReporter (without -dmarc-reports) does nothing.
type dmarcReporter struct {
	srv   *server
	c     *dmarc.Collector
	res   dnsmx.Resolver
	from  smtp.Path // the envelope sender
	addr  string    // the From: address
	now   func() time.Time
	every time.Duration // how often to look for a finished day
	log   *slog.Logger
}

func newDMARCReporter(s *server, res dnsmx.Resolver) (*dmarcReporter, error) {
	cfg := s.cfg.policy.reports
	if !cfg.enabled {
		return nil, nil
	}
	primary := s.cfg.domains[0]
	org, from := cfg.org, cfg.from
	if org == "" {
		org = primary
	}
	if from == "" {
		from = "dmarc-reports@" + primary
	}
	p, err := smtp.ParsePath("<"+from+">", false)
	if err != nil || p.IsNull() || p.Domain == "" {
		return nil, errors.New("-dmarc-report-from: " + from + " is not an address")
	}
	r := &dmarcReporter{srv: s, res: res, from: p, addr: from, now: time.Now, every: time.Minute, log: s.log.With("proto", "dmarc-reports")}
	if file := os.Getenv(testClockEnv); file != "" {
		r.now, r.every = fileClock(file), 100*time.Millisecond
	}
	r.c, err = dmarc.OpenCollector(filepath.Join(s.cfg.dataDir, "dmarc-reports"), &dmarc.CollectorOptions{
		OrgName:  org,
		Email:    from,
		Receiver: primary,
		Now:      r.now,
		Logger:   r.log,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// fileClock returns a clock that reads the time from file, and runs as
// time.Now when the file does not hold one.
func fileClock(file string) func() time.Time {
	return func() time.Time {
		b, err := os.ReadFile(file)
		if err != nil {
			return time.Now()
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
		if err != nil {
			return time.Now()
		}
		return t
	}
}

// record counts one evaluation of a message from ip.
func (r *dmarcReporter) record(ip netip.Addr, a dmarc.Args, res dmarc.Result) {
	if r == nil {
		return
	}
	if _, err := r.c.Add(ip, a, res); err != nil {
		r.log.Error("DMARC result not recorded", "domain", res.Policy.Domain, "err", err)
	}
}

// run sends the reports of finished days, at once (a day left from before
// a restart) and then after each midnight, until ctx is done; then it
// closes the collector.
func (r *dmarcReporter) run(ctx context.Context) {
	if r == nil {
		return
	}
	defer r.c.Close()
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.send(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// send queues the report messages of every finished day. A day is
// removed once all its messages are queued; when one cannot be queued,
// the day is tried again at the next tick, and the reports queued
// already may go out twice.
func (r *dmarcReporter) send(ctx context.Context) {
	periods, err := r.c.Finished()
	if err != nil {
		r.log.Error("DMARC reports: cannot read a finished day", "err", err)
	}
	for _, p := range periods {
		msgs := dmarc.ReportMessages(ctx, r.res, p.Reports, dmarc.MessageOptions{From: r.addr, Date: r.now()}, r.log)
		queued := true
		for _, m := range msgs {
			env := &smtp.Envelope{From: r.from}
			for _, to := range m.To {
				local, domain, _ := strings.Cut(to, "@")
				env.To = append(env.To, smtp.Recipient{Path: smtp.Path{Local: local, Domain: domain}})
			}
			id, err := r.srv.queue.Enqueue(ctx, env, bytes.NewReader(m.Message))
			if err != nil {
				r.log.Error("DMARC report not queued", "domain", m.Report.Domain, "err", err)
				queued = false
				continue
			}
			r.log.Info("DMARC report queued", "id", id, "domain", m.Report.Domain, "to", strings.Join(m.To, ","),
				"rows", len(m.Report.Feedback.Records), "day", p.Begin.Format(time.DateOnly))
		}
		if p.Dropped > 0 {
			r.log.Warn("DMARC reports: messages in no report, too many policy domains", "day", p.Begin.Format(time.DateOnly), "messages", p.Dropped)
		}
		if queued {
			if err := r.c.Remove(p); err != nil {
				r.log.Error("DMARC reports: cannot remove a reported day", "err", err)
			}
		}
	}
}
