package redisstore_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/greylist/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every MX host of the domain runs the same code against the same Redis,
// with the same privacy key, and so shares one greylist. (No output: the
// example needs a Redis server.)
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis.internal.example:6379"})
	defer rdb.Close()
	policy, err := greylist.New(&greylist.Options{
		Store:      redisstore.New(rdb, nil),
		Privacy:    true,
		PrivacyKey: []byte("shared by the fleet"),
	})
	if err != nil {
		panic(err)
	}
	d, err := policy.Check(context.Background(), greylist.Request{
		Client:    netip.MustParseAddr("192.0.2.25"),
		Sender:    "alice@example.org",
		Recipient: "bob@example.net",
	})
	if err != nil {
		// Redis is down: answer 451 4.3.0, or let the mail pass.
		fmt.Println("greylist unavailable:", err)
		return
	}
	if reply, deferred := policy.Reply(d); deferred {
		fmt.Println(reply)
	}
}
