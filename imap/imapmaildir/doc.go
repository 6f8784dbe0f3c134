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
// # Notifications
//
// The user implements [imap.UserNotifier] for NOTIFY (RFC 5465). Changes
// made through the Backend, by any session of the process, are reported at
// once: messages appended, stored or expunged, folders created, deleted or
// renamed (with their old names), subscriptions. Changes made by other
// processes, or through a maildir.Store of the process directly, are seen
// by one goroutine per NOTIFY with one inotify descriptor, which watches
// the root of the tree (folders and the subscriptions file) and new/ and
// cur/ of each folder watched, whatever their number, and reported after
// the same settle time as a selected folder's changes; without inotify, by
// comparing the modification times of those directories every
// [Backend.PollInterval]. A folder renamed by another process is reported
// as the deletion of the old name and the creation of the new one.
//
// # Mod-sequences
//
// Folders keep persistent mod-sequences for CONDSTORE and QRESYNC (RFC
// 7162; see [imap.MailboxModSeqs]). Every change of a message's flags, new
// message and expunge takes a mod-sequence above all those handed out
// before and at least the current time in microseconds, whether it was
// made through the Backend or by another process (Dovecot, mutt) and
// noticed by the watcher or when the folder is read again. They live in
// memory and in two files in the folder: [ModSeqFile], a snapshot of every
// message's mod-sequence and flag letters and of the last [MaxExpunged]
// expunged UIDs, checked with a CRC-32C, written (synced, then renamed
// over the old one) two seconds after changes and when the last session
// of the folder ends; and [ModSeqMarkFile], a high-water mark, synced
// before a value above it is handed out and raised once after every
// snapshot. On the first read of a folder, a current snapshot gives the
// messages whose flag letters did not change their mod-sequences back, and
// a message changed, added or expunged while no Backend ran gets a new
// one. After a crash (the mark above the snapshot's), or with a file
// damaged or lost, every message gets a new mod-sequence above the mark
// and the clock, and the expunges before are forgotten: clients see every
// message as changed, and SELECT (QRESYNC) reports every UID that does
// not exist, never less than what changed. A change made while no session
// has the folder selected (APPEND to it, or another process's change seen
// by STATUS) raises the mark and leaves the snapshot for the next session
// to write, so a restart before that reports the folder's messages as
// changed.
//
// STORE (UNCHANGEDSINCE) is atomic for the sessions of a Backend
// ([imap.MailboxStoreUnchanged]): the check of each message's
// mod-sequence and the renames that change its flags happen under one
// lock of the folder that every store takes, so that of two sessions
// storing with the same UNCHANGEDSINCE one stores and the other gets the
// message in MODIFIED. Another process's change is not under that lock:
// it counts from when the index notices it.
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
// The server's SORT and THREAD keys of each message (imap.MailboxKeyCache)
// are kept in memory with the folder's index, shared by its sessions, so
// only the first SORT after the Backend started reads the headers.
//
// SAVEDATE (RFC 8514) is the time at the start of the message's file name,
// which package maildir, Dovecot and mutt write when they save the file
// (delivery, APPEND, COPY or MOVE): stable across sessions and restarts,
// unchanged by flags, and free to read; a name without such a time gives
// NIL.
//
// # Quota
//
// A tree with a Maildir++ quota (maildir.Options.Quota, or its
// maildirsize) has one QUOTA root, "", over all its folders (RFC 9208):
// STORAGE in KiB of the message files, rounded up, and MESSAGE, each when
// the quota limits it; the use is maildirsize's, as deliveries count it.
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
