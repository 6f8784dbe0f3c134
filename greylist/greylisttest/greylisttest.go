// Package greylisttest holds the behaviour suite that every
// [greylist.Store] must pass. The greylist package runs it against its
// MemoryStore and greylist/redisstore against a real Redis; a third-party
// store runs it the same way:
//
//	func TestStore(t *testing.T) {
//		greylisttest.Run(t, func(t *testing.T) greylist.Store { return newMyStore(t) })
//	}
package greylisttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/greylist"
)

// t0() is the start time of the suite's scenarios. Stores must not depend on
// the wall clock agreeing with the query time.
func t0() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// The suite's default rules: postgrey's timings and auto-whitelisting after
// 3 retries.
const (
	delay         = 300 * time.Second
	retryWindow   = 48 * time.Hour
	maxAge        = 35 * 24 * time.Hour
	autoWhitelist = 3
)

func defaultRules() greylist.Rules {
	return greylist.Rules{Delay: delay, RetryWindow: retryWindow, MaxAge: maxAge, AutoWhitelist: autoWhitelist}
}

// Run runs the store behaviour suite. newStore must return a new, empty
// store for each call; it is called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) greylist.Store) {
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newStore(t)) })
	t.Run("RetryWindow", func(t *testing.T) { testRetryWindow(t, newStore(t)) })
	t.Run("AutoWhitelist", func(t *testing.T) { testAutoWhitelist(t, newStore(t)) })
	t.Run("AutoWhitelistOff", func(t *testing.T) { testAutoWhitelistOff(t, newStore(t)) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, newStore(t)) })
	t.Run("Model", func(t *testing.T) { testModel(t, newStore(t)) })
	t.Run("ConcurrentOneTriplet", func(t *testing.T) { testConcurrentOneTriplet(t, newStore(t)) })
	t.Run("ConcurrentOneClient", func(t *testing.T) { testConcurrentOneClient(t, newStore(t)) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, newStore(t)) })
	t.Run("Policy", func(t *testing.T) { testPolicy(t, newStore(t)) })
}

type step struct {
	name      string
	client    string
	envelope  string
	at        time.Duration // since t0()
	want      greylist.Verdict
	wantFirst time.Duration // since t0(); ignored for ClientWhitelisted
	passes    int
}

func runSteps(t *testing.T, s greylist.Store, r greylist.Rules, steps []step) {
	t.Helper()
	ctx := context.Background()
	for _, st := range steps {
		q := greylist.Query{Client: st.client, Envelope: st.envelope, Now: t0().Add(st.at), Rules: r}
		got, err := s.Check(ctx, q)
		if err != nil {
			t.Fatalf("%s: Check: %v", st.name, err)
		}
		want := greylist.Outcome{Verdict: st.want, ClientPasses: st.passes}
		if st.want != greylist.VerdictClientWhitelisted {
			want.FirstSeen = t0().Add(st.wantFirst)
		}
		if !got.FirstSeen.Equal(want.FirstSeen) || got.Verdict != want.Verdict || got.ClientPasses != want.ClientPasses {
			t.Fatalf("%s: at +%v got {%v first=+%v passes=%d}, want {%v first=+%v passes=%d}",
				st.name, st.at, got.Verdict, sinceT0(got.FirstSeen), got.ClientPasses,
				want.Verdict, sinceT0(want.FirstSeen), want.ClientPasses)
		}
	}
}

func sinceT0(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return t.Sub(t0())
}

const (
	netA = "192.0.2.0/24"
	netB = "198.51.100.0/24"
	envX = "alice@example.org\x00bob@example.net"
	envY = "carol@example.org\x00bob@example.net"
)

func testLifecycle(t *testing.T, s greylist.Store) {
	day := 24 * time.Hour
	ms := time.Millisecond
	runSteps(t, s, defaultRules(), []step{
		{"first attempt", netA, envX, 0, greylist.VerdictNew, 0, 0},
		{"immediate retry", netA, envX, 10 * time.Second, greylist.VerdictEarly, 0, 0},
		{"1 ms before delay", netA, envX, 300*time.Second - ms, greylist.VerdictEarly, 0, 0},
		{"other client is new", netB, envX, 301 * time.Second, greylist.VerdictNew, 301 * time.Second, 0},
		{"at the delay", netA, envX, 300 * time.Second, greylist.VerdictRetried, 0, 1},
		{"next message", netA, envX, 400 * time.Second, greylist.VerdictKnown, 0, 1},
		{"a month later", netA, envX, 30 * day, greylist.VerdictKnown, 0, 1},
		// The client's pass count, last raised at +300s, is forgotten
		// after 35 days; the triplet, seen since, is not.
		{"34 days after last", netA, envX, 64 * day, greylist.VerdictKnown, 0, 0},
		// Last seen at +64d: the record lasts until +99d, exclusive.
		{"1 ms before max age", netA, envX, 99*day - ms, greylist.VerdictKnown, 0, 0},
		{"35 days unseen", netA, envX, 99*day - ms + 35*day, greylist.VerdictNew, 99*day - ms + 35*day, 0},
	})
}

