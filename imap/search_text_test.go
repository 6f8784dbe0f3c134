package imap_test

import (
	"strings"
	"testing"
	"time"
)

const msgReport = "From: mailer-daemon@example.org\r\nX-Mailer: Bouncer 1.0\r\n" +
	"Subject: =?utf-8?q?Undelivered_mail?=\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n" +
	"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
	"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; bob@example.net\r\n" +
	"--r\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0d29yZA==\r\n" +
	"--r--\r\n"

// TestSearchTextHeadersAndParts checks SEARCH TEXT and BODY (RFC 9051
// section 6.4.4) as Dovecot answers them: TEXT looks at the header fields
// of every entity, names included and encoded words decoded, and both look
// at message/* parts such as a delivery status; binary parts are not
// searched.
func TestSearchTextHeadersAndParts(t *testing.T) {
	be, u := newFixture(t)
	if _, err := u.Deliver("INBOX", []byte(msgReport), nil, testDate); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, testServer(be))
	cl.do("a", "LOGIN alice secret")
	cl.do("b", "SELECT INBOX")
	for _, tc := range []struct {
		key  string
		want string
	}{
		{`TEXT "x-mailer"`, "* SEARCH 4"},
		{`TEXT "content-disposition: attachment"`, "* SEARCH 2 4"},
		{`TEXT "subject: undelivered mail"`, "* SEARCH 4"},
		{`TEXT "=?utf-8"`, "* SEARCH"},
		{`TEXT "reporting-mta"`, "* SEARCH 4"},
		{`BODY "final-recipient"`, "* SEARCH 4"},
		{`BODY "x-mailer"`, "* SEARCH"},
		{`TEXT "secretword"`, "* SEARCH"},
		{`TEXT "could not be delivered"`, "* SEARCH 4"},
	} {
		lines := cl.do("s", "SEARCH "+tc.key)
		if lines[0] != tc.want {
			t.Errorf("SEARCH %s: %q, want %q", tc.key, lines[0], tc.want)
		}
	}
}

// TestSearchWithin checks WITHIN (RFC 5032): OLDER and YOUNGER compare the
// age of the INTERNALDATE, in seconds, with the interval; 0 is BAD.
func TestSearchWithin(t *testing.T) {
	be, u := newFixture(t)
	if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, time.Now().Add(-30*time.Second)); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, testServer(be))
	if !strings.Contains(cl.do("c", "CAPABILITY")[0], " WITHIN ") {
		t.Fatal("WITHIN not offered")
	}
	cl.do("a", "LOGIN alice secret")
	cl.do("b", "SELECT INBOX")
	for key, want := range map[string]string{
		"YOUNGER 3600":        "* SEARCH 4",
		"OLDER 3600":          "* SEARCH 1 2 3",
		"YOUNGER 10":          "* SEARCH",
		"OLDER 10":            "* SEARCH 1 2 3 4",
		"NOT OLDER 3600 SEEN": "* SEARCH",
		"OR YOUNGER 60 SEEN":  "* SEARCH 1 4",
		"YOUNGER 0":           "s BAD",
	} {
		if got := cl.do("s", "SEARCH "+key); !strings.HasPrefix(got[0], want) || want == "* SEARCH" && got[0] != want {
			t.Errorf("SEARCH %s: %q, want %q", key, got[0], want)
		}
	}
}
