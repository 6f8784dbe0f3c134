package dsn

import (
	"strings"
	"testing"
)

// The written bounces of these tests follow each MTA's documented format:
// Postfix's bounce(5) manual and the default templates it prints with
// "postconf -b"; Sendmail's savemail.c (the error body of a bounce
// without DSN: the address lists and the session transcript, with
// usrerr's "address... reason" lines); Microsoft's descriptions of the
// Exchange and Exchange Online non-delivery reports ("DSNs and NDRs in
// Exchange Server"); the bounce text of the DragonFly Mail Agent (dma's
// mail.c); the au one net notices of KDDI. Addresses are example ones.
// The real ones are sisimai's corpus (BSD-2, see testdata/README.md).

const postfixHeader = "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\nTo: sender@example.org\nSubject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n\n"

const postfixIntro = "This is the mail system at host mx.example.net.\n\n" +
	"I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\n" +
	"For further assistance, please send mail to postmaster.\n\n" +
	"If you do so, please include this problem report. You can\ndelete your own text from the attached returned message.\n\n" +
	"                   The mail system\n\n"

// TestPostfixText reads Postfix's notices in their plain form (a bounce
// whose delivery-status part was dropped, or Postfix before DSN support).
func TestPostfixText(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: Postfix program wording, remote user unknown", file: "dsn/sisimai/bsd/lhost-postfix-07.eml",
			want: []string{"kijitora@user.example.or.jp failed 5.0.0"}, heuristic: true,
			remote: []string{"mx.user.example.or.jp"}, diag: []string{"smtp; 550 <kijitora@user.example.or.jp>: User unknown"}},
		{name: "real: name service error", file: "dsn/sisimai/bsd/lhost-postfix-34.eml",
			want: []string{"kijitora@example.com failed 5.0.0"}, heuristic: true,
			remote: []string{""}, diag: []string{"Name service error for domain example.com"}},
		{name: "written: two recipients, a wrapped reply and an expansion", text: postfixHeader + postfixIntro +
			"<user@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1\n    <user@example.com>: Recipient address rejected: User unknown in virtual\n    mailbox table (in reply to RCPT TO command)\n\n" +
			"<final@example.net> (expanded from <alias@example.net>): unknown user:\n    \"final\"\n",
			want:   []string{"user@example.com failed 5.1.1", "final@example.net failed 5.0.0"},
			remote: []string{"mx.example.com", ""}, heuristic: true,
			diag: []string{"smtp; 550 5.1.1 <user@example.com>: Recipient address rejected: User unknown in virtual mailbox table", "unknown user"}},
		{name: "written: delay warning", text: "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\nTo: sender@example.org\nSubject: Delayed Mail (still being retried)\n\n" +
			"This is the mail system at host mx.example.net.\n\n" +
			"####################################################################\n# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n####################################################################\n\n" +
			"Your message could not be delivered for more than 4 hour(s).\nIt will be retried until it is 5 day(s) old.\n\n                   The mail system\n\n" +
			"<user@example.com>: connect to mx.example.com[192.0.2.1]:25: Connection timed\n    out\n",
			want: []string{"user@example.com delayed 4.0.0"}, remote: []string{"mx.example.com"}, heuristic: true},
		{name: "written: success notice", text: "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\nTo: sender@example.org\nSubject: Successful Mail Delivery Report\n\n" +
			"This is the mail system at host mx.example.net.\n\n" +
			"Your message was successfully delivered to the destination(s)\nlisted below. If the message was delivered to mailbox you will\nreceive no further notifications. Otherwise you may still receive\nnotifications of mail delivery errors from other systems.\n\n                   The mail system\n\n" +
			"<user@example.com>: delivery via mx.example.com[192.0.2.1]:25: 250 2.0.0 Ok:\n    queued as 4XyZ\n",
			want: []string{"user@example.com delivered 2.0.0"}, remote: []string{"mx.example.com"}, heuristic: true},
		{name: "written: older Postfix program wording, expiry keeps the temporary code", text: postfixHeader +
			"This is the Postfix program at host mx.example.net.\n\nI'm sorry to have to inform you that the message returned\nbelow could not be delivered to one or more destinations.\n\n\t\t\tThe Postfix program\n\n" +
			"<user@example.com>: host mx.example.com[192.0.2.1] said: 451 4.3.0 Try again\n    later (in reply to end of DATA command)\n",
			want: []string{"user@example.com failed 4.3.0"}, remote: []string{"mx.example.com"}, diag: []string{"smtp; 451 4.3.0 Try again later"}, heuristic: true},
	})
}

