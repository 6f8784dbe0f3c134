package imap

import (
	"bufio"
	"bytes"
	"slices"
	"testing"
)

// FuzzSearchReturn feeds the RETURN options of SEARCH and SORT, and the
// FETCH modifiers, to the parser (RFC 4731, RFC 5267, RFC 9394): no
// panic; an accepted PARTIAL range is non-zero, ordered, of one sign and
// within 32 bits, formats to text that parses to the same range, and
// picks a part of any result; PARTIAL never comes with ALL; UPDATE is
// there at most once.
func FuzzSearchReturn(f *testing.F) {
	for _, s := range []string{
		"a SEARCH RETURN (PARTIAL 1:100) ALL",
		"a UID SEARCH RETURN (PARTIAL -1:-100 COUNT MIN) UNSEEN",
		"a SEARCH RETURN (UPDATE CONTEXT MAX) FLAGGED",
		"a SEARCH RETURN (PARTIAL 4294967295:1 SAVE) 1:*",
		"a UID SORT RETURN (PARTIAL -5:-1 UPDATE) (SUBJECT) UTF-8 ALL",
		"a SEARCH RETURN (PARTIAL 1:2 ALL) ALL",
		"a SEARCH RETURN (UPDATE UPDATE) ALL",
		"a UID FETCH 1:* (FLAGS) (PARTIAL -1:-30 CHANGEDSINCE 5)",
		"a CANCELUPDATE \"a1\" {2+}\r\nb2",
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
		if n := len(cmd.tags); n > fuzzLimits.items {
			t.Fatalf("%d CANCELUPDATE tags", n)
		}
		updates := 0
		for _, o := range cmd.searchRet {
			if o == "UPDATE" {
				updates++
			}
		}
		if updates > 1 {
			t.Fatalf("UPDATE accepted %d times: %q", updates, data)
		}
		r := cmd.partial
		if slices.Contains(cmd.searchRet, "PARTIAL") != (r != nil) && cmd.name != "FETCH" {
			t.Fatalf("PARTIAL option and range disagree: %v %+v", cmd.searchRet, r)
		}
		if r == nil {
			return
		}
		if slices.Contains(cmd.searchRet, "ALL") {
			t.Fatalf("PARTIAL accepted with ALL: %q", data)
		}
		pos := r.first > 0 && r.first <= r.last && r.last <= 1<<32-1
		neg := r.first < 0 && r.first >= r.last && r.last >= -(1<<32-1)
		if !pos && !neg {
			t.Fatalf("range %+v accepted from %q", *r, data)
		}
		back, err := parsePartialRange(r.String())
		if err != nil || back != *r {
			t.Fatalf("range %+v formats to %q, which parses to %+v, %v", *r, r.String(), back, err)
		}
		for _, n := range []int{0, 1, 7, 300} {
			nums := make([]uint32, n)
			for i := range nums {
				nums[i] = uint32(i + 1)
			}
			got := r.pick(nums)
			if len(got) > n || len(got) > int(r.last-r.first+1) && pos || len(got) > int(r.first-r.last+1) && neg {
				t.Fatalf("range %+v picks %d of %d", *r, len(got), n)
			}
			if len(got) > 0 && pos && got[0] != uint32(r.first) {
				t.Fatalf("range %+v starts at %d", *r, got[0])
			}
			if len(got) > 0 && neg && got[len(got)-1] != uint32(int64(n)+r.first+1) {
				t.Fatalf("range %+v ends at %d of %d", *r, got[len(got)-1], n)
			}
		}
	})
}
