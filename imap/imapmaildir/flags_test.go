package imapmaildir

import (
	"slices"
	"strings"
	"testing"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

func TestFlagMapping(t *testing.T) {
	letters, kw := maildirFlags([]imap.Flag{`\seen`, `\Deleted`, `\Recent`, "$Forwarded", "Todo", "todo", `\Answered`}, false)
	if letters != "RST" || !slices.Equal(kw, []string{"$Forwarded", "Todo"}) {
		t.Errorf("got %q %q", letters, kw)
	}
	letters, _ = maildirFlags([]imap.Flag{"$forwarded"}, true)
	if letters != "P" {
		t.Errorf("removing $Forwarded: %q", letters)
	}
	got := imapFlags("DFPRSTZ", []string{"Todo"})
	want := []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft, "Todo", imap.FlagForwarded}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
	if got := imapFlags("P", []string{"$Forwarded"}); !slices.Equal(got, []imap.Flag{imap.FlagForwarded}) {
		t.Errorf("P with the keyword: %q", got)
	}
}

// FuzzFlagMapping checks that IMAP flags survive the trip to file name
// letters and keywords and back: the same set, ignoring case, without
// \Recent and unknown system flags.
func FuzzFlagMapping(f *testing.F) {
	f.Add(`\Seen \Answered $Forwarded Todo`, "P")
	f.Add(`\recent \Foo $junk $Junk`, "Zab")
	f.Add("", "DFRST")
	f.Fuzz(func(t *testing.T, in string, onDisk string) {
		var flags []imap.Flag
		for _, w := range strings.Fields(in) {
			flags = append(flags, imap.Flag(w))
		}
		letters, kw := maildirFlags(flags, false)
		if letters.Minus("DFRST") != "" {
			t.Fatalf("letters %q", letters)
		}
		back := imapFlags(letters, kw)
		for _, f := range flags {
			system := strings.HasPrefix(string(f), `\`)
			known := false
			for _, lf := range letterFlags {
				known = known || strings.EqualFold(string(f), string(lf.flag))
			}
			if (!system || known) != containsFold(back, f) {
				t.Fatalf("%q: %q -> %q %q -> %q", f, flags, letters, kw, back)
			}
		}
		for _, b := range back {
			if !containsFold(flags, b) {
				t.Fatalf("%q appeared: %q -> %q", b, flags, back)
			}
		}
		// Whatever letters a file name holds, reading them gives no
		// duplicates and the keyword letters never leak as flags.
		sys, kl := maildir.MakeFlags(onDisk).Split()
		table := make([]string, 26)
		table[0] = "$Forwarded"
		out := imapFlags(sys, keywordsOf(table, kl))
		for i, a := range out {
			for _, b := range out[i+1:] {
				if strings.EqualFold(string(a), string(b)) {
					t.Fatalf("duplicate %q in %q", a, out)
				}
			}
		}
	})
}

func containsFold(list []imap.Flag, f imap.Flag) bool {
	for _, g := range list {
		if strings.EqualFold(string(g), string(f)) {
			return true
		}
	}
	return false
}
