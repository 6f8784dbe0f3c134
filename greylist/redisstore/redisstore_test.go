package redisstore_test

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/greylist/greylisttest"
	"github.com/heraldmail/herald/greylist/redisstore"
	"github.com/heraldmail/herald/internal/peertest"
)

// startRedis starts a private redis-server on a free loopback port, with no
// persistence and its own directory, and stops it when the test ends.
func startRedis(t *testing.T) string {
	t.Helper()
	bin := peertest.LookPath(t, "redis-server")
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		dir := t.TempDir()
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", dir+"/redis.log")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c := redis.NewClient(&redis.Options{Addr: addr})
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if lastErr = c.Ping(context.Background()).Err(); lastErr == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.Close()
		if lastErr == nil {
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			return addr
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return ""
}

func newClient(t *testing.T, addr string, db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestStoreSuite(t *testing.T) {
	addr := startRedis(t)
	db := 0
	greylisttest.Run(t, func(t *testing.T) greylist.Store {
		// Each subtest gets a database of its own (Redis has 16).
		db++
		c := newClient(t, addr, db%16)
		if err := c.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		return redisstore.New(c, nil)
	})
}

// TestRecords checks what is stored in Redis: key names, record format and
// TTLs.
func TestRecords(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	c := newClient(t, addr, 0)
	s := redisstore.New(c, &redisstore.Options{Prefix: "gl:"})
	t0 := time.UnixMilli(1_700_000_000_000)
	rules := greylist.Rules{Delay: 300 * time.Second, RetryWindow: 48 * time.Hour, MaxAge: 35 * 24 * time.Hour, AutoWhitelist: 5}
	q := greylist.Query{Client: "192.0.2.0/24", Envelope: "a@b\x00c@d", Now: t0, Rules: rules}

	ck, tk := s.Keys(q.Client, q.Envelope)
	if ck != "gl:c:{192.0.2.0/24}" || tk != "gl:t:{192.0.2.0/24}:a@b\x00c@d" {
		t.Fatalf("keys %q %q", ck, tk)
	}
	checkRecord := func(key, want string, ttl time.Duration) {
		t.Helper()
		got, err := c.Get(ctx, key).Result()
		if err != nil || got != want {
			t.Fatalf("GET %q = %q, %v; want %q", key, got, err, want)
		}
		pttl, err := c.PTTL(ctx, key).Result()
		if err != nil || pttl > ttl || pttl < ttl-5*time.Second {
			t.Fatalf("PTTL %q = %v, %v; want about %v", key, pttl, err, ttl)
		}
	}

	if _, err := s.Check(ctx, q); err != nil {
		t.Fatal(err)
	}
	checkRecord(tk, "1700000000000:1700172800000:0", 48*time.Hour)
	if n, _ := c.Exists(ctx, ck).Result(); n != 0 {
		t.Fatalf("client record written for a new triplet")
	}

	q.Now = t0.Add(10 * time.Minute)
	out, err := s.Check(ctx, q)
	if err != nil || out.Verdict != greylist.VerdictRetried {
		t.Fatalf("retry: %+v, %v", out, err)
	}
	checkRecord(tk, "1700000000000:1703024600000:1", 35*24*time.Hour)
	checkRecord(ck, "1:1703024600000", 35*24*time.Hour)

	// A damaged record counts as absent and is replaced.
	if err := c.Set(ctx, tk, "garbage", 0).Err(); err != nil {
		t.Fatal(err)
	}
	q.Now = t0.Add(20 * time.Minute)
	out, err = s.Check(ctx, q)
	if err != nil || out.Verdict != greylist.VerdictNew {
		t.Fatalf("after damage: %+v, %v", out, err)
	}
	checkRecord(tk, "1700001200000:1700174000000:0", 48*time.Hour)

	// The script survives SCRIPT FLUSH (EVALSHA falls back to EVAL).
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	q.Now = t0.Add(21 * time.Minute)
	if out, err := s.Check(ctx, q); err != nil || out.Verdict != greylist.VerdictEarly {
		t.Fatalf("after SCRIPT FLUSH: %+v, %v", out, err)
	}
}

// TestFleet runs two policies, as two MX hosts with their own connections,
// on one Redis: the first attempt reaches one host, the retry the other.
func TestFleet(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	newHost := func() *greylist.Policy {
		p, err := greylist.New(&greylist.Options{
			Store:      redisstore.New(newClient(t, addr, 0), nil),
			Privacy:    true,
			PrivacyKey: []byte("fleet secret"),
			Now:        func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	mx1, mx2 := newHost(), newHost()
	req := greylist.Request{Client: netip.MustParseAddr("2001:db8:1:2::25"), Sender: "news+4711@example.org", Recipient: "user@example.net"}
	d, err := mx1.Check(ctx, req)
	if err != nil || d.Action != greylist.Defer {
		t.Fatalf("mx1 first attempt: %+v, %v", d, err)
	}
	now = now.Add(6 * time.Minute)
	req.Client = netip.MustParseAddr("2001:db8:1:2::26") // same /64
	req.Sender = "news+4712@example.org"
	d, err = mx2.Check(ctx, req)
	if err != nil || d.Reason != greylist.ReasonRetried || d.Delayed != 6*time.Minute {
		t.Fatalf("mx2 retry: %+v, %v", d, err)
	}
	// Privacy mode: Redis holds no address or network.
	keys, err := newClient(t, addr, 0).Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys %q, want a client and a triplet", keys)
	}
	for _, k := range keys {
		if strings.ContainsAny(k, "@:/") && !strings.HasPrefix(k, "greylist:") || strings.Contains(k, "example") || strings.Contains(k, "2001") {
			t.Errorf("key %q reveals the triplet", k)
		}
	}
}

// TestUnavailable checks that a Redis that is down gives an error, not a
// decision.
func TestUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	s := redisstore.New(c, nil)
	_, err = s.Check(context.Background(), greylist.Query{Client: "n", Envelope: "e", Now: time.Now(),
		Rules: greylist.Rules{Delay: time.Second, RetryWindow: time.Hour, MaxAge: time.Hour}})
	if err == nil || !strings.HasPrefix(err.Error(), "redisstore: ") {
		t.Fatalf("err = %v, want a redisstore error", err)
	}
}
