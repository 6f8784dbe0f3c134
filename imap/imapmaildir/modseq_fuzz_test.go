package imapmaildir

import (
	"bytes"
	"testing"
)

// FuzzModSeqFile reads damaged mod-sequence files and marks: an error or a
// snapshot that is sane (UIDs ascending, mod-sequences within the highest,
// the expunges bounded) that encodes and reads back, never a panic. The
// checksum is fuzzed past as well (parseModSeqs).
func FuzzModSeqFile(f *testing.F) {
	good := encodeModSeqs(&modseqSnap{validity: 7, highest: 1700000000000100, mark: 1700000060000000, floor: 1700000000000001,
		msgs:     []snapEntry{{1, 1700000000000002, "S"}, {3, 1700000000000100, ""}, {4, 1700000000000050, "FSab"}},
		expunges: []tombstone{{2, 1700000000000099}}})
	f.Add(good, false)
	f.Add(good[len(modseqMagic):len(good)-len("C 00000000\n")], true)
	f.Add(encodeModSeqs(&modseqSnap{validity: 1, highest: 1}), false)
	f.Add(encodeMark(1700000060000000), false)
	f.Add([]byte("V 1 H 1 M 1 F 0\n1 1 -\n- 2 1\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, body bool) {
		if n, err := decodeMark(data); err == nil && !bytes.Equal(encodeMark(n), data) && n > maxModSeq {
			t.Fatalf("mark %d out of range", n)
		}
		decode := decodeModSeqs
		if body {
			// Past the checksum, to reach the records.
			decode = parseModSeqs
		}
		s, err := decode(data)
		if err != nil {
			return
		}
		if len(s.expunges) > MaxExpunged || s.floor > s.highest {
			t.Fatalf("unbounded or inconsistent snapshot: %d expunges, floor %d, highest %d", len(s.expunges), s.floor, s.highest)
		}
		for i, m := range s.msgs {
			if m.modseq == 0 || m.modseq > s.highest || i > 0 && m.uid <= s.msgs[i-1].uid {
				t.Fatalf("bad entry %+v", m)
			}
		}
		back, err := decodeModSeqs(encodeModSeqs(s))
		if err != nil || len(back.msgs) != len(s.msgs) || len(back.expunges) != len(s.expunges) || back.highest != s.highest {
			t.Fatalf("does not encode back: %v", err)
		}
	})
}
