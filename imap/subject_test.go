package imap_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldmail/herald/imap"
)

// TestBaseSubject checks the base subject extraction of RFC 5256 section
// 2.1, step by step.
func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		reply    bool
	}{
		{"Hello", "Hello", false},
		{"", "", false},
		{"   ", "", false},
		{"Re: Hello", "Hello", true},
		{"RE:Hello", "Hello", true},
		{"re :  Hello", "Hello", true},
		{"Fwd: Hello", "Hello", true},
		{"FW: Hello", "Hello", true},
		{"Re: Re: Fwd: Hello", "Hello", true},
		{"Re[2]: Hello", "Hello", true},
		{"Re [2]: Hello", "Hello", true},
		{"[list] Re: Hello", "Hello", true},
		{"[list][other] Re: Hello", "Hello", true},
		{"[list] Hello", "Hello", false},
		{"Re: [list] Hello", "Hello", true},
		// A blob that is all there is stays.
		{"[list]", "[list]", false},
		{"Re: [list]", "[list]", true},
		{"Hello (fwd)", "Hello", true},
		{"Hello (FWD) (fwd)  ", "Hello", true},
		{"[Fwd: Hello]", "Hello", true},
		{"[fwd: Re: Hello (fwd)]", "Hello", true},
		{"[Fwd: [Fwd: Hello]]", "Hello", true},
		{"Hello\t\r\n  world", "Hello world", false},
		{"Reply to this", "Reply to this", false},
		{"Re Hello", "Re Hello", false},
		{"Fwd Hello", "Fwd Hello", false},
		{"Refwd: Hello", "Refwd: Hello", false},
		{"=?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe?=", "Grüße", true},
		{"Re: =?ISO-8859-1?Q?R=E9union?=", "Réunion", true},
		{"=?utf-8?b?W2Z3ZDogSGk=?= =?utf-8?b?XQ==?=", "Hi", true},
		{"Hello [fwd: x]", "Hello [fwd: x]", false},
		{"[unclosed Hello", "[unclosed Hello", false},
	} {
		got, reply := imap.BaseSubject(tc.in)
		if got != tc.want || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, got, reply, tc.want, tc.reply)
		}
	}
}

// FuzzBaseSubject checks properties of the base subject: valid UTF-8 in,
// valid UTF-8 out; no white space at either end nor two spaces in a row
// nor tabs or line breaks; no leader or trailer left (extracting again
// changes nothing, for text without encoded words); never longer than
// the decoded input allows.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: Hello", "[a] Fwd: [b] x (fwd)", "[fwd: [fwd: y]]", "=?utf-8?q?Re:_x?=", "Re[]: [", "  (fwd)", "\xff Re:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := imap.BaseSubject(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("BaseSubject(%q) = %q: invalid UTF-8", s, got)
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") || strings.ContainsAny(got, "\t\r\n") {
			t.Fatalf("BaseSubject(%q) = %q: white space left", s, got)
		}
		if !strings.Contains(s, "=?") && len(got) > len(s) {
			t.Fatalf("BaseSubject(%q) = %q: longer", s, got)
		}
		if !strings.Contains(got, "=?") {
			if again, reply := imap.BaseSubject(got); again != got || reply {
				t.Fatalf("BaseSubject(%q) = %q, again %q %v", s, got, again, reply)
			}
		}
	})
}
