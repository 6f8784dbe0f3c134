// Package managesieve implements ManageSieve (RFC 5804), the protocol with
// which mail clients upload, check, list, activate, download and delete
// their Sieve scripts: a [Server] with a [Backend] interface, and a small
// [Client].
//
// # Server
//
// A [Server] runs on the same lifecycle as Herald's smtp, imap and pop3
// servers (connection limits, PROXY protocol, TLS handshake timeout,
// graceful Shutdown) and authenticates through the same
// [sasl.Authenticator]. After login it opens the user's [Store] through
// the Backend. Scripts are validated by Server.Check, which the mail server
// sets to the parser of package sieve; its error text is what the client
// sees in the NO response.
//
//	srv := &managesieve.Server{
//		Backend:    &managesievedir.Backend{Root: "/var/lib/herald/sieve"},
//		Auth:       auth,
//		TLSConfig:  tlsConfig,
//		Check:      check,
//		Extensions: []string{"fileinto", "reject", "vacation"},
//	}
//	err := srv.ListenAndServe(":4190")
//
// Implemented: the greeting and CAPABILITY with IMPLEMENTATION, SASL,
// SIEVE, STARTTLS, MAXREDIRECTS, NOTIFY, OWNER, UNAUTHENTICATE and VERSION
// "1.0"; STARTTLS with the capabilities sent again after the handshake;
// AUTHENTICATE with an initial response, continuations, "*" to abort and
// OK (SASL) for additional data of success; LOGOUT, NOOP with TAG,
// UNAUTHENTICATE, HAVESPACE, PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS,
// SETACTIVE (and "" to deactivate), GETSCRIPT, DELETESCRIPT and
// RENAMESCRIPT; the response codes QUOTA, QUOTA/MAXSCRIPTS, QUOTA/MAXSIZE,
// NONEXISTENT, ALREADYEXISTS, ACTIVE, TRYLATER, WARNINGS, TAG, SASL and
// ENCRYPT-NEEDED. Not implemented: REFERRAL, SASL security layers, and
// the LANGUAGE capability.
//
// # Strings and limits
//
// Arguments are quoted strings or literals; the server accepts both the
// non-synchronizing "{n+}" literal of RFC 5804 and the "{n}" form some
// clients send, without a continuation request in either case. Every
// input is bounded: MaxLineLength for a line, MaxStringLength for a
// literal that is not a script, MaxScriptSize for a script (a larger one
// is read, dropped and answered NO (QUOTA/MAXSIZE) up to MaxDiscard, and
// answered BYE beyond), MaxNameLength for a script name, which must also
// pass [ValidName] (RFC 5804 section 1.6).
//
// # Wiring into a mail server
//
// The mail server sets Check to the parser of package sieve, so that
// ManageSieve refuses exactly the scripts delivery could not run, with the
// parser's error text ("line 3: ...") in the NO response, and Extensions
// to the extensions that parser supports. It keeps the scripts in a
// managesievedir.Backend under its data directory (DATA/sieve/USER/...)
// and, at delivery, runs the file that Backend.ActiveScript(user) names,
// if any.
//
// # Stores
//
// Package managesievemem keeps scripts in memory for tests; package
// managesievedir keeps them as files, NAME.sieve under a directory per
// user, the active one a symbolic link, in the layout of Dovecot
// Pigeonhole, with per-user quotas ([Quota]).
package managesieve