func testRetryWindow(t *testing.T, s greylist.Store) {
	ms := time.Millisecond
	w := defaultRules().RetryWindow
	runSteps(t, s, defaultRules(), []step{
		{"X first", netA, envX, 0, greylist.VerdictNew, 0, 0},
		{"Y first", netA, envY, 0, greylist.VerdictNew, 0, 0},
		{"X early retry does not extend the window", netA, envX, 100 * time.Second, greylist.VerdictEarly, 0, 0},
		{"X retries at the end of the window", netA, envX, w - ms, greylist.VerdictRetried, 0, 1},
		{"Y retries too late", netA, envY, w, greylist.VerdictNew, w, 1},
		{"Y early again", netA, envY, w + time.Second, greylist.VerdictEarly, w, 1},
		{"Y passes", netA, envY, w + 300*time.Second, greylist.VerdictRetried, w, 2},
	})
}

func testAutoWhitelist(t *testing.T, s greylist.Store) {
	d := defaultRules().Delay
	n := defaultRules().AutoWhitelist
	var steps []step
	for i := range n {
		env := fmt.Sprintf("sender%d@example.org\x00rcpt@example.net", i)
		start := time.Duration(i) * time.Hour
		again := step{"again " + env, netA, env, start + 2*d, greylist.VerdictKnown, start, i + 1}
		if i+1 == n {
			again.want = greylist.VerdictClientWhitelisted
		}
		steps = append(steps,
			step{"new " + env, netA, env, start, greylist.VerdictNew, start, i},
			step{"retry " + env, netA, env, start + d, greylist.VerdictRetried, start, i + 1},
			// A passed triplet counts once, not per message.
			again)
	}
	last := time.Duration(n-1)*time.Hour + d
	day := 24 * time.Hour
	steps = append(steps,
		step{"whitelisted", netA, envX, last + time.Minute, greylist.VerdictClientWhitelisted, 0, n},
		step{"other client not", netB, envX, last + time.Minute, greylist.VerdictNew, last + time.Minute, 0},
		step{"still whitelisted", netA, envY, last + 30*day, greylist.VerdictClientWhitelisted, 0, n},
	)
	runSteps(t, s, defaultRules(), steps)

	// Raising the threshold takes effect at once; the count is kept, and
	// whitelisted queries recorded no triplet.
	higher := defaultRules()
	higher.AutoWhitelist = 10
	runSteps(t, s, higher, []step{
		{"threshold 10", netA, envX, last + 31*day, greylist.VerdictNew, last + 31*day, n},
	})
	// Refreshed at +30d, the client record lasts until +65d.
	runSteps(t, s, defaultRules(), []step{
		{"1 ms before max age", netA, envY, last + 65*day - time.Millisecond, greylist.VerdictClientWhitelisted, 0, n},
		{"forgotten after max age", netA, "new@x\x00r@y", last + 100*day, greylist.VerdictNew, last + 100*day, 0},
	})
}

func testAutoWhitelistOff(t *testing.T, s greylist.Store) {
	off := defaultRules()
	off.AutoWhitelist = 0
	d := off.Delay
	var steps []step
	for i := range 6 {
		env := fmt.Sprintf("s%d@example.org\x00r@example.net", i)
		start := time.Duration(i) * time.Hour
		steps = append(steps,
			step{"new", netA, env, start, greylist.VerdictNew, start, 0},
			step{"retry", netA, env, start + d, greylist.VerdictRetried, start, 0})
	}
	steps = append(steps, step{"never whitelisted", netA, envX, 10 * time.Hour, greylist.VerdictNew, 10 * time.Hour, 0})
	runSteps(t, s, off, steps)
}

