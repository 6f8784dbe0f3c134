package imap

import (
	"bytes"
	"strings"
	"testing"
)

// TestEnvelopeAsWritten checks the ENVELOPE address lists against what
// Dovecot sends for the same header (each case taken from the corpus
// comparison of TestDovecotOracle): a comment is the display name of an
// address without one, names pass as written (encoded words and 8-bit
// bytes), the source route is kept, malformed addresses get Dovecot's
// placeholders, and fields keep their white space as Dovecot does.
func TestEnvelopeAsWritten(t *testing.T) {
	for _, tc := range []struct{ name, hdr, want string }{
		{"comment name", "From: bbb@ddd.com (John X. Doe)\r\n",
			`(NIL NIL (("John X. Doe" NIL "bbb" "ddd.com")) (("John X. Doe" NIL "bbb" "ddd.com")) (("John X. Doe" NIL "bbb" "ddd.com")) NIL NIL NIL NIL NIL)`},
		{"encoded word as written", "From: =?iso-8859-1?Q?J=F8rn_St=F8ylen?= <jorn@example.no>\r\n",
			`(NIL NIL (("=?iso-8859-1?Q?J=F8rn_St=F8ylen?=" NIL "jorn" "example.no")) (("=?iso-8859-1?Q?J=F8rn_St=F8ylen?=" NIL "jorn" "example.no")) (("=?iso-8859-1?Q?J=F8rn_St=F8ylen?=" NIL "jorn" "example.no")) NIL NIL NIL NIL NIL)`},
		{"8-bit name", "To: J\xc3\xb6hn  Doe <j@example.org>\r\n",
			"(NIL NIL NIL NIL NIL ((\"J\xc3\xb6hn Doe\" NIL \"j\" \"example.org\")) NIL NIL NIL NIL)"},
		{"route and empty member", "To: Mary Smith <@machine.tld:mary@example.net>, , jdoe@test   . example\r\n",
			`(NIL NIL NIL NIL NIL (("Mary Smith" "@machine.tld" "mary" "example.net")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "jdoe" "test.example")) NIL NIL NIL NIL)`},
		{"phrase without address", "To: Big Bug bb@bug.com\r\n",
			`(NIL NIL NIL NIL NIL (("Big Bug bb" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")) NIL NIL NIL NIL)`},
		{"broken angle address", "To: <Undisclosed-Recipient:@mailman.enron.com;>\r\n",
			`(NIL NIL NIL NIL NIL ((NIL NIL "Undisclosed-Recipient" "SYNTAX_ERROR")) NIL NIL NIL NIL)`},
		{"empty angle address", "Reply-To: \"KLAUS\" <>\r\n",
			`(NIL NIL NIL NIL (("KLAUS" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")) NIL NIL NIL NIL NIL)`},
		{"group", "To: friends: a@b.c, \"D\" <d@e.f>;, g@h.i\r\n",
			`(NIL NIL NIL NIL NIL ((NIL NIL "friends" NIL)(NIL NIL "a" "b.c")("D" NIL "d" "e.f")(NIL NIL NIL NIL)(NIL NIL "g" "h.i")) NIL NIL NIL NIL)`},
		{"fields add up", "Cc: a@b.c\r\nCC: d@e.f\r\n",
			`(NIL NIL NIL NIL NIL NIL ((NIL NIL "a" "b.c")(NIL NIL "d" "e.f")) NIL NIL NIL)`},
		{"subject for humans, last one", "Subject: first\r\nSubject:  Re: TEST\r\n \r\n\t=?x?q?a?=\r\n  =?x?q?b?= \r\n",
			`(NIL "Re: TEST =?x?q?a?= =?x?q?b?=" NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"date as written", "Date: \r\n       <HR>\r\nMessage-ID: <1@x>\r\n",
			`("       <HR>" NIL NIL NIL NIL NIL NIL NIL NIL "<1@x>")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, err := buildStructure(strings.NewReader(tc.hdr+"\r\n"), int64(len(tc.hdr)+2))
			if err != nil {
				t.Fatal(err)
			}
			got := string(appendEnvelope(nil, root.header, true))
			if got != tc.want {
				t.Errorf("\n got  %s\n want %s", got, tc.want)
			}
		})
	}
}

// FuzzEnvelope checks that any header gives a well-formed ENVELOPE list,
// in both wire forms.
func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		"From: bbb@ddd.com (John X. Doe)\r\n",
		"To: Mary Smith <@machine.tld,@b:mary@example.net>, , jdoe@test   . example\r\n",
		"To: \"test\" <test@test.com>,\r\n\t=?utf-8?Q?date=3E2017-08-20T10:08:28.617=3C/pr?=\r\n",
		"To: <Undisclosed-Recipient:@mailman.enron.com;>\r\nCc: a:b:c;;\r\n",
		"From: (unterminated \\\r\nSender: \"q\\\"x\" <\"a b\"@[1.2.3.4]>\r\n",
		"Subject: \x00\t\r\n x\r\nDate: \r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = append(data, "\r\n\r\n"...)
		root, err := buildStructure(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []bool{false, true} {
			env := appendEnvelope(nil, root.header, u)
			if !validWireList(env, u) {
				t.Fatalf("not a well-formed list: %q", env)
			}
		}
	})
}
