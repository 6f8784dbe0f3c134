package managesievemem_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/sieve/managesieve"
	"github.com/heraldmail/herald/sieve/managesieve/managesievemem"
)

func TestSharedAcrossConnections(t *testing.T) {
	ctx := context.Background()
	b := managesievemem.New()
	b.AddUser("alice", "a")
	if _, err := b.Open(ctx, &managesieve.ConnInfo{}, "nobody"); !errors.Is(err, sasl.ErrAuthFailed) {
		t.Fatalf("unknown user: %v", err)
	}
	s1, _ := b.Open(ctx, &managesieve.ConnInfo{}, "alice")
	s2, _ := b.Open(ctx, &managesieve.ConnInfo{}, "alice")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			st := s1
			if i%2 == 1 {
				st = s2
			}
			st.Put(ctx, "s", []byte("keep;"))
			st.List(ctx)
		})
	}
	wg.Wait()
	if err := s1.SetActive(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if name, body := b.Active("alice"); name != "s" || string(body) != "keep;" {
		t.Fatalf("Active: %q %q", name, body)
	}
	if err := s2.Delete(ctx, "s"); !errors.Is(err, managesieve.ErrActive) {
		t.Fatalf("Delete active from the other connection: %v", err)
	}
	got, _ := s2.Get(ctx, "s")
	got[0] = 'X' // the caller's copy
	if again, _ := s1.Get(ctx, "s"); string(again) != "keep;" {
		t.Fatalf("Get shares its buffer: %q", again)
	}
}

func TestPasswords(t *testing.T) {
	ctx := context.Background()
	b := managesievemem.New()
	b.AddUser("bob", "old")
	b.AddUser("bob", "new")
	if _, err := b.CheckPassword(ctx, "", "bob", "old"); !errors.Is(err, sasl.ErrAuthFailed) {
		t.Fatalf("old password: %v", err)
	}
	if id, err := b.CheckPassword(ctx, "", "bob", "new"); err != nil || id != "bob" {
		t.Fatalf("new password: %q %v", id, err)
	}
	if _, err := b.CheckPassword(ctx, "alice", "bob", "new"); !errors.Is(err, sasl.ErrAuthFailed) {
		t.Fatalf("authzid of another user: %v", err)
	}
}
