// Package imap implements an IMAP4rev2 server (RFC 9051) that also speaks
// IMAP4rev1 (RFC 3501) to older clients, with the wire parser and response
// writer it is built on. The server keeps no mail itself: a [Backend] opens
// each user's store, whose [User] and [Mailbox] interfaces fit a store with
// UIDs, UIDVALIDITY, flags and keywords, folders, copy and move, expunge and
// change notification, such as a Maildir. Package imapmem is an in-memory
// store for tests and examples.
//
// # Server
//
// [Server] has exported fields whose zero values are the documented
// defaults; only Backend is required, and Auth for anyone to log in:
//
//	srv := &imap.Server{
//		Backend:   backend,
//		Auth:      &sasl.Authenticator{Password: check},
//		TLSConfig: tlsConfig, // STARTTLS; set ImplicitTLS for port 993
//	}
//	err := srv.ListenAndServe(":143")
//
// [Server.Shutdown] closes the listeners, says "* BYE" to every connection
// waiting for a command or in IDLE and waits for the others to finish their
// command. Each connection runs through the states of RFC 9051 section 3
// (not authenticated, authenticated, selected, logout) and answers a command
// in the wrong state with BAD.
//
// Authentication goes through [sasl.Authenticator]: LOGIN calls its Password
// func, AUTHENTICATE creates its mechanisms (with SASL-IR, RFC 4959). LOGIN
// and the plain-text mechanisms are refused before TLS (LOGINDISABLED,
// PRIVACYREQUIRED) unless the Authenticator's AllowInsecure is set. Input
// pipelined after STARTTLS is discarded.
//
// # Sessions and updates
//
// The server keeps each session's view of the selected mailbox: the
// sequence numbers the client knows. It asks the Mailbox for the current
// messages after every command, and during IDLE whenever
// [Mailbox.Updates] signals, and sends EXISTS, FETCH FLAGS and EXPUNGE
// responses for what changed. EXPUNGE is never sent during FETCH, STORE or
// SEARCH (RFC 9051 section 7.5.1): a message expunged by another session
// stays in the view until the next command that may announce it:
// fetching its content meanwhile answers NO [EXPUNGEISSUED], a STORE on
// it OK with the flags of the view, as Dovecot answers. FETCH responses
// for flags changed elsewhere come before the EXPUNGE responses, numbered
// as the client knows the messages; a keyword new to the mailbox is first
// announced with FLAGS.
//
// ENVELOPE is built from the raw header, as Dovecot sends it: names and
// encoded words as written, a comment as the display name of an address
// without one, source routes kept. NUL bytes of BODY sections are sent as
// 0x80 (a literal holds no NUL); BINARY sends them in a literal8. SEARCH
// TEXT looks at every header field, names included, and both TEXT and
// BODY at text and message/* parts. PREVIEW is the first text/plain part
// that is not an attachment (else the first text/html one, turned into
// text), decoded, white space collapsed, cut to 256 octets on a character
// boundary; it is not cached.
//
// Message content is read through [Content], an io.ReaderAt: FETCH
// BODY[...] streams byte ranges of the message to the client, and the
// server finds the MIME parts (for BODYSTRUCTURE and section numbers) in
// one streamed scan of the message, holding only part headers. APPEND hands
// the literal to [User.Append] as an io.Reader. With several messages
// (MULTIAPPEND, RFC 3502) each goes to User.Append as it arrives, and
// if one fails, or the command breaks off or does not parse to its end,
// those already appended are expunged again before the NO or BAD: the
// mailbox ends as it was, though another session may see them pass.
//
// # Sorting and threads
//
// SORT (RFC 5256, with DISPLAYFROM and DISPLAYTO of RFC 5957) and THREAD
// take their keys from the header: the base subject of the first Subject
// field ([BaseSubject]), the Date field (INTERNALDATE where it is missing
// or does not parse), the first address of From, To and Cc (the group
// name for a group), and References or In-Reply-To. Strings are compared
// with i;unicode-casemap (RFC 5051: title case, then NFKD), which is
// i;ascii-casemap on ASCII; equal keys keep the sequence order. The keys
// of each message are kept for the session, so a repeated SORT or THREAD
// reads no header again, and handed to a Mailbox that implements
// [MailboxKeyCache], which shares them with the mailbox's next sessions.
// Charsets other than UTF-8 and US-ASCII are NO [BADCHARSET]. SORT RETURN (ESORT, RFC 5267) answers ESEARCH with MIN
// and MAX the first and last message in the sort order, as Dovecot does.
//
// # Search contexts and partial results
//
// SEARCH and SORT, with or without UID, take the RETURN options of
// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267) and PARTIAL (RFC 9394).
// RETURN (PARTIAL low:high) answers PARTIAL (low:high numbers) with the
// messages at those positions of the result (in the sort order for
// SORT), NIL when there are none; -1:-100 counts from the end. MIN, MAX
// and COUNT stay those of the whole result, PARTIAL with ALL is BAD, and
// with SAVE only the range is saved. UID FETCH and FETCH take PARTIAL as
// a modifier, applied to the messages the set names (after CHANGEDSINCE).
// RETURN (CONTEXT) is a hint and changes nothing.
//
// RETURN (UPDATE) keeps the result in an update context named by the
// command's tag, until CANCELUPDATE with that tag or the end of the
// selection; RETURN (UPDATE) alone sends no result data, as Dovecot.
// Whenever the session's view changes (after a command, its own STORE
// included, and during IDLE), the server evaluates the criteria again
// for the messages that are new or whose flags, \Recent or mod-sequence
// changed, and sends ESEARCH (TAG "t") REMOVEFROM and ADDTO after the
// FETCH and EXISTS responses of the change. The members of a result that
// are expunged are removed by a REMOVEFROM just before the EXPUNGE (or
// VANISHED) responses, numbered as the client knows them until then, so
// that an update never refers to a number the client has not been told
// of; like EXPUNGE, it waits for a command that may announce it. For
// SEARCH the position is 0; for SORT each removal comes with its
// position once the earlier removals are applied, then each addition at
// its position in the new order, so a client applying them in turn holds
// the new result. Sequence numbers in the criteria (2:4, $ included) are
// taken as the messages they named when the command ran, and OLDER and
// YOUNGER at the time a message is evaluated again. A session keeps at
// most Server.MaxSearchUpdates contexts ([DefaultMaxSearchUpdates]);
// one more gets its result with an untagged NO [NOUPDATE "tag"] and no
// context. Each context holds a few words per message of the mailbox.
//
// SEARCH RETURN (SAVE) keeps its result (RFC 5182, SEARCHRES) as UIDs
// until the next SELECT, EXAMINE, CLOSE or UNSELECT or a SEARCH or SORT
// with SAVE that fails; "$" names it in every sequence set.
//
// # CONDSTORE and QRESYNC
//
// A Mailbox that implements [MailboxModSeqs] and reports a non-zero
// MailboxStatus.HighestModSeq keeps persistent mod-sequences (RFC 7162):
// MessageInfo.ModSeq of each message, raised by every change, and the
// UIDs expunged since a mod-sequence. CONDSTORE is enabled by ENABLE
// CONDSTORE or QRESYNC, SELECT or EXAMINE (CONDSTORE), and the first
// command that uses it (FETCH MODSEQ or CHANGEDSINCE, STORE
// UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ), which in the
// selected state is preceded by the untagged OK [HIGHESTMODSEQ] the SELECT
// did not send. From then on SELECT sends HIGHESTMODSEQ (or NOMODSEQ for
// a mailbox without mod-sequences, where the commands that need them are
// answered BAD), and every FETCH response with FLAGS carries MODSEQ.
// STORE (UNCHANGEDSINCE) leaves the messages changed since as they are and
// names them in OK [MODIFIED]; its FETCH responses carry MODSEQ even with
// .SILENT; a Mailbox that implements [MailboxStoreUnchanged] (those of
// imapmem and imapmaildir do) makes the check and the store one step
// for all sessions, others are checked from Messages just before Store. The
// MODSEQ search key takes the optional entry name and type (checked, then
// ignored: the mod-sequence is per message) and the result ends with
// (MODSEQ n), or MODSEQ n in ESEARCH.
//
// Once QRESYNC is enabled, expunges are sent as VANISHED with UIDs instead
// of EXPUNGE (after a command, in IDLE, for another session's expunge),
// every FETCH response carries the UID, and the tagged OK of EXPUNGE and
// of any command that sent VANISHED gives the new HIGHESTMODSEQ. UID FETCH
// (CHANGEDSINCE n VANISHED) and SELECT or EXAMINE (QRESYNC (uidvalidity
// modseq [known-uids [seq-match-data]])) send VANISHED (EARLIER) and the
// FETCH responses of the messages changed since n; with a UIDVALIDITY that
// differs, SELECT ignores the parameter. When the Mailbox no longer
// remembers every expunge since n, VANISHED (EARLIER) names every UID of
// the known set below UIDNEXT that no message has (RFC 7162 section
// 3.2.5.2 allows more than needed); seq-match-data is accepted and not
// used. While an expunge may not be announced (FETCH, STORE, SEARCH), the
// flag changes of other sessions wait with it, so that no MODSEQ gets
// ahead of an expunge the client has not seen. HIGHESTMODSEQ is read
// before the messages, so it never covers a change the session has not
// been told of.
//
// On the client side, [Client.SelectWith] sends CONDSTORE and QRESYNC
// parameters and returns HIGHESTMODSEQ, VANISHED (EARLIER) and the changed
// messages; [Client.FetchChangedSince] and [Client.StoreUnchangedSince]
// are FETCH (CHANGEDSINCE [VANISHED]) and STORE (UNCHANGEDSINCE) with
// MODIFIED; Fetch decodes MODSEQ, Status asks for HIGHESTMODSEQ when the
// server offers CONDSTORE, and Idle reports VANISHED UIDs.
//
// # Errors
//
// Handlers map every error in one place. A Backend returns an [*Error] to
// choose the exact NO or BAD response, or wraps a category sentinel such as
// [ErrNoSuchMailbox] (NO [NONEXISTENT], or [TRYCREATE] for APPEND, COPY and
// MOVE), [ErrMailboxExists] or [ErrNoSuchMessage]. Any other error is logged
// and answered NO [SERVERBUG] with a fixed text; a panic in the Backend is
// recovered, logged with its stack and answered the same way. Internal error
// text never goes on the wire. A command that does not parse is answered
// BAD [CLIENTBUG], or BAD [TOOBIG] when it exceeds a limit.
//
// # Limits
//
// Every input is bounded by a Server field with a named default: the text of
// a command between literals ([DefaultMaxLineLength]), the APPEND literal
// ([DefaultMaxLiteralSize], announced as APPENDLIMIT), every other literal
// ([DefaultMaxStringLiteral]), nesting of lists and search keys
// ([DefaultMaxDepth]), items per command ([DefaultMaxItems]), ranges per
// sequence set ([DefaultMaxSetRanges]), concurrent connections, failed
// logins and BAD responses per connection, and the inactivity timers: the
// 30-minute autologout of RFC 9051 section 5.4 once authenticated (IDLE
// included) and a shorter one before. A synchronizing literal over its limit
// is refused before the client sends it; a non-synchronizing one over the
// limit ends the connection with BYE [TOOBIG], as it cannot be skipped.
//
// # Client
//
// [Client] speaks to any IMAP server: [Dial], [DialTLS] or [NewClient],
// then one method per command with ctx first (Login, Authenticate with a
// [sasl.Client] and SASL-IR, StartTLS, Enable, Select, List, Status,
// Create, Delete, Rename, Subscribe, Append, Fetch, Search, Store, Copy,
// Move, Expunge, Idle, Logout, Sort, ID and Compress). Fetch returns
// flags, UIDs, dates, sizes, envelopes and body sections decoded, and
// every item as a [Value];
// Search and Fetch take their criteria and items in IMAP syntax. A NO or
// BAD reply is an [*Error]; a response that does not parse is a
// [*ProtocolError]. Literals in responses are bounded by
// ClientOptions.MaxLiteral. Concurrent calls are pipelined, their
// responses matched by tag.
//
// # Mailbox names
//
// Mailbox names are UTF-8 with "/" as the hierarchy delimiter in the
// Backend interfaces. On the wire they are modified UTF-7 (RFC 3501 section
// 5.1.3) for IMAP4rev1 clients, and UTF-8 for clients that ENABLE
// IMAP4rev2 or UTF8=ACCEPT (RFC 6855). INBOX is matched without regard to
// case.
//
// # Notifications
//
// NOTIFY (RFC 5465) tells a client of changes in any of its mailboxes
// while it sends no command, and during IDLE. NOTIFY SET takes the
// filters SELECTED, SELECTED-DELAYED, INBOXES (INBOX), PERSONAL,
// SUBSCRIBED, SUBTREE and MAILBOXES (the first group that matches a
// mailbox applies), the events MessageNew (with fetch attributes for the
// selected mailbox, fetched without setting \Seen), MessageExpunge,
// FlagChange, MailboxName and SubscriptionChange, and the STATUS
// indicator. The selected mailbox's changes come as EXISTS, FETCH and
// EXPUNGE (VANISHED with QRESYNC), unsolicited with SELECTED; with
// SELECTED-DELAYED the expunges wait for IDLE or a command that may carry
// them (RFC 9051 section 7.5.1); without either, the selected mailbox is told
// of at the end of commands, as without NOTIFY. Other mailboxes get
// STATUS (MESSAGES, UIDNEXT, UIDVALIDITY, and HIGHESTMODSEQ once CONDSTORE
// is enabled) when their counters differ from what the client was last
// told, and LIST (with \NonExistent, \Subscribed, OLDNAME) for names and
// subscriptions. The mailboxes watched and the changes held for a busy
// connection are bounded by Server.MaxNotifyMailboxes: NOTIFY SET beyond
// it is NO [LIMIT], and a connection with more changes waiting than that
// gets NOTIFICATIONOVERFLOW and NOTIFY NONE. The changes come from a User
// that implements [UserNotifier]; without it only SELECTED and
// SELECTED-DELAYED are accepted. AnnotationChange, MailboxMetadataChange
// and ServerMetadataChange (no METADATA or ANNOTATE here) are NO
// [BADEVENT]; changes made by the session itself are told too.
//
// # Not implemented
//
// CATENATE and ACL are not implemented; SETQUOTA is refused with
// NO [NOPERM]. The fetch-attribute list that Dovecot accepts after RETURN
// (UPDATE ...) is not taken (RFC 5267 defines none).
// \Recent (which RFC 9051 removed) is shown to IMAP4rev1 clients only, from a Mailbox that
// implements [MailboxRecent]; STATUS RECENT is always 0.
//
// # Standards
//
//   - RFC 9051, IMAP4rev2
//   - RFC 3501, IMAP4rev1 (compatibility)
//   - RFC 2177, IDLE
//   - RFC 2971, ID (Server.ID)
//   - RFC 6851, MOVE
//   - RFC 4315, UIDPLUS (APPENDUID, COPYUID, UID EXPUNGE)
//   - RFC 6154, SPECIAL-USE and CREATE-SPECIAL-USE
//   - RFC 7888, LITERAL+, or LITERAL- with Server.LiteralMinus
//   - RFC 5161, ENABLE
//   - RFC 4959, SASL-IR
//   - RFC 5258, LIST-EXTENDED (selection and return options), RFC 5819
//     LIST-STATUS
//   - RFC 4731, ESEARCH
//   - RFC 5256, SORT, THREAD=ORDEREDSUBJECT and THREAD=REFERENCES
//   - RFC 5957, SORT=DISPLAY
//   - RFC 5267, ESORT, CONTEXT=SEARCH and CONTEXT=SORT
//   - RFC 9394, PARTIAL (SEARCH, SORT and FETCH)
//   - RFC 5182, SEARCHRES
//   - RFC 3502, MULTIAPPEND
//   - RFC 4978, COMPRESS=DEFLATE (server and client)
//   - RFC 9208, QUOTA with QUOTA=RES-STORAGE and QUOTA=RES-MESSAGE, from a
//     User that implements [UserQuota] (not QUOTASET)
//   - RFC 8514, SAVEDATE, from a Mailbox that implements [MailboxSaveDate]
//     (NIL otherwise)
//   - RFC 8970, PREVIEW (LAZY accepted, the preview always computed)
//   - RFC 5032, WITHIN (SEARCH OLDER and YOUNGER)
//   - RFC 3516, BINARY
//   - RFC 8438, STATUS=SIZE
//   - RFC 6855, UTF8=ACCEPT
//   - RFC 7889, APPENDLIMIT
//   - RFC 3691, UNSELECT
//   - RFC 2342, NAMESPACE
//   - RFC 7162, CONDSTORE and QRESYNC
//   - RFC 5465, NOTIFY (without AnnotationChange, MailboxMetadataChange
//     and ServerMetadataChange), from a User that implements
//     [UserNotifier] for mailboxes other than the selected one
//
// # Compression
//
// COMPRESS DEFLATE (RFC 4978), once logged in, after STARTTLS or on
// implicit TLS alike, makes both directions raw DEFLATE. The server
// compresses each response burst (what it writes before it waits for the
// client, cut every 16 KiB) as a segment of its own ended by a sync flush,
// so a client decodes every response when it arrives; as segments never
// refer to earlier ones, the deflater is taken from a pool of the Server
// for each segment rather than held by the connection, which keeps about
// 80 KiB (the inflater's window and tables and the buffers). A stream
// that does not inflate ends the connection. [Client.Compress] turns it on
// from the client side.
//
// # Connections
//
// The connection limits (MaxConnections, MaxConnectionsPerIP), the PROXY
// protocol (ProxyProtocol, TrustedProxies), TLSHandshakeTimeout and the
// context hooks are the fields of the embedded [serving.Lifecycle], the same
// on the smtp, imap and pop3 servers. A connection that arrives as a
// *tls.Conn (Serve on a tls.Listen listener) is implicit TLS: STARTTLS is
// not offered and ConnInfo.TLS is set.
package imap
