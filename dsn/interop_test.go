package dsn

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/smtp"
)

// pythonReader prints, as JSON, what CPython's email package makes of a
// notification: the top-level type and report-type, the type of each part,
// the delivery-status field groups and the returned message's Message-ID.
const pythonReader = `
import email, json, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.compat32)
out = {"type": msg.get_content_type(), "report_type": msg.get_param("report-type"),
       "defects": [type(d).__name__ for d in msg.defects], "parts": [], "groups": [], "original_id": None,
       "auto_submitted": msg["Auto-Submitted"], "text": None}
for part in msg.get_payload():
    out["parts"].append(part.get_content_type())
    out["defects"] += [type(d).__name__ for d in part.defects]
    ct = part.get_content_type()
    if ct == "message/delivery-status":
        for block in part.get_payload():
            out["groups"].append([[k, v] for k, v in block.items()])
    elif ct in ("message/rfc822", "message/global"):
        inner = part.get_payload(0) if part.is_multipart() else email.message_from_bytes(part.get_payload(decode=True) or b"")
        out["original_id"] = inner["Message-ID"]
    elif ct in ("text/rfc822-headers", "message/global-headers"):
        out["original_id"] = email.message_from_string(part.get_payload(decode=True).decode("utf-8")).get("Message-ID")
    elif ct == "text/plain":
        out["text"] = part.get_payload(decode=True).decode(part.get_content_charset() or "us-ascii")
print(json.dumps(out))
`

func needPython(t *testing.T) string {
	t.Helper()
	return peertest.LookPath(t, "python3")
}

// TestPythonReadsNotification checks that Python's email package reads the
// structure of generated notifications: multipart/report with the right
// report-type, the three parts, the status fields in their groups and the
// returned original, without defects.
func TestPythonReadsNotification(t *testing.T) {
	t.Parallel()
	py := needPython(t)
	orig := "From: alice@example.org\nTo: bob@example.net\nMessage-ID: <orig-9@example.org>\nSubject: hi\n\nbody line\n"
	cases := []struct {
		name      string
		ret       smtp.DSNReturn
		wantParts []string
		global    bool
	}{
		{"headers", smtp.ReturnHeaders, []string{"text/plain", "message/delivery-status", "text/rfc822-headers"}, false},
		{"full", smtp.ReturnFull, []string{"text/plain", "message/delivery-status", "message/rfc822"}, false},
		{"global", smtp.ReturnFull, []string{"text/plain", "message/global-delivery-status", "message/global"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := sampleReport()
			if tc.global {
				rep.Recipients[0].FinalRecipient = TypedValue{Type: TypeUTF8, Value: "bøb@example.net"}
			}
			m := &Message{Report: rep, To: smtp.Path{Local: "alice", Domain: "example.org"},
				Now: func() time.Time { return testTime }, Original: strings.NewReader(orig), Return: tc.ret, UTF8: tc.global}
			var buf bytes.Buffer
			if _, err := m.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			got := runPython(t, py, buf.Bytes())
			wantType := "delivery-status"
			if tc.global {
				wantType = "global-delivery-status"
			}
			if got.Type != "multipart/report" || got.ReportType != wantType {
				t.Errorf("type %s report-type %s", got.Type, got.ReportType)
			}
			if strings.Join(got.Parts, ",") != strings.Join(tc.wantParts, ",") {
				t.Errorf("parts %v, want %v", got.Parts, tc.wantParts)
			}
			if len(got.Defects) > 0 {
				t.Errorf("defects %v", got.Defects)
			}
			if got.OriginalID != "<orig-9@example.org>" {
				t.Errorf("original Message-ID %q", got.OriginalID)
			}
			if got.AutoSubmitted != "auto-replied" || !strings.Contains(got.Text, "could not be delivered") {
				t.Errorf("Auto-Submitted %q, text %q", got.AutoSubmitted, got.Text)
			}
			if tc.global {
				return // CPython does not split global-delivery-status into groups
			}
			// Python sees the same field groups Herald wrote.
			if len(got.Groups) != 1+len(rep.Recipients) {
				t.Fatalf("python sees %d groups: %v", len(got.Groups), got.Groups)
			}
			for _, fv := range got.Groups[0] {
				if v, ok := messageFieldValue(&rep, fv[0]); !ok || !sameValue(fv[0], v, fv[1]) {
					t.Errorf("per-message %s: python %q, herald %q", fv[0], fv[1], v)
				}
			}
			for i, g := range got.Groups[1:] {
				for _, fv := range g {
					if v, ok := recipientFieldValue(&rep.Recipients[i], fv[0]); !ok || !sameValue(fv[0], v, fv[1]) {
						t.Errorf("recipient %d %s: python %q, herald %q", i+1, fv[0], fv[1], v)
					}
				}
			}
		})
	}
}

type pythonView struct {
	Type          string        `json:"type"`
	ReportType    string        `json:"report_type"`
	Defects       []string      `json:"defects"`
	Parts         []string      `json:"parts"`
	Groups        [][][2]string `json:"groups"`
	OriginalID    string        `json:"original_id"`
	AutoSubmitted string        `json:"auto_submitted"`
	Text          string        `json:"text"`
}

func runPython(t *testing.T, py string, msg []byte) pythonView {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "dsn.eml")
	script := filepath.Join(dir, "read.py")
	if err := os.WriteFile(file, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(pythonReader), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, file).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var v pythonView
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	return v
}
