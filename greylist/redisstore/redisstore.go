// Package redisstore is a [greylist.Store] in Redis, so that every MX host of
// a domain shares one greylist: a retry that reaches another MX host than the
// first attempt still passes, and auto-whitelisting counts the retries seen
// by the whole fleet.
//
// # Atomicity: a Lua script
//
// Each Check runs one Lua script (EVALSHA, falling back to EVAL when the
// server does not have it cached) that reads the client network's record
// and the triplet's record, applies the rules of [greylist.Step] and writes
// the records back. Redis runs a script as one atomic operation, so when two
// MX hosts send the same retry at once, exactly one sees the transition to
// passed and counts it.
//
// A WATCH/MULTI/EXEC transaction would give the same guarantee, but
// optimistically: it needs three round trips (WATCH and GET, then MULTI/EXEC)
// and starts over whenever another host touched the keys in between, which
// is exactly what happens in the contended case greylisting cares about
// (every MX host receiving the same retry). The script needs one round trip
// whatever the contention, so its latency stays flat. Scripts also run on
// every Redis version since 2.6 and through the go-redis Cluster and Ring
// clients.
//
// # Keys and records
//
// With the default prefix "greylist:", a client network N and an envelope
// key E (both built by [greylist.Policy]) are stored as:
//
//	greylist:c:{N}      "passes:expires"                 auto-whitelisting count
//	greylist:t:{N}:E    "first:expires:passed(0|1)"      one triplet
//
// Times are milliseconds since the Unix epoch of the query clock. Both keys
// of a query share the hash tag {N}, so they live on the same Redis Cluster
// slot, as a multi-key script requires. Every record carries a TTL (PEXPIRE)
// equal to its remaining lifetime, so Redis drops pending triplets after the
// retry window and passed triplets and client counts after MaxAge without
// any sweeping. The decision itself compares the stored expiry with the
// query time, not with Redis' clock: a record Redis has not dropped yet is
// still treated as absent once expired, and all MX hosts agree as long as
// their clocks do.
//
// # Privacy
//
// In privacy mode (greylist.Options.Privacy) N and E are hashes, so Redis
// holds no address.
package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldmail/herald/greylist"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the default key prefix.
const DefaultPrefix = "greylist:"

// Options configure a [Store]. The zero value means the defaults.
type Options struct {
	// Prefix starts every key. Empty means DefaultPrefix.
	Prefix string
}

// Store is a greylist.Store in Redis. It is safe for concurrent use.
type Store struct {
	client redis.Scripter
	prefix string
	script *redis.Script
}

// New returns a Store that talks to Redis through client: a *redis.Client,
// *redis.ClusterClient or *redis.Ring. Nil options mean the defaults.
func New(client redis.Scripter, opts *Options) *Store {
	prefix := DefaultPrefix
	if opts != nil && opts.Prefix != "" {
		prefix = opts.Prefix
	}
	return &Store{client: client, prefix: prefix, script: redis.NewScript(checkScript)}
}

// checkScript is greylist.Step in Lua.
//
//	KEYS[1] client key, KEYS[2] triplet key
//	ARGV    now, delay, retry window, max age (ms), auto-whitelist count
//	returns {verdict, first seen (ms), client passes}
//
// Verdicts are numbered as greylist.Verdict. Unreadable records are treated
// as absent. Numbers are formatted with %d: the millisecond times are far
// below 2^53, where Lua's doubles are exact.
const checkScript = `
local now = tonumber(ARGV[1])
local delay = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local maxage = tonumber(ARGV[4])
local awl = tonumber(ARGV[5])

local passes = 0
if awl > 0 then
  local v = redis.call('GET', KEYS[1])
  if v then
    local p, e = string.match(v, '^(%d+):(%-?%d+)$')
    if p and now < tonumber(e) then passes = tonumber(p) end
  end
  if passes >= awl then
    redis.call('SET', KEYS[1], string.format('%d:%d', passes, now + maxage), 'PX', maxage)
    return {5, 0, passes}
  end
end

local first, expires, passed
local v = redis.call('GET', KEYS[2])
if v then
  local f, e, p = string.match(v, '^(%-?%d+):(%-?%d+):([01])$')
  if f and now < tonumber(e) then
    first, expires, passed = tonumber(f), tonumber(e), p == '1'
  end
end

if not first then
  redis.call('SET', KEYS[2], string.format('%d:%d:0', now, now + window), 'PX', window)
  return {1, now, passes}
end
if passed then
  redis.call('SET', KEYS[2], string.format('%d:%d:1', first, now + maxage), 'PX', maxage)
  return {4, first, passes}
end
if now - first < delay then
  return {2, first, passes}
end
redis.call('SET', KEYS[2], string.format('%d:%d:1', first, now + maxage), 'PX', maxage)
if awl > 0 then
  passes = passes + 1
  redis.call('SET', KEYS[1], string.format('%d:%d', passes, now + maxage), 'PX', maxage)
end
return {3, first, passes}
`

// Keys returns the Redis keys of a query's client network and triplet.
func (s *Store) Keys(client, envelope string) (clientKey, tripletKey string) {
	return s.prefix + "c:{" + client + "}", s.prefix + "t:{" + client + "}:" + envelope
}

// Check applies greylist.Step to the records of q's client network and
// triplet in one atomic script run.
func (s *Store) Check(ctx context.Context, q greylist.Query) (greylist.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return greylist.Outcome{}, err
	}
	if err := q.Rules.Validate(); err != nil {
		return greylist.Outcome{}, err
	}
	ck, tk := s.Keys(q.Client, q.Envelope)
	res, err := s.script.Run(ctx, s.client, []string{ck, tk},
		q.Now.UnixMilli(),
		q.Rules.Delay.Milliseconds(),
		q.Rules.RetryWindow.Milliseconds(),
		q.Rules.MaxAge.Milliseconds(),
		q.Rules.AutoWhitelist,
	).Int64Slice()
	if err != nil {
		return greylist.Outcome{}, fmt.Errorf("redisstore: %w", err)
	}
	if len(res) != 3 || res[0] < int64(greylist.VerdictNew) || res[0] > int64(greylist.VerdictClientWhitelisted) {
		return greylist.Outcome{}, fmt.Errorf("redisstore: unexpected script result %v", res)
	}
	out := greylist.Outcome{Verdict: greylist.Verdict(res[0]), ClientPasses: int(res[2])}
	if out.Verdict != greylist.VerdictClientWhitelisted {
		out.FirstSeen = time.UnixMilli(res[1])
	}
	return out, nil
}