const sendmailHeader = "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\nTo: sender@example.org\nSubject: Returned mail: see transcript for details\nAuto-Submitted: auto-generated (failure)\n\n"

// TestSendmailText reads Sendmail's bounces without DSN: the V8 address
// lists and transcript, and the V5 transcript alone.
func TestSendmailText(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: V5, four recipients among host lines", file: "dsn/sisimai/bsd/lhost-v5sendmail-05.eml",
			want:   []string{"kijitora@example.edu failed 5.0.0", "kuroneko@example.or.jp failed 5.0.0", "kijitora@example.org failed 5.0.0", "mikeneko@example.co.jp failed 5.0.0"},
			remote: []string{"example.edu", "", "", "mail.example.co.jp"}, heuristic: true,
			diag: []string{"smtp; 550 Your E-Mail is redundant", "Host unknown", "Host unknown", "smtp; 550 Requested User Mailbox not found"}},
		{name: "real: V5, the reply to MAIL", file: "dsn/sisimai/bsd/lhost-v5sendmail-03.eml",
			want: []string{"kijitora@example.org failed 5.0.0"}, remote: []string{"smtp.example.com"}, heuristic: true},
		{name: "written: V8 permanent list with reason and transcript", text: sendmailHeader +
			"The original message was received at Mon, 23 Nov 2026 09:00:00 +0100\nfrom client.example.org [192.0.2.7]\n\n" +
			"   ----- The following addresses had permanent fatal errors -----\n<user@example.com>\n    (reason: 550 5.1.1 <user@example.com>... User unknown)\n<other@example.com>\n    (reason: 552 5.2.2 Mailbox full)\n    (expanded from: <list@example.org>)\n\n" +
			"   ----- Transcript of session follows -----\n... while talking to mx.example.com.:\n>>> RCPT To:<user@example.com>\n<<< 550 5.1.1 <user@example.com>... User unknown\n550 5.1.1 <user@example.com>... User unknown\n" +
			">>> RCPT To:<other@example.com>\n<<< 552 5.2.2 Mailbox full\n552 5.2.2 <other@example.com>... Mailbox full\n",
			want: []string{"user@example.com failed 5.1.1", "other@example.com failed 5.2.2"}, heuristic: true,
			remote: []string{"mx.example.com", "mx.example.com"}, diag: []string{"smtp; 550 5.1.1 <user@example.com>... User unknown", "smtp; 552 5.2.2 Mailbox full"}},
		{name: "written: V8 expiry in the permanent list keeps the temporary code", text: sendmailHeader +
			"The original message was received at Mon, 23 Nov 2026 09:00:00 +0100\nfrom client.example.org [192.0.2.7]\n\n" +
			"   ----- The following addresses had permanent fatal errors -----\n<user@example.com>\n    (reason: 451 4.4.1 reply: read error from mx.example.com.)\n\n" +
			"   ----- Transcript of session follows -----\n<user@example.com>... Deferred: 451 4.4.1 reply: read error from mx.example.com.\nMessage could not be delivered for 5 days\nMessage will be deleted from queue\n",
			want: []string{"user@example.com failed 4.4.1"}, heuristic: true},
		{name: "written: V8 warning, transient list", text: "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\nTo: sender@example.org\nSubject: Warning: could not send message for past 4 hours\n\n" +
			"    **********************************************\n    **      THIS IS A WARNING MESSAGE ONLY      **\n    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n    **********************************************\n\n" +
			"   ----- The following addresses had transient non-fatal errors -----\n<user@example.com>\n\n" +
			"   ----- Transcript of session follows -----\n<user@example.com>... Deferred: Connection timed out with mx.example.com.\nWarning: message still undelivered after 4 hours\nWill keep trying until message is 5 days old\n",
			want: []string{"user@example.com delayed 4.0.0"}, heuristic: true, diag: []string{"Deferred: Connection timed out"}},
		{name: "written: V5 transcript only", text: "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\nTo: sender@example.org\nSubject: Returned mail: User unknown\n\n" +
			"   ----- Transcript of session follows -----\n550 <user@example.com>... User unknown\n\n   ----- Unsent message follows -----\nFrom: sender@example.org\nTo: user@example.com\nSubject: hello\n\nhi\n",
			want: []string{"user@example.com failed 5.0.0"}, heuristic: true, remote: []string{""}, diag: []string{"550 User unknown"}},
	})
}

