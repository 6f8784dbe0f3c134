package peertest

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// FuzzParseList checks that ParseList never panics and that a list it
// accepts, written back one program a line, reads back the same.
func FuzzParseList(f *testing.F) {
	f.Add("# comment\npython3 python3\ndovecot dovecot-core dovecot-imapd\n")
	f.Add("mutt\n")
	f.Add("a b\na c\n")
	f.Add("/usr/sbin/x y\n\t\n  # x\n")
	f.Fuzz(func(t *testing.T, s string) {
		peers, err := ParseList(strings.NewReader(s))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, name := range slices.Sorted(maps.Keys(peers)) {
			p := peers[name]
			if p.Program != name || len(p.Packages) == 0 {
				t.Fatalf("peer %q: %+v", name, p)
			}
			b.WriteString(name + " " + strings.Join(p.Packages, " ") + "\n")
		}
		again, err := ParseList(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("written back %q: %v", b.String(), err)
		}
		if len(again) != len(peers) {
			t.Fatalf("read back %d peers, want %d", len(again), len(peers))
		}
		for name, p := range peers {
			if !slices.Equal(again[name].Packages, p.Packages) {
				t.Fatalf("%s: read back %v, want %v", name, again[name].Packages, p.Packages)
			}
		}
	})
}
