package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type oracleFile struct {
	Bytes   int                        `json:"bytes"`
	Headers map[string]json.RawMessage `json:"headers_decoded"`
}

func loadOracle(t testing.TB) map[string]oracleFile {
	t.Helper()
	b, err := os.ReadFile("../testdata/oracle/cpython-email-oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Files map[string]oracleFile `json:"files"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o.Files
}

// corpusFiles returns the message files under ../testdata/messages (path
// relative to ../testdata), without licence and metadata files.
func corpusFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join("../testdata", dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.Contains(name, "LICENSE") || strings.Contains(name, "COPYRIGHT") || strings.HasSuffix(name, ".json") ||
			strings.HasSuffix(name, "-summary.txt") || strings.HasSuffix(name, ".md") {
			return nil
		}
		rel, _ := filepath.Rel("../testdata", path)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// splitMbox splits an mbox file at its "From " lines (RFC 4155).
func splitMbox(b []byte) [][]byte {
	var msgs [][]byte
	start := 0
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		next := len(b)
		if j >= 0 {
			next = i + j + 1
		}
		if next < len(b) && bytes.HasPrefix(b[next:], []byte("From ")) {
			msgs = append(msgs, b[start:next])
			start = next
		}
		i = next
	}
	return append(msgs, b[start:])
}

func TestCorpusOracle(t *testing.T) {
	t.Parallel()
	oracle := loadOracle(t)
	files := append(corpusFiles(t, "messages"), corpusFiles(t, "dsn")...)
	var compared, agreed int
	for _, name := range files {
		raw, err := os.ReadFile(filepath.Join("../testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		msgs := [][]byte{raw}
		if strings.HasSuffix(name, ".mbox.txt") {
			msgs = splitMbox(raw)
		}
		for _, msg := range msgs {
			m, err := ReadMessage(bytes.NewReader(msg), nil)
			if err != nil {
				t.Errorf("%s: lenient read: %v", name, err)
				continue
			}
			if _, err := io.Copy(io.Discard, m.Body); err != nil {
				t.Errorf("%s: body: %v", name, err)
			}
			o, ok := oracle[name]
			if !ok || len(msgs) > 1 {
				continue
			}
			for _, field := range []string{"Subject", "From", "To", "Date", "Message-ID"} {
				want, inOracle := oracleValue(o, field)
				got, present := heraldValue(&m.Header, field)
				if !inOracle && !present {
					continue
				}
				compared++
				key := name + " " + field
				why, listed := oracleDisagreements[key]
				if got == want && inOracle == present {
					agreed++
					if listed {
						t.Errorf("%s: listed as a disagreement (%s) but agrees now", key, why)
					}
					continue
				}
				if !listed {
					t.Errorf("%s: herald %q (present %v), cpython %q (present %v)", key, got, present, want, inOracle)
				}
			}
		}
	}
	t.Logf("%d files, %d fields compared, %d agree, %d listed disagreements", len(files), compared, agreed, len(oracleDisagreements))
}

// oracleValue renders the oracle's view of a field in the test's common
// form: text for Subject, Date and Message-ID, "name <addr>; ..." for
// address fields.
func oracleValue(o oracleFile, field string) (string, bool) {
	rawv, ok := o.Headers[field]
	if !ok {
		return "", false
	}
	switch field {
	case "From", "To":
		var pairs [][2]string
		if err := json.Unmarshal(rawv, &pairs); err != nil {
			return "unparsable oracle value", true
		}
		var parts []string
		for _, p := range pairs {
			parts = append(parts, p[0]+" <"+p[1]+">")
		}
		return strings.Join(parts, "; "), true
	}
	var s string
	if err := json.Unmarshal(rawv, &s); err != nil {
		return "unparsable oracle value", true
	}
	// Herald trims leading and trailing white space from values, as
	// net/textproto does; CPython keeps it in some cases.
	return strings.Trim(s, " \t"), true
}

func heraldValue(h *Header, field string) (string, bool) {
	if !h.Has(field) {
		return "", false
	}
	switch field {
	case "From", "To":
		list, err := h.AddressList(field)
		if err != nil {
			return "error: " + err.Error(), true
		}
		var parts []string
		for _, a := range Mailboxes(list) {
			parts = append(parts, a.Name+" <"+a.Addr+">")
		}
		return strings.Join(parts, "; "), true
	case "Date":
		d, err := h.Date()
		if err != nil {
			return h.Get("Date"), true
		}
		return FormatDate(d), true
	case "Message-ID":
		id, err := h.MessageID()
		if err != nil {
			return h.Get("Message-ID"), true
		}
		return FormatMessageID(id), true
	}
	s, _ := h.Text(field)
	return s, true
}

// oracleDisagreements lists every field where Herald and CPython's email
// package differ, with the reason Herald is right.
var oracleDisagreements = map[string]string{
	// Raw 8-bit Latin-1 in a Subject without any declared charset: Herald
	// reads undeclared bytes as windows-1252 when they are not UTF-8 (the
	// rule in package doc), CPython replaces them with U+FFFD.
	"messages/ruby-mail/error_emails/invalid_subject_characters.eml Subject": "undeclared 8-bit read as windows-1252; CPython gives U+FFFD",
	// Empty groups: "IETF-Announce:;" and "undisclosed recipients: ;" name
	// no mailbox (RFC 5322 section 3.4); CPython reports one empty address.
	"messages/cpython-test_email/msg_36.txt To":                "empty group has no mailbox; CPython invents an empty one",
	"messages/ruby-mail/error_emails/empty_group_lists.eml To": "empty group has no mailbox; CPython invents an empty one",
	// "To: unlisted-recipients:; (no To-header on input)" is an empty group
	// followed by a comment; the field is present, CPython drops it.
	"messages/mimekit/messages/delivery-status.txt To":               "empty group with a comment: field present, no mailbox",
	"messages/mimekit/messages/delivery-status.anonymized.eml To":    "empty group with a comment: field present, no mailbox",
	"messages/mimekit/messages/delivery-status-no-blank-line.txt To": "empty group with a comment: field present, no mailbox",
	"dsn/mimekit/delivery-status.txt To":                             "empty group with a comment: field present, no mailbox",
	"dsn/mimekit/delivery-status-no-blank-line.txt To":               "empty group with a comment: field present, no mailbox",
	// "00:19:00 (EDT) -0400": "(EDT)" is a comment (CFWS), the zone is
	// -0400; CPython takes the comment for the zone.
	"messages/mimekit/messages/disposition-notification.txt Date":            "comment before the zone is CFWS; the zone is -0400",
	"messages/mimekit/messages/disposition-notification.anonymized.eml Date": "comment before the zone is CFWS; the zone is -0400",
	"dsn/mimekit/disposition-notification.txt Date":                          "comment before the zone is CFWS; the zone is -0400",
	// The file starts with a UTF-8 byte order mark. Herald skips it (it is
	// kept in Header.Preamble); CPython sees no header at all.
	"messages/mimekit/messages/feedback-report.txt Subject": "leading byte order mark skipped",
	"messages/mimekit/messages/feedback-report.txt From":    "leading byte order mark skipped",
	"messages/mimekit/messages/feedback-report.txt To":      "leading byte order mark skipped",
	"messages/mimekit/messages/feedback-report.txt Date":    "leading byte order mark skipped",
	"dsn/mimekit/feedback-report.txt Subject":               "leading byte order mark skipped",
	"dsn/mimekit/feedback-report.txt From":                  "leading byte order mark skipped",
	"dsn/mimekit/feedback-report.txt To":                    "leading byte order mark skipped",
	"dsn/mimekit/feedback-report.txt Date":                  "leading byte order mark skipped",
	// A line without a colon in the middle of the header, followed by more
	// fields: lenient mode joins it to the previous field and reads on;
	// CPython ends the header there and loses every later field.
	"messages/ruby-mail/plain_emails/raw_email_incorrect_header.eml Subject":    "junk line repaired, later fields kept",
	"messages/ruby-mail/plain_emails/raw_email_incorrect_header.eml From":       "junk line repaired, later fields kept",
	"messages/ruby-mail/plain_emails/raw_email_incorrect_header.eml To":         "junk line repaired, later fields kept",
	"messages/ruby-mail/plain_emails/raw_email_incorrect_header.eml Date":       "junk line repaired, later fields kept",
	"messages/ruby-mail/plain_emails/raw_email_incorrect_header.eml Message-ID": "junk line repaired, later fields kept",
	// RFC 2822 appendix A.6.3 (obsolete white space before the colon,
	// "From  :"), which RFC 5322 section 4.5 says must be accepted; CPython
	// rejects the first line and sees no header.
	"messages/ruby-mail/rfc2822/example13.eml Subject":    "obsolete WSP before colon accepted (RFC 5322 section 4.5)",
	"messages/ruby-mail/rfc2822/example13.eml From":       "obsolete WSP before colon accepted (RFC 5322 section 4.5)",
	"messages/ruby-mail/rfc2822/example13.eml To":         "obsolete WSP before colon accepted; the fixture's literal \"__\" line is kept as text",
	"messages/ruby-mail/rfc2822/example13.eml Date":       "obsolete WSP before colon accepted (RFC 5322 section 4.5)",
	"messages/ruby-mail/rfc2822/example13.eml Message-ID": "obsolete WSP before colon accepted; obsolete msg-id made canonical",
	// "jang.abcdef@xyzlinu <jang.abcdef@xyzlinux12345678.it>": a display
	// name with an unquoted "@" before an angle address; the mailbox is the
	// one in brackets. CPython takes the display name for the address.
	"messages/mimekit/messages/issue358.txt From":                           "the address is the one in angle brackets",
	"messages/ruby-mail/plain_emails/raw_email_with_at_display_name.eml To": "the address is the one in angle brackets",
	// The second entry is only encoded words (a display name with no
	// address at all); CPython makes an address "date" out of its text.
	"messages/mimekit/messages/stack-overflow.txt To": "an entry without an address is not a mailbox",
	// Four adjacent encoded words; RFC 2047 section 6.2 says the white space
	// between them is not displayed. CPython keeps it in display names.
	"messages/ruby-mail/error_emails/bad_subject.eml From": "white space between encoded words dropped (RFC 2047 section 6.2)",
	// "<Undisclosed-Recipient:@mailman.enron.com;>" is a mangled group, not
	// a mailbox; CPython reports "Undisclosed-Recipient" as an address.
	"messages/ruby-mail/error_emails/missing_body.eml To": "mangled group in brackets has no mailbox",
	// "Big Bug bb@bug.com": an unquoted display name before an addr-spec.
	// CPython builds the local part "Big Bug bb", which is not what the
	// sender meant nor a deliverable address.
	"messages/ruby-mail/plain_emails/mix_caps_content_type.eml From": "display name before a bare addr-spec",
	// "tim@powerupdev.com concierge@powerupdev.com": two addr-specs with a
	// space for a comma. CPython keeps the first; Herald keeps both.
	"messages/ruby-mail/plain_emails/raw_email_multiple_from.eml From": "space-separated addr-specs: both kept",
	"messages/ruby-mail/plain_emails/raw_email_multiple_from.eml To":   "space-separated addr-specs: both kept",
	// "<d3b8cf8e49f0448085@0c28713a1@f473e@37signals.com>" has three "@", so
	// it is no msg-id: Herald reports the syntax error and keeps the value
	// whole; CPython cuts it at the second "@".
	"messages/ruby-mail/plain_emails/raw_email_double_at_in_header.eml Message-ID": "invalid msg-id kept whole, not truncated",
	// The first encoded word has a stray "=" (base64 padding where none
	// belongs); CPython gives up and shows the raw words, Herald decodes the
	// ISO-2022-JP text (which itself ends in an encoded newline).
	"dsn/sisimai/bsd/lhost-exchange2007-04.eml Subject": "ISO-2022-JP words decoded despite stray padding",
}

// strictRejects lists the corpus messages strict mode must refuse, with
// the category and why; every other corpus message must pass strict mode.
var strictRejects = map[string]error{
	"messages/cpython-test_email/msg_19.txt":                                   ErrMalformedHeader, // no header: body text from line 1
	"messages/cpython-test_email/msg_35.txt":                                   ErrMalformedHeader, // no blank line before the body
	"messages/go-stdlib/nested-mime.eml":                                       ErrMalformedHeader, // a multipart body without header
	"messages/mimekit/mbox/unmunged.mbox.txt":                                  ErrMalformedHeader, // byte order mark before "From -"
	"messages/mimekit/messages/feedback-report.txt":                            ErrMalformedHeader, // byte order mark
	"dsn/mimekit/feedback-report.txt":                                          ErrMalformedHeader, // byte order mark
	"messages/mimekit/messages/issue358.txt":                                   ErrMalformedHeader, // a folded line lost its leading space
	"messages/ruby-mail/error_emails/multiple_references_with_one_invalid.eml": ErrMalformedHeader, // same
	"messages/ruby-mail/plain_emails/raw_email_incorrect_header.eml":           ErrMalformedHeader, // "quite Delivered-To:" has a space in the name
	"messages/ruby-mail/rfc2822/example13.eml":                                 ErrMalformedHeader, // the fixture's literal "__" line
	"messages/ruby-mail/error_emails/invalid_subject_characters.eml":           ErrMalformedHeader, // raw Latin-1 in the Subject
	"dsn/sisimai/bsd/lhost-gmx-02.eml":                                         ErrLineTooLong,     // a 1242-octet line
	"dsn/sisimai/bsd/lhost-gmx-04.eml":                                         ErrLineTooLong,     // a 1242-octet line
}

func TestCorpusStrict(t *testing.T) {
	t.Parallel()
	for _, name := range append(corpusFiles(t, "messages"), corpusFiles(t, "dsn")...) {
		raw, err := os.ReadFile(filepath.Join("../testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ReadMessage(bytes.NewReader(raw), &ReadOptions{Mode: Strict})
		want := strictRejects[name]
		if want == nil && err != nil {
			t.Errorf("%s: strict read: %v", name, err)
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%s: strict read error = %v, want %v", name, err, want)
		}
	}
}
