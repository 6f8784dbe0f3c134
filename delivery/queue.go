package delivery

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/heraldmail/herald/internal/groupcommit"
	"github.com/heraldmail/herald/smtp"
)

// Defaults of QueueOptions. Each applies when the matching field is zero.
const (
	// DefaultExpire is how long a message is retried before it fails:
	// RFC 5321 section 4.5.4.1 asks for at least 4 to 5 days.
	DefaultExpire = 5 * 24 * time.Hour
	// DefaultDelayNotice is the age of a message at which its sender gets
	// a delay notification (once, and only when NOTIFY allows it).
	DefaultDelayNotice = 4 * time.Hour
	// DefaultMaxConcurrent bounds the connections the queue has open, and
	// the messages it attempts, at any one time.
	DefaultMaxConcurrent = 20
	// DefaultMaxPerDomain bounds the connections to one recipient domain.
	DefaultMaxPerDomain = 4
	// DefaultAttemptTimeout bounds one delivery attempt of one domain.
	DefaultAttemptTimeout = time.Hour
	// DefaultReportingMTA names this host in notifications.
	DefaultReportingMTA = "localhost"
	// DefaultMaxMessageBytes bounds a queued message, as the receiving
	// server's limit (smtp.DefaultMaxMessageBytes) does by default.
	DefaultMaxMessageBytes = smtp.DefaultMaxMessageBytes
)

// DefaultRetry is the retry schedule used when QueueOptions.Retry is nil:
// the delay after the first failed attempt, after the second, and so on,
// the last one repeating until the message expires. RFC 5321 section
// 4.5.4.1: the first retry may come soon (a greylisting server wants a few
// minutes); after that, attempts are at least 30 minutes apart.
var DefaultRetry = []time.Duration{
	5 * time.Minute,
	30 * time.Minute,
	30 * time.Minute,
	time.Hour,
	2 * time.Hour,
	4 * time.Hour,
}

// Transport delivers one envelope; *Deliverer is the real one.
type Transport interface {
	Deliver(ctx context.Context, env *smtp.Envelope, body Body) (*Result, error)
}

// QueueOptions configures a Queue. The zero value of every field but
// Transport means the documented default.
type QueueOptions struct {
	// Transport delivers messages. Required.
	Transport Transport
	// Retry is the retry schedule. Default DefaultRetry.
	Retry []time.Duration
	// Expire is how long after arrival a message is given up. Default
	// DefaultExpire.
	Expire time.Duration
	// DelayNotice is the age at which a delay notification goes out.
	// Default DefaultDelayNotice; negative means never.
	DelayNotice time.Duration
	// MaxConcurrent bounds connections and messages in progress. Default
	// DefaultMaxConcurrent.
	MaxConcurrent int
	// MaxPerDomain bounds connections per recipient domain. Default
	// DefaultMaxPerDomain.
	MaxPerDomain int
	// AttemptTimeout bounds one attempt for one domain. Default
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// ReportingMTA is this host's name in notifications. Default
	// DefaultReportingMTA.
	ReportingMTA string
	// MaxMessageBytes bounds a message given to Enqueue. Default
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// Notify receives each delivery status notification the queue owes a
	// sender. Nil means the queue enqueues them itself, to be delivered
	// like any message, through Transport: a server whose own users send
	// through the queue must then give it a Transport that delivers its
	// local domains locally (or set Notify to do so), or their bounces go
	// to the local domain's MX, fail there and, being notifications
	// themselves, are dropped with a warning in the log. The
	// notification's original message can be read only until Notify
	// returns.
	Notify func(ctx context.Context, n *Notification) error
	// SyncEach makes every queue write fsync its own files and
	// directories, one after the other, instead of sharing the fsyncs of
	// concurrent writers of the process (group commit, the default, which
	// maildir deliveries share too). Writes are durable either way.
	SyncEach bool
	// Logger receives attempts, notifications and recovery. Nil discards.
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now; tests use
	// testing/synctest, whose fake clock time.Now follows.
	Now func() time.Time
}

