package dsn

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/xtext"
	"github.com/heraldmail/herald/message"
)

type oracleFile struct {
	DeliveryStatus *struct {
		PerMessage   [][2]string   `json:"per_message"`
		PerRecipient [][][2]string `json:"per_recipient"`
	} `json:"delivery_status"`
}

// oracleDifferences lists the files where Herald reads more than CPython's
// email package, with the reason. The test checks Herald's reading of them
// in TestParseCorpusDetails instead.
var oracleDifferences = map[string]string{
	// The recipient group is base64 inside the status body, announced by a
	// Content-Transfer-Encoding line among the per-message fields. CPython
	// keeps that line and its Content-length as fields and shows an empty
	// group; Herald decodes the group.
	"dsn/mimekit/bounce.txt": "base64 recipient group decoded",
	// Two message/delivery-status parts: the first holds only prose, which
	// CPython shows as three empty groups; Herald skips it and reads the
	// second, which holds the fields.
	"dsn/ruby-mail/multipart_report_multiple_status.eml": "first status part is prose",
}

// TestParseOracle checks that every DSN of the postfix-generated, mimekit
// and ruby-mail corpora parses into the fields CPython's email package shows.
func TestParseOracle(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../testdata/oracle/cpython-email-oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var oracle struct {
		Files map[string]oracleFile `json:"files"`
	}
	if err := json.Unmarshal(raw, &oracle); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name, f := range oracle.Files {
		if f.DeliveryStatus == nil || !(strings.HasPrefix(name, "dsn/postfix-generated/") ||
			strings.HasPrefix(name, "dsn/mimekit/") || strings.HasPrefix(name, "dsn/ruby-mail/")) {
			continue
		}
		if _, ok := oracleDifferences[name]; ok {
			continue
		}
		checked++
		t.Run(name, func(t *testing.T) {
			n := parseFile(t, filepath.Join("../testdata", name))
			ds := f.DeliveryStatus
			for _, fv := range ds.PerMessage {
				if got, ok := messageFieldValue(n.Report, fv[0]); !ok || !sameValue(fv[0], got, fv[1]) {
					t.Errorf("per-message %s = %q, oracle %q", fv[0], got, fv[1])
				}
			}
			var groups [][][2]string
			for _, g := range ds.PerRecipient {
				if len(g) > 0 { // CPython shows empty groups for extra blank lines
					groups = append(groups, g)
				}
			}
			if len(n.Report.Recipients) != len(groups) {
				t.Fatalf("%d recipients, oracle %d", len(n.Report.Recipients), len(groups))
			}
			for i, g := range groups {
				rc := &n.Report.Recipients[i]
				for _, fv := range g {
					if got, ok := recipientFieldValue(rc, fv[0]); !ok || !sameValue(fv[0], got, fv[1]) {
						t.Errorf("recipient %d %s = %q, oracle %q", i+1, fv[0], got, fv[1])
					}
				}
			}
		})
	}
	if checked < 20 {
		t.Fatalf("only %d oracle files checked", checked)
	}
}

