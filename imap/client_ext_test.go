package imap_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
)

// TestClientSortID runs Client.Sort and Client.ID against the server.
func TestClientSortID(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.ID = map[string]string{"name": "Herald", "vendor": "Example"}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := imap.Dial(ctx, l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.ID(ctx, map[string]string{"name": "test", "version": "1"})
	if err != nil || id["name"] != "Herald" || id["vendor"] != "Example" {
		t.Fatalf("ID: %v %v", id, err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", true); err != nil {
		t.Fatal(err)
	}
	// 1 Hello there (14 Mar), 2 Grüße (15 Mar), 3 Fwd: Hello there (16 Mar).
	for _, tc := range []struct {
		crit, search string
		uid          bool
		want         []uint32
	}{
		{"REVERSE DATE", "", false, []uint32{3, 2, 1}},
		{"SUBJECT", "", true, []uint32{2, 1, 3}},
		{"SUBJECT", "NOT 2", false, []uint32{1, 3}},
		{"SIZE", "SUBJECT nothing", false, []uint32{}},
	} {
		got, err := c.Sort(ctx, tc.crit, "", tc.search, tc.uid)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Sort(%s, %s): %v %v, want %v", tc.crit, tc.search, got, err, tc.want)
		}
	}
	var ierr *imap.Error
	if _, err := c.Sort(ctx, "COLOR", "", "", false); !errors.As(err, &ierr) || ierr.Type != imap.StatusBad {
		t.Errorf("Sort with a bad criterion: %v", err)
	}
	if _, err := c.Sort(ctx, "DATE", "KOI8-R", "", false); !errors.As(err, &ierr) || ierr.Code != imap.CodeBadCharset {
		t.Errorf("Sort with KOI8-R: %v", err)
	}
}
