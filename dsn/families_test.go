package dsn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// familyCase is one bounce and what must be read from it: each recipient
// as "address action status", in order. file names a real bounce under
// ../testdata (the sisimai corpus, BSD-2, see testdata/README.md); text is
// a bounce written for the test from the family's documented format.
type familyCase struct {
	name      string
	file      string
	text      string
	want      []string
	heuristic bool
	forwarded bool
	notReport bool
	// remote and diag, when set, are each recipient's Remote-MTA host
	// ("" for none) and a part of its diagnostic.
	remote []string
	diag   []string
}

func runFamilyCases(t *testing.T, tests []familyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tt.text
			if tt.file != "" {
				b, err := os.ReadFile(filepath.Join("../testdata", tt.file))
				if err != nil {
					t.Fatal(err)
				}
				raw = string(b)
			}
			n, err := Parse(strings.NewReader(raw), nil)
			if tt.notReport {
				if !errors.Is(err, ErrNotReport) {
					t.Fatalf("Parse = %v, %v; want ErrNotReport", n, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, rc := range n.Report.Recipients {
				got = append(got, rc.Addr()+" "+string(rc.Action)+" "+n.RecipientStatus(i).String())
			}
			if strings.Join(got, "; ") != strings.Join(tt.want, "; ") {
				t.Errorf("recipients\n got %q\nwant %q", got, tt.want)
			}
			for i, want := range tt.remote {
				if i < len(n.Report.Recipients) && n.Report.Recipients[i].RemoteMTA.Value != want {
					t.Errorf("recipient %d: Remote-MTA %q, want %q", i, n.Report.Recipients[i].RemoteMTA.Value, want)
				}
			}
			for i, want := range tt.diag {
				if i < len(n.Report.Recipients) && !strings.Contains(n.Report.Recipients[i].DiagnosticCode.String(), want) {
					t.Errorf("recipient %d: Diagnostic-Code %q, want it to hold %q", i, n.Report.Recipients[i].DiagnosticCode.String(), want)
				}
			}
			if n.Heuristic != tt.heuristic {
				t.Errorf("Heuristic = %v, want %v", n.Heuristic, tt.heuristic)
			}
			if n.Forwarded != tt.forwarded {
				t.Errorf("Forwarded = %v, want %v", n.Forwarded, tt.forwarded)
			}
		})
	}
}

const qmailHeader = "From: MAILER-DAEMON@mx.example.net\nTo: sender@example.org\nSubject: failure notice\n\n"