// testKeys checks that keys are compared byte for byte, whatever they hold.
func testKeys(t *testing.T, s greylist.Store) {
	keys := []struct{ client, env string }{
		{"c", "a\x00b"},
		{"c\x00a", "b"},
		{"c", "A\x00b"},
		{"{c}", "a\x00b"},
		{"c}", "{a\x00b"},
		{"2001:db8::/64", "ünïcødé@例え.jp\x00r@example.net"},
		{"c", ""},
		{"", "a\x00b"},
		{"c:x", "a"},
		{"c", ":x\x00a"},
		{strings.Repeat("n", 600), strings.Repeat("e", 900)},
		{"c", "\xff\xfe\x00\r\n"},
	}
	var steps []step
	for i, k := range keys {
		at := time.Duration(i) * time.Second
		steps = append(steps, step{fmt.Sprintf("key %d new", i), k.client, k.env, at, greylist.VerdictNew, at, 0})
	}
	for i, k := range keys {
		at := time.Duration(i) * time.Second
		steps = append(steps, step{fmt.Sprintf("key %d early", i), k.client, k.env, time.Minute, greylist.VerdictEarly, at, 0})
	}
	runSteps(t, s, defaultRules(), steps)
}

// testModel compares the store with greylist.Step applied to a map, over a
// random sequence of queries at non-decreasing times.
func testModel(t *testing.T, s greylist.Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	type tkey struct{ c, e string }
	trip := map[tkey]greylist.TripletRecord{}
	cli := map[string]greylist.ClientRecord{}
	clients := []string{netA, netB, "203.0.113.0/24"}
	envs := []string{envX, envY, "x@y\x00z@w", "\x00"}
	gaps := []time.Duration{0, time.Millisecond, time.Second, time.Minute, 5 * time.Minute, time.Hour, 47 * time.Hour, 10 * 24 * time.Hour, 40 * 24 * time.Hour}
	now := t0()
	for i := range 600 {
		now = now.Add(gaps[rng.IntN(len(gaps))])
		r := defaultRules()
		r.AutoWhitelist = rng.IntN(4)
		q := greylist.Query{Client: clients[rng.IntN(len(clients))], Envelope: envs[rng.IntN(len(envs))], Now: now, Rules: r}
		k := tkey{q.Client, q.Envelope}
		ns, want := greylist.Step(q, greylist.State{Triplet: trip[k], Client: cli[q.Client]})
		trip[k], cli[q.Client] = ns.Triplet, ns.Client
		got, err := s.Check(ctx, q)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if got.Verdict != want.Verdict || !got.FirstSeen.Equal(want.FirstSeen) || got.ClientPasses != want.ClientPasses {
			t.Fatalf("query %d (%q %q at %v, awl %d): got %+v, want %+v", i, q.Client, q.Envelope, now, r.AutoWhitelist, got, want)
		}
	}
}

// testConcurrentOneTriplet hammers one triplet from many goroutines, as
// several MX hosts receiving the same retry would.
func testConcurrentOneTriplet(t *testing.T, s greylist.Store) {
	const workers, each = 16, 25
	r := defaultRules()
	r.AutoWhitelist = 100
	count := func(at time.Time) map[greylist.Verdict]int {
		var mu sync.Mutex
		counts := map[greylist.Verdict]int{}
		maxPasses := 0
		var wg sync.WaitGroup
		errc := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for range each {
					out, err := s.Check(context.Background(), greylist.Query{Client: netA, Envelope: envX, Now: at, Rules: r})
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					counts[out.Verdict]++
					maxPasses = max(maxPasses, out.ClientPasses)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if maxPasses > 1 {
			t.Errorf("client passes reached %d, want at most 1", maxPasses)
		}
		return counts
	}
	got := count(t0())
	if got[greylist.VerdictNew] != 1 || got[greylist.VerdictEarly] != workers*each-1 {
		t.Errorf("first burst: %v, want 1 new and %d early", got, workers*each-1)
	}
	got = count(t0().Add(r.Delay))
	if got[greylist.VerdictRetried] != 1 || got[greylist.VerdictKnown] != workers*each-1 {
		t.Errorf("retry burst: %v, want 1 retried and %d known", got, workers*each-1)
	}
	// The one retry was counted once.
	out, err := s.Check(context.Background(), greylist.Query{Client: netA, Envelope: envY, Now: t0().Add(time.Hour), Rules: r})
	if err != nil || out.ClientPasses != 1 {
		t.Errorf("after the bursts: %+v, %v; want 1 client pass", out, err)
	}
}

// testConcurrentOneClient retries many triplets of one client network at
// once: every retry must be counted.
func testConcurrentOneClient(t *testing.T, s greylist.Store) {
	const n = 64
	r := defaultRules()
	r.AutoWhitelist = 1000
	ctx := context.Background()
	for i := range n {
		q := greylist.Query{Client: netA, Envelope: fmt.Sprintf("s%d@x\x00r@y", i), Now: t0(), Rules: r}
		if _, err := s.Check(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	results := make([]greylist.Outcome, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			q := greylist.Query{Client: netA, Envelope: fmt.Sprintf("s%d@x\x00r@y", i), Now: t0().Add(r.Delay), Rules: r}
			results[i], errs[i] = s.Check(ctx, q)
		})
	}
	wg.Wait()
	seen := make(map[int]bool)
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if results[i].Verdict != greylist.VerdictRetried {
			t.Errorf("triplet %d: %v, want retried", i, results[i].Verdict)
		}
		if seen[results[i].ClientPasses] {
			t.Errorf("two retries saw client pass count %d", results[i].ClientPasses)
		}
		seen[results[i].ClientPasses] = true
	}
	out, err := s.Check(ctx, greylist.Query{Client: netA, Envelope: envX, Now: t0().Add(time.Hour), Rules: r})
	if err != nil || out.ClientPasses != n {
		t.Errorf("after %d concurrent retries: %+v, %v; want %d client passes", n, out, err, n)
	}
}

