// How long a change takes to reach a session with NOTIFY (RFC 5465) set on
// Herald's IMAP server, in process over loopback: each op is an APPEND of
// a small message to the folder Lists by session A, read to its tagged OK,
// and the unsolicited STATUS of Lists read by session B, which waits for
// commands with NOTIFY SET (PERSONAL (MessageNew MessageExpunge)). With the
// in-memory backend (imapmem) and the Maildir backend (imapmaildir) over
// a tree of 1,000 folders. Run it with:
//
//	cd bench && go test -run='^$' -bench=IMAPNotify -benchtime=200x .
package bench

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/imap/imapmem"
	"github.com/heraldmail/herald/maildir"
)

func BenchmarkIMAPNotify(b *testing.B) {
	mem := imapmem.New()
	u := mem.AddUser("alice")
	if err := u.CreateMailbox("Lists"); err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	st, err := maildir.OpenStore(filepath.Join(root, "alice"), nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if err := st.CreateFolder(fmt.Sprintf("F%04d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.CreateFolder("Lists"); err != nil {
		b.Fatal(err)
	}
	md := &imapmaildir.Backend{Store: func(ctx context.Context, c *imap.ConnInfo, id string) (*maildir.Store, error) {
		return maildir.OpenStore(filepath.Join(root, id), nil)
	}}
	for _, be := range []struct {
		name string
		be   imap.Backend
	}{{"imapmem", mem}, {"imapmaildir-1000-folders", md}} {
		b.Run(be.name, func(b *testing.B) {
			srv := &imap.Server{Backend: be.be, Auth: imapBenchAuth(), Logger: slog.New(slog.DiscardHandler)}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(l)
			defer srv.Shutdown(context.Background())
			a := dialIMAPBench(b, l.Addr().String())
			n := dialIMAPBench(b, l.Addr().String())
			n.run(b, "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
			msg := "Subject: x\r\n\r\nx\r\n"
			b.ResetTimer()
			for range b.N {
				a.run(b, fmt.Sprintf("APPEND Lists {%d+}\r\n%s", len(msg), msg))
				line, err := n.r.ReadSlice('\n')
				if err != nil || !bytes.HasPrefix(line, []byte(`* STATUS "Lists"`)) {
					b.Fatalf("got %q, %v", line, err)
				}
			}
		})
	}
}