func parseFile(t *testing.T, path string) *Notice {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := Parse(f, nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return n
}

// messageFieldValue returns the value Herald holds for a per-message field,
// formatted as it would be written.
func messageFieldValue(r *Report, name string) (string, bool) {
	switch strings.ToLower(name) {
	case fReportingMTA:
		return r.ReportingMTA.String(), !r.ReportingMTA.IsZero()
	case fDSNGateway:
		return r.DSNGateway.String(), !r.DSNGateway.IsZero()
	case fReceivedFromMTA:
		return r.ReceivedFromMTA.String(), !r.ReceivedFromMTA.IsZero()
	case fEnvelopeID:
		return xtext.Encode(r.EnvelopeID), r.EnvelopeID != ""
	case fArrivalDate:
		if !r.ArrivalDate.IsZero() {
			return message.FormatDate(r.ArrivalDate), true
		}
	}
	return extensionValue(r.Extensions, name)
}

func recipientFieldValue(r *Recipient, name string) (string, bool) {
	switch strings.ToLower(name) {
	case fOriginalRecipient:
		return r.OriginalRecipient.String(), !r.OriginalRecipient.IsZero()
	case fFinalRecipient:
		return r.FinalRecipient.String(), !r.FinalRecipient.IsZero()
	case fAction:
		return string(r.Action), r.Action != ""
	case fStatus:
		if r.Status.IsSet() {
			return r.Status.String(), true
		}
	case fRemoteMTA:
		return r.RemoteMTA.String(), !r.RemoteMTA.IsZero()
	case fDiagnosticCode:
		return r.DiagnosticCode.String(), !r.DiagnosticCode.IsZero()
	case fLastAttemptDate:
		if !r.LastAttemptDate.IsZero() {
			return message.FormatDate(r.LastAttemptDate), true
		}
	case fFinalLogID:
		return r.FinalLogID, r.FinalLogID != ""
	case fWillRetryUntil:
		if !r.WillRetryUntil.IsZero() {
			return message.FormatDate(r.WillRetryUntil), true
		}
	}
	return extensionValue(r.Extensions, name)
}

func extensionValue(fs []Field, name string) (string, bool) {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// sameValue compares a value as Herald formats it with the oracle's:
// dates as instants, typed values with the type in any case and any white
// space around the ";", everything else with white space runs collapsed.
func sameValue(name, got, want string) bool {
	switch strings.ToLower(name) {
	case fArrivalDate, fLastAttemptDate, fWillRetryUntil:
		a, err1 := message.ParseDate(got)
		b, err2 := message.ParseDate(want)
		return err1 == nil && err2 == nil && a.Equal(b)
	case fAction:
		return strings.EqualFold(got, want)
	}
	norm := func(s string) string {
		s = strings.Join(strings.Fields(s), " ")
		if t, v, ok := strings.Cut(s, ";"); ok && !strings.ContainsAny(t, " <@") {
			return strings.ToLower(t) + ";" + strings.TrimSpace(v)
		}
		return s
	}
	return norm(got) == norm(want)
}

// TestParseCorpusDetails pins what Herald reads from the files where it
// differs from the oracle, and checks the returned original and the text.
func TestParseCorpusDetails(t *testing.T) {
	t.Parallel()
	n := parseFile(t, "../testdata/dsn/mimekit/bounce.txt")
	if len(n.Report.Recipients) != 1 {
		t.Fatalf("bounce.txt: %d recipients, want 1", len(n.Report.Recipients))
	}
	rc := n.Report.Recipients[0]
	if rc.Addr() != "netec.test@netecgc.com" || rc.Action != ActionFailed || rc.Status.String() != "5.1.1" {
		t.Errorf("bounce.txt recipient = %+v", rc)
	}
	if n.Report.ReportingMTA.Value != "hmail.jitbit.com" || len(n.Report.Extensions) != 2 {
		t.Errorf("bounce.txt per-message = %+v", n.Report)
	}

	n = parseFile(t, "../testdata/dsn/ruby-mail/multipart_report_multiple_status.eml")
	if len(n.Report.Recipients) != 1 || n.Report.Recipients[0].Addr() != "u@ci.com" ||
		n.Report.Recipients[0].Status.String() != "5.3.0" || n.Report.ReceivedFromMTA.Value != "schemailedgegx04.ci.com (172.16.130.170)" {
		t.Errorf("multipart_report_multiple_status = %+v", n.Report)
	}

	n = parseFile(t, "../testdata/dsn/postfix-generated/postfix-3.7.11-02-delivered.eml")
	if n.Original == nil {
		t.Fatal("02-delivered: no original header (text/rfc822-headers)")
	}
	if id, _ := n.Original.MessageID(); id != "t2@example.test" {
		t.Errorf("02-delivered original Message-ID = %q", id)
	}
	if n.Report.EnvelopeID != "envid-0002" || n.Report.Recipients[0].Action != ActionDelivered {
		t.Errorf("02-delivered report = %+v", n.Report)
	}
	n = parseFile(t, "../testdata/dsn/postfix-generated/postfix-3.7.11-09-failed.eml")
	if n.Original == nil || n.Original.Get("Message-ID") != "<t8@example.test>" {
		t.Errorf("09-failed: original header = %v", n.Original)
	}
	if !strings.Contains(n.Text, "<nosuch4@localhost>: unknown user") {
		t.Errorf("09-failed: text = %q", n.Text)
	}
	n = parseFile(t, "../testdata/dsn/postfix-generated/postfix-3.7.11-03-delayed.eml")
	want := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	if rc := n.Report.Recipients[0]; rc.Action != ActionDelayed || rc.WillRetryUntil.Before(want) {
		t.Errorf("03-delayed recipient = %+v", rc)
	}
}