// TestQSBMF reads qmail bounces: real ones from the corpus and ones written
// from "The qmail-send Bounce Message Format" (D. J. Bernstein) and from
// qmail-remote's and qmail-local's texts.
func TestQSBMF(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: remote rejection", file: "dsn/sisimai/bsd/lhost-qmail-01.eml", want: []string{"kijitora@example.ne.jp failed 5.5.0"}, heuristic: true},
		{name: "real: temporary code then queue too long", file: "dsn/sisimai/bsd/lhost-qmail-07.eml", want: []string{"kijitora@example.jp failed 4.4.1"}, heuristic: true},
		{name: "real: LDAP, code glued to the next sentence", file: "dsn/sisimai/bsd/lhost-qmail-05.eml", want: []string{"kijitora@example.net failed 4.4.3"}, heuristic: true},
		{name: "written: the example of QSBMF section 1", text: qmailHeader +
			"Hi. This is the qmail-send program at mx.example.net.\n" +
			"I'm afraid I wasn't able to deliver your message to the\nfollowing addresses. This is a permanent error; I've given up.\nSorry it didn't work out.\n\n" +
			"<god@heaven.example>:\nSorry, I couldn't find any host by that name.\n\n" +
			"--- Below this line is a copy of the message.\n\nReturn-Path: <sender@example.org>\nTo: god@heaven.example\nSubject: are you there?\n\nJust checking.\n",
			want: []string{"god@heaven.example failed 5.0.0"}, heuristic: true},
		{name: "written: two recipients, codes in (#x.y.z)", text: qmailHeader +
			"Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n" +
			"<nobody@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n" +
			"<full@example.net>:\nThe users mailfolder is over the allowed quota (size). (#5.2.2)\n\n" +
			"--- Below this line is a copy of the message.\n\nTo: nobody@example.net, full@example.net\n\nx\n",
			want: []string{"nobody@example.net failed 5.1.1", "full@example.net failed 5.2.2"}, heuristic: true},
		{name: "written: RCPT accepted, DATA refused", text: qmailHeader +
			"Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n" +
			"<user@example.com>:\n192.0.2.7 accepted the recipient: 250 2.1.5 Ok\nbut failed after I sent the message.\nRemote host said: 554 5.7.1 Message rejected as spam\n\n" +
			"--- Below this line is a copy of the message.\n\nTo: user@example.com\n\nx\n",
			want: []string{"user@example.com failed 5.7.1"}, heuristic: true},
		{name: "written: expiry without a code", text: qmailHeader +
			"Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n" +
			"<slow@example.com>:\nConnected to 192.0.2.8 but connection died.\nI'm not going to try again; this message has been in the queue too long.\n\n" +
			"--- Below this line is a copy of the message.\n\nTo: slow@example.com\n\nx\n",
			want: []string{"slow@example.com failed 4.4.7"}, heuristic: true},
		{name: "written: a descendant that reworded the introduction", text: "From: MAILER-DAEMON@hosting.example\nTo: sender@example.org\nSubject: failure notice\n\n" +
			"Your message could not be delivered to the following address(es).\n\n" +
			"<gone@example.com>:\nRemote host said: 550 5.1.1 <gone@example.com>: Recipient address rejected\n\n" +
			"--- Below this line is a copy of the message.\n\nTo: other@example.com\n\nx\n",
			want: []string{"gone@example.com failed 5.1.1"}, heuristic: true},
		{name: "written: a double bounce stops at the break paragraph", text: qmailHeader +
			"Hi. This is the qmail-send program at mx.example.net.\nI tried to deliver a bounce message to this address, but the bounce bounced!\n\n" +
			"<postmaster@example.org>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n" +
			"--- Below this line is the original bounce.\n\nHi. This is the qmail-send program at other.example.\n\n<inner@example.com>:\nSorry. (#5.2.2)\n",
			want: []string{"postmaster@example.org failed 5.1.1"}, heuristic: true},
	})
}

const eximHeader = "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nTo: sender@example.org\nSubject: Mail delivery failed: returning message to sender\nAuto-Submitted: auto-replied\n\n"