// Queue is a persistent outbound queue in a directory: for each message a
// message file and a state file (envelope and per-recipient state), both
// written and synced before Enqueue returns. Run delivers due messages,
// retries temporary failures on the retry schedule, expires messages, and
// hands notifications to QueueOptions.Notify. A Queue is safe for concurrent
// use; one directory must be used by one Queue at a time.
//
// Directory layout: msg/<id> and state/<id>; tmp/ for files being written;
// quarantine/ for files found incomplete or unreadable at start.
type Queue struct {
	dir  string
	opts QueueOptions

	mu          sync.Mutex
	items       map[string]*item
	waiting     waitHeap // the items not being attempted, soonest first
	running     int      // items being attempted
	quarantined []string
	wake        chan struct{}
	domains     map[string]*domainSlot
	conns       chan struct{}
	closed      bool
}

type item struct {
	st      *ItemState
	running bool
	index   int // in Queue.waiting, -1 while running
}

// waitHeap orders the waiting items by their next attempt, so that Run
// finds the due ones without scanning or sorting the whole queue on every
// wake-up (two a message: its arrival and the end of its attempt).
type waitHeap []*item

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].st.Next.Before(h[j].st.Next) }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *waitHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	it.index = -1
	*h = old[:len(old)-1]
	return it
}

// add puts a new item in the queue, waiting. q.mu must be held.
func (q *Queue) add(st *ItemState) {
	it := &item{st: st}
	q.items[st.ID] = it
	heap.Push(&q.waiting, it)
}

type domainSlot struct {
	sem  chan struct{}
	refs int
}

// ErrQueueClosed is returned by Enqueue after Close.
var ErrQueueClosed = errors.New("delivery: queue closed")

// OpenQueue opens (creating it if needed) the queue in dir and loads the
// messages it holds. Crash recovery: a state file whose message file is
// missing or of the wrong size, a message file without a state file (its
// Enqueue never returned), a state file that does not parse, and files left
// in tmp/ are moved to quarantine/ and logged at level Error, never sent and
// never deleted; Quarantined lists them.
func OpenQueue(dir string, opts *QueueOptions) (*Queue, error) {
	q := &Queue{dir: dir, items: map[string]*item{}, wake: make(chan struct{}, 1), domains: map[string]*domainSlot{}}
	if opts != nil {
		q.opts = *opts
	}
	if q.opts.Transport == nil {
		return nil, errors.New("delivery: QueueOptions.Transport is required")
	}
	q.conns = make(chan struct{}, orDefault(q.opts.MaxConcurrent, DefaultMaxConcurrent))
	for _, sub := range []string{"msg", "state", "tmp", "quarantine"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	if err := q.load(); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *Queue) logger() *slog.Logger {
	if q.opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return q.opts.Logger
}

func (q *Queue) now() time.Time {
	if q.opts.Now == nil {
		return time.Now()
	}
	return q.opts.Now()
}

func (q *Queue) path(sub, name string) string { return filepath.Join(q.dir, sub, name) }

func (q *Queue) load() error {
	log := q.logger()
	tmp, err := os.ReadDir(filepath.Join(q.dir, "tmp"))
	if err != nil {
		return err
	}
	for _, e := range tmp {
		q.quarantine("tmp", e.Name(), "left in tmp/ by an interrupted write")
	}
	states, err := os.ReadDir(filepath.Join(q.dir, "state"))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, e := range states {
		name := e.Name()
		seen[name] = true
		b, err := readLimited(q.path("state", name), MaxStateBytes)
		var st *ItemState
		if err == nil {
			st, err = ParseState(b)
		}
		if err == nil && st.ID != name {
			err = badState("id %q in file %q", st.ID, name)
		}
		if err == nil {
			var fi os.FileInfo
			fi, err = os.Stat(q.path("msg", name))
			if err == nil && fi.Size() != st.Size {
				err = fmt.Errorf("message file has %d bytes, state says %d", fi.Size(), st.Size)
			}
		}
		if err != nil {
			q.quarantine("state", name, err.Error())
			if _, serr := os.Stat(q.path("msg", name)); serr == nil {
				q.quarantine("msg", name, "its state file is unusable")
			}
			continue
		}
		q.add(st)
	}
	msgs, err := os.ReadDir(filepath.Join(q.dir, "msg"))
	if err != nil {
		return err
	}
	for _, e := range msgs {
		if !seen[e.Name()] {
			q.quarantine("msg", e.Name(), "message without a state file: Enqueue did not complete")
		}
	}
	log.Info("queue loaded", "dir", q.dir, "items", len(q.items), "quarantined", len(q.quarantined))
	return nil
}

func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, badState("over %d bytes", limit)
	}
	return b, nil
}

