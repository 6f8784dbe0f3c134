package smtp

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// Defaults of ClientCache. Each applies when the matching field is zero.
const (
	// DefaultCacheIdleTimeout is how long an idle connection waits for
	// its next message: long enough for a queue working through a
	// backlog to come back, short enough not to hold a remote server's
	// slot for nothing (Postfix's smtp_connection_cache_time_limit is
	// the same 2 s).
	DefaultCacheIdleTimeout = 2 * time.Second
	// DefaultCacheMaxAge is how long after it was opened a connection
	// stops being reused, so that DNS and TLS changes on the other side
	// are seen (Postfix's smtp_connection_reuse_time_limit is 300 s).
	DefaultCacheMaxAge = 5 * time.Minute
	// DefaultCacheMaxUses bounds the transactions on one connection.
	DefaultCacheMaxUses = 1000
	// DefaultCacheMaxIdle bounds the idle connections kept per key.
	DefaultCacheMaxIdle = 8
)

// ClientCache keeps client connections open between transactions, so
// that a sender with several messages for one server pays once for the TCP
// connection, the greeting, EHLO and the TLS handshake. The caller chooses
// the key: everything that must match for a connection to be reused, such
// as the server's address and the TLS policy it was opened with.
//
// Get hands out an idle connection that still looks alive; Put takes one
// back after a transaction that ended cleanly and sends QUIT to it once it
// has been idle for IdleTimeout. A server may still close a connection
// between Get and the next command, so a caller that got its Client from
// the cache and fails with a transport error (no reply) tries once more on
// a new connection. The zero value is ready to use and safe for concurrent
// use; Close ends every idle connection.
type ClientCache struct {
	// IdleTimeout is how long an idle connection is kept. Default
	// DefaultCacheIdleTimeout.
	IdleTimeout time.Duration
	// MaxAge is the age after which a connection is not reused.
	// Default DefaultCacheMaxAge.
	MaxAge time.Duration
	// MaxUses bounds the transactions sent on one connection. Default
	// DefaultCacheMaxUses.
	MaxUses int
	// MaxIdle bounds the idle connections kept per key. Default
	// DefaultCacheMaxIdle.
	MaxIdle int

	mu     sync.Mutex
	idle   map[string][]*cachedClient
	closed bool
}

type cachedClient struct {
	c     *Client
	timer *time.Timer
}

// Get returns an idle connection for key and removes it from the cache,
// or nil when there is none. The connection is the caller's until it is
// given back with Put or closed.
func (cc *ClientCache) Get(key string) *Client {
	for {
		cc.mu.Lock()
		list := cc.idle[key]
		if len(list) == 0 {
			cc.mu.Unlock()
			return nil
		}
		// The most recently used one: the least likely to have been
		// closed by the server.
		e := list[len(list)-1]
		list[len(list)-1] = nil
		cc.idle[key] = list[:len(list)-1]
		if len(cc.idle[key]) == 0 {
			delete(cc.idle, key)
		}
		cc.mu.Unlock()
		e.timer.Stop()
		if e.c.alive() {
			return e.c
		}
		e.c.Close()
	}
}

// Put gives c back for reuse under key after a transaction that ended with
// the server's reply (Send returned a nil error), whatever the outcome of
// its recipients. A connection that cannot carry another transaction (one
// that failed, is in a transaction, or is over MaxUses or MaxAge), or one
// over MaxIdle, is sent QUIT instead.
func (cc *ClientCache) Put(key string, c *Client) {
	c.uses++
	if c.broken != nil || c.inTx || !c.helloed {
		c.Close()
		return
	}
	if c.uses >= orDefaultInt(cc.MaxUses, DefaultCacheMaxUses) || time.Since(c.opened) >= orDefaultDur(cc.MaxAge, DefaultCacheMaxAge) {
		cc.quit(c)
		return
	}
	cc.mu.Lock()
	if cc.closed || len(cc.idle[key]) >= orDefaultInt(cc.MaxIdle, DefaultCacheMaxIdle) {
		cc.mu.Unlock()
		cc.quit(c)
		return
	}
	if cc.idle == nil {
		cc.idle = make(map[string][]*cachedClient)
	}
	e := &cachedClient{c: c}
	e.timer = time.AfterFunc(orDefaultDur(cc.IdleTimeout, DefaultCacheIdleTimeout), func() { cc.expire(key, e) })
	cc.idle[key] = append(cc.idle[key], e)
	cc.mu.Unlock()
}

// expire ends e once it has been idle for IdleTimeout, unless Get took it.
func (cc *ClientCache) expire(key string, e *cachedClient) {
	cc.mu.Lock()
	list := cc.idle[key]
	found := false
	for i, x := range list {
		if x == e {
			cc.idle[key] = append(list[:i], list[i+1:]...)
			found = true
			break
		}
	}
	if len(cc.idle[key]) == 0 {
		delete(cc.idle, key)
	}
	cc.mu.Unlock()
	if found {
		cc.quit(e.c)
	}
}

// quit sends QUIT with a short deadline: the connection is done with, and
// a slow server must not hold up the caller.
func (cc *ClientCache) quit(c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.Quit(ctx)
}

// Close sends QUIT on every idle connection and makes Put close the
// connections it is given from then on.
func (cc *ClientCache) Close() error {
	cc.mu.Lock()
	cc.closed = true
	idle := cc.idle
	cc.idle = nil
	cc.mu.Unlock()
	var wg sync.WaitGroup
	for _, list := range idle {
		for _, e := range list {
			if e.timer.Stop() {
				wg.Go(func() { cc.quit(e.c) })
			}
		}
	}
	wg.Wait()
	return nil
}

// Idle returns the number of idle connections held.
func (cc *ClientCache) Idle() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	n := 0
	for _, list := range cc.idle {
		n += len(list)
	}
	return n
}

// alive reports whether an idle connection still looks usable: nothing
// unread and not closed by the server. A server that said 421 and closed
// while the connection sat in the cache is caught here; one that closes it
// after this check is the caller's retry.
func (c *Client) alive() bool {
	if c.broken != nil || c.r.Buffered() > 0 {
		return false
	}
	nc := c.conn
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = tc.NetConn() // under TLS, any record at all means trouble
	}
	return connIdle(nc)
}

func orDefaultInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDefaultDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// ConnectionLost reports whether a Send failed without a word from the
// server: no reply to any command, the sign of a connection the server
// closed while it sat in a ClientCache. The caller tries once more on a new
// connection; a message that got any reply is not sent again.
func ConnectionLost(res *SendResult, err error) bool {
	if err == nil {
		return false
	}
	var ce *CommandError
	if errors.As(err, &ce) && ce.Reply() != nil {
		return false
	}
	if res != nil {
		if res.Data != nil {
			return false
		}
		for _, r := range res.Recipients {
			if r.Reply != nil || r.Delivered {
				return false
			}
		}
	}
	return true
}

// connIdleByDeadline is connIdle for connections without a socket to peek
// at: a read with a deadline a moment away times out on a live, quiet
// connection and fails at once on a closed one.
func connIdleByDeadline(nc net.Conn) bool {
	if err := nc.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return false
	}
	var b [1]byte
	_, err := nc.Read(b[:])
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return nc.SetReadDeadline(time.Time{}) == nil
}
