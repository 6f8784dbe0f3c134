package maildir

import (
	"slices"
	"testing"
)

// FuzzParseFiles feeds one input to the parsers of dovecot-keywords,
// subscriptions and maildirsize: none may panic, and what they accept must
// survive being written and read again.
func FuzzParseFiles(f *testing.F) {
	for _, s := range []string{
		"0 $Junk\n1 Work\n", "25 z\n", "V\t2\n\nFoo\tBar\n&AOk-t&AOk-\n", "INBOX\nA.B\n", "V\t2\n\na\x01t\n",
		"1000S,10C\n300 3\n-100 -1\n", "0S\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if kw, err := parseKeywords(data); err == nil {
			back, err := parseKeywords(formatKeywords(kw))
			if err != nil || back != kw {
				t.Fatalf("keywords round trip: %q -> %q, %v", kw, back, err)
			}
		}
		if names, err := parseSubscriptions(data); err == nil {
			if out, err := formatSubscriptions(names); err == nil {
				back, err := parseSubscriptions(out)
				if err != nil || !slices.Equal(back, names) {
					t.Fatalf("subscriptions round trip: %q -> %q, %v", names, back, err)
				}
			}
		}
		if q, b, c, err := parseMaildirsize(data); err == nil {
			if q.Bytes < 0 || q.Messages < 0 {
				t.Fatalf("negative quota %+v", q)
			}
			_, _ = b, c
		}
	})
}
