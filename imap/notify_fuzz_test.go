package imap

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzNotifyArgs feeds NOTIFY commands to the parser and to the checks of
// RFC 5465 sections 3.1 and 5: no panic, and an accepted command holds at
// most the item limit of event groups and of mailboxes in each, with one
// filter each and only the events the server knows.
func FuzzNotifyArgs(f *testing.F) {
	for _, s := range []string{
		"a NOTIFY NONE",
		"a NOTIFY SET (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)]) MessageExpunge FlagChange))",
		"a NOTIFY SET STATUS (SUBTREE (Lists {4+}\r\nWork) (MessageNew MessageExpunge)) (INBOXES NONE)",
		"a NOTIFY SET (MAILBOXES Lists (MailboxName SubscriptionChange)) (PERSONAL (AnnotationChange))",
		"a NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge)) (SUBSCRIBED (MessageNew))",
		"a NOTIFY SET (personal (messagenew (UID) messageexpunge))",
		"a NOTIFY SET",
	} {
		f.Add([]byte(s + "\r\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDecoder(bufio.NewReaderSize(bytes.NewReader(data), 64), fuzzLimits, func(int64) error { return nil })
		cmd, err := d.readCommand()
		if err != nil || cmd.name != "NOTIFY" {
			return
		}
		n := cmd.notify
		if n.none && (n.status || len(n.groups) > 0) {
			t.Fatalf("NONE with groups: %+v", n)
		}
		if !n.none && len(n.groups) == 0 {
			t.Fatalf("SET without groups accepted")
		}
		if len(n.groups) > fuzzLimits.items {
			t.Fatalf("%d groups", len(n.groups))
		}
		for _, g := range n.groups {
			if g.filter == 0 || len(g.names) > fuzzLimits.items || g.events&^(evMessages|evMailboxName|evSubscriptionChange) != 0 {
				t.Fatalf("group %+v", g)
			}
			if (g.filter == filterSubtree || g.filter == filterMailboxes) != (len(g.names) > 0) {
				t.Fatalf("mailboxes %q with filter %d", g.names, g.filter)
			}
		}
		if err := n.check(); err == nil {
			for _, g := range n.groups {
				if g.events&evMessageNew != 0 != (g.events&evMessageExpunge != 0) {
					t.Fatalf("accepted %+v", g)
				}
			}
		}
	})
}
