package dsn

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/smtp"
)

func addCorpusSeeds(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for i, name := range files {
			if i >= 12 {
				break
			}
			b, err := os.ReadFile(name)
			if err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzParse feeds whole messages to Parse: it must never panic, and every
// error must be an *Error or an I/O error.
func FuzzParse(f *testing.F) {
	addCorpusSeeds(f, "../testdata/dsn/postfix-generated/*.eml", "../testdata/dsn/mimekit/*.txt",
		"../testdata/dsn/ruby-mail/*.eml", "../testdata/dsn/sisimai/bsd/lhost-qmail-*.eml",
		"../testdata/dsn/sisimai/bsd/lhost-exim-*.eml", "../testdata/dsn/sisimai/bsd/lhost-amazonses-1*.eml")
	f.Add([]byte("Subject: x\n\n{\"Type\":\"Notification\",\"Message\":\"{\\\"notificationType\\\":\\\"Bounce\\\",\\\"bounce\\\":{\\\"bounceType\\\":\\\"Transient\\\",\\\"bouncedRecipients\\\":[{\\\"emailAddress\\\":\\\"a@b.c\\\"}]}}\"}"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.c\nAction: failed\nStatus: 4.4.1\nDiagnostic-Code: smtp; 250 2.1.5 ok 550 5.1.1 x\n--b--\n--o--\n"))
	f.Add([]byte("Subject: failure notice\n\nHi. This is the qmail-send program.\n\n<a@b.c>:\n250 2.1.5 then 451 4.3.0\n\n--- Below this line is a copy of the message.\n"))
	f.Add([]byte("From: Mailer-Daemon@x.y\n\nThis message was created automatically by mail delivery software.\nThe following address(es) failed:\n\n  a@b.c\n    550 5.1.1 x\n"))
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.c\nAction: failed\nStatus: 5.1.1\n--b--\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(bytes.NewReader(data), &ParseOptions{MaxRecipients: 50, MaxTextBytes: 8 << 10, MaxStatusBytes: 16 << 10})
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			return
		}
		if n.Report == nil || len(n.Report.Recipients) > 50 {
			t.Fatalf("report %+v", n.Report)
		}
		for i := range n.Report.Recipients {
			n.RecipientStatus(i)
		}
	})
}

// FuzzParseStatus checks that ParseStatus never panics and that a report it
// reads, when valid, is written and read back unchanged.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Reporting-MTA: dns; a.example\n\nFinal-Recipient: rfc822; x@b.example\nAction: failed\nStatus: 5.1.1\n"))
	f.Add([]byte("reporting-mta: DNS;a\nFINAL-RECIPIENT: utf-8; j\\x{F6}rg@x\nAction: delayed\nStatus: 4.4.1 (x)\nWill-Retry-Until: Mon, 23 Nov 2026 09:30:00 -0500\n  \nX-A: b\n"))
	f.Add([]byte("Original-Envelope-Id: a+2B=\nArrival-Date: 1 Jan 2000 00:00 GMT\nContent-Transfer-Encoding: base64\n\nRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFAYgpBY3Rpb246IGZhaWxlZApTdGF0dXM6IDUuMS4x\n"))
	// A run of unterminated \x{ escapes once took quadratic time.
	f.Add([]byte("Final-Recipient: utf-8; " + strings.Repeat(`\x{`, 2000) + "\nAction: failed\nStatus: 5.1.1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ParseStatus(bytes.NewReader(data), &ParseOptions{MaxRecipients: 50})
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if rep.Validate() != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := rep.WriteTo(&buf); err != nil {
			return // a value the header writer refuses
		}
		again, err := ParseStatus(bytes.NewReader(buf.Bytes()), nil)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, buf.Bytes())
		}
		if a, b := dumpReport(rep), dumpReport(again); a != b {
			t.Fatalf("round trip changed the report\nfirst: %s\nagain: %s\nwritten:\n%s", a, b, buf.Bytes())
		}
	})
}

// FuzzMessage writes notifications from arbitrary field values: writing
// must never panic, never emit a bare CR or LF or a line over 998 octets,
// and what it writes must parse back with the same recipients, actions and
// status codes and the same returned header.
func FuzzMessage(f *testing.F) {
	f.Add("mx.example.org", "bob@example.net", "550 5.1.1 unknown user", "X-Ext", "value", "id+1", []byte("Subject: hi\r\n\r\nbody\r\n"), uint8(0))
	f.Add("mx", "jörg@bücher.example", "450 4.2.0 greylisted\r\nBcc: x@y", "X-Ä", "v\r\nX: y", "", []byte("Subject: Grüße\n\nHallo\n"), uint8(1))
	f.Fuzz(func(t *testing.T, mta, rcpt, diag, extName, extValue, envid string, orig []byte, kind uint8) {
		action := []Action{ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded}[kind%5]
		status := map[Action]smtp.EnhancedCode{ActionFailed: smtp.EnhancedBadDestMailbox, ActionDelayed: smtp.NewEnhancedCode(4, 4, 1)}[action]
		if !status.IsSet() {
			status = smtp.EnhancedOK
		}
		rep := Report{
			ReportingMTA: TypedValue{Type: TypeDNS, Value: mta},
			EnvelopeID:   envid,
			Extensions:   []Field{{Name: extName, Value: extValue}},
			Recipients: []Recipient{{
				FinalRecipient: addressValue(rcpt),
				Action:         action,
				Status:         status,
				DiagnosticCode: TypedValue{Type: TypeSMTP, Value: diag},
			}},
		}
		m := &Message{Report: rep, To: smtp.Path{Local: "a", Domain: "example.org"}, Date: time.Unix(0, 0), MessageID: "x@y",
			Original: bytes.NewReader(orig), Return: []smtp.DSNReturn{"", smtp.ReturnFull, smtp.ReturnHeaders}[kind%3]}
		var buf bytes.Buffer
		if _, err := m.WriteTo(&buf); err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			return
		}
		out := buf.Bytes()
		for i, c := range out {
			if c == '\n' && (i == 0 || out[i-1] != '\r') || c == '\r' && (i+1 == len(out) || out[i+1] != '\n') {
				t.Fatalf("bare line ending at %d", i)
			}
		}
		// The returned original is written as given, so only the
		// notification's own header and parts are held to 998 octets.
		head := out
		if i := bytes.Index(out, []byte("Content-Description: Undelivered")); i >= 0 {
			head = out[:i]
		}
		for _, l := range bytes.Split(head, []byte("\r\n")) {
			if len(l) > 998 {
				t.Fatalf("line of %d octets", len(l))
			}
		}
		n, err := Parse(bytes.NewReader(out), nil)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, out)
		}
		if n.Heuristic || len(n.Report.Recipients) != 1 {
			t.Fatalf("reparsed %d recipients (heuristic %v)", len(n.Report.Recipients), n.Heuristic)
		}
		got := n.Report.Recipients[0]
		if got.Action != action || got.Status != status {
			t.Fatalf("reparsed %s %s, wrote %s %s", got.Action, got.Status, action, status)
		}
	})
}
