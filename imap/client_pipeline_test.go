package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
)

// TestClientPipelining checks that concurrent calls are pipelined: a
// server that reads both commands before it answers, and answers the
// second first, gets both, and each call gets its own responses, matched
// by tag and by kind for the untagged ones. A client that waits for a
// command's end before sending the next one never gets an answer here.
func TestClientPipelining(t *testing.T) {
	cc, sc := net.Pipe()
	defer cc.Close()
	go func() {
		defer sc.Close()
		r := bufio.NewReader(sc)
		fmt.Fprintf(sc, "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n")
		tags := map[string]string{}
		for len(tags) < 2 {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			tags[f[1]] = f[0]
		}
		fmt.Fprintf(sc, "* 1 FETCH (FLAGS (\\Seen))\r\n* SEARCH 2 3\r\n* 2 FETCH (FLAGS ())\r\n%s OK FETCH done\r\n%s OK SEARCH done\r\n", tags["FETCH"], tags["SEARCH"])
		r.ReadString('\n')
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := imap.NewClient(ctx, cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var seqs []uint32
	var msgs []imap.FetchMessage
	var serr, ferr error
	wg.Add(2)
	go func() { defer wg.Done(); seqs, serr = c.Search(ctx, "ALL", false) }()
	go func() { defer wg.Done(); msgs, ferr = c.Fetch(ctx, imap.SeqSet{{1, 2}}, "FLAGS", false) }()
	wg.Wait()
	if serr != nil || ferr != nil {
		t.Fatalf("search: %v, fetch: %v", serr, ferr)
	}
	if !slices.Equal(seqs, []uint32{2, 3}) {
		t.Errorf("SEARCH: %v", seqs)
	}
	if len(msgs) != 2 || msgs[0].SeqNum != 1 || !slices.Equal(msgs[0].Flags, []imap.Flag{imap.FlagSeen}) || msgs[1].SeqNum != 2 {
		t.Errorf("FETCH: %+v", msgs)
	}
}

// TestClientPipeliningServer runs many commands at once against the
// server, each checking its own result.
func TestClientPipeliningServer(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	cc, sc := net.Pipe()
	go s.ServeConn(context.Background(), sc)
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := imap.NewClient(ctx, cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := 0; i < 20; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			seqs, err := c.Search(ctx, "SEEN", false)
			if err == nil && !slices.Equal(seqs, []uint32{1}) {
				err = fmt.Errorf("SEARCH SEEN: %v", seqs)
			}
			errs <- err
		}()
		go func() {
			defer wg.Done()
			msgs, err := c.Fetch(ctx, imap.SeqSet{{2, 3}}, "UID", false)
			if err == nil && (len(msgs) != 2 || msgs[0].UID != 2 || msgs[1].UID != 3) {
				err = fmt.Errorf("FETCH: %+v", msgs)
			}
			errs <- err
		}()
		go func() {
			defer wg.Done()
			st, err := c.Status(ctx, "Archive")
			if err == nil && st.Messages != 0 {
				err = fmt.Errorf("STATUS: %+v", st)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
