package dnsmx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/miekg/dns"
)

// blockingClient returns a client whose network is a hook that counts
// exchanges and answers only once release is closed or ctx ends.
func blockingClient(t *testing.T, release <-chan struct{}, calls *atomic.Int32) *Client {
	c, err := NewClient(&ClientOptions{Servers: []string{"192.0.2.53"}, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	c.exchangeHook = func(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		rr, _ := dns.NewRR(dns.Fqdn(name) + " 60 IN A 192.0.2.1")
		m.Answer = append(m.Answer, rr)
		return m, "hook", nil
	}
	return c
}

func TestConcurrentLookupsShareOneQuery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		c := blockingClient(t, release, &calls)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = c.LookupNetIP(context.Background(), "ip4", "a.example") })
		}
		synctest.Wait() // every caller is waiting: one on the hook, the rest on it
		close(release)
		wg.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d exchanges for 8 concurrent lookups, want 1", n)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestFollowerOutlivesCancelledLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		c := blockingClient(t, release, &calls)
		leaderCtx, cancel := context.WithCancel(context.Background())
		var leaderErr, followerErr error
		var wg sync.WaitGroup
		wg.Go(func() { _, leaderErr = c.LookupNetIP(leaderCtx, "ip4", "a.example") })
		synctest.Wait()
		wg.Go(func() { _, followerErr = c.LookupNetIP(context.Background(), "ip4", "a.example") })
		synctest.Wait()
		cancel()
		synctest.Wait() // the follower now asks itself
		close(release)
		wg.Wait()
		if !errors.Is(leaderErr, context.Canceled) || followerErr != nil {
			t.Fatalf("leader %v, follower %v", leaderErr, followerErr)
		}
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d exchanges, want 2", n)
		}
	})
}

func TestFollowerContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		c := blockingClient(t, release, &calls)
		var wg sync.WaitGroup
		wg.Go(func() { c.LookupNetIP(context.Background(), "ip4", "a.example") })
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		var err error
		wg.Go(func() { _, err = c.LookupNetIP(ctx, "ip4", "a.example") })
		synctest.Wait()
		cancel()
		synctest.Wait()
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrTemporary) {
			t.Fatalf("follower err = %v", err)
		}
		close(release)
		wg.Wait()
	})
}
