package imap

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzCondstoreArgs parses commands with the CONDSTORE and QRESYNC
// parameters (SELECT (QRESYNC ...), FETCH (CHANGEDSINCE ... VANISHED),
// STORE (UNCHANGEDSINCE ...), the MODSEQ search key): a command or a
// syntax error, mod-sequences within 63 bits, never a panic.
func FuzzCondstoreArgs(f *testing.F) {
	for _, s := range []string{
		"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:5,7 1:5,9)))\r\n",
		"a EXAMINE INBOX (CONDSTORE QRESYNC (1 2))\r\n",
		"a SELECT INBOX (QRESYNC (1 2 1:*))\r\n",
		"a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
		"a FETCH 1:* (UID MODSEQ) (CHANGEDSINCE 9223372036854775807)\r\n",
		"a STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen)\r\n",
		"a UID STORE 7 (UNCHANGEDSINCE 320162338) FLAGS ($Work)\r\n",
		"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
		"a UID SEARCH RETURN (ALL) OR MODSEQ 5 NOT MODSEQ 9\r\n",
		"a STATUS INBOX (HIGHESTMODSEQ)\r\n",
		"a ENABLE CONDSTORE QRESYNC\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 64)
		d := newDecoder(br, fuzzLimits, func(n int64) error { return nil })
		for range 8 {
			d.reset()
			cmd, err := d.readCommand()
			if err != nil {
				if _, ok := err.(*SyntaxError); !ok {
					if _, ok := err.(*Error); !ok {
						return
					}
				}
				if d.fatal || d.skipLine() != nil {
					return
				}
				continue
			}
			if a := cmd.cond; a != nil {
				if a.changedSince > maxModSeq || a.unchangedSince > maxModSeq {
					t.Fatalf("mod-sequence out of range: %+v", a)
				}
				if a.vanished && (!a.hasChangedSince || !cmd.uid) {
					t.Fatalf("VANISHED accepted without CHANGEDSINCE or UID: %q", data)
				}
				if q := a.qresync; q != nil {
					if q.modseq > maxModSeq || q.validity == 0 {
						t.Fatalf("bad QRESYNC parameters %+v", q)
					}
					for _, set := range []SeqSet{q.known, q.knownSeqs, q.knownSeqUIDs} {
						if len(set) > fuzzLimits.setRanges {
							t.Fatalf("%d ranges", len(set))
						}
					}
				}
			}
			var check func(k *searchKey)
			check = func(k *searchKey) {
				if k == nil {
					return
				}
				if k.op == "MODSEQ" && (k.n < 0 || uint64(k.n) > maxModSeq) {
					t.Fatalf("MODSEQ key %d", k.n)
				}
				for _, s := range k.sub {
					check(s)
				}
			}
			check(cmd.search)
		}
	})
}
