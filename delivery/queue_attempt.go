package delivery

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/dsn"
	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

// Notification is a delivery status notification the queue owes the sender
// of a message (RFC 3461 section 6): the envelope to send it with (the null
// reverse-path, the original sender as recipient) and the composed
// multipart/report.
type Notification struct {
	// Action is failed, delayed, delivered or relayed.
	Action dsn.Action
	// ID is the queue ID of the original message.
	ID string
	// Envelope is the notification's own envelope.
	Envelope smtp.Envelope
	// Message is the notification; its Original reads the queued message
	// and is valid only until QueueOptions.Notify returns.
	Message *dsn.Message
}

// WriteTo writes the notification with CRLF line endings.
func (n *Notification) WriteTo(w io.Writer) (int64, error) { return n.Message.WriteTo(w) }

func (q *Queue) retryDelay(attempts int) time.Duration {
	sched := q.opts.Retry
	if len(sched) == 0 {
		sched = DefaultRetry
	}
	i := min(max(attempts-1, 0), len(sched)-1)
	return sched[i]
}

// acquire takes a connection slot for domain; release gives it back.
func (q *Queue) acquire(ctx context.Context, domain string) (release func(), err error) {
	q.mu.Lock()
	ds := q.domains[domain]
	if ds == nil {
		ds = &domainSlot{sem: make(chan struct{}, orDefault(q.opts.MaxPerDomain, DefaultMaxPerDomain))}
		q.domains[domain] = ds
	}
	ds.refs++
	q.mu.Unlock()
	unref := func() {
		q.mu.Lock()
		if ds.refs--; ds.refs == 0 {
			delete(q.domains, domain)
		}
		q.mu.Unlock()
	}
	select {
	case ds.sem <- struct{}{}:
	case <-ctx.Done():
		unref()
		return nil, ctx.Err()
	}
	select {
	case q.conns <- struct{}{}:
	case <-ctx.Done():
		<-ds.sem
		unref()
		return nil, ctx.Err()
	}
	return func() {
		<-q.conns
		<-ds.sem
		unref()
	}, nil
}

