package dsn

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/heraldmail/herald/smtp"
)

// Floors of the sisimai agreement, set to what the parser reaches so that
// a regression fails. The standard (RFC 3464) share must stay at 100%.
const (
	// 278 of 285 before the plain-text readers (dragonfly 14/15, kddi
	// 0/2), 281 after, on 2026-12-07.
	sisimaiMinOverall = 0.985
)

// sisimaiFullFamilies must agree on every bounce: RFC 3464 reports, and
// the families with a reader of their own (families.go, plaintext.go).
var sisimaiFullFamilies = map[string]bool{
	"rfc3464": true, "lhost-qmail": true, "lhost-exim": true, "lhost-amazonses": true,
	"lhost-postfix": true, "lhost-v5sendmail": true, "lhost-exchange2003": true, "lhost-exchange2007": true,
	"lhost-office365": true, "lhost-dragonfly": true, "lhost-kddi": true,
	"lhost-opensmtpd": true, "lhost-gmail": true, "lhost-domino": true, "lhost-notes": true,
}

// sisimaiFamilyFloors are the least agreements of families with a reader
// that cannot reach all their bounces, with the reason in
// sisimaiStandardDisagreements.
var sisimaiFamilyFloors = map[string]int{
	"lhost-sendmail": 29, // of 30: lhost-sendmail-56
}

type sisimaiEntry struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
	Status string `json:"status"`
	Reply  string `json:"replycode"`
}

// sisimaiStandardDisagreements lists the bounces with a delivery-status
// part where sisimai's figure cannot be read from the report, with the
// reason. Every other such bounce must agree.
var sisimaiStandardDisagreements = map[string]string{
	"rhost-cox-01.eml":      "one per-recipient group; sisimai counts the recipient twice",
	"lhost-sendmail-56.eml": "Status 5.5.0 and a 554 diagnostic without a code; sisimai's 4.7.0 comes from its own reason table",
}

// TestSisimai measures, over the sisimai corpus of real bounces, the share
// whose recipients and RFC 3463 status agree with sisimai's expected.json:
// the number of recipients (distinct indexes) must match, and so must each
// recipient's status where sisimai gives a registered RFC 3463 code (not its
// own 5.0.9xx codes, not vendor codes such as 5.7.509). ARF feedback
// reports and RFC 3834 auto-replies are not bounces and are left out.
// Bounces with a delivery-status part (RFC 3464) must all agree.
func TestSisimai(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../testdata/dsn/sisimai/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]sisimaiEntry
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(expected))
	for name := range expected {
		names = append(names, name)
	}
	sort.Strings(names)
	var total, agree, stdTotal, stdAgree, heurTotal, heurAgree int
	var failures []string
	type tally struct{ total, agree int }
	families := map[string]*tally{}
	for _, name := range names {
		entries := expected[name]
		if len(entries) == 0 || entries[0].Reason == "feedback" || entries[0].Reason == "vacation" {
			continue
		}
		// sisimai repeats an identical entry for one recipient at times
		// (rfc3464-01); such repeats count once.
		var want []sisimaiEntry
		seen := map[sisimaiEntry]bool{}
		for _, e := range entries {
			if !seen[e] {
				seen[e] = true
				want = append(want, e)
			}
		}

		f, err := os.Open(filepath.Join("../testdata/dsn/sisimai/bsd", name))
		if err != nil {
			t.Fatal(err)
		}
		n, err := Parse(f, nil)
		f.Close()
		total++
		standard := err == nil && !n.Heuristic
		if err == nil && n.Heuristic {
			heurTotal++
		}
		if standard {
			stdTotal++
		}
		ok, why := sisimaiAgrees(n, err, want)
		fam := sisimaiFamily(name)
		if families[fam] == nil {
			families[fam] = &tally{}
		}
		families[fam].total++
		if ok {
			families[fam].agree++
		}
		if ok {
			agree++
			if standard {
				stdAgree++
			} else if err == nil {
				heurAgree++
			}
			continue
		}
		failures = append(failures, name+": "+why)
		if strings.HasPrefix(name, "rfc3464-") {
			t.Errorf("RFC 3464 bounce %s disagrees: %s", name, why)
		} else if reason, ok := sisimaiStandardDisagreements[name]; standard && !ok {
			t.Errorf("bounce %s with a delivery-status part disagrees: %s", name, why)
		} else if ok {
			t.Logf("%s: known disagreement: %s", name, reason)
		}
	}
	share := float64(agree) / float64(total)
	t.Logf("sisimai: %d/%d bounces agree (%.1f%%); with a delivery-status part %d/%d; heuristic %d/%d; not recognised %d",
		agree, total, 100*share, stdAgree, stdTotal, heurAgree, heurTotal, total-stdTotal-heurTotal)
	famNames := make([]string, 0, len(families))
	for f := range families {
		famNames = append(famNames, f)
	}
	sort.Strings(famNames)
	var perFamily strings.Builder
	for _, f := range famNames {
		c := families[f]
		fmt.Fprintf(&perFamily, " %s %d/%d", f, c.agree, c.total)
		if sisimaiFullFamilies[f] && c.agree != c.total {
			t.Errorf("family %s at %d/%d, must be 100%%", f, c.agree, c.total)
		}
		if min, ok := sisimaiFamilyFloors[f]; ok && c.agree < min {
			t.Errorf("family %s at %d/%d, below its floor %d", f, c.agree, c.total, min)
		}
	}
	t.Logf("per MTA family (agree/total):%s", perFamily.String())
	if testing.Verbose() {
		for _, f := range failures {
			t.Log("disagrees:", f)
		}
	}
	if share < sisimaiMinOverall {
		t.Errorf("share %.3f below the floor %.3f", share, sisimaiMinOverall)
	}
}

func sisimaiAgrees(n *Notice, err error, want []sisimaiEntry) (bool, string) {
	if err != nil {
		if errors.Is(err, ErrNotReport) {
			return false, "not recognised as a bounce"
		}
		return false, err.Error()
	}
	rcpts := n.Report.Recipients
	if len(rcpts) != len(want) {
		var got []string
		for _, r := range rcpts {
			got = append(got, r.Addr())
		}
		return false, "recipients " + strings.Join(got, ",") + ", want " + itoa(len(want))
	}
	for i, w := range want {
		code, err := smtp.ParseEnhancedCode(w.Status)
		if err != nil || !Registered(code) {
			continue
		}
		if got := n.RecipientStatus(i); got != code {
			return false, "status " + got.String() + ", want " + w.Status
		}
	}
	return true, ""
}

// sisimaiFamily returns the MTA family of a corpus file: its name without
// the serial number ("lhost-qmail-05.eml" is "lhost-qmail").
func sisimaiFamily(name string) string {
	base := strings.TrimSuffix(name, ".eml")
	if i := strings.LastIndexByte(base, '-'); i > 0 {
		return base[:i]
	}
	return base
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
