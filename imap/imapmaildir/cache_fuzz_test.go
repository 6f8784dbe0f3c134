package imapmaildir

import (
	"strings"
	"testing"

	"github.com/heraldmail/herald/imap"
)

// FuzzCacheFile reads damaged cache files: an error or records whose
// summaries read back, never a panic, and never more summaries kept than
// the budget allows. The checksum is fuzzed past as well (parseCache), so
// that damaged records are reached.
func FuzzCacheFile(f *testing.F) {
	var recs []*cached
	var uids []uint32
	for i, m := range []string{
		"Subject: a\r\n\r\nbody\r\n",
		"From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
	} {
		s, err := imap.Summarize(strings.NewReader(m))
		if err != nil {
			f.Fatal(err)
		}
		recs = append(recs, &cached{base: "1700000000.M1P1Q" + string(rune('0'+i)) + ".host", raw: int64(len(m)), size: int64(len(m)), mtime: 1700000000e9, sum: s, n: s.EncodedLen()})
		uids = append(uids, uint32(i+1))
	}
	good := encodeCache(7, uids, recs)
	f.Add(good, false)
	f.Add(good[len(cacheMagic):len(good)-4], true)
	f.Add(good[:len(good)/2], false)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		const budget = 4096
		var got map[uint32]*cached
		var err error
		if raw {
			got, err = parseCache(data, 7, budget)
		} else {
			got, err = decodeCache(data, 7, budget)
		}
		if err != nil {
			return
		}
		var total int64
		for uid, c := range got {
			if uid == 0 || c.sum == nil || c.sum.Size() != c.size {
				t.Fatalf("bad record %d: %+v", uid, c)
			}
			total += c.n
			enc, _ := c.sum.MarshalBinary()
			var back imap.Summary
			if err := back.UnmarshalBinary(enc); err != nil {
				t.Fatalf("summary of record %d does not read back: %v", uid, err)
			}
		}
		if total > budget {
			t.Fatalf("kept %d bytes of summaries, budget %d", total, budget)
		}
		// What was read writes and reads back the same.
		var us []uint32
		var rs []*cached
		for uid, c := range got {
			us = append(us, uid)
			rs = append(rs, c)
		}
		again, err := decodeCache(encodeCache(7, us, rs), 7, budget)
		if err != nil || len(again) != len(got) {
			t.Fatalf("re-encoded cache: %d records, %v; want %d", len(again), err, len(got))
		}
	})
}