const exchangeHeader = "From: postmaster@corp.example.net\nTo: sender@example.org\nSubject: Undeliverable: lunch\nX-MS-Exchange-Message-Is-Ndr: \n\n"

// TestExchange reads the non-delivery reports of Exchange and Exchange
// Online (Office 365) in their text form, and those of Exchange 2003 and
// before.
func TestExchange(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: Office 365, mailto link, Remote Server returned", file: "dsn/sisimai/bsd/lhost-office365-02.eml",
			want: []string{"kijitora@example.onmicrosoft.com failed 5.1.1"}, heuristic: true,
			diag: []string{"smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"}},
		{name: "real: Exchange 2003, two recipients", file: "dsn/sisimai/bsd/lhost-exchange2003-02.eml",
			want: []string{"kijitora@example.co.jp failed 5.0.0", "mikeneko@example.co.jp failed 5.0.0"}, heuristic: true,
			diag: []string{"The recipient name is not recognized", "The recipient name is not recognized"}},
		{name: "real: Exchange 2000, indented list", file: "dsn/sisimai/bsd/lhost-exchange2003-04.eml",
			want: []string{"kijitora@example.com failed 5.0.0"}, heuristic: true, diag: []string{"Recipient Not Found"}},
		{name: "written: Exchange Online, name (address), #code## line", text: exchangeHeader +
			"Delivery has failed to these recipients or groups:\n\nUser Name (user@example.com)\n" +
			"The email address you entered couldn't be found. Please check the recipient's email address and try to resend the message. If the problem continues, please contact your helpdesk.\n\n" +
			"Diagnostic information for administrators:\n\nGenerating server: MBX01.corp.example.net\n\nuser@example.com\n#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\n" +
			"Original message headers:\n\nFrom: sender@example.org\nTo: user@example.com\nSubject: lunch\n",
			want: []string{"user@example.com failed 5.1.1"}, heuristic: true, remote: []string{""},
			diag: []string{"smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"}},
		{name: "written: Exchange 2013, two recipients, Remote Server at host", text: exchangeHeader +
			"Delivery has failed to these recipients or groups:\n\nuser@example.com\nA problem occurred while delivering your message to this email address.\n\nother@example.com\nThe recipient's mailbox is full and can't accept messages now.\n\n" +
			"Diagnostic information for administrators:\n\nGenerating server: EDGE01.corp.example.net\n\n" +
			"user@example.com\nmx.example.com\nRemote Server returned '554 5.7.1 Message rejected as spam'\n\n" +
			"other@example.com\n11/23/2026 9:00:00 AM - Remote Server at mx2.example.com (192.0.2.2) returned '452 4.2.2 Mailbox full'\n",
			want: []string{"user@example.com failed 5.7.1", "other@example.com failed 4.2.2"}, heuristic: true,
			remote: []string{"", "mx2.example.com"}, diag: []string{"smtp; 554 5.7.1 Message rejected as spam", "smtp; 452 4.2.2 Mailbox full"}},
		{name: "written: Exchange 2010, HTML only, from the Exchange system mailbox", text: "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@corp.example.net>\nTo: sender@example.org\n" +
			"Subject: Undeliverable: lunch\nMIME-Version: 1.0\nContent-Type: text/html; charset=us-ascii\n\n" +
			"<html><body><p><b><font color=\"#000066\">Delivery has failed to these recipients or groups:</font></b></p>" +
			"<p><a href=\"mailto:user@example.com\">user@example.com</a><br>The e-mail address you entered couldn&#39;t be found.</p>" +
			"<p><b>Diagnostic information for administrators:</b></p><p>Generating server: mbx01.corp.example.net</p>" +
			"<p>user@example.com<br>mx.example.com #550 5.1.1 User unknown ##</p>" +
			"<p>Original message headers:</p><pre>To: user@example.com</pre></body></html>\n",
			want: []string{"user@example.com failed 5.1.1"}, heuristic: true, remote: []string{"mx.example.com"}, diag: []string{"smtp; 550 5.1.1 User unknown"}},
		{name: "written: known by X-MS-Exchange-Message-Is-Ndr alone", text: "From: Corp Mail <mail@corp.example.net>\nTo: sender@example.org\nSubject: Undeliverable: lunch\nX-MS-Exchange-Message-Is-Ndr: \n\n" +
			"Delivery has failed to these recipients or groups:\n\nuser@example.com\nYour message couldn't be delivered.\n\nDiagnostic information for administrators:\n\nuser@example.com\nRemote Server returned '550 5.7.1 Rejected'\n",
			want: []string{"user@example.com failed 5.7.1"}, heuristic: true, diag: []string{"smtp; 550 5.7.1 Rejected"}},
		{name: "written: Exchange 2003, code in the <host #x.y.z> tag", text: "From: System Administrator <postmaster@corp.example.net>\nTo: sender@example.org\nSubject: Undeliverable: lunch\n\n" +
			"Your message did not reach some or all of the intended recipients.\n\n      Subject:\tlunch\n      Sent:\t11/23/2026 9:00 AM\n\n" +
			"The following recipient(s) could not be reached:\n\n      user@example.com on 11/23/2026 9:00 AM\n" +
			"            The e-mail address could not be found.  Perhaps the recipient moved to a different e-mail organization, or there was a mistake in the address.  Check the address and try again.\n" +
			"            <mx.corp.example.net #5.1.1>\n",
			want: []string{"user@example.com failed 5.1.1"}, heuristic: true, diag: []string{"#5.1.1"}},
	})
}