// quarantine moves sub/name to quarantine/sub-name and logs why.
func (q *Queue) quarantine(sub, name, why string) {
	dst := q.path("quarantine", sub+"-"+name)
	err := os.Rename(q.path(sub, name), dst)
	q.logger().Error("queue file quarantined", "file", filepath.Join(sub, name), "reason", why, "err", err)
	if err == nil {
		q.quarantined = append(q.quarantined, dst)
	}
}

// Quarantined returns the files that OpenQueue moved aside.
func (q *Queue) Quarantined() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.quarantined)
}

// Len returns the number of messages in the queue.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Items returns a copy of the state of every queued message, by ID.
func (q *Queue) Items() []ItemState {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]ItemState, 0, len(q.items))
	for _, it := range q.items {
		c := *it.st
		c.Recipients = slices.Clone(c.Recipients)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func newID(now time.Time) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%013x-%s", now.UnixMicro(), hex.EncodeToString(b[:]))
}

// Enqueue stores a message for delivery and returns its ID. It returns
// only once the message file and the state file are written and synced to
// disk, with their directories, so that the message survives a crash: a
// receiving server may then answer 250. The fsyncs are shared with the
// concurrent writes of the process (two waits per Enqueue, each batched
// with the others waiting), unless QueueOptions.SyncEach is set. When ctx
// ends while Enqueue waits, nothing is queued. body is read to its end and
// streamed to disk, at most QueueOptions.MaxMessageBytes of it (else the
// error is smtp.ErrMessageTooLarge and nothing is queued).
// env.Options.Size is replaced by the size read.
func (q *Queue) Enqueue(ctx context.Context, env *smtp.Envelope, body io.Reader) (string, error) {
	if len(env.To) == 0 {
		return "", ErrNoRecipients
	}
	if len(env.To) > DefaultMaxQueueRecipients {
		return "", fmt.Errorf("delivery: more than %d recipients", DefaultMaxQueueRecipients)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return "", ErrQueueClosed
	}
	now := q.now()
	id := newID(now)
	limit := q.opts.MaxMessageBytes
	if limit <= 0 {
		limit = DefaultMaxMessageBytes
	}
	// Both files are written to tmp/ and synced together; only then are
	// they renamed into msg/ and state/, and the two directories synced:
	// a crash leaves either tmp/ files, or complete files that OpenQueue
	// loads (both renamed) or quarantines (one of them).
	msgF, msgTmp, size, err := q.createFile("msg", id, func(w io.Writer) error {
		n, err := io.Copy(w, io.LimitReader(ctxReader{ctx, body}, limit+1))
		if err == nil && n > limit {
			err = smtp.ErrMessageTooLarge
		}
		return err
	})
	if err != nil {
		return "", err
	}
	st := &ItemState{ID: id, From: env.From, Options: env.Options, Size: size, Arrival: now, Next: now}
	st.Options.Size = size
	for _, r := range env.To {
		st.Recipients = append(st.Recipients, QueuedRecipient{Recipient: r, State: StatePending})
	}
	b, err := MarshalState(st)
	if err != nil {
		msgF.Close()
		os.Remove(msgTmp)
		return "", err
	}
	stF, stTmp, _, err := q.createFile("state", id, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		msgF.Close()
		os.Remove(msgTmp)
		return "", err
	}
	c := q.committer()
	err = c.Sync(ctx, groupcommit.Request{Files: []*os.File{msgF, stF}})
	if cerr := msgF.Close(); err == nil {
		err = cerr
	}
	if cerr := stF.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(msgTmp, q.path("msg", id))
	}
	if err == nil {
		if err = os.Rename(stTmp, q.path("state", id)); err != nil {
			os.Remove(q.path("msg", id))
		}
	}
	if err != nil {
		os.Remove(msgTmp)
		os.Remove(stTmp)
		return "", err
	}
	if err := c.Sync(ctx, groupcommit.Request{Paths: []string{filepath.Join(q.dir, "msg"), filepath.Join(q.dir, "state")}}); err != nil {
		// State first, as in remove.
		os.Remove(q.path("state", id))
		os.Remove(q.path("msg", id))
		return "", err
	}
	q.mu.Lock()
	q.add(st)
	q.mu.Unlock()
	q.logger().Info("queued", "id", id, "from", env.From.String(), "recipients", len(env.To), "size", size)
	q.poke()
	return id, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// committer returns the Committer of the queue's writes: the process-wide
