package pop3mem_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3mem"
)

func TestBackend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	be := pop3mem.New()
	be.AddUser("alice", "secret")
	if _, err := be.Deliver("nobody", []byte("x")); !errors.Is(err, pop3mem.ErrNoUser) {
		t.Fatalf("Deliver to an unknown user: %v", err)
	}
	for _, m := range []string{"a\nb\n", "c\r\nd\re\r\n", "f"} {
		if _, err := be.Deliver("alice", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := be.CheckPassword(ctx, "", "alice", "wrong"); !errors.Is(err, pop3.ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	id, err := be.CheckPassword(ctx, "", "alice", "secret")
	if err != nil || id != "alice" {
		t.Fatalf("CheckPassword = %q, %v", id, err)
	}
	mb, err := be.Open(ctx, nil, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := be.Open(ctx, nil, id); !errors.Is(err, &pop3.Error{Code: pop3.CodeInUse}) {
		t.Fatalf("second Open: %v", err)
	}
	list, err := mb.List(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %v, %v", list, err)
	}
	want := []string{"a\r\nb\r\n", "c\r\nd\r\ne\r\n", "f"}
	for i, w := range want {
		rc, err := mb.Message(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != w || list[i].Size != int64(len(w)) || !pop3.ValidUID(list[i].UID) {
			t.Errorf("message %d = %q (listed %v), want %q", i+1, b, list[i], w)
		}
	}
	// A message delivered during the session is not in its list and
	// survives the commit.
	be.Deliver("alice", []byte("late"))
	if err := mb.Commit(ctx, []int{1, 9}); err == nil {
		t.Fatal("Commit with a bad number succeeded")
	}
	if n := be.Count("alice"); n != 4 {
		t.Fatalf("a failed Commit removed messages: %d left", n)
	}
	if err := mb.Commit(ctx, []int{1, 3}); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	mb, err = be.Open(ctx, nil, id)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	list, _ = mb.List(ctx)
	if len(list) != 2 || list[0].UID != "m2" || list[1].UID != "m4" {
		t.Errorf("after Commit: %v", list)
	}
}
