// Package sieve parses and runs Sieve mail filtering scripts (RFC 5228)
// with the extensions mail users rely on. The interpreter performs no
// action: it returns the list of actions a script takes, and the mail
// server decides how to store, redirect, reject or answer.
//
// # Parsing
//
// [Parse] reads a script and checks every command, test, tag and argument
// against the extensions the script requires, so that errors are found
// when the user uploads the script, not when mail arrives. Errors are
// [*Error] values with a line and a column:
//
//	s, err := sieve.Parse(script, nil)
//	if err != nil {
//		// sieve: line 3, column 7: unknown test "hedaer"
//	}
//
// A ManageSieve server (RFC 5804) calls Parse for PUTSCRIPT and
// CHECKSCRIPT and lists [Extensions] in its SIEVE capability.
//
// # Running
//
// [Run] takes the parsed [Script], the [Message] (its parsed header, a
// body reader that only the body test reads, its size and SMTP
// [Envelope]) and an [Env] with what the mail server provides (the time,
// the user's addresses, the vacation memory, a mailbox lookup, the spam
// score). It returns a [Result]: [Keep], [FileInto], [Redirect],
// [Reject], [Vacation] (with the reply ready to send) or [Discard], and
// the header as editheader left it.
//
//	res, err := sieve.Run(ctx, s, &sieve.Message{Header: h, Body: body, Size: size,
//		Envelope: sieve.Envelope{From: mailFrom, To: rcptTo}}, env)
//	if err != nil {
//		// res holds the implicit keep: store in INBOX, log err
//	}
//	for _, a := range res.Actions {
//		switch a := a.(type) {
//		case sieve.FileInto:
//			// a.Mailbox was checked by ValidMailbox
//		}
//	}
//
// A run-time error (an invalid mailbox or redirect address after variable
// expansion, conflicting actions, an exceeded limit) returns the error
// with only the implicit keep, as RFC 5228 section 2.10.6 asks.
//
// # Extensions
//
// The capability strings a script may require, all listed by
// [Extensions]:
//
//   - fileinto (RFC 5228 section 4.1), envelope (section 5.4),
//     encoded-character (section 2.4.2.4); the comparators i;octet and
//     i;ascii-casemap are always there (section 2.7.3)
//   - comparator-i;ascii-numeric (RFC 4790) and relational (RFC 5231):
//     :count and :value with gt, ge, lt, le, eq, ne
//   - imap4flags (RFC 5232): setflag, addflag, removeflag, hasflag,
//     :flags on keep and fileinto
//   - variables (RFC 5229): set with :lower, :upper, :lowerfirst,
//     :upperfirst, :quotewildcard and :length, ${name} and the match
//     variables ${0} to ${N}, the string test
//   - subaddress (RFC 5233): :user and :detail, with "+" as separator by
//     default ([Env].Separator)
//   - copy (RFC 3894): :copy on fileinto and redirect
//   - body (RFC 5173): :raw, :content and :text
//   - reject and ereject (RFC 5429)
//   - vacation (RFC 5230) and vacation-seconds (RFC 6131): :days,
//     :seconds, :subject, :from, :addresses, :mime, :handle; the memory
//     of replies is a [VacationStore] ([MemoryVacationStore] in memory,
//     [FileVacationStore] in a crash-safe file per user that survives a
//     restart); no reply to a null sender, to
//     MAILER-DAEMON, owner-*, *-request and similar senders, to a message
//     with List-* fields, Precedence bulk, list or junk, or Auto-Submitted
//     other than "no" (RFC 3834), nor to one that does not name the user
//     in To, Cc, Bcc or their Resent- forms
//   - mailbox (RFC 5490 section 3): mailboxexists through a
//     [MailboxChecker], :create on fileinto
//   - date and index (RFC 5260): date, currentdate, :zone,
//     :originalzone, :index and :last
//   - editheader (RFC 5293): addheader and deleteheader; Received and
//     Auto-Submitted are never deleted
//   - spamtest and spamtestplus (RFC 5235), reading [Env].Spam
//
// Header values are compared with their RFC 2047 encoded words decoded
// (RFC 5228 section 2.7.2).
//
// # Limits and safety
//
// Scripts come from users and messages from anyone. [Limits] bounds the
// script size, the nesting of blocks and tests, the actions and redirects
// of a run, the size and number of variables, the length of strings after
// expansion, the header fields a test inspects, the body bytes the body
// test reads and the comparisons of one run, each with a named default.
// :matches never backtracks: each segment of the pattern between two
// stars is looked for once, leftmost, and the value is never read again
// for it, so a match costs at most O(len(value) × len(pattern)) and a
// pattern such as "*a*a*a*a*b" on a long run of a's is as quick as any
// other (BenchmarkGlobPathological, FuzzGlob against an exhaustive
// matcher). A run-time error or an exceeded limit ends the run with the
// implicit keep. Mailbox names from fileinto are checked by
// [ValidMailbox] (no "..", no absolute paths, no control characters),
// when the script is parsed and again after variable expansion, so
// nothing a script does can write outside the user's store.
//
// # Concurrency
//
// A Script is immutable: any number of runs may share it.
package sieve
