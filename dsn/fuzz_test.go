package dsn

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/message"
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
		"../testdata/dsn/sisimai/bsd/lhost-exim-*.eml", "../testdata/dsn/sisimai/bsd/lhost-amazonses-1*.eml",
		"../testdata/dsn/sisimai/bsd/lhost-v5sendmail-*.eml", "../testdata/dsn/sisimai/bsd/lhost-postfix-[03]*.eml",
		"../testdata/dsn/sisimai/bsd/lhost-exchange2003-*.eml", "../testdata/dsn/sisimai/bsd/lhost-office365-0*.eml",
		"../testdata/dsn/sisimai/bsd/lhost-dragonfly-[023]*.eml", "../testdata/dsn/sisimai/bsd/lhost-kddi-*.eml",
		"../testdata/dsn/sisimai/bsd/lhost-opensmtpd-*.eml", "../testdata/dsn/sisimai/bsd/lhost-gmail-*.eml",
		"../testdata/dsn/sisimai/bsd/lhost-domino-*.eml", "../testdata/dsn/sisimai/bsd/lhost-notes-*.eml")
	for _, body := range plainTextSeeds {
		f.Add([]byte("From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n\n" + body))
	}
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

// plainTextSeeds are bodies in the formats of the plain-text readers
// (plaintext.go).
var plainTextSeeds = []string{
	"This is the mail system at host a.example.\n\n<u@b.example> (expanded from <v@b.example>): host m.example[192.0.2.1] said: 550 5.1.1 x\n    (in reply to RCPT TO command)\n",
	"   ----- The following addresses had permanent fatal errors -----\n<u@b.example>\n    (reason: 550 5.1.1 x)\n\n   ----- Transcript of session follows -----\n... while talking to m.example.:\n>>> RCPT To:<u@b.example>\n<<< 550 5.1.1 x\n550 5.1.1 <u@b.example>... User unknown\n",
	"Delivery has failed to these recipients or groups:\n\nName (u@b.example)\nx\n\nDiagnostic information for administrators:\n\nu@b.example\nRemote Server at m.example (192.0.2.1) returned '550 5.1.1 x'\nm.example #550 5.1.1 x ##\n",
	"Your message did not reach some or all of the intended recipients.\n\nThe following recipient(s) could not be reached:\n\n  u@b.example on 1/1/01\n    x <m.example #5.1.1>\n",
	"This is the DragonFly Mail Agent v0.13 at a.example.\n\nThere was an error delivering your mail to <u@b.example>.\n\nm.example [192.0.2.1] did not like our RCPT TO:\n550 5.1.1 x\n",
	"Your mail sent on: x\n     Could not be delivered to: <u@b.example>\n     As their mailbox is full.\n",
	"    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n    A message is delayed for more than 4 hours for the following\n\nu@b.example: 421 4.7.0 x\n",
	"Delivery to the following recipient failed permanently:\n\n     u@b.example\n\nTechnical details of permanent failure:\nrejected by m.example. [192.0.2.1].\nThe error that the other server returned was:\n550 5.1.1 x\n",
	"was not delivered to:\n\n  N <u@b.example>\n\nbecause:\n\n  x\n",
	"------- Failure Reasons  --------\nx\nu@b.example\n------- Returned Message --------\n",
}

// FuzzPlainText feeds bounce texts to the plain-text readers under an
// MTA's header: they must never panic, name at most MaxRecipients
// recipients, each with an address, a valid action and a status of
// class 2 for a success, of class 4 or 5 for a failure or a delay.
func FuzzPlainText(f *testing.F) {
	for _, s := range plainTextSeeds {
		f.Add(s)
	}
	h, _, err := message.ReadHeader(strings.NewReader("From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail\r\n\r\n"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 64<<10 {
			return
		}
		rcpts := readPlainFamilies(h, text, ParseOptions{MaxRecipients: 20})
		if len(rcpts) > 20 {
			t.Fatalf("%d recipients", len(rcpts))
		}
		for _, rc := range rcpts {
			if rc.Addr() == "" || !rc.Action.Valid() || !rc.Status.Valid() {
				t.Fatalf("recipient %+v", rc)
			}
			if success := rc.Action == ActionDelivered || rc.Action == ActionRelayed; success != (rc.Status.Class() == 2) {
				t.Fatalf("%s with status %s", rc.Action, rc.Status)
			}
		}
	})
}
