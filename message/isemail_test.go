package message

import (
	"encoding/xml"
	"os"
	"strings"
	"testing"
)

// isemailDifferences lists the isemail cases where Herald deliberately
// disagrees with the suite's category, and why.
var isemailDifferences = map[string]string{
	// RFC 5322 section 3.4.1 makes the domain a dot-atom, and "-" is atext,
	// so these are valid message syntax. isemail applies the DNS host name
	// rule (RFC 1035 section 2.3.1) on top; Herald parses messages, and a
	// domain's existence is a DNS question, not a syntax one.
	"30":  "hyphen at the start of a label is valid RFC 5322 dot-atom syntax",
	"31":  "hyphen at the end of a label is valid RFC 5322 dot-atom syntax",
	"102": "hyphen at the end of the domain is valid RFC 5322 dot-atom syntax",
	// isemail predates RFC 6532, whose section 3.2 extends VCHAR with
	// UTF8-non-ascii, so a quoted-pair may escape a non-ASCII character.
	"160": "RFC 6532 section 3.2: quoted-pair of a UTF-8 character is valid",
}

type isemailCase struct {
	ID       string `xml:"id,attr"`
	Address  string `xml:"address"`
	Category string `xml:"category"`
	Diag     string `xml:"diagnosis"`
}

func loadIsemail(t *testing.T) []isemailCase {
	t.Helper()
	b, err := os.ReadFile("../testdata/addresses/isemail/tests.xml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests []isemailCase `xml:"test"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Tests) < 150 {
		t.Fatalf("only %d isemail cases", len(doc.Tests))
	}
	for i := range doc.Tests {
		// The suite writes control characters as U+2400 + code (its note 1).
		doc.Tests[i].Address = strings.Map(func(r rune) rune {
			if r >= 0x2400 && r < 0x2420 {
				return r - 0x2400
			}
			return r
		}, doc.Tests[i].Address)
	}
	return doc.Tests
}

// TestIsemail classifies every isemail address with the strict parser:
// categories up to ISEMAIL_RFC5322 are addresses a message may carry
// (comments, folding, obsolete forms, domain literals), ISEMAIL_ERR ones are
// not.
func TestIsemail(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tc := range loadIsemail(t) {
		t.Run(tc.ID, func(t *testing.T) {
			a, err := ParseAddress(tc.Address)
			wantValid := tc.Category != "ISEMAIL_ERR"
			if why, ok := isemailDifferences[tc.ID]; ok {
				seen[tc.ID] = true
				wantValid = !wantValid
				t.Logf("deliberate difference: %s", why)
			}
			if gotValid := err == nil; gotValid != wantValid {
				t.Fatalf("ParseAddress(%q) = %q, %v; isemail says %s (%s)", tc.Address, a.Addr, err, tc.Category, tc.Diag)
			}
			if err != nil {
				return
			}
			// The canonical form parses back to itself.
			b, err := ParseAddress(a.String())
			if err != nil || b.Addr != a.Addr || b.Name != a.Name {
				t.Errorf("round trip of %q: %q -> %+v, %v", tc.Address, a.String(), b, err)
			}
		})
	}
	for id := range isemailDifferences {
		if !seen[id] {
			t.Errorf("difference %s not in the suite", id)
		}
	}
}