const dmaHeader = "From: MAILER-DAEMON <>\nTo: sender@example.org\nSubject: Mail delivery failed\n\n"

// TestDMA reads the bounces of the DragonFly Mail Agent.
func TestDMA(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: RCPT refused", file: "dsn/sisimai/bsd/lhost-dragonfly-24.eml",
			want: []string{"userunknown@libsisimai.net failed 5.1.1"}, heuristic: true,
			remote: []string{"mail-inbound.libsisimai.net"}, diag: []string{"smtp; 550 5.1.1 <userunknown@libsisimai.net>"}},
		{name: "real: a postmaster recipient, DNS failure", file: "dsn/sisimai/bsd/lhost-dragonfly-04.eml",
			want: []string{"postmaster@cx.libsisimai.org failed 5.0.0"}, heuristic: true,
			remote: []string{""}, diag: []string{"DNS lookup failure"}},
		{name: "real: expiry", file: "dsn/sisimai/bsd/lhost-dragonfly-30.eml",
			want: []string{"neko@nyaan.jp failed 4.4.7"}, heuristic: true},
		{name: "written: reply to DATA without an enhanced code", text: dmaHeader +
			"This is the DragonFly Mail Agent v0.13 at mx.example.net.\n\nThere was an error delivering your mail to <user@example.com>.\n\n" +
			"mx.example.com [192.0.2.1] did not like our final DATA:\n552 message too large\n\nOriginal message follows.\n\nFrom: sender@example.org\nTo: user@example.com\n\nhi\n",
			want: []string{"user@example.com failed 5.0.0"}, heuristic: true,
			remote: []string{"mx.example.com"}, diag: []string{"smtp; 552 message too large"}},
	})
}

// TestAuOne reads the notices of au one net (KDDI).
func TestAuOne(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: mailbox full, Japanese introduction", file: "dsn/sisimai/bsd/lhost-kddi-01.eml",
			want: []string{"kijitora@x0000000000000.dion.ne.jp failed 5.0.0"}, heuristic: true, diag: []string{"As their mailbox is full."}},
		{name: "real: English only", file: "dsn/sisimai/bsd/lhost-kddi-03.eml",
			want: []string{"kijitora@00000000000000.dion.ne.jp failed 5.0.0"}, heuristic: true},
		{name: "written: two recipients", text: "From: no-reply@example.dion.ne.jp\nTo: sender@example.org\nSubject: Mail\n\n" +
			"Your mail sent on: Mon, 23 Nov 2026 09:00:00 +0900\n     Could not be delivered to: <one@example.dion.ne.jp>\n     As their mailbox is full.\n" +
			"     Could not be delivered to: <two@example.dion.ne.jp>\n     550 5.1.1 unknown user\n",
			want: []string{"one@example.dion.ne.jp failed 5.0.0", "two@example.dion.ne.jp failed 5.1.1"}, heuristic: true},
	})
}

