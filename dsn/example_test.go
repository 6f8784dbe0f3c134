package dsn_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/heraldmail/herald/dsn"
	"github.com/heraldmail/herald/smtp"
)

// A delivery queue gives up on a recipient and bounces the message to its
// envelope sender.
func ExampleMessage() {
	original := "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: Lunch\r\nMessage-ID: <1@example.org>\r\n\r\nNoon?\r\n"
	when := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

	rcpt := dsn.RecipientFromError("bob@example.net",
		&smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "no such user"},
		"mx.example.net", false)
	rcpt.OriginalRecipient = dsn.TypedValue{Type: dsn.TypeRFC822, Value: "bob@example.net"}
	rcpt.LastAttemptDate = when

	m := &dsn.Message{
		Report: dsn.Report{
			ReportingMTA: dsn.TypedValue{Type: dsn.TypeDNS, Value: "mx.example.org"},
			EnvelopeID:   "QQ314159",
			ArrivalDate:  when.Add(-time.Hour),
			Recipients:   []dsn.Recipient{rcpt},
		},
		To:        smtp.Path{Local: "alice", Domain: "example.org"},
		Date:      when,
		MessageID: "bounce-1@mx.example.org",
		Boundary:  "report-boundary",
		Original:  strings.NewReader(original),
		Return:    smtp.ReturnHeaders,
	}
	if dsn.NeverBounce(m.To, nil) || !dsn.Wanted(0, dsn.ActionFailed) {
		return
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.WriteString(strings.ReplaceAll(buf.String(), "\r\n", "\n"))
	// Output:
	// From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
	// To: alice@example.org
	// Subject: Undelivered Mail Returned to Sender
	// Date: Mon, 23 Nov 2026 12:00:00 +0000
	// Message-ID: <bounce-1@mx.example.org>
	// Auto-Submitted: auto-replied
	// MIME-Version: 1.0
	// Content-Type: multipart/report; report-type=delivery-status;
	//  boundary=report-boundary
	// Content-Transfer-Encoding: 7bit
	//
	// This is a MIME-encapsulated message.
	//
	// --report-boundary
	// Content-Type: text/plain; charset=us-ascii
	// Content-Description: Notification
	// Content-Transfer-Encoding: 7bit
	//
	// This is the mail system at mx.example.org.
	//
	// Your message could not be delivered to the following recipients.
	// This is a permanent error: the mail system has given up.
	//
	//   <bob@example.net>
	//     Reason: bad destination mailbox address (5.1.1)
	//     mx.example.net said: 550 5.1.1 no such user
	//
	// What you can do: check the address for typing errors, or ask the
	// recipient for their current address, then send the message again.
	//
	// The header of your original message is attached.
	//
	// --report-boundary
	// Content-Type: message/delivery-status
	// Content-Description: Delivery report
	//
	// Reporting-MTA: dns; mx.example.org
	// Original-Envelope-Id: QQ314159
	// Arrival-Date: Mon, 23 Nov 2026 11:00:00 +0000
	//
	// Original-Recipient: rfc822; bob@example.net
	// Final-Recipient: rfc822; bob@example.net
	// Action: failed
	// Status: 5.1.1
	// Remote-MTA: dns; mx.example.net
	// Diagnostic-Code: smtp; 550 5.1.1 no such user
	// Last-Attempt-Date: Mon, 23 Nov 2026 12:00:00 +0000
	//
	// --report-boundary
	// Content-Type: text/rfc822-headers
	// Content-Description: Undelivered Message Headers
	//
	// From: alice@example.org
	// To: bob@example.net
	// Subject: Lunch
	// Message-ID: <1@example.org>
	//
	// --report-boundary--
}

// A mailing list reads a bounce back and learns which subscriber failed.
func ExampleParse() {
	bounce := `From: MAILER-DAEMON@mx.example.net
To: list-bounces@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Your message could not be delivered.
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; carol@example.net
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 mailbox full
--b
Content-Type: text/rfc822-headers

Message-ID: <post-42@example.org>
Subject: Weekly digest
--b--
`
	n, err := dsn.Parse(strings.NewReader(bounce), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range n.Report.Recipients {
		fmt.Printf("%s %s %s (%s)\n", r.Addr(), r.Action, n.RecipientStatus(i), dsn.StatusText(r.Status))
	}
	fmt.Println("heuristic:", n.Heuristic)
	fmt.Println("original:", n.Original.Get("Message-ID"))
	// Output:
	// carol@example.net failed 5.2.2 (mailbox full)
	// heuristic: false
	// original: <post-42@example.org>
}
