// Package dsn writes and reads delivery status notifications: the bounces,
// delay warnings and success reports an MTA sends to the envelope sender
// of a message, and that a mailing list or a sender reads back.
//
// # Writing
//
// A [Report] holds the per-message fields (Reporting-MTA,
// Original-Envelope-Id, Arrival-Date, Received-From-MTA) and one
// [Recipient] per recipient (Original-Recipient, Final-Recipient, Action,
// Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until),
// extension fields kept. [Message] writes a complete multipart/report: a
// plain-language text that says what happened and what the sender can do
// ([HumanText]), the message/delivery-status part, and the original as
// message/rfc822 or only its header as text/rfc822-headers. UTF-8 addresses
// or an internationalized original give the RFC 6533 global variants.
// Every notification carries "Auto-Submitted: auto-replied" and is sent
// with the null reverse path.
//
// Which notifications to send follows the NOTIFY and RET parameters of the
// original transaction, as package smtp hands them over ([Wanted],
// [ReturnContent], with the RFC 3461 defaults when they are absent), and
// [NeverBounce] keeps a bounce from ever being bounced.
// [RecipientFromError] turns the *smtp.Error of a failed delivery into a
// per-recipient group.
//
//	if dsn.NeverBounce(env.From, hdr) || !dsn.Wanted(rcpt.Notify, dsn.ActionFailed) {
//		return
//	}
//	r := dsn.RecipientFromError(rcpt.Addr, err, mxHost, false)
//	m := &dsn.Message{Report: dsn.Report{ReportingMTA: ..., Recipients: []dsn.Recipient{r}},
//		To: env.From, Original: spoolFile, Return: env.Return}
//	m.WriteTo(w)
//
// [MDN] writes a message disposition notification (RFC 8098), the
// rejection message of a Sieve reject after acceptance (RFC 5429 section
// 2.1.1): disposition "deleted", the reason as its text and the header of
// the original, never its body.
//
// # Reading
//
// [Parse] reads a notification into a [Notice]: the typed [Report] with both
// field groups and every recipient, the human-readable text and the header
// of the returned message. [ParseStatus] reads the body of a
// delivery-status part alone. Both are tolerant of real-world variants:
// missing or doubled blank lines between field groups, field names in any
// case, folded values, comments after the status code.
//
// A delivery report that someone forwarded as a message/rfc822 attachment
// is read as such and marked [Notice.Forwarded].
//
// A bounce without a delivery-status part goes through a best-effort
// heuristic parser whose result is marked [Notice.Heuristic]. It first
// offers the message to one reader per MTA family, each reading its
// family's documented format by its structure: QSBMF (qmail and its
// descendants: "Hi. This is the" and "<address>:" paragraphs), Exim's
// bounce and delay-warning lists (an indented address under "...failed:"
// or "...delivered is:", its reason indented deeper), and the JSON
// notifications of Amazon SES (bounce, delivery delay and delivery). The
// rules are written in families.go. Then come the plain-text reports of
// other MTAs (plaintext.go), read only from a notice an MTA sent (a
// mailer-daemon, postmaster, no-reply or Exchange system sender, or an
// X-MS-Exchange-Message-Is-Ndr field) whose subject is not that of a
// reply or a forward ("Re:", "Fwd:", "AW:" and the like), and only where
// the family's markers start a line, so that a person who quotes or
// forwards such a text is not read as one:
//
// Postfix, its notices as text (bounce(5) templates, Postfix before DSN,
// or a notice whose delivery-status part was lost): the text begins "This
// is the mail system at host" (or, in older versions, "This is the
// Postfix program at host"); each recipient is a line that begins
// "<address>:" or "<address> (expanded from <alias>):", its reason
// continued on the indented lines below. "host NAME[address] said:",
// "connect to NAME[...]" and "delivery via NAME[...]" give the remote MTA,
// the words after "said:" the SMTP diagnostic. A notice that says "THIS IS
// A WARNING ONLY" is about delayed recipients, one that says "Your message
// was successfully delivered" about delivered ones, any other about
// failed ones.
//
// Sendmail without DSN (the error body of savemail.c, V5 and V8): the
// headings "----- The following addresses had permanent fatal errors
// -----" (failed) and "... transient non-fatal errors -----" (delayed),
// one address a line with indented "(reason: ...)" lines; and "-----
// Transcript of session follows -----", whose "[code] <address>...
// reason" lines name recipients, "While talking to HOST:" the remote MTA
// and the ">>> command" and "<<< reply" lines the dialogue that failed
// (the last reply is the SMTP diagnostic). Recipients that only the
// transcript names are failed, or delayed for a temporary code in a
// warning (a "Warning:" subject or "THIS IS A WARNING MESSAGE ONLY").
//
// Microsoft Exchange 2007 and later and Exchange Online (Office 365), the
// text of the non-delivery report: the addresses listed under "Delivery
// has failed to these recipients or groups:" ("user@host", "Name
// (user@host)", "user@host<mailto:...>") are failed; under "Diagnostic
// information for administrators:", each recipient's address is followed
// by the server's words: "Remote Server returned '550 5.1.1 ...'", with
// the remote host in "Remote Server at HOST (address) returned", or
// "[host] #550 5.1.1 ... ##". Exchange 2000 and 2003 (and its Internet
// Mail Service): "user@host on DATE" lines under "did not reach the
// following recipient(s):" or "The following recipient(s) could not be
// reached:", the reason indented deeper below each, a code in
// "<host #5.1.1>".
//
// The DragonFly Mail Agent: the text begins "This is the DragonFly Mail
// Agent"; the one recipient is in "There was an error delivering your mail
// to <address>."; the reason follows, "HOST [address] did not like our
// COMMAND:" naming the remote MTA with its reply on the next line. dma
// bounces only for good, so the recipient is failed; "Could not deliver
// for the last N seconds. Giving up." is 4.4.7, delivery time expired.
//
// The notices of au one net (KDDI): a "Your mail sent on:" line, then per
// recipient a line "Could not be delivered to: <address>" and the reason
// on the lines below it; the recipients are failed.
//
// OpenSMTPD, its notices of the versions without a delivery-status part
// (bounce.c): "This is the MAILER-DAEMON, please DO NOT REPLY to this
// e-mail", then "An error has occurred while attempting to deliver"
// (failed), "A message is delayed for more than" (delayed), "Your message
// was successfully delivered to these recipients" (delivered) or "...
// relayed to these recipients" (relayed), and one line per recipient at
// the start of the line, "user@host: what the MTA said".
//
// Google Mail's notices of before its RFC 3464 reports: "Delivery to the
// following recipient(s) failed permanently:" (failed) or "... has been
// delayed:" (delayed), the recipients indented below, then "Technical
// details of permanent (temporary) failure:", the remote server's reply
// after "The error that the other server returned was:" and its name in
// "... by HOST. [address]".
//
// Lotus Domino: the recipients between "was not delivered to:" and
// "because:", the reason after it. The Lotus SMTP MTA of Notes: between
// "------- Failure Reasons --------" and "------- Returned Message
// --------", each address on a line of its own after the reason lines
// that are about it. The recipients are failed.
//
// In these readers a recipient's status is the first RFC 3463 code of
// class 4 or 5 in its text, else class.0.0 of its first SMTP reply code
// of class 4 or 5 (the mapping of [RecipientFromError]), else what the
// report says (5.0.0 for a failure, 4.0.0 for a warning, 2.0.0 for a
// success notice). Other formats (Courier, MDaemon, GroupWise, vendor
// texts) go through generic rules that find the failed recipients and
// status codes in the text. Messages that are not bounces (replies,
// forwards, mailing-list messages, feedback reports, SES complaints,
// ordinary mail) give [ErrNotReport].
//
// Two rules decide a recipient's status where the text or the fields
// disagree. In a recipient's text or Diagnostic-Code, a failure code wins
// over a success code: a transcript whose RCPT got "250 2.1.5" and whose
// DATA got "451 4.3.0" is 4.3.0. And the Status field's class stands
// against Action and the diagnostic: "Action: failed" with "Status: 4.4.1"
// and a 550 diagnostic is 4.4.1 (see [Recipient.BestStatus] for why).
//
// # Status codes
//
// Status codes are smtp.EnhancedCode values, shared with package smtp.
// [StatusText] gives the registered meaning of each RFC 3463 code and
// [Registered] tells a registered code from a vendor's own.
//
// # Limits and errors
//
// Parsing reads the message once, streamed, and keeps only the status
// part, the text and headers, each bounded by a [ParseOptions] limit with a
// named default ([DefaultMaxStatusBytes], [DefaultMaxRecipients],
// [DefaultMaxTextBytes]); the MIME walk has the limits of package mime.
// Every error for bad input is an *[Error] whose category is a sentinel
// such as [ErrNotReport] or [ErrTooLarge], tested with errors.Is. Hostile
// input never panics.
//
// # Standards
//
//   - RFC 3461, SMTP Service Extension for Delivery Status Notifications
//     (NOTIFY, RET, ENVID, ORCPT; when to send which notification)
//   - RFC 3462 and RFC 6522, the multipart/report media type
//   - RFC 3463, Enhanced Mail System Status Codes, with the IANA registry
//   - RFC 3464, An Extensible Message Format for Delivery Status
//     Notifications
//   - RFC 6533, Internationalized Delivery Status and Disposition
//     Notifications (message/global-delivery-status, message/global-headers,
//     the utf-8 address type)
//   - RFC 8098, Message Disposition Notification, and RFC 5429 section
//     2.1.1 (the MDN of a Sieve reject)
//   - RFC 3834, Recommendations for Automatic Responses to Electronic Mail
//     (Auto-Submitted)
package dsn
