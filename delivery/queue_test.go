package delivery

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/dsn"
	"github.com/heraldmail/herald/smtp"
)

// scriptTransport answers every recipient with the reply its function
// gives, and records when it was called.
type scriptTransport struct {
	mu     sync.Mutex
	calls  []time.Time
	to     [][]string
	bodies []string
	reply  func(n int, to smtp.Path) RecipientResult
}

func (s *scriptTransport) Deliver(ctx context.Context, env *smtp.Envelope, body Body) (*Result, error) {
	r, err := body.Reader()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	s.mu.Lock()
	n := len(s.calls)
	s.calls = append(s.calls, time.Now())
	var to []string
	for _, rc := range env.To {
		to = append(to, rc.Path.Mailbox())
	}
	s.to = append(s.to, to)
	s.bodies = append(s.bodies, buf.String())
	s.mu.Unlock()
	res := &Result{}
	for _, rc := range env.To {
		rr := s.reply(n, rc.Path)
		rr.To = rc.Path
		res.Recipients = append(res.Recipients, rr)
	}
	return res, nil
}

func (s *scriptTransport) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls...)
}

func tempReply(int, smtp.Path) RecipientResult {
	return RecipientResult{Status: StatusTemporary, Code: 451, Enhanced: smtp.NewEnhancedCode(4, 2, 0), Text: "try later", Host: "mx.example.test"}
}

// notices collects notifications as a peer would read them.
type notices struct {
	mu  sync.Mutex
	got []*dsn.Notice
	env []smtp.Envelope
	raw []string
}

func (n *notices) notify(t *testing.T) func(context.Context, *Notification) error {
	return func(ctx context.Context, no *Notification) error {
		var b bytes.Buffer
		if _, err := no.WriteTo(&b); err != nil {
			t.Errorf("WriteTo: %v", err)
			return err
		}
		p, err := dsn.Parse(bytes.NewReader(b.Bytes()), nil)
		if err != nil {
			t.Errorf("dsn.Parse: %v\n%s", err, b.String())
			return err
		}
		n.mu.Lock()
		n.got = append(n.got, p)
		n.env = append(n.env, no.Envelope)
		n.raw = append(n.raw, b.String())
		n.mu.Unlock()
		return nil
	}
}

func (n *notices) list() []*dsn.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*dsn.Notice(nil), n.got...)
}

func TestQueueRetryScheduleDelayAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &scriptTransport{reply: tempReply}
		var ns notices
		q, err := OpenQueue(t.TempDir(), &QueueOptions{Transport: tr, Notify: ns.notify(t), ReportingMTA: "out.sender.test"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- q.Run(ctx) }()
		start := time.Now()
		env := envelope("alice@sender.test", "bob@example.test")
		env.Options.EnvelopeID = "env-42"
		env.Options.Return = smtp.ReturnHeaders
		if _, err := q.Enqueue(ctx, env, strings.NewReader(testMessage)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(DefaultExpire + time.Hour)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		calls := tr.times()
		var offsets []time.Duration
		for _, c := range calls {
			offsets = append(offsets, c.Sub(start))
		}
		want := []time.Duration{0, 5 * time.Minute, 35 * time.Minute, 65 * time.Minute, 125 * time.Minute, 245 * time.Minute, 485 * time.Minute}
		for i, w := range want {
			if i >= len(offsets) || offsets[i] != w {
				t.Fatalf("attempts at %v, want them to start with %v", offsets, want)
			}
		}
		for i := 1; i < len(offsets); i++ {
			if gap := offsets[i] - offsets[i-1]; i >= 2 && gap < 30*time.Minute {
				t.Errorf("attempts %d and %d only %v apart", i, i+1, gap)
			}
		}
		if last := offsets[len(offsets)-1]; last != DefaultExpire {
			t.Errorf("last attempt at %v, want at expiry %v", last, DefaultExpire)
		}
		if q.Len() != 0 {
			t.Errorf("%d items left after expiry", q.Len())
		}

		got := ns.list()
		if len(got) != 2 {
			t.Fatalf("%d notifications, want a delay and a failure", len(got))
		}
		delay, fail := got[0].Report, got[1].Report
		if a := delay.Recipients[0].Action; a != dsn.ActionDelayed {
			t.Errorf("first notification %s", a)
		}
		if delay.Recipients[0].WillRetryUntil.IsZero() {
			t.Error("delay notice without Will-Retry-Until")
		}
		r := fail.Recipients[0]
		if r.Action != dsn.ActionFailed || r.Status.String() != "4.2.0" || r.FinalRecipient.Value != "bob@example.test" ||
			r.RemoteMTA.Value != "mx.example.test" || !strings.Contains(r.DiagnosticCode.Value, "451 4.2.0 try later") {
			t.Errorf("failure recipient %+v", r)
		}
		if fail.EnvelopeID != "env-42" || fail.ReportingMTA.Value != "out.sender.test" {
			t.Errorf("envid %q reporting %q", fail.EnvelopeID, fail.ReportingMTA.Value)
		}
		if got[1].Original == nil || got[1].Original.Get("Subject") != "test" {
			t.Error("failure notice does not return the original header")
		}
		if strings.Contains(ns.raw[1], "Hello.") {
			t.Error("RET=HDRS notice returned the body")
		}
		if e := ns.env[1]; !e.From.IsNull() || e.To[0].Path.Mailbox() != "alice@sender.test" {
			t.Errorf("notification envelope %+v", e)
		}
	})
}

