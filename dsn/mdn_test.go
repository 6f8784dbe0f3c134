package dsn

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldmail/herald/smtp"
)

// mdnReader prints what CPython's email package makes of an MDN: the
// type, report-type, the parts, the disposition fields and the text.
const mdnReader = `
import email, json, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.compat32)
out = {"type": msg.get_content_type(), "report_type": msg.get_param("report-type"), "to": msg["To"],
       "subject": msg["Subject"], "in_reply_to": msg["In-Reply-To"], "auto": msg["Auto-Submitted"],
       "defects": [type(d).__name__ for d in msg.defects], "parts": [], "fields": {}, "text": None, "orig": None}
for part in msg.get_payload():
    ct = part.get_content_type()
    out["parts"].append(ct)
    out["defects"] += [type(d).__name__ for d in part.defects]
    if ct == "message/disposition-notification":
        body = part.get_payload()
        if isinstance(body, list):
            for block in body:
                out["fields"].update({k: v for k, v in block.items()})
        else:
            out["fields"].update({k: v for k, v in email.message_from_string(body).items()})
    elif ct == "text/plain":
        out["text"] = part.get_payload(decode=True).decode(part.get_content_charset())
    elif ct == "text/rfc822-headers":
        out["orig"] = email.message_from_string(part.get_payload(decode=True).decode()).get("Message-ID")
print(json.dumps(out))
`

func TestMDNPythonReads(t *testing.T) {
	py := needPython(t)
	orig := "From: alice@example.org\r\nTo: bob@example.net\r\nMessage-ID: <orig-9@example.org>\r\nSubject: hello\r\n\r\nsecret body\r\n"
	m := &MDN{
		To:             smtp.Path{Local: "alice", Domain: "example.org"},
		ReportingUA:    "mx.example.net",
		Product:        "Herald Sieve",
		FinalRecipient: "bob@example.net",
		Text:           "Your message to bob@example.net was rejected by the recipient's filter:\n\nNo more mail, thanks. Ça suffit.",
		Original:       strings.NewReader(orig),
	}
	var b bytes.Buffer
	_, err := m.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("secret body")) {
		t.Error("the original's body was returned")
	}
	dir := t.TempDir()
	file, script := filepath.Join(dir, "mdn.eml"), filepath.Join(dir, "read.py")
	os.WriteFile(file, b.Bytes(), 0o600)
	os.WriteFile(script, []byte(mdnReader), 0o600)
	out, err := exec.Command(py, script, file).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	got := string(out)
	for _, want := range []string{
		`"type": "multipart/report"`, `"report_type": "disposition-notification"`, `"to": "alice@example.org"`,
		`"subject": "Rejected: hello"`, `"in_reply_to": "<orig-9@example.org>"`, `"auto": "auto-replied"`, `"defects": []`,
		`"parts": ["text/plain", "message/disposition-notification", "text/rfc822-headers"]`,
		`"Reporting-UA": "mx.example.net; Herald Sieve"`, `"Final-Recipient": "rfc822;bob@example.net"`,
		`"Original-Message-ID": "<orig-9@example.org>"`,
		`"Disposition": "automatic-action/MDN-sent-automatically; deleted"`,
		`No more mail, thanks. \u00c7a suffit.`, `"orig": "<orig-9@example.org>"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
}

func TestMDNRefuses(t *testing.T) {
	base := MDN{To: smtp.Path{Local: "a", Domain: "b.example"}, ReportingUA: "mx.example", FinalRecipient: "u@mx.example"}
	for name, mod := range map[string]func(*MDN){
		"null sender":     func(m *MDN) { m.To = smtp.Path{} },
		"no recipient":    func(m *MDN) { m.FinalRecipient = "" },
		"bad host":        func(m *MDN) { m.ReportingUA = "a b" },
		"line break":      func(m *MDN) { m.FinalRecipient = "u@x\r\nBcc: evil@x" },
		"subject newline": func(m *MDN) { m.Subject = "a\nb" },
	} {
		m := base
		mod(&m)
		var b bytes.Buffer
		n, err := m.WriteTo(&b)
		if err == nil || n != 0 || b.Len() != 0 {
			t.Errorf("%s: got %d bytes, err %v", name, n, err)
		}
		if name == "null sender" && !errors.Is(err, ErrNullSender) {
			t.Errorf("null sender: %v", err)
		}
	}
}
