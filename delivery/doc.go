// Package delivery sends mail out: it delivers one envelope to the mail
// exchangers of each recipient domain with a result per recipient, and keeps
// a persistent queue that retries, expires and notifies senders.
//
// # Delivering one envelope
//
// [Deliverer.Deliver] groups the recipients by domain (IDNA through package
// dnsmx), resolves each domain's MX hosts with [dnsmx.LookupTargets] (a null
// MX fails with 556 5.1.10, a domain without MX uses its implicit MX, MX
// targets that are CNAMEs or IP literals are handled as dnsmx does), and
// tries the hosts in preference order and each of their addresses, IPv6 and
// IPv4 as [Deliverer.Prefer] says, within [Deliverer.MaxHosts],
// [Deliverer.MaxAddrsPerHost] and [Deliverer.MaxAttempts]. All recipients of
// a domain go over one connection, in as many transactions as the server's
// RCPTMAX needs. The SMTP dialogue is package smtp's client with the
// timeouts of RFC 5321 section 4.5.3.2; [Deliverer.SessionTimeout] bounds a
// whole session and [Deliverer.ConnectTimeout] the TCP connection.
//
// For each recipient the [RecipientResult] says whether it was delivered,
// failed for good or may be tried again, with the reply (code, enhanced
// code, text), the host that gave it, and whether TLS was used and which
// version. The rules of RFC 5321 section 4.5.4 and 5.1:
//
//   - a 4yz reply to RCPT, MAIL or the data moves the recipient on to the
//     next host; if no host takes it, it stays temporary with the last reply;
//   - a 5yz reply to RCPT or the data is final for the recipient;
//   - a refused or broken connection, a refused greeting or EHLO, and a
//     failed TLS handshake move on to the next address;
//   - when no server answered at all, the reply is a local one
//     ([RecipientResult.Local]), such as 451 4.4.1.
//
// The message comes from a [Body], which can be read once per transaction.
//
// # TLS
//
// STARTTLS is used whenever it is offered (RFC 7435, opportunistic TLS,
// without certificate checks). If the handshake fails, the same address is
// tried again in cleartext, unless a policy forbids it. Two policies do:
//
//   - REQUIRETLS (RFC 8689): an envelope with MailOptions.RequireTLS goes
//     only over TLS with a certificate valid for the MX host name (checked
//     against [Deliverer.RootCAs]) to servers that offer REQUIRETLS; when no
//     host qualifies, the recipients fail with 550 5.7.30.
//   - MTA-STS (RFC 8461), with [Deliverer.MTASTS] set: an [STSResolver]
//     looks up the _mta-sts TXT record, fetches the policy over HTTPS through
//     a [PolicyFetcher] ([HTTPSFetcher] by default), parses it strictly
//     ([ParsePolicy]) and caches it for its max_age, fetching again when the
//     record's id changes. In enforce mode only MX hosts that match the
//     policy are used, and only over TLS with a valid certificate for the MX
//     name: a failure defers the mail (451 4.7.5), it never falls back to
//     cleartext. Testing mode delivers as without a policy and reports.
//
// With [Deliverer.TLSRPT] set, every session is counted in a [TLSReporter]
// with the result types of RFC 8460, and [TLSReporter.Report] writes the
// JSON report for a policy domain and a date range; sending it is the
// caller's job.
//
// # The queue
//
// [OpenQueue] opens a [Queue] in a directory. [Queue.Enqueue] writes the
// message file and a state file (the envelope and each recipient's state,
// read back by [ParseState]) through tmp/ with fsync of the files and
// directories before it returns, so a receiving server may answer 250.
// [Queue.Run] delivers each message when it is due, at most
// [QueueOptions.MaxConcurrent] connections and messages at a time and
// [QueueOptions.MaxPerDomain] connections per domain, records every
// recipient's outcome in the state file after each attempt, and removes the
// message when every recipient is final. After a crash, [OpenQueue] reloads
// the queue; a file written only in part (a message without state, a state
// without its complete message, a state that does not parse, a file left in
// tmp/) is moved to quarantine/ and logged, never sent and never deleted.
// Recipients delivered before a restart are not sent again: only a crash
// between a server's 250 and the state write can repeat a delivery, the
// duplicate RFC 5321 section 6.1 accepts over a loss.
//
// # Retries and notifications
//
// Temporary failures are retried on [QueueOptions.Retry] ([DefaultRetry]:
// 5 minutes, then 30 minutes, 30 minutes, 1, 2 and 4 hours, the last
// repeating), so that after the first quick retry attempts are at least
// 30 minutes apart, as RFC 5321 section 4.5.4.1 asks, and a message is given
// up after [QueueOptions.Expire] ([DefaultExpire], 5 days), with a last
// attempt at that moment. Delivery status notifications (package dsn) go to
// [QueueOptions.Notify], or back into the queue when it is nil:
//
//   - failed: for a permanent failure, and for each recipient still pending
//     at expiry (with its last temporary status);
//   - delayed: once, when a message is still pending after
//     [QueueOptions.DelayNotice] ([DefaultDelayNotice], 4 hours);
//   - delivered: for recipients with NOTIFY=SUCCESS; relayed instead when
//     the receiving server lacks DSN and so could not take the request on.
//
// Each recipient's NOTIFY decides ([dsn.Wanted]; without NOTIFY, failures and
// delays are reported). Nothing is ever sent to the null reverse-path or
// about a message that is itself a notification or an automatic reply
// ([dsn.NeverBounce]). RET decides whether a failure returns the whole
// message or its header, and ENVID is returned as Original-Envelope-Id.
// Notifications are sent with the null reverse-path.
//
// # Standards
//
//   - RFC 5321 sections 4.5.3.2 (timeouts), 4.5.4 (retry strategy), 5.1
//     (locating the target host), 6.1 (reliable delivery)
//   - RFC 7505: null MX
//   - RFC 3461, RFC 3464: delivery status notifications (NOTIFY, RET, ENVID)
//   - RFC 3207 and RFC 7435: STARTTLS, opportunistic security
//   - RFC 8461: MTA-STS
//   - RFC 8460: SMTP TLS reporting
//   - RFC 8689: REQUIRETLS
package delivery