func TestQueueNotifyRules(t *testing.T) {
	perm := func(_ int, to smtp.Path) RecipientResult {
		if to.Local == "ok" {
			return RecipientResult{Status: StatusDelivered, Code: 250, Enhanced: smtp.EnhancedOK, Host: "mx.example.test"}
		}
		return RecipientResult{Status: StatusPermanent, Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Text: "no such user", Host: "mx.example.test"}
	}
	cases := []struct {
		name    string
		from    string
		notify  smtp.DSNNotify
		ret     smtp.DSNReturn
		header  string
		actions []dsn.Action
		body    bool
	}{
		{name: "default notify bounces failures with the full message", from: "a@sender.test", actions: []dsn.Action{dsn.ActionFailed}, body: true},
		{name: "NOTIFY=NEVER", from: "a@sender.test", notify: smtp.NotifyNever},
		{name: "NOTIFY=SUCCESS,FAILURE", from: "a@sender.test", notify: smtp.NotifySuccess | smtp.NotifyFailure, actions: []dsn.Action{dsn.ActionFailed, dsn.ActionDelivered}, body: true},
		{name: "NOTIFY=SUCCESS only", from: "a@sender.test", notify: smtp.NotifySuccess, actions: []dsn.Action{dsn.ActionDelivered}},
		{name: "RET=HDRS", from: "a@sender.test", ret: smtp.ReturnHeaders, actions: []dsn.Action{dsn.ActionFailed}},
		{name: "null sender never", from: ""},
		{name: "auto-replied never", from: "a@sender.test", header: "Auto-Submitted: auto-replied\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ns notices
				q, err := OpenQueue(t.TempDir(), &QueueOptions{Transport: &scriptTransport{reply: perm}, Notify: ns.notify(t)})
				if err != nil {
					t.Fatal(err)
				}
				env := envelope(tc.from, "ok@example.test", "bad@example.test")
				if tc.from == "" {
					env.From = smtp.Path{}
				}
				for i := range env.To {
					env.To[i].Options.Notify = tc.notify
				}
				env.Options.Return = tc.ret
				ctx, cancel := context.WithCancel(context.Background())
				if _, err := q.Enqueue(ctx, env, strings.NewReader(tc.header+testMessage)); err != nil {
					t.Fatal(err)
				}
				done := make(chan error)
				go func() { done <- q.Run(ctx) }()
				synctest.Wait()
				cancel()
				<-done
				if q.Len() != 0 {
					t.Errorf("%d items left", q.Len())
				}
				got := ns.list()
				var actions []dsn.Action
				for i, n := range got {
					actions = append(actions, n.Report.Recipients[0].Action)
					if n.Report.Recipients[0].Action == dsn.ActionFailed && strings.Contains(ns.raw[i], "Hello.") != tc.body {
						t.Errorf("body returned: %v, want %v", !tc.body, tc.body)
					}
				}
				if len(actions) != len(tc.actions) {
					t.Fatalf("actions %v, want %v", actions, tc.actions)
				}
				for i := range actions {
					if actions[i] != tc.actions[i] {
						t.Fatalf("actions %v, want %v", actions, tc.actions)
					}
				}
			})
		})
	}
}

func TestQueueCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	tr := &scriptTransport{reply: tempReply}
	q, err := OpenQueue(dir, &QueueOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good, err := q.Enqueue(ctx, envelope("a@sender.test", "b@example.test"), strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	short, _ := q.Enqueue(ctx, envelope("a@sender.test", "c@example.test"), strings.NewReader(testMessage))
	garbled, _ := q.Enqueue(ctx, envelope("a@sender.test", "d@example.test"), strings.NewReader(testMessage))
	// A crash in the middle of each write:
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("msg/"+short, testMessage[:20])                      // message cut short
	write("state/"+garbled, `{"version":1,"id":"`+garbled+`"`) // state cut short
	write("msg/0000000000000-orphan", testMessage)             // message without state
	write("tmp/msg-0000000000001-partial", "From: x")          // unfinished write
	q.Close()

	q2, err := OpenQueue(dir, &QueueOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	items := q2.Items()
	if len(items) != 1 || items[0].ID != good {
		t.Fatalf("items after restart %+v", items)
	}
	quar := q2.Quarantined()
	// msg/short has lost its footer, msg/garbled's state file does not
	// parse (both of its files go), the orphan never had a state, and
	// the tmp/ file is unfinished: 2 + 2 + 1 ... = 5 files.
	if len(quar) != 5 { // 1 state + 3 msg + 1 tmp
		t.Fatalf("quarantined %v", quar)
	}
	for _, p := range quar {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("quarantined file lost: %v", err)
		}
	}
	// Nothing quarantined is ever sent.
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- q2.Run(ctx2) }()
	waitFor(t, func() bool { return len(tr.times()) >= 1 })
	cancel()
	<-done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.to) != 1 || tr.to[0][0] != "b@example.test" {
		t.Errorf("sent %v", tr.to)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestQueueNoDuplicateAfterRestart(t *testing.T) {
	l := newLab(t)
	m := l.addMX("mx1.example.test", "127.0.0.2", serverOptions{tls: true})
	l.zone.AddMX("example.test", 10, "mx1.example.test")
	m.rcpt = func(to smtp.Path) error {
		if to.Local == "bob" {
			return &smtp.Error{Code: 450, Enhanced: smtp.NewEnhancedCode(4, 2, 1), Message: "later"}
		}
		return nil
	}
	dir := t.TempDir()
	tr := l.deliverer()
	q, err := OpenQueue(dir, &QueueOptions{Transport: tr, Retry: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	if _, err := q.Enqueue(ctx, envelope("a@sender.test", "alice@example.test", "bob@example.test"), strings.NewReader(testMessage)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		it := q.Items()
		return len(it) == 1 && it[0].Attempts == 1
	})
	cancel()
	<-done

	// Restart: the item is due in an hour; make it due now, as a long
	// outage would.
	m.mu.Lock()
	m.rcpt = nil
	m.mu.Unlock()
	now := time.Now().Add(2 * time.Hour)
	q2, err := OpenQueue(dir, &QueueOptions{Transport: tr, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- q2.Run(ctx) }()
	waitFor(t, func() bool { return q2.Len() == 0 })
	cancel()
	<-done

	got := m.messages()
	if len(got) != 2 || len(got[0].to) != 1 || got[0].to[0].Local != "alice" || len(got[1].to) != 1 || got[1].to[0].Local != "bob" {
		t.Fatalf("server got %+v", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "msg")); len(entries) != 0 {
		t.Errorf("message files left: %v", entries)
	}
}

func TestQueueConcurrencyLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight := map[string]int{}
		maxSeen := map[string]int{}
		total, maxTotal := 0, 0
		tr := TransportFunc(func(ctx context.Context, env *smtp.Envelope, body Body) (*Result, error) {
			dom := env.To[0].Path.Domain
			mu.Lock()
			inFlight[dom]++
			total++
			maxSeen[dom] = max(maxSeen[dom], inFlight[dom])
			maxTotal = max(maxTotal, total)
			mu.Unlock()
			time.Sleep(time.Second) // a slow server, on the fake clock
			mu.Lock()
			inFlight[dom]--
			total--
			mu.Unlock()
			res := &Result{}
			for _, r := range env.To {
				res.Recipients = append(res.Recipients, RecipientResult{To: r.Path, Status: StatusDelivered, Code: 250})
			}
			return res, nil
		})
		q, err := OpenQueue(t.TempDir(), &QueueOptions{Transport: tr, MaxConcurrent: 3, MaxPerDomain: 2})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		for i := range 12 {
			dom := []string{"a.test", "b.test", "c.test"}[i%3]
			if _, err := q.Enqueue(ctx, envelope("s@sender.test", "x@"+dom), strings.NewReader(testMessage)); err != nil {
				t.Fatal(err)
			}
		}
		// One message for two domains counts against both.
		if _, err := q.Enqueue(ctx, envelope("s@sender.test", "y@a.test", "y@b.test"), strings.NewReader(testMessage)); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- q.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		<-done
		if q.Len() != 0 {
			t.Fatalf("%d left", q.Len())
		}
		if maxTotal != 3 {
			t.Errorf("at most %d connections at once, want 3", maxTotal)
		}
		for dom, n := range maxSeen {
			if n > 2 {
				t.Errorf("%s had %d connections at once", dom, n)
			}
		}
	})
}

func TestQueueGracefulStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		tr := TransportFunc(func(ctx context.Context, env *smtp.Envelope, body Body) (*Result, error) {
			close(started)
			<-ctx.Done() // a hung server; only the stop ends it
			res := &Result{}
			for _, r := range env.To {
				res.Recipients = append(res.Recipients, RecipientResult{To: r.Path, Status: StatusTemporary, Code: 451, Enhanced: smtp.NewEnhancedCode(4, 4, 7), Local: true})
			}
			return res, ctx.Err()
		})
		dir := t.TempDir()
		q, err := OpenQueue(dir, &QueueOptions{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := q.Enqueue(ctx, envelope("s@sender.test", "x@a.test"), strings.NewReader(testMessage)); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- q.Run(ctx) }()
		<-started
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The interrupted attempt is recorded and due at once after a restart.
		q2, err := OpenQueue(dir, &QueueOptions{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		items := q2.Items()
		if len(items) != 1 || items[0].Attempts != 1 || items[0].Next.After(time.Now()) || items[0].Recipients[0].State != StatePending {
			t.Fatalf("after stop: %+v", items)
		}
	})
}

// TestQueueBounceEnqueuedBack runs the queue against real servers: a
// refused recipient gives a failure notification that the queue enqueues
// itself and delivers to the sender's MX, where it reads back as a DSN.
func TestQueueBounceEnqueuedBack(t *testing.T) {
	l := newLab(t)
	dest := l.addMX("mx.example.test", "127.0.0.2", serverOptions{tls: true})
	back := l.addMX("mx.sender.test", "127.0.0.3", serverOptions{})
	l.zone.AddMX("example.test", 10, "mx.example.test")
	l.zone.AddMX("sender.test", 10, "mx.sender.test")
	dest.rcpt = func(to smtp.Path) error {
		if to.Local == "nobody" {
			return &smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "no such user here"}
		}
		return nil
	}
	q, err := OpenQueue(t.TempDir(), &QueueOptions{Transport: l.deliverer(), ReportingMTA: "out.sender.test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	env := envelope("alice@sender.test", "bob@example.test", "nobody@example.test")
	env.Options.EnvelopeID = "QQ314159"
	if _, err := q.Enqueue(ctx, env, strings.NewReader(testMessage)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(back.messages()) == 1 && q.Len() == 0 })
	cancel()
	<-done

	bounce := back.messages()[0]
	if !bounce.from.IsNull() || bounce.to[0].Mailbox() != "alice@sender.test" {
		t.Errorf("bounce envelope %v -> %v", bounce.from, bounce.to)
	}
	n, err := dsn.Parse(strings.NewReader(bounce.data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Heuristic || len(n.Report.Recipients) != 1 {
		t.Fatalf("report %+v", n.Report)
	}
	r := n.Report.Recipients[0]
	if r.Action != dsn.ActionFailed || r.Status.String() != "5.1.1" || r.FinalRecipient.Value != "nobody@example.test" ||
		r.RemoteMTA.Value != "mx.example.test" || r.DiagnosticCode.Value != "550 5.1.1 no such user here" || n.Report.EnvelopeID != "QQ314159" {
		t.Errorf("recipient %+v envid %q", r, n.Report.EnvelopeID)
	}
	if got := dest.messages(); len(got) != 1 || len(got[0].to) != 1 || got[0].to[0].Local != "bob" {
		t.Errorf("destination got %+v", got)
	}
}

func TestQueueEnqueueLimits(t *testing.T) {
	dir := t.TempDir()
	q, err := OpenQueue(dir, &QueueOptions{Transport: &scriptTransport{reply: tempReply}, MaxMessageBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, envelope("a@sender.test", "b@example.test"), strings.NewReader(testMessage)); !errors.Is(err, smtp.ErrMessageTooLarge) {
		t.Errorf("oversized message: %v", err)
	}
	if _, err := q.Enqueue(ctx, &smtp.Envelope{From: path("a@sender.test")}, strings.NewReader("x")); !errors.Is(err, ErrNoRecipients) {
		t.Errorf("no recipients: %v", err)
	}
	bad := envelope("a@sender.test", "b@example.test")
	bad.To[0].Path.Domain = "example.test>\r\nRCPT TO:<x@evil.test"
	if _, err := q.Enqueue(ctx, bad, strings.NewReader("x")); !errors.Is(err, ErrBadState) {
		t.Errorf("recipient with CRLF: %v", err)
	}
	for _, sub := range []string{"msg", "state", "tmp"} {
		if entries, _ := os.ReadDir(filepath.Join(dir, sub)); len(entries) != 0 {
			t.Errorf("%s/ holds %v after refused messages", sub, entries)
		}
	}
	if q.Len() != 0 {
		t.Errorf("%d queued", q.Len())
	}
}

// TestQueueRelayedNotice: NOTIFY=SUCCESS to a server without DSN gets a
// "relayed" notification (RFC 3461 section 4.1), since the request could not
// be passed on.
func TestQueueRelayedNotice(t *testing.T) {
	l := newLab(t)
	l.addMX("mx.example.test", "127.0.0.2", serverOptions{disable: smtp.ExtDSN})
	l.zone.AddMX("example.test", 10, "mx.example.test")
	var ns notices
	q, err := OpenQueue(t.TempDir(), &QueueOptions{Transport: l.deliverer(), Notify: ns.notify(t)})
	if err != nil {
		t.Fatal(err)
	}
	env := envelope("alice@sender.test", "bob@example.test")
	env.To[0].Options.Notify = smtp.NotifySuccess | smtp.NotifyFailure
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	if _, err := q.Enqueue(ctx, env, strings.NewReader(testMessage)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(ns.list()) == 1 && q.Len() == 0 })
	cancel()
	<-done
	r := ns.list()[0].Report.Recipients[0]
	if r.Action != dsn.ActionRelayed || r.Status.Class() != 2 || r.RemoteMTA.Value != "mx.example.test" {
		t.Errorf("notice %+v", r)
	}
}

func TestQueueDroppedNotificationLogged(t *testing.T) {
	// A bounce that cannot be delivered is not bounced again: it is
	// dropped, and the log says so with its envelope.
	synctest.Test(t, func(t *testing.T) {
		var logBuf bytes.Buffer
		perm := func(int, smtp.Path) RecipientResult {
			return RecipientResult{Status: StatusPermanent, Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Text: "no such user", Host: "mx.example.test"}
		}
		var ns notices
		q, err := OpenQueue(t.TempDir(), &QueueOptions{Transport: &scriptTransport{reply: perm}, Notify: ns.notify(t),
			Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		env := envelope("", "gone@example.test")
		env.From = smtp.Path{}
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := q.Enqueue(ctx, env, strings.NewReader(testMessage)); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- q.Run(ctx) }()
		synctest.Wait()
		cancel()
		<-done
		if n := len(ns.list()); n != 0 {
			t.Errorf("%d notifications about a bounce", n)
		}
		log := logBuf.String()
		if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "undeliverable message dropped") || !strings.Contains(log, "gone@example.test") {
			t.Errorf("log does not warn of the dropped bounce:\n%s", log)
		}
	})
}

// TestQueueLoadsStateFilesOfAnOlderQueue: a queue directory from before the
// footer, with a state file for every message and the bare message, loads
// and delivers; one file per message is what Enqueue writes now.
func TestQueueLoadsStateFilesOfAnOlderQueue(t *testing.T) {
	dir := t.TempDir()
	tr := &scriptTransport{reply: func(int, smtp.Path) RecipientResult {
		return RecipientResult{Status: StatusDelivered, Code: 250, Host: "mx.example.test"}
	}}
	q, err := OpenQueue(dir, &QueueOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(context.Background(), envelope("a@sender.test", "b@example.test"), strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if e, _ := os.ReadDir(filepath.Join(dir, "state")); len(e) != 0 {
		t.Fatalf("Enqueue wrote %d state files, want none", len(e))
	}
	// Rewrite the item the old way.
	b, err := os.ReadFile(filepath.Join(dir, "msg", id))
	if err != nil {
		t.Fatal(err)
	}
	size, state, err := readFooter(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "msg", id), b[:size], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state", id), state, 0o600); err != nil {
		t.Fatal(err)
	}
	q2, err := OpenQueue(dir, &QueueOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if q2.Len() != 1 || len(q2.Quarantined()) != 0 {
		t.Fatalf("old-format queue: %d items, quarantined %v", q2.Len(), q2.Quarantined())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q2.Run(ctx) }()
	waitFor(t, func() bool { return q2.Len() == 0 })
	cancel()
	<-done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.bodies) != 1 || tr.bodies[0] != testMessage {
		t.Fatalf("delivered %q, want the message without its state", tr.bodies)
	}
	for _, sub := range []string{"msg", "state"} {
		if e, _ := os.ReadDir(filepath.Join(dir, sub)); len(e) != 0 {
			t.Errorf("%s/ holds %d files after delivery", sub, len(e))
		}
	}
}
