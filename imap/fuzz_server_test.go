package imap_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzServer feeds arbitrary client input to a logged-in server session
// with the in-memory fixture: the server must never panic or hang.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"a SELECT INBOX\r\nb FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY[1])\r\n",
		"a SELECT INBOX\r\nb UID SEARCH TEXT x\r\nc STORE 1 +FLAGS (\\Deleted)\r\nd EXPUNGE\r\n",
		"a LIST \"\" *\r\nb CREATE x/y\r\nc RENAME x z\r\nd STATUS z/y (MESSAGES SIZE)\r\n",
		"a APPEND INBOX {4+}\r\nabcd\r\nb SELECT INBOX\r\nc MOVE 1 Trash\r\n",
		"a IDLE\r\nDONE\r\n",
		"a ID (\"name\" \"x\" \"os\" NIL)\r\nb ID NIL\r\n",
		"a SUBSCRIBE Gone\r\nb LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %\r\nc LSUB \"\" %\r\nd LIST (RECURSIVEMATCH) \"\" *\r\n",
		"a SELECT INBOX\r\nb SEARCH TEXT \"content-type\" NEW\r\nc STORE 1 +FLAGS (Kw)\r\nd FETCH 1:* (FLAGS ENVELOPE)\r\n",
		"a SELECT INBOX\r\nb SEARCH RETURN (UPDATE COUNT) UNSEEN\r\nc STORE 1:2 -FLAGS (\\Seen)\r\nd UID SORT RETURN (UPDATE PARTIAL -1:-2) (SUBJECT) UTF-8 ALL\r\ne APPEND INBOX {4+}\r\nabcd\r\nf STORE 1 +FLAGS.SILENT (\\Deleted)\r\ng EXPUNGE\r\nh CANCELUPDATE \"b\" \"d\"\r\n",
		"a SELECT INBOX\r\nb SEARCH RETURN (UPDATE) 2 BODY x\r\nc IDLE\r\nDONE\r\nd UID FETCH 1:* (UID) (PARTIAL -1:-1)\r\ne SEARCH RETURN (PARTIAL 3:1 SAVE) ALL\r\nf FETCH $ (FLAGS)\r\n",
		"a SELECT INBOX\r\nb NOTIFY SET STATUS (SELECTED (MessageNew (UID ENVELOPE) MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\nc APPEND Trash {1+}\r\nx\r\nd CREATE N\r\ne IDLE\r\nDONE\r\nf NOTIFY NONE\r\n",
		"a NOTIFY SET (SUBTREE (Work {1+}\r\nx) (MessageNew MessageExpunge)) (SUBSCRIBED (SubscriptionChange))\r\nb SUBSCRIBE Work\r\nc RENAME Work W2\r\n",
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
