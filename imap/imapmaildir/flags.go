package imapmaildir

import (
	"strings"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// The flag letters of the info part of a Maildir file name and the IMAP
// system flags they stand for, as Dovecot maps them. Dovecot stores
// $Forwarded as a keyword of dovecot-keywords, not as "P"; Herald does the
// same when it writes, and reads a "P" that mutt set as $Forwarded too.
var letterFlags = [...]struct {
	letter maildir.Flags
	flag   imap.Flag
}{
	{maildir.FlagSeen, imap.FlagSeen},
	{maildir.FlagReplied, imap.FlagAnswered},
	{maildir.FlagFlagged, imap.FlagFlagged},
	{maildir.FlagTrashed, imap.FlagDeleted},
	{maildir.FlagDraft, imap.FlagDraft},
}

// imapFlags returns the IMAP flags of a message with the flag letters f
// (other than a-z) and the keywords kw: system flags first, in a fixed
// order, then the keywords. Letters without an IMAP meaning are left out.
func imapFlags(f maildir.Flags, kw []string) []imap.Flag {
	out := make([]imap.Flag, 0, len(f)+len(kw))
	for _, lf := range letterFlags {
		if f.Has(lf.letter) {
			out = append(out, lf.flag)
		}
	}
	forwarded := false
	for _, k := range kw {
		if strings.EqualFold(k, string(imap.FlagForwarded)) {
			forwarded = true
		}
		out = append(out, imap.Flag(k))
	}
	if f.Has(maildir.FlagPassed) && !forwarded {
		out = append(out, imap.FlagForwarded)
	}
	return out
}

// maildirFlags splits IMAP flags into flag letters and keywords. \Recent
// and unknown system flags are dropped: the server never stores them. For
// a removal, $Forwarded also removes the letter "P", so that a message
// forwarded by mutt can lose the flag through IMAP.
func maildirFlags(flags []imap.Flag, removing bool) (maildir.Flags, []string) {
	var letters []byte
	var kw []string
next:
	for _, f := range flags {
		if strings.HasPrefix(string(f), `\`) {
			for _, lf := range letterFlags {
				if strings.EqualFold(string(f), string(lf.flag)) {
					letters = append(letters, lf.letter...)
				}
			}
			continue
		}
		if removing && strings.EqualFold(string(f), string(imap.FlagForwarded)) {
			letters = append(letters, maildir.FlagPassed...)
		}
		for _, k := range kw {
			if strings.EqualFold(k, string(f)) {
				continue next
			}
		}
		kw = append(kw, string(f))
	}
	return maildir.MakeFlags(string(letters)), kw
}

// keywordsOf returns the keywords that the letters a-z in f stand for in
// the table of dovecot-keywords; a letter without a keyword is left out.
func keywordsOf(table []string, f maildir.Flags) []string {
	var out []string
	for i := 0; i < len(f); i++ {
		if c := int(f[i] - 'a'); 0 <= c && c < len(table) && table[c] != "" {
			out = append(out, table[c])
		}
	}
	return out
}