// TestExim reads Exim's bounce and warning texts: real ones from the
// corpus and ones written from Exim's default templates (deliver.c, the
// bounce_message_file and warn_message_file documentation).
func TestExim(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: bounce", file: "dsn/sisimai/bsd/lhost-exim-05.eml", want: []string{"kijitora@neko.example.co.jp failed 5.1.1"}, heuristic: true},
		{name: "real: delay warning", file: "dsn/sisimai/bsd/lhost-exim-41.eml", want: []string{"kijitora@example.net delayed 4.0.0"}, heuristic: true},
		{name: "written: two recipients, generated-from line", text: eximHeader +
			"This message was created automatically by mail delivery software.\n\n" +
			"A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n" +
			"  alias@example.com\n    (generated from list@example.org)\n    SMTP error from remote mail server after RCPT TO:<alias@example.com>:\n    host mx.example.com [192.0.2.1]: 550 5.1.1 <alias@example.com>: no such user\n" +
			"  full@example.com\n    host mx.example.com [192.0.2.1]: 552 5.2.2 mailbox full\n\n" +
			"------ This is a copy of the message, including all the headers. ------\n\nTo: list@example.org\n\nx\n",
			want: []string{"alias@example.com failed 5.1.1", "full@example.com failed 5.2.2"}, heuristic: true},
		{name: "written: retry timeout exceeded keeps the temporary code", text: eximHeader +
			"This message was created automatically by mail delivery software.\n\n" +
			"A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n" +
			"  user@example.com\n    retry timeout exceeded\n    host mx.example.com [192.0.2.1]: 451 4.4.1 try later\n\n" +
			"------ This is a copy of the message's headers. ------\n\nTo: user@example.com\n",
			want: []string{"user@example.com failed 4.4.1"}, heuristic: true},
		{name: "written: unrouteable address without a code", text: eximHeader +
			"This message was created automatically by mail delivery software.\n\n" +
			"A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n" +
			"  nobody@nowhere.example\n    Unrouteable address\n\n" +
			"------ This is a copy of the message, including all the headers. ------\n",
			want: []string{"nobody@nowhere.example failed 5.0.0"}, heuristic: true},
		{name: "written: RCPT accepted, failure after DATA", text: eximHeader +
			"This message was created automatically by mail delivery software.\n\n" +
			"A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n" +
			"  user@example.com\n    RCPT TO:<user@example.com> 250 2.1.5 Recipient OK\n    SMTP error from remote mail server after end of data:\n    451 4.3.0 Error: queue file write error\n\n" +
			"------ This is a copy of the message's headers. ------\n",
			want: []string{"user@example.com failed 4.3.0"}, heuristic: true},
		{name: "written: Exim 3 wording, address with a colon", text: eximHeader +
			"This message was created automatically by mail delivery software.\n\n" +
			"A message that you sent could not be delivered to all of its recipients. The\nfollowing address(es) failed:\n\n" +
			"  old@example.com:\n    SMTP error from remote mailer after RCPT TO:<old@example.com>:\n    host mx.example.com [192.0.2.1]: 550 5.1.1 unknown user\n\n" +
			"------ This is a copy of the message, including all the headers. ------\n",
			want: []string{"old@example.com failed 5.1.1"}, heuristic: true},
		{name: "written: reworded template, known by X-Failed-Recipients", text: "From: Mail Delivery System <Mailer-Daemon@host.example>\nTo: sender@example.org\nSubject: Mail delivery failed\nX-Failed-Recipients: user@example.com\n\n" +
			"This is an automatically generated message from host.example.\n\nYour message could not be delivered. The following address failed:\n\n" +
			"  user@example.com\n    mailbox is full: retry timeout exceeded\n\n" +
			"------ This is a copy of the message's headers. ------\n",
			want: []string{"user@example.com failed 5.0.0"}, heuristic: true},
		{name: "written: delay warning for two addresses", text: "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nTo: sender@example.org\nSubject: Warning: message 1abcde-000123-AB delayed 24 hours\n\n" +
			"This message was created automatically by mail delivery software.\n" +
			"A message that you sent has not yet been delivered to one or more of its\nrecipients after more than 24 hours on the queue on mx.example.net.\n\n" +
			"The message identifier is:     1abcde-000123-AB\nThe subject of the message is: hello\n\n" +
			"The addresses to which the message has not yet been delivered are:\n\n" +
			"  a@example.com\n    Delay reason: SMTP error from remote mail server after RCPT TO:<a@example.com>:\n    450 4.2.1 mailbox busy\n" +
			"  b@example.com\n    host mx.example.com [192.0.2.1] Connection timed out\n\n" +
			"No action is required on your part. Delivery attempts will continue for\nsome time.\n",
			want: []string{"a@example.com delayed 4.2.1", "b@example.com delayed 4.0.0"}, heuristic: true},
	})
}

const sesMailHeader = "From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: ops@example.org\nSubject: AWS Notification Message\nContent-Type: text/plain; charset=UTF-8\n\n"