func testErrors(t *testing.T, s greylist.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Check(ctx, greylist.Query{Client: netA, Envelope: envX, Now: t0(), Rules: defaultRules()}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
	for _, r := range []greylist.Rules{
		{Delay: -time.Second, RetryWindow: time.Hour, MaxAge: time.Hour},
		{Delay: time.Hour, RetryWindow: time.Hour, MaxAge: time.Hour},
		{Delay: time.Second, RetryWindow: time.Hour},
		{Delay: time.Second, RetryWindow: time.Hour, MaxAge: time.Hour, AutoWhitelist: -1},
	} {
		_, err := s.Check(context.Background(), greylist.Query{Client: netA, Envelope: envX, Now: t0(), Rules: r})
		if !errors.Is(err, greylist.ErrInvalidRules) {
			t.Errorf("rules %+v: err = %v, want ErrInvalidRules", r, err)
		}
	}
	// Nothing was stored by the failed queries.
	out, err := s.Check(context.Background(), greylist.Query{Client: netA, Envelope: envX, Now: t0().Add(time.Hour), Rules: defaultRules()})
	if err != nil || out.Verdict != greylist.VerdictNew {
		t.Errorf("after failed queries: %+v, %v; want new", out, err)
	}
}

// testPolicy runs a Policy on the store with an injected clock, in privacy
// mode, and checks what an SMTP client would see.
func testPolicy(t *testing.T, s greylist.Store) {
	now := t0()
	p, err := greylist.New(&greylist.Options{
		Store:      s,
		Privacy:    true,
		PrivacyKey: []byte("suite"),
		Now:        func() time.Time { return now },
		Hostname:   "mx.example.net",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := greylist.Request{
		Client:    netip.MustParseAddr("192.0.2.7"),
		Sender:    "prvs=1234abcdef=Alice+news@Example.ORG",
		Recipient: "Bob@Example.NET",
	}
	d, err := p.Check(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	reply, ok := p.Reply(d)
	if d.Action != greylist.Defer || d.Reason != greylist.ReasonNew || !ok ||
		reply.String() != "451 4.7.1 Greylisted, please retry in 300 seconds (after 2026-03-01T12:05:00Z)" {
		t.Fatalf("first attempt: %+v, reply %q", d, reply)
	}
	// The retry comes from another host of the /24 with another BATV tag.
	now = t0().Add(312 * time.Second)
	req.Client = netip.MustParseAddr("192.0.2.200")
	req.Sender = "prvs=9999ffffff=alice@example.org"
	d, err = p.Check(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := p.HeaderValue(d)
	if d.Action != greylist.Pass || d.Reason != greylist.ReasonRetried || d.Delayed != 312*time.Second || !ok ||
		h != "delayed 312 seconds by Herald greylist at mx.example.net; Sun, 01 Mar 2026 12:05:12 +0000" {
		t.Fatalf("retry: %+v, header %q", d, h)
	}
}
