package main

import (
	"fmt"
)

// The roles of an instance (-role). One binary does everything by default;
// a fleet splits the work the way Postfix front ends feed Dovecot:
//
//   - mx instances take mail on the MX and submission ports, judge it
//     (policy, DKIM, DMARC, the junk filter) and hand what is for local
//     users to a mailbox instance over LMTP before they answer the
//     client, so a 250 means the mail is in its Maildir (or, when the
//     mailbox instance cannot take it now, in the MX's own queue);
//   - mailbox instances keep the Maildirs: they take mail over LMTP
//     (-lmtp, from -lmtp-from only), file it by the users' Sieve scripts,
//     and serve IMAP, POP3 and ManageSieve.
//
// Every instance reads the user database of its own data directory: an MX
// needs it to refuse unknown recipients at RCPT (no backscatter) and to
// authenticate submission. Copy DIR/users and DIR/aliases from the mailbox
// instance to the MX instances when they change (the running servers read
// them again at once), and DIR/dkim/ too, so that every instance signs with
// the one key published in DNS. Greylist triplets and rate-limit counters are shared
// through -redis; behind HAProxy every listener takes -proxy-from.
const (
	roleAll     = "all"
	roleMX      = "mx"
	roleMailbox = "mailbox"
)

// defaultLMTPAddr is the LMTP listener of a mailbox instance when -lmtp is
// not given (Dovecot's LMTP has no standard port either; 24 is "any
// private mail system").
const defaultLMTPAddr = "127.0.0.1:2424"

// applyRole checks the listener flags against -role and turns off the
// listeners the role does not serve; set holds the flags given on the
// command line.
func (c *config) applyRole(set map[string]bool) error {
	mailboxSide := map[string]*string{
		"imap": &c.imapAddr, "imaps": &c.imapsAddr, "pop3": &c.pop3Addr, "pop3s": &c.pop3sAddr,
		"managesieve": &c.managesieveAddr, "lmtp": &c.lmtpAddr,
	}
	switch c.role {
	case roleAll:
		if c.mailboxLMTP != "" {
			return fmt.Errorf("-mailbox-lmtp is for -role %s", roleMX)
		}
	case roleMX:
		if c.mailboxLMTP == "" {
			return fmt.Errorf("-role %s needs -mailbox-lmtp, the LMTP address of the mailbox instance", roleMX)
		}
		for _, name := range []string{"imap", "imaps", "pop3", "pop3s", "managesieve", "lmtp"} {
			p := mailboxSide[name]
			if set[name] && *p != "" {
				return fmt.Errorf("-%s: an MX instance (-role %s) keeps no mailboxes; serve it from the -role %s instance", name, roleMX, roleMailbox)
			}
			*p = ""
		}
	case roleMailbox:
		if c.mailboxLMTP != "" {
			return fmt.Errorf("-mailbox-lmtp is for -role %s", roleMX)
		}
		if set["smtp"] && c.smtpAddr != "" {
			return fmt.Errorf("-smtp: a mailbox instance (-role %s) takes mail over -lmtp from the MX instances; use -role %s for one server that does both", roleMailbox, roleAll)
		}
		c.smtpAddr = ""
		// Submission belongs to the MX instances, but a mailbox
		// instance may serve it too when asked.
		if !set["submission"] {
			c.submissionAddr = ""
		}
		if !set["submissions"] {
			c.submissionsAddr = ""
		}
		if !set["lmtp"] {
			c.lmtpAddr = defaultLMTPAddr
		}
		if c.lmtpAddr == "" {
			return fmt.Errorf("-role %s needs an -lmtp listener", roleMailbox)
		}
	default:
		return fmt.Errorf("-role: %q is none of %s, %s and %s", c.role, roleAll, roleMX, roleMailbox)
	}
	return nil
}