// TestSES reads Amazon SES notifications: real ones from the corpus and
// ones written from the "Contents of notifications for Amazon SES" and
// event publishing documentation.
func TestSES(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: SNS envelope, a line wrapped inside the JSON", file: "dsn/sisimai/bsd/lhost-amazonses-10.eml", want: []string{"bounce@simulator.amazonses.com failed 5.1.1"}, heuristic: true},
		{name: "real: delivery notification", file: "dsn/sisimai/bsd/lhost-amazonses-12.eml", want: []string{"success@simulator.amazonses.com delivered 2.6.0"}, heuristic: true},
		{name: "written: event publishing, transient bounce without status", text: sesMailHeader +
			`{"eventType":"Bounce","bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull","bouncedRecipients":[{"emailAddress":"full@example.com"}],"timestamp":"2026-11-23T10:00:00.000Z","feedbackId":"x"},"mail":{"source":"sender@example.org","destination":["full@example.com"]}}`,
			want: []string{"full@example.com failed 4.0.0"}, heuristic: true},
		{name: "written: two recipients with diagnostic codes", text: sesMailHeader +
			`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[` +
			`{"emailAddress":"a@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"},` +
			`{"emailAddress":"b@example.com","action":"failed","diagnosticCode":"smtp; 554 5.7.1 rejected"}],"reportingMTA":"dsn; a1-2.smtp-out.amazonses.com"}}`,
			want: []string{"a@example.com failed 5.1.1", "b@example.com failed 5.7.1"}, heuristic: true},
		{name: "written: delivery delay", text: sesMailHeader +
			`{"eventType":"DeliveryDelay","deliveryDelay":{"delayType":"TransientCommunicationFailure","delayedRecipients":[{"emailAddress":"slow@example.com","status":"4.4.7","diagnosticCode":"smtp; 421 4.4.7 timeout"}],"expirationTime":"2026-11-24T10:00:00.000Z"}}`,
			want: []string{"slow@example.com delayed 4.4.7"}, heuristic: true},
		{name: "written: a complaint is not a bounce", text: sesMailHeader +
			`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"a@example.com"}],"complaintFeedbackType":"abuse"}}`,
			notReport: true},
		{name: "written: other JSON is not a bounce", text: "From: bot@example.org\nSubject: data\n\n{\"bounce\": 1, \"items\": []}\n", notReport: true},
	})
}

