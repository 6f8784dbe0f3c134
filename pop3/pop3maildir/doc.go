// Package pop3maildir serves Maildirs over POP3: a [pop3.Backend] whose
// maildrop is the INBOX of a [maildir.Store] per user, compatible with
// Dovecot serving the same Maildir at the same time.
//
// # Maildrop
//
// [Backend.Store] maps the authenticated identity to its Store, so the
// caller decides where mailboxes live; pop3.Server.Auth (a
// sasl.Authenticator) checks the credentials and names the identity.
// Messages are numbered in UID order, as Dovecot numbers
// them. Their sizes come from the ",W=" field of their file names (the
// size with CRLF line endings, which POP3 counts) without opening the
// files; only a message whose name lacks it is read to count its size.
//
// # Unique ids
//
// The unique-id of a message is [UIDL]: its UID and the folder's
// UIDVALIDITY, 8 hexadecimal digits each, 16 characters on any host. It
// is what Dovecot sends with pop3_uidl_format = %08Xu%08Xv, since both read
// the UIDs from dovecot-uidlist, so a client sees the same ids from either
// server.
//
// # Locking
//
// A session holds the maildrop lock [SessionLockName], the dot-lock that
// Dovecot's pop3 takes with pop3_lock_session = yes: a file holding
// "<pid>:<hostname>", written under a temporary name and linked into place,
// so that it is never seen empty. While Herald or Dovecot holds it, the
// other answers "-ERR [IN-USE]". A lock whose process on this host is gone
// (a crash) is removed at once; one of another host once it has not been
// touched for [Backend.StaleLockTimeout]. The holder touches it while the
// session lasts.
//
// # Deletion and the seen flag
//
// DELE takes effect at QUIT only, all or nothing: the deletions are
// written to a journal ([JournalName]) before any file is removed, and a
// session that finds a journal left by a crash finishes it before it
// lists the maildrop. A message sent whole (RETR, or TOP with enough
// lines to send all of it) is marked seen when the session ends, moving it
// from new/ to cur/ with the S flag, as Dovecot does for RETR.
//
// # Errors
//
// Errors of the maildir package and of the file system are mapped to POP3
// replies in one place, and logged with their causes to [Backend.Logger]:
// a maildrop locked by another session is "-ERR [IN-USE]"; an exceeded
// quota, a full disk or a busy dovecot-uidlist lock "-ERR [SYS/TEMP]"; a
// message removed by another client or whose file is corrupt (not a
// regular file, or not the size its name says) is answered "-ERR" for that
// message alone, and the session goes on. A full disk at QUIT leaves every
// message in place and nothing half-written visible.
package pop3maildir
