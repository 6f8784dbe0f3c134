// Package maildir stores mail in Maildir++ folders that Dovecot and mutt
// read and write at the same time: atomic and durable delivery, folders,
// flags and keywords, and IMAP UIDs and UIDVALIDITY that Dovecot agrees
// with, for an SMTP server delivering mail and the IMAP and POP3 servers
// reading it.
//
// # On-disk format
//
// A folder ([Maildir]) is a directory with cur/, new/ and tmp/ (the Maildir
// format of qmail, https://cr.yp.to/proto/maildir.html). A message is one
// file, named
//
//	<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<size with CRLF>[:2,<flags>]
//
// The part before ":" is the base name ([Name.Base], [Message.Key]): unique
// in the folder and constant while the message lives. ",S=" is the file's
// size, which Dovecot reads and [Message.Size] uses instead of a stat. The
// info part "2," holds the flags in ASCII order: D (draft), F (flagged), P
// (passed), R (replied), S (seen), T (trashed), and the letters a-z for
// keywords, whose names dovecot-keywords lists ("0 $Junk" makes "a" the
// keyword $Junk). Letters this package does not know are kept.
//
// Beside them, dovecot-uidlist (format version 3) maps base names to UIDs:
//
//	3 V1700000000 N3 G0123456789abcdef0123456789abcdef
//	1 :1700000000.M1P2Q1.host,S=120,W=124
//	2 :1700000001.M5P2Q2.host,S=98,W=101
//
// A [Store] is a Maildir++ tree: the root Maildir is INBOX, and the folder
// "Archive.2024" is the Maildir ".Archive.2024" holding an empty
// maildirfolder file. Folder names are stored in IMAP's modified UTF-7
// (RFC 3501 section 5.1.3) as Dovecot does by default, so "Entwürfe" is
// ".Entw&APw-rfe". The subscriptions file uses Dovecot's format, and an
// optional maildirsize file holds the Maildir++ quota.
//
// # Durability
//
// [Maildir.Deliver] writes the message to tmp/ under a new unique name,
// fsyncs it, links it into new/ (or cur/ when delivered with flags) under
// its final name, removes the tmp/ name, appends its UID to dovecot-uidlist
// and fsyncs the directory and dovecot-uidlist. When it returns nil the
// message is on disk and survives a crash or power loss: an SMTP server may
// answer 250 then. The fsyncs of concurrent deliveries in the process are
// shared (group commit): a delivery that finds no sync running syncs at
// once; those arriving meanwhile are synced together next, with each
// directory once, and with one syncfs(2) on Linux when the batch is large.
// [DeliverMany] stores one message in several folders, reading it once.
// Options.SyncEach gives every delivery its own fsyncs instead. A delivery
// that fails, is cancelled or exceeds a limit leaves nothing in new/ or
// cur/ and removes its tmp/ file;
// one killed midway leaves only a tmp/ file, which is never a message and
// which [Maildir.CleanTmp] removes after 36 hours. dovecot-uidlist,
// dovecot-keywords and subscriptions are replaced by renaming a complete,
// fsynced file over them, or appended to in one write.
//
// # UIDs
//
// [Maildir.Sync] lists the folder and gives every message without a UID
// the next one, in order of arrival (the time in its name); [Maildir.Deliver]
// gives the delivered message its UID at once. A message keeps its UID when
// its flags, and so its file name, change. UIDs of removed messages are
// never reused. UIDVALIDITY is set when dovecot-uidlist is created, and
// changes only when the file is lost or corrupt, as in Dovecot.
//
// # Concurrency
//
// Within a process, each Maildir serialises its own work with a mutex, and
// a Store hands out one Maildir per folder. Between processes (other
// Herald processes, Dovecot, its LDA), UIDs are assigned only under the
// dot-lock dovecot-uidlist.lock, created with O_EXCL as Dovecot does; a
// lock older than [DefaultStaleLockTimeout] is taken for a crashed holder's
// and removed. The holder reads dovecot-uidlist and lists the folder again
// before it assigns, so no two messages get one UID and none is lost.
// Reading takes no lock: records appended by others are read incrementally,
// a half-written last line is left for later, and a message that another
// client renamed is found again by listing the folder; one that was removed
// gives [ErrGone]. Flag changes are renames, atomic for every reader.
//
// # Errors
//
// Errors wrap sentinels that errors.Is tells apart: [ErrNoFolder],
// [ErrQuotaExceeded], [ErrTooLarge], [ErrGone], [ErrFolderExists],
// [ErrInvalidName], [ErrLocked], [ErrMalformed] and [ErrTooManyKeywords].
// File system errors come wrapped in an [*Error] naming the operation.
package maildir