// TestForwardedDSN reads a delivery report that someone forwarded as a
// message/rfc822 attachment; the report inside is a real Postfix one.
func TestForwardedDSN(t *testing.T) {
	t.Parallel()
	inner, err := os.ReadFile("../testdata/dsn/postfix-generated/postfix-3.7.11-01-failed.eml")
	if err != nil {
		t.Fatal(err)
	}
	direct, err := Parse(strings.NewReader(string(inner)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, rc := range direct.Report.Recipients {
		want = append(want, rc.Addr()+" "+string(rc.Action)+" "+direct.RecipientStatus(i).String())
	}
	fwd := "From: Alice <alice@example.org>\nTo: helpdesk@example.org\nSubject: Fwd: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n" +
		"--outer\nContent-Type: text/plain; charset=utf-8\n\nWhy did this bounce? It said the address failed.\nbob@example.com is a friend.\n\n" +
		"--outer\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=\"bounce.eml\"\n\n" +
		strings.ReplaceAll(string(inner), "\r\n", "\n") + "\n--outer--\n"
	runFamilyCases(t, []familyCase{
		{name: "forwarded postfix report", text: fwd, want: want, forwarded: true},
		{name: "the report itself", file: "dsn/postfix-generated/postfix-3.7.11-01-failed.eml", want: want},
		{name: "a forwarded ordinary message is no report", text: "From: a@example.org\nTo: b@example.org\nSubject: Fwd: lunch\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: text/plain\n\nsee below\n--o\nContent-Type: message/rfc822\n\nFrom: c@example.org\nTo: a@example.org\nSubject: lunch\n\nnoon?\n--o--\n", notReport: true},
	})
	n, err := Parse(strings.NewReader(fwd), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Header.Get("Subject"); got == "Fwd: Undelivered Mail Returned to Sender" {
		t.Errorf("Header is the forwarding message's, want the notification's")
	}
	if strings.Contains(n.Text, "Why did this bounce") {
		t.Errorf("Text holds the forwarding message's text: %q", n.Text)
	}
}

// TestFailureOverSuccess: when a recipient's text shows a success reply
// (2.1.5 for RCPT) and then the real failure, the failure is the status,
// in the generic heuristics and in a Diagnostic-Code alike.
func TestFailureOverSuccess(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "written: sendmail transcript", text: "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\nTo: sender@example.org\nSubject: Warning: could not send message for past 4 hours\n\n" +
			"The original message was received at Mon, 23 Nov 2026 09:00:00 GMT\nfrom localhost\n\n   ----- The following addresses had transient non-fatal errors -----\n<user@example.com>\n\n" +
			"   ----- Transcript of session follows -----\n... while talking to mx.example.com.:\n>>> RCPT To:<user@example.com>\n<<< 250 2.1.5 <user@example.com>... Recipient ok\n>>> DATA\n<<< 451 4.3.0 Error: queue file write error\n",
			want: []string{"user@example.com delayed 4.3.0"}, heuristic: true},
		{name: "written: plain postfix-style text", text: "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\nTo: sender@example.org\nSubject: Undelivered Mail Returned to Sender\n\n" +
			"This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n" +
			"<user@example.com>: host mx.example.com[192.0.2.1] said: 250 2.1.5 Ok (in reply to\n    RCPT TO command), then said: 554 5.7.1 Spam message rejected (in reply to end of DATA command)\n",
			want: []string{"user@example.com failed 5.7.1"}, heuristic: true},
	})
	for _, tt := range []struct{ diag, want string }{
		{"smtp; 250 2.1.5 Ok; 451 4.3.0 queue file write error", "4.3.0"},
		{"smtp; 250 2.1.5 Ok", "2.1.5"},
		{"smtp; 550 5.1.1 no such user", "5.1.1"},
		{"2.1.5 accepted, then 5.7.1 rejected", "5.7.1"},
	} {
		if got := diagnosticCode(tt.diag).String(); got != tt.want {
			t.Errorf("diagnosticCode(%q) = %s, want %s", tt.diag, got, tt.want)
		}
	}
}

// TestStatusAgainstAction: the Status field's class stands against Action
// and the diagnostic (see Recipient.BestStatus).
func TestStatusAgainstAction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		action         Action
		status, diag   string
		want           string
		explainsReason string
	}{
		{ActionFailed, "4.4.1", "smtp; 550 5.1.1 no such user", "4.4.1", "Status's class stands against a 5xx diagnostic"},
		{ActionFailed, "4.0.0", "smtp; 554 Blocked - see https://example.net/", "4.0.0", "Postfix: a 5xx greeting, deferred, then expired"},
		{ActionFailed, "4.0.0", "smtp; 451 4.7.1 greylisted", "4.7.1", "same class: the diagnostic refines"},
		{ActionDelayed, "5.0.0", "smtp; 421 4.4.2 timeout", "5.0.0", "the converse keeps Status too"},
		{ActionFailed, "", "smtp; 550 5.1.1 no such user", "5.1.1", "no Status: the diagnostic"},
	}
	for _, tt := range tests {
		r := Recipient{Action: tt.action, DiagnosticCode: TypedValue{Type: TypeSMTP, Value: strings.TrimPrefix(tt.diag, "smtp; ")}}
		r.Status, _ = parseStatusCode(tt.status)
		if got := r.BestStatus().String(); got != tt.want {
			t.Errorf("%s: BestStatus(%s, %s, %q) = %s, want %s", tt.explainsReason, tt.action, tt.status, tt.diag, got, tt.want)
		}
	}
}