const smtpdHeader = "From: Mailer Daemon <MAILER-DAEMON@mx.example.net>\nTo: sender@example.org\nSubject: Delivery status notification: error\n\n"

// TestOpenSMTPD reads OpenSMTPD's notices of the versions that sent no
// delivery-status part.
func TestOpenSMTPD(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: remote rejection", file: "dsn/sisimai/bsd/lhost-opensmtpd-01.eml",
			want: []string{"apdugoaidugoaidugoaeiudggadi@gmail.com failed 5.1.1"}, heuristic: true, diag: []string{"smtp; 550 5.1.1"}},
		{name: "real: no such domain", file: "dsn/sisimai/bsd/lhost-opensmtpd-03.eml",
			want: []string{"kijitora@neko.example.jp failed 5.0.0"}, heuristic: true, diag: []string{"Domain does not exist"}},
		{name: "written: two recipients", text: smtpdHeader +
			"    Hi!\n\n    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n" +
			"    An error has occurred while attempting to deliver a message for\n    the following list of recipients:\n\n" +
			"user@example.com: 550 5.1.1 <user@example.com>: Recipient address rejected\nother@example.com: 552 Mailbox full\n\n" +
			"    Below is a copy of the original message:\n\nFrom: sender@example.org\nTo: user@example.com, other@example.com\n\nhi\n",
			want: []string{"user@example.com failed 5.1.1", "other@example.com failed 5.0.0"}, heuristic: true,
			diag: []string{"smtp; 550 5.1.1", "smtp; 552 Mailbox full"}},
		{name: "written: delay warning", text: "From: Mailer Daemon <MAILER-DAEMON@mx.example.net>\nTo: sender@example.org\nSubject: Delivery status notification: delayed\n\n" +
			"    Hi!\n\n    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n" +
			"    A message is delayed for more than 4 hours for the following\n    list of recipients:\n\n" +
			"user@example.com: 421 4.7.0 Try again later\n\n" +
			"    Please note that this is only a temporary failure report.\n    The message is kept in the queue for up to 4 days.\n    You DO NOT NEED to re-send the message to these recipients.\n\n" +
			"    Below is a copy of the original message:\n",
			want: []string{"user@example.com delayed 4.7.0"}, heuristic: true},
		{name: "written: success notice", text: "From: Mailer Daemon <MAILER-DAEMON@mx.example.net>\nTo: sender@example.org\nSubject: Delivery status notification: delivered\n\n" +
			"    Hi!\n\n    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n" +
			"    Your message was successfully delivered to these recipients.\n\nuser@example.com: Delivery OK\n\n    Below is a copy of the original message:\n",
			want: []string{"user@example.com delivered 2.0.0"}, heuristic: true},
	})
}

const gmailHeader = "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: sender@gmail.example\nSubject: Delivery Status Notification (Failure)\n\n"

// TestGmail reads Google Mail's notices of before its DSNs.
func TestGmail(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: rejected by the recipient's server", file: "dsn/sisimai/bsd/lhost-gmail-01.eml",
			want: []string{"userunknown@example.jp failed 5.1.1"}, heuristic: true,
			remote: []string{"mx.example.jp"}, diag: []string{"smtp; 550 5.1.1 <userunknown@example.jp>... User Unknown"}},
		{name: "real: delayed, mailbox full", file: "dsn/sisimai/bsd/lhost-gmail-06.eml",
			want: []string{"kijitora@example.jp delayed 4.2.2"}, heuristic: true},
		{name: "real: delayed without technical details", file: "dsn/sisimai/bsd/lhost-gmail-08.eml",
			want: []string{"kijitora@example.com delayed 4.0.0"}, heuristic: true},
		{name: "written: two recipients failed permanently", text: gmailHeader +
			"Delivery to the following recipients failed permanently:\n\n     user@example.com\n     other@example.com\n\n" +
			"Technical details of permanent failure:\nGoogle tried to deliver your message, but it was rejected by the server for the recipient domain example.com by mx.example.com. [192.0.2.1].\n\n" +
			"The error that the other server returned was:\n550 5.1.1 No such user\n\n----- Original message -----\n\nTo: user@example.com, other@example.com\n",
			want: []string{"user@example.com failed 5.1.1", "other@example.com failed 5.1.1"}, heuristic: true,
			remote: []string{"mx.example.com", "mx.example.com"}, diag: []string{"smtp; 550 5.1.1 No such user"}},
		{name: "written: delayed, connection refused", text: "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: sender@gmail.example\nSubject: Delivery Status Notification (Delay)\n\n" +
			"This is an automatically generated Delivery Status Notification\n\nTHIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n" +
			"Delivery to the following recipient has been delayed:\n\n     user@example.com\n\nMessage will be retried for 2 more day(s)\n\n" +
			"Technical details of temporary failure:\nThe recipient server did not accept our requests to connect.\n",
			want: []string{"user@example.com delayed 4.0.0"}, heuristic: true, remote: []string{""}, diag: []string{"did not accept our requests"}},
	})
}

