package main

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisRate is the submission rate limit kept in Redis, so that every
// submission host of a fleet counts the same messages: the same sliding
// window as rateLimiter, as one sorted set per user whose members are the
// messages and whose scores are their send times in milliseconds. Each
// check and each count is one Lua script, atomic in Redis. This file and
// greylist/redisstore are the only places that use go-redis.
type redisRate struct {
	limit  rateLimit
	client *redis.Client
	prefix string
	seq    atomic.Uint64
	host   string
}

// The check: drop what left the window, then return the count and the
// oldest time still in it.
var redisRateCheck = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then return {n, oldest[2]} end
return {n, '0'}
`)

// The count: add the message, keep at most Max, expire the key with the
// window.
var redisRateAdd = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

func newRedisRate(client *redis.Client, l rateLimit, host string) *redisRate {
	return &redisRate{limit: l, client: client, prefix: "herald:rate:", host: host}
}

func (r *redisRate) key(user string) string { return r.prefix + user }

func (r *redisRate) allow(ctx context.Context, user string, now time.Time) (bool, int, time.Duration, error) {
	w := r.limit.Window.Milliseconds()
	res, err := redisRateCheck.Run(ctx, r.client, []string{r.key(user)}, now.UnixMilli()-w).Slice()
	if err != nil {
		return true, 0, 0, err
	}
	if len(res) != 2 {
		return true, 0, 0, fmt.Errorf("rate limit script: unexpected answer %v", res)
	}
	n, _ := res[0].(int64)
	s, _ := res[1].(string)
	oldest, _ := strconv.ParseFloat(s, 64)
	if int(n) < r.limit.Max {
		return true, int(n), 0, nil
	}
	// With more than Max members (never written so), the Max-th newest
	// decides; the oldest is a safe upper bound.
	wait := time.UnixMilli(int64(oldest)).Add(r.limit.Window).Sub(now)
	return false, int(n), max(wait, 0), nil
}

func (r *redisRate) add(ctx context.Context, user string, now time.Time) error {
	w := r.limit.Window.Milliseconds()
	member := fmt.Sprintf("%d.%s.%d", now.UnixNano(), r.host, r.seq.Add(1))
	return redisRateAdd.Run(ctx, r.client, []string{r.key(user)}, now.UnixMilli()-w, now.UnixMilli(), member, r.limit.Max, w).Err()
}