// attempt tries every pending recipient of it once, records the outcome
// and sends the notifications it calls for.
func (q *Queue) attempt(ctx context.Context, it *item) {
	log := q.logger().With("id", it.st.ID)
	q.mu.Lock()
	st := *it.st
	st.Recipients = slices.Clone(it.st.Recipients)
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		it.running = false
		q.running--
		if q.items[it.st.ID] == it {
			heap.Push(&q.waiting, it) // rescheduled, not finished
		}
		q.mu.Unlock()
	}()

	f, err := os.Open(q.path("msg", st.ID))
	if err != nil {
		log.Error("queued message unreadable", "err", err)
		q.reschedule(it, &st, q.now().Add(q.retryDelay(st.Attempts+1)))
		return
	}
	defer f.Close()
	body := &fileBody{f: f, size: st.Size}

	// One Deliver per domain, in parallel, within the connection limits.
	var order []string
	groups := map[string][]int{}
	for i, r := range st.Recipients {
		if r.State != StatePending {
			continue
		}
		k := domainKey(r.Recipient.Path.Domain)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	results := make([]*RecipientResult, len(st.Recipients))
	var wg sync.WaitGroup
	for _, dom := range order {
		idx := groups[dom]
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := q.acquire(ctx, dom)
			if err != nil {
				return
			}
			defer release()
			env := &smtp.Envelope{From: st.From, Options: st.Options}
			for _, i := range idx {
				env.To = append(env.To, st.Recipients[i].Recipient)
			}
			actx, cancel := context.WithTimeout(ctx, orDefault(q.opts.AttemptTimeout, DefaultAttemptTimeout))
			res, err := q.opts.Transport.Deliver(actx, env, body)
			cancel()
			if res == nil {
				log.Warn("delivery attempt failed", "domain", dom, "err", err)
				return
			}
			for k, i := range idx {
				if k < len(res.Recipients) {
					results[i] = &res.Recipients[k]
				}
			}
		}()
	}
	wg.Wait()

	now := q.now()
	stopped := ctx.Err() != nil
	st.Attempts++
	var failed, delivered, relayed, delayed []int
	for i, r := range results {
		qr := &st.Recipients[i]
		if r == nil {
			continue
		}
		qr.Code, qr.Enhanced, qr.Text, qr.Host, qr.Local, qr.Last = r.Code, r.Enhanced, truncate(r.Text, maxStateText), r.Host, r.Local, now
		switch r.Status {
		case StatusDelivered:
			qr.State = StateDelivered
			if r.DSNRelayed {
				relayed = append(relayed, i)
			} else {
				delivered = append(delivered, i)
			}
			log.Info("delivered", "to", r.To.String(), "host", r.Host, "tls", r.TLSVersionName(), "reply", fmt.Sprintf("%d %s", r.Code, r.Enhanced))
		case StatusPermanent:
			qr.State = StateFailed
			failed = append(failed, i)
			log.Info("failed", "to", r.To.String(), "host", r.Host, "reply", fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text))
		default:
			log.Info("deferred", "to", r.To.String(), "host", r.Host, "reply", fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text))
		}
	}
	expire := orDefault(q.opts.Expire, DefaultExpire)
	var expired []int
	pending := false
	for i := range st.Recipients {
		qr := &st.Recipients[i]
		if qr.State != StatePending {
			continue
		}
		if !stopped && now.Sub(st.Arrival) >= expire {
			qr.State = StateFailed
			expired = append(expired, i)
			log.Info("expired", "to", qr.Recipient.Path.String(), "age", now.Sub(st.Arrival))
			continue
		}
		pending = true
	}
	if pending && !stopped && !st.DelayNotified && q.opts.DelayNotice >= 0 && now.Sub(st.Arrival) >= orDefault(q.opts.DelayNotice, DefaultDelayNotice) {
		st.DelayNotified = true
		for i, qr := range st.Recipients {
			if qr.State == StatePending {
				delayed = append(delayed, i)
			}
		}
	}

	q.notify(ctx, &st, f, dsn.ActionFailed, append(failed, expired...), now)
	q.notify(ctx, &st, f, dsn.ActionDelayed, delayed, now)
	q.notify(ctx, &st, f, dsn.ActionDelivered, delivered, now)
	q.notify(ctx, &st, f, dsn.ActionRelayed, relayed, now)

	if !pending {
		if err := q.remove(st.ID); err != nil {
			log.Error("removing a finished message", "err", err)
		}
		q.mu.Lock()
		delete(q.items, st.ID)
		q.mu.Unlock()
		return
	}
	next := now.Add(q.retryDelay(st.Attempts))
	if stopped {
		next = now
	}
	if dl := st.Arrival.Add(expire); next.After(dl) {
		next = dl // the last attempt falls on the expiry time
	}
	q.reschedule(it, &st, next)
}