// TestDomino reads the reports of Lotus Domino and of the Lotus SMTP MTA
// of Notes.
func TestDomino(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "real: Domino, not listed in the directory", file: "dsn/sisimai/bsd/lhost-domino-01.eml",
			want: []string{"kijitora@example.jp failed 5.0.0"}, heuristic: true, diag: []string{"not listed in Domino Directory"}},
		{name: "real: Notes, Japanese reason", file: "dsn/sisimai/bsd/lhost-notes-01.eml",
			want: []string{"kijitora@u1.example.co.jp failed 5.0.0"}, heuristic: true},
		{name: "real: Notes, not in the address book", file: "dsn/sisimai/bsd/lhost-notes-03.eml",
			want: []string{"kijitora@example.com failed 5.0.0"}, heuristic: true, diag: []string{"not listed in public Name & Address Book"}},
		{name: "written: Domino, two recipients", text: "From: Postmaster@corp.example.net\nTo: sender@example.org\nSubject: DELIVERY FAILURE: Recipient unknown\n\n" +
			"Your message\n\n  Subject: lunch\n\nwas not delivered to:\n\n  user@example.com\n  Other Person <other@example.com>\n\nbecause:\n\n  554 5.1.1 Recipient unknown\n",
			want: []string{"user@example.com failed 5.1.1", "other@example.com failed 5.1.1"}, heuristic: true},
		{name: "written: Notes, two reasons", text: "From: postmaster@corp.example.net\nTo: sender@example.org\nSubject: Undeliverable message\n\n" +
			"------- Failure Reasons  --------\n\nUser not listed in public Name & Address Book\nuser@example.com\nMailbox full 552 5.2.2\nother@example.com\n\n------- Returned Message --------\nTo: user@example.com\n",
			want: []string{"user@example.com failed 5.0.0", "other@example.com failed 5.2.2"}, heuristic: true,
			diag: []string{"not listed in public", "Mailbox full"}},
	})
}