// one, or nil (each write syncs on its own) with QueueOptions.SyncEach.
func (q *Queue) committer() *groupcommit.Committer {
	if q.opts.SyncEach {
		return nil
	}
	return groupcommit.Shared()
}

// createFile creates tmp/sub-name, fills it and returns it open and not
// yet synced, with its path and the bytes written; on error nothing is
// left.
func (q *Queue) createFile(sub, name string, fill func(io.Writer) error) (*os.File, string, int64, error) {
	tmp := q.path("tmp", sub+"-"+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", 0, err
	}
	cw := &countWriter{w: f}
	if err := fill(cw); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, "", 0, err
	}
	return f, tmp, cw.n, nil
}

// writeFile writes sub/name through tmp/: the file is synced, renamed and
// its directory synced, through the committer. It returns the bytes
// written.
func (q *Queue) writeFile(sub, name string, fill func(io.Writer) error) (int64, error) {
	f, tmp, n, err := q.createFile(sub, name, fill)
	if err != nil {
		return 0, err
	}
	c := q.committer()
	ctx := context.Background() // a started write is finished
	err = c.Sync(ctx, groupcommit.Request{Files: []*os.File{f}})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, q.path(sub, name))
	}
	if err == nil {
		err = c.Sync(ctx, groupcommit.Request{Paths: []string{filepath.Join(q.dir, sub)}})
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (q *Queue) writeState(st *ItemState) error {
	b, err := MarshalState(st)
	if err != nil {
		return err
	}
	_, err = q.writeFile("state", st.ID, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	return err
}

// remove deletes a finished item: the state file first, so that a crash in
// between leaves a message without state, which is quarantined, never sent.
func (q *Queue) remove(id string) error {
	if err := os.Remove(q.path("state", id)); err != nil {
		return err
	}
	if err := q.committer().Sync(context.Background(), groupcommit.Request{Paths: []string{filepath.Join(q.dir, "state")}}); err != nil {
		return err
	}
	return os.Remove(q.path("msg", id))
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Close stops Enqueue from accepting messages. It does not stop Run; cancel
// Run's context for that.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	return nil
}

// Run delivers queued messages until ctx is done: each message when its
// next attempt is due, at most MaxConcurrent at a time and MaxPerDomain
// connections per domain. When ctx is done it stops starting attempts,
// cancels those in progress (their recipients count as temporary failures
// and are tried again after a restart), waits for them to record their
// state, and returns nil. Run must not be called twice at once.
func (q *Queue) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	maxItems := orDefault(q.opts.MaxConcurrent, DefaultMaxConcurrent)
	for {
		now := q.now()
		var next time.Time
		q.mu.Lock()
		for q.running < maxItems && len(q.waiting) > 0 && !q.waiting[0].st.Next.After(now) {
			it := heap.Pop(&q.waiting).(*item)
			it.running = true
			q.running++
			wg.Add(1)
			go func() {
				defer wg.Done()
				q.attempt(ctx, it)
				q.poke()
			}()
		}
		if len(q.waiting) > 0 && q.running < maxItems {
			next = q.waiting[0].st.Next
		}
		q.mu.Unlock()

		var timer *time.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(next.Sub(now))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// TransportFunc adapts a function to the Transport interface.
type TransportFunc func(ctx context.Context, env *smtp.Envelope, body Body) (*Result, error)

// Deliver calls f.
func (f TransportFunc) Deliver(ctx context.Context, env *smtp.Envelope, body Body) (*Result, error) {
	return f(ctx, env, body)
}
