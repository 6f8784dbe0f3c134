// Package imapmaildir serves Maildir++ trees written by package maildir,
// Dovecot or mutt over IMAP: [Backend] is an [imap.Backend] over one
// [maildir.Store] per user.
//
// # Mailboxes
//
// Mailbox names use "/" between levels on the wire and "." on disk, in
// modified UTF-7 as Dovecot writes them ("Work/Entwürfe" is the Maildir
// ".Work.Entw&APw-rfe"); a name holding "." cannot be stored and is
// refused with NO [CANNOT]. Every user has the folders of [SpecialFolders]
// (Archive, Drafts, Junk, Sent, Trash) from the first login, subscribed and
// listed with their RFC 6154 attributes. CREATE with USE (RFC 6154 section
// 3) records the attribute of another folder in the file
// herald-special-use at the root of the tree; \All and \Flagged are
// refused with NO [USEATTR].
//
// # Messages
//
// UIDs and UIDVALIDITY are those of dovecot-uidlist, shared with Dovecot;
// INTERNALDATE is the file's modification time, which APPEND sets from its
// date argument, as Dovecot reads it; RFC822.SIZE is the ",S=" size of the
// file name, so no file is opened for it. The flag letters D, F, R, S and T
// are \Draft, \Flagged, \Answered, \Seen and \Deleted; keywords live in
// dovecot-keywords. $Forwarded is written as a keyword, as Dovecot does,
// and the letter P (which mutt sets) is read as $Forwarded too.
//
// # Index and changes
//
// The Backend keeps the state of each open folder in memory, shared by its
// sessions. While a session has the folder selected, changes made through
// the Backend are applied to it at once and signalled to the other
// sessions, and changes made by other processes are read from inotify
// events on new/, cur/ and the folder itself within some 20 milliseconds,
// message by message; only a message without a UID yet, a new UIDVALIDITY
// or lost events make it list the folder again. Without inotify the folder
// is read again every [Backend.PollInterval]. When no session has had the
// folder selected since, SELECT lists it again only if cur/, new/,
// dovecot-uidlist or dovecot-keywords changed (their modification times,
// sizes and inodes, trusted once they are two seconds old).
//
// # Metadata cache
//
// What FETCH derives from parsing a message (ENVELOPE, BODY,
// BODYSTRUCTURE, and the size with CRLF that lets BODY[] stream without a
// first pass over the file) is an [imap.Summary], kept per folder in
// memory, shared by the Backend's sessions, and in the file [CacheFile]
// next to dovecot-uidlist, as Dovecot keeps dovecot.index.cache. The file
// is written when the last session of the folder ends and two seconds
// after new summaries, to a temporary file renamed over the old one; it is
// checked with a CRC-32C, and its records name each message's UID, base
// name, sizes and modification time, so a message replaced or expunged by
// another process is parsed again and a damaged, truncated or foreign file
// is ignored (with a log line) and rewritten. [Backend.MaxCacheBytes]
// bounds it. Messages without a summary are parsed whole (headers and MIME
// structure, the bodies streamed through), several at once, with the
// kernel asked to read the next files ahead. BODY[] of a message file of
// at most 64 KiB costs an open, one read into a pooled buffer and a close;
// larger files are streamed.
//
// # Errors
//
// Errors of package maildir become IMAP replies in one place: a quota
// exceeded is NO [OVERQUOTA], a message beyond
// maildir.Options.MaxMessageBytes NO [TOOBIG], a full disk or a lock held
// by another client NO [UNAVAILABLE], a damaged index file NO
// [CORRUPTION]. On a full disk APPEND and COPY leave nothing behind: the
// file in tmp/ and the copies already made are removed. COPY within one
// file system makes hard links, which need no space. A message file that is missing or shorter than its name
// says is skipped with a log line, and FETCH answers NO [EXPUNGEISSUED]
// for it.
package imapmaildir