// TestPlainTextNotBounces: ordinary mail that quotes or forwards the text
// of a bounce, or uses its phrases, is no report.
func TestPlainTextNotBounces(t *testing.T) {
	t.Parallel()
	runFamilyCases(t, []familyCase{
		{name: "a person forwards a Postfix bounce unquoted", notReport: true, text: "From: Alice <alice@example.org>\nTo: help@example.net\nSubject: Fwd: Undelivered Mail Returned to Sender\n\n" +
			"Why did this bounce?\n\n---------- Forwarded message ---------\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\nSubject: Undelivered Mail Returned to Sender\n\n" +
			postfixIntro + "<user@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 User unknown\n    (in reply to RCPT TO command)\n"},
		{name: "a reply quotes a Sendmail transcript", notReport: true, text: "From: Bob <bob@example.org>\nTo: alice@example.org\nSubject: Re: Returned mail: see transcript for details\nIn-Reply-To: <1@example.org>\n\n" +
			"Alice wrote:\n>    ----- Transcript of session follows -----\n> 550 5.1.1 <user@example.com>... User unknown\n\nThe address is wrong, use user2@example.com.\n"},
		{name: "a reply that pastes the transcript unquoted", notReport: true, text: "From: Bob <bob@example.org>\nTo: alice@example.org\nSubject: RE: Returned mail: see transcript for details\n\n" +
			"I got this:\n\n   ----- Transcript of session follows -----\n550 5.1.1 <user@example.com>... User unknown\n"},
		{name: "a question that quotes an Exchange report", notReport: true, text: "From: Carol <carol@example.org>\nTo: it@example.org\nSubject: question about my mail\n\n" +
			"Outlook shows me this:\n\nDelivery has failed to these recipients or groups:\n\ndave@example.com\nThe email address you entered couldn't be found.\n\nWhat does it mean?\n"},
		{name: "a list message about DMA's bounce text", notReport: true, text: "From: Erin <erin@example.org>\nTo: dma-users@lists.example.org\nSubject: [dma] bounce wording\nList-Id: <dma-users.lists.example.org>\n\n" +
			"This is the DragonFly Mail Agent v0.13 at host.example.org.\n\nThere was an error delivering your mail to <frank@example.com>.\n\nshould we reword this?\n"},
		{name: "a no-reply notice that is not a bounce", notReport: true, text: "From: Shop <no-reply@shop.example>\nTo: buyer@example.org\nSubject: Your order\n\n" +
			"Your mail sent on: Monday was received.\n     Could not be delivered to: your door; we will try again tomorrow.\n"},
		{name: "a person forwards a Gmail notice", notReport: true, text: "From: Grace <grace@gmail.example>\nTo: it@example.org\nSubject: Fwd: Delivery Status Notification (Failure)\n\n" +
			"---------- Forwarded message ----------\nFrom: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n\n" +
			"Delivery to the following recipient failed permanently:\n\n     henry@example.com\n\nTechnical details of permanent failure:\n550 5.1.1 No such user\n"},
		{name: "ordinary mail that says what was not delivered and because", notReport: true, text: "From: Ivan <ivan@example.org>\nTo: judy@example.org\nSubject: parcel\n\n" +
			"Your parcel was not delivered to:\n\n  judy@example.org's office\n\nbecause:\n\n  nobody was there.\n"},
		{name: "a mailer-daemon's notice without the family's markers", notReport: true, text: "From: MAILER-DAEMON@mx.example.net\nTo: sender@example.org\nSubject: Mail system notice\n\n" +
			"The mail system at host mx.example.net will be down for maintenance on Sunday.\n"},
	})
}

// TestCaseFoldLength: texts whose Unicode lower case is shorter or longer
// than they are (the Kelvin sign folds to "k", "Ⱥ" grows a byte, invalid
// UTF-8 becomes U+FFFD) once made the readers cut the text at offsets
// found in its lower-case copy, past its end. Each must parse without a
// panic, and the markers around them must still be found.
func TestCaseFoldLength(t *testing.T) {
	t.Parallel()
	kelvin, grows := strings.Repeat("\u212a", 40), strings.Repeat("\u023a", 40)
	runFamilyCases(t, []familyCase{
		{name: "generic: Kelvin signs before the address", text: "From: MAILER-DAEMON@mx.example.net\nSubject: failure notice\n\n" +
			kelvin + " user@example.com: 550 5.1.1 unknown\n", want: []string{"user@example.com failed 5.1.1"}, heuristic: true},
		{name: "generic: growing letters before the original", text: "From: MAILER-DAEMON@mx.example.net\nSubject: failure notice\n\n" +
			"user@example.com: 550 5.1.1 unknown\n" + grows + "original message follows\nTo: other@example.com\n", want: []string{"user@example.com failed 5.1.1"}, heuristic: true},
		{name: "Postfix: invalid UTF-8 in the reason", text: postfixHeader + postfixIntro +
			"<user@example.com>:\xebhost mx.example.com[192.0.2.1] said: 550 5.1.1 x\n", want: []string{"user@example.com failed 5.1.1"}, heuristic: true},
		{name: "Gmail: growing letters before the remote host", text: gmailHeader +
			"Delivery to the following recipient failed permanently:\n\n     user@example.com\n\nTechnical details of permanent failure:\n" + grows +
			" rejected by mx.example.com. [192.0.2.1].\nThe error that the other server returned was:\n550 5.1.1 x\n",
			want: []string{"user@example.com failed 5.1.1"}, remote: []string{"mx.example.com"}, diag: []string{"smtp; 550 5.1.1 x"}, heuristic: true},
		{name: "Exchange: Kelvin signs before Remote Server", text: exchangeHeader +
			"Delivery has failed to these recipients or groups:\n\nuser@example.com\n\nDiagnostic information for administrators:\n\nuser@example.com\n" + kelvin +
			" Remote Server at mx.example.com (192.0.2.1) returned '550 5.1.1 x'\n",
			want: []string{"user@example.com failed 5.1.1"}, remote: []string{"mx.example.com"}, diag: []string{"smtp; 550 5.1.1 x"}, heuristic: true},
	})
}
