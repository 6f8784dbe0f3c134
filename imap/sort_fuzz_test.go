package imap

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzSortArgs feeds SORT and THREAD commands to the parser: no panic,
// every accepted SORT has criteria and every THREAD a known algorithm,
// and the input after an accepted command is left unread.
func FuzzSortArgs(f *testing.F) {
	for _, s := range []string{
		"a SORT (REVERSE ARRIVAL SUBJECT) UTF-8 ALL",
		"a UID SORT RETURN (MIN MAX ALL COUNT) (DISPLAYFROM) US-ASCII OR FROM x (SUBJECT \"y\")",
		"a SORT () UTF-8 ALL",
		"a SORT (REVERSE) UTF-8 ALL",
		"a SORT (DATE) KOI8-R ALL",
		"a THREAD REFERENCES UTF-8 ALL",
		"a UID THREAD ORDEREDSUBJECT {5+}\r\nUTF-8 1:*",
		"a THREAD X UTF-8 ALL",
		"a UID SORT (SIZE) UTF-8 UID $ $ NOT $",
		"a UID SORT RETURN (PARTIAL -1:-10 UPDATE CONTEXT COUNT) (SUBJECT) UTF-8 ALL",
		"a SORT RETURN (PARTIAL 3:1 MIN SAVE) (REVERSE DATE) UTF-8 1:*",
	} {
		f.Add([]byte(s + "\r\nb NOOP\r\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 64)
		d := newDecoder(br, fuzzLimits, func(n int64) error { return nil })
		d.saved = func(uid bool) SeqSet { return SeqSet{{1, 3}} }
		cmd, err := d.readCommand()
		if err != nil {
			return
		}
		switch cmd.name {
		case "SORT":
			if cmd.sort == nil || len(cmd.sort.crit) == 0 || cmd.search == nil {
				t.Fatalf("SORT accepted without criteria: %q", data)
			}
			if len(cmd.sort.crit) > fuzzLimits.items {
				t.Fatalf("%d criteria", len(cmd.sort.crit))
			}
		case "THREAD":
			if cmd.sort == nil || cmd.search == nil || cmd.sort.algorithm != "ORDEREDSUBJECT" && cmd.sort.algorithm != "REFERENCES" {
				t.Fatalf("THREAD accepted: %+v", cmd.sort)
			}
		}
	})
}

// FuzzThread threads messages whose ids, references and subjects come
// from the input: no panic, and every message appears exactly once in
// the response of either algorithm.
func FuzzThread(f *testing.F) {
	f.Add("1 - a|2 1 Re: a|3 1,2 b|4 9 Re: b|5 5 c|6 7,6 c|7 6 c|1 - dup")
	f.Add("1 2 x|2 1 x|3 3,3,3 Re: x")
	f.Add("a b,c,d,e,a y|b a y|c b y|d - [fwd: y]")
	f.Fuzz(func(t *testing.T, s string) {
		var msgs []threadMsg
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, rec := range strings.Split(s, "|") {
			if i >= 200 {
				break
			}
			id, rest, _ := strings.Cut(rec, " ")
			refs, subj, _ := strings.Cut(rest, " ")
			si := &sortInfo{msgID: id, sent: base.Add(time.Duration(len(subj)%5) * time.Hour)}
			if refs != "-" && refs != "" {
				si.refs = strings.Split(refs, ",")
			}
			b, reply := BaseSubject(subj)
			si.subject, si.reply = unicodeCasemap(b), reply
			msgs = append(msgs, threadMsg{info: si, seq: i, num: uint32(i + 1)})
		}
		for _, alg := range []func([]threadMsg) []*threadNode{threadOrderedSubject, threadReferences} {
			// Copies: the algorithms must not depend on each other.
			roots := alg(msgs)
			var b []byte
			for _, r := range roots {
				b = appendThread(b, r, msgs)
			}
			seen := map[string]int{}
			for _, f := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '(' || r == ')' || r == ' ' }) {
				seen[f]++
			}
			for i := range msgs {
				if n := seen[fmt.Sprint(i+1)]; n != 1 {
					t.Fatalf("%q: message %d appears %d times in %s", s, i+1, n, b)
				}
			}
			if len(seen) != len(msgs) {
				t.Fatalf("%q: %d numbers for %d messages: %s", s, len(seen), len(msgs), b)
			}
			if bytes.Contains(b, []byte("()")) {
				t.Fatalf("%q: empty thread in %s", s, b)
			}
		}
	})
}
