package imap_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzServerCondstore runs command sequences that use CONDSTORE and
// QRESYNC against the server over imapmem: it must answer and end, never
// hang or panic.
func FuzzServerCondstore(f *testing.F) {
	for _, s := range []string{
		"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (2 1 1:9 (1:3 1:3)))\r\nc UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
		"a SELECT INBOX (CONDSTORE)\r\nb STORE 1:* (UNCHANGEDSINCE 3) +FLAGS.SILENT (\\Deleted)\r\nc EXPUNGE\r\nd SEARCH MODSEQ 2\r\n",
		"a ENABLE CONDSTORE\r\nb SELECT INBOX\r\nc UID STORE 1:* (UNCHANGEDSINCE 0) FLAGS (x)\r\nd STATUS INBOX (HIGHESTMODSEQ)\r\ne CLOSE\r\n",
		"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (2 1 4294967295:1))\r\nc UID EXPUNGE 1:*\r\nd EXAMINE INBOX (QRESYNC (2 1))\r\n",
		"a SELECT INBOX\r\nb FETCH 1:* (MODSEQ) (CHANGEDSINCE 2)\r\nc UID SEARCH RETURN (MIN MAX) MODSEQ \"/flags/\\\\seen\" priv 1\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		be, _ := newFixture(t)
		srv := testServer(be)
		srv.MaxLiteralSize, srv.MaxLineLength = 1<<12, 1<<12
		cc, sc := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeConn(context.Background(), sc)
		}()
		go io.Copy(io.Discard, cc)
		cc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		cc.Write([]byte("x LOGIN alice secret\r\n"))
		cc.Write(data)
		cc.Write([]byte("\r\nzz LOGOUT\r\n"))
		cc.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("server hangs on %q", strings.ToValidUTF8(string(data), "?"))
		}
	})
}