func (q *Queue) reschedule(it *item, st *ItemState, next time.Time) {
	st.Next = next
	if err := q.writeState(st); err != nil {
		q.logger().Error("writing queue state", "id", st.ID, "err", err)
	}
	q.mu.Lock()
	it.st = st
	q.mu.Unlock()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// notify composes the notification of action for the recipients idx, when
// the message may be bounced at all and each recipient's NOTIFY asks for it
// (RFC 3461 section 4.1; without NOTIFY, failures and delays are reported).
func (q *Queue) notify(ctx context.Context, st *ItemState, f *os.File, action dsn.Action, idx []int, now time.Time) {
	if len(idx) == 0 {
		return
	}
	log := q.logger().With("id", st.ID, "action", string(action))
	hdr, _, err := message.ReadHeader(io.NewSectionReader(f, 0, st.Size), nil)
	if err != nil {
		hdr = nil
	}
	if dsn.NeverBounce(st.From, hdr) {
		// Nobody can be told: a failed notification or automatic reply
		// ends here. Say so, as the message is lost to its sender.
		if action == dsn.ActionFailed {
			var to []string
			for _, i := range idx {
				to = append(to, st.Recipients[i].Recipient.Path.String())
			}
			log.Warn("undeliverable message dropped: no notification is sent about a notification or an automatic reply",
				"from", st.From.String(), "to", to)
		}
		return
	}
	mta := q.opts.ReportingMTA
	if mta == "" {
		mta = DefaultReportingMTA
	}
	rep := dsn.Report{
		ReportingMTA: dsn.TypedValue{Type: dsn.TypeDNS, Value: mta},
		EnvelopeID:   st.Options.EnvelopeID,
		ArrivalDate:  st.Arrival,
	}
	for _, i := range idx {
		qr := st.Recipients[i]
		if !dsn.Wanted(qr.Recipient.Options.Notify, action) {
			continue
		}
		rep.Recipients = append(rep.Recipients, dsnRecipient(qr, action, st.Arrival.Add(orDefault(q.opts.Expire, DefaultExpire))))
	}
	if len(rep.Recipients) == 0 {
		return
	}
	n := &Notification{
		Action: action,
		ID:     st.ID,
		Envelope: smtp.Envelope{
			To:      []smtp.Recipient{{Path: st.From}},
			Options: smtp.MailOptions{UTF8: !st.From.IsASCII()},
		},
		Message: &dsn.Message{
			Report:   rep,
			To:       st.From,
			Date:     now,
			Original: io.NewSectionReader(f, 0, st.Size),
			Return:   st.Options.Return,
			UTF8:     st.Options.UTF8,
			Body:     st.Options.Body,
		},
	}
	send := q.opts.Notify
	if send == nil {
		send = q.enqueueNotification
	}
	if err := send(context.WithoutCancel(ctx), n); err != nil {
		log.Error("notification not sent", "err", err)
		return
	}
	log.Info("notification sent", "to", st.From.String(), "recipients", len(rep.Recipients))
}

// enqueueNotification is the default Notify: the notification joins the
// queue like any message.
func (q *Queue) enqueueNotification(ctx context.Context, n *Notification) error {
	pr, pw := io.Pipe()
	go func() {
		_, err := n.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	_, err := q.Enqueue(ctx, &n.Envelope, pr)
	pr.CloseWithError(err)
	return err
}

// dsnRecipient fills a per-recipient group from a queued recipient.
func dsnRecipient(qr QueuedRecipient, action dsn.Action, retryUntil time.Time) dsn.Recipient {
	typ := dsn.TypeRFC822
	if !qr.Recipient.Path.IsASCII() {
		typ = dsn.TypeUTF8
	}
	class := 5
	switch action {
	case dsn.ActionDelayed:
		class = 4
	case dsn.ActionDelivered, dsn.ActionRelayed:
		class = 2
	case dsn.ActionFailed:
		if qr.Code.Temporary() {
			class = 4 // expired after temporary failures
		}
	}
	status := qr.Enhanced
	if status.Class() != class {
		switch {
		case class == 4 && action == dsn.ActionFailed:
			status = smtp.NewEnhancedCode(4, 4, 7) // delivery time expired
		case class == 4 && !qr.Code.Valid():
			status = smtp.NewEnhancedCode(4, 4, 1)
		default:
			status = smtp.NewEnhancedCode(class, 0, 0)
		}
	}
	r := dsn.Recipient{
		FinalRecipient:    dsn.TypedValue{Type: typ, Value: qr.Recipient.Path.Mailbox()},
		OriginalRecipient: dsn.OriginalRecipient(qr.Recipient.Options),
		Action:            action,
		Status:            status,
		LastAttemptDate:   qr.Last,
	}
	if action == dsn.ActionDelayed {
		r.WillRetryUntil = retryUntil
	}
	if !qr.Local && qr.Host != "" && qr.Code.Valid() {
		r.RemoteMTA = dsn.TypedValue{Type: dsn.TypeDNS, Value: qr.Host}
		text := strings.Map(func(c rune) rune {
			if c < 0x20 || c == 0x7f {
				return ' '
			}
			return c
		}, qr.Text)
		diag := qr.Code.String()
		if qr.Enhanced.IsSet() {
			diag += " " + qr.Enhanced.String()
		}
		r.DiagnosticCode = dsn.TypedValue{Type: dsn.TypeSMTP, Value: strings.TrimSpace(diag + " " + text)}
	}
	return r
}
