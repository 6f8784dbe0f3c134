package sieve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRFCExamples runs every example script of testdata/rfc on corpus
// messages and checks that it does what its RFC says.
func TestRFCExamples(t *testing.T) {
	t.Parallel()
	noon := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	mary := Envelope{From: "jdoe@machine.example", To: "mary@example.net"}
	type tc struct {
		script string
		msg    []byte
		env    Envelope
		run    *Env
		want   []string
		check  func(t *testing.T, r *Result)
	}
	ex01 := corpus(t, "ruby-mail/rfc2822-example01.eml")
	boss := corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: boss@example.com")
	reason := func(want string) func(*testing.T, *Result) {
		return func(t *testing.T, r *Result) {
			for _, a := range r.Actions {
				switch a := a.(type) {
				case Vacation:
					assert.Equal(t, want, a.Reason)
					return
				case Reject:
					assert.Equal(t, want, a.Reason)
					return
				}
			}
			t.Errorf("no vacation or reject in %v", r.Actions)
		}
	}
	vacation := func(f func(t *testing.T, v Vacation)) func(*testing.T, *Result) {
		return func(t *testing.T, r *Result) {
			for _, a := range r.Actions {
				if v, ok := a.(Vacation); ok {
					f(t, v)
					return
				}
			}
			t.Errorf("no vacation in %v", r.Actions)
		}
	}
	cases := []tc{
		{script: "rfc5228-2.3-a", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-2.3-b", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-2.4.2.4", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-2.4.2.4", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!Subject: make $$$ fast"), want: []string{"discard"}},
		{script: "rfc5228-2.5.1", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-2.5.1", msg: corpus(t, "ruby-mail/japanese_iso_2022.eml"), want: []string{"discard"}},
		{script: "rfc5228-2.5.1", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: A Fool <fool@example.com>"), want: []string{"discard"}},
		{script: "rfc5228-2.10.2", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-3.1-a", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-3.1-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: Wile E. Coyote <coyote@desert.example.org>"), want: []string{"discard"}},
		{script: "rfc5228-3.1-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!Subject: make $$$ now"), want: []string{"discard"}},
		{script: "rfc5228-3.1-b", msg: ex01, want: []string{"redirect field@example.com"}},
		{script: "rfc5228-3.1-b", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: coyote@desert.example.org"), want: []string{"redirect acm@example.com"}},
		{script: "rfc5228-3.2", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-3.2-b", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-4.1", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-4.1", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: coyote@desert.example.org"), want: []string{"fileinto INBOX.harassment"}},
		{script: "rfc5228-4.2", msg: ex01, want: []string{"redirect bart@example.com"}},
		{script: "rfc5228-4.3", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-4.3-b", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-4.4", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: The Idiot <IDIOT@example.com>"), want: []string{"discard"}},
		{script: "rfc5228-5.1", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-5.1", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: Tim <Tim@Example.COM>"), want: []string{"discard"}},
		{script: "rfc5228-5.4", msg: ex01, env: Envelope{From: "tim@example.com"}, want: []string{"discard"}},
		{script: "rfc5228-5.4", msg: ex01, env: Envelope{From: ""}, want: []string{"keep"}},
		{script: "rfc5228-5.5", msg: ex01, want: []string{"keep"}},
		{script: "rfc5228-5.5", msg: corpus(t, "ruby-mail/japanese_iso_2022.eml"), want: []string{"discard"}}, // no Date
		{script: "rfc5228-5.7", msg: ex01, want: []string{"redirect nocc@example.com"}},
		{script: "rfc5228-5.7", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "X-Caffeine: C8H10N4O2"), want: []string{"redirect contains@example.com", "redirect nocc@example.com"}},
		{script: "rfc5228-5.7", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "X-Caffeine:", "Cc:  "), want: []string{"redirect is@example.com", "redirect contains@example.com", "redirect nocc@example.com"}},
		{script: "rfc5228-5.7", msg: corpus(t, "ruby-mail/rfc2822-example03.eml"), want: []string{"keep"}},
		{script: "rfc5228-9", msg: ex01, want: []string{"fileinto spam"}},
		{script: "rfc5228-9", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Cc: me@example.com"), want: []string{"fileinto personal"}},
		{script: "rfc5228-9", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Cc: me@example.com", "!Subject: Make Money Fast!"), want: []string{"fileinto spam"}},
		{script: "rfc5228-9", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!To: me@example.com"), want: []string{"keep"}},
		{script: "rfc5228-9", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!To: Someone <someone@example.com>"), want: []string{"keep"}},
		{script: "rfc5228-9", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Sender: owner-ietf-mta-filters@imc.org"), want: []string{"fileinto filter"}},

		{script: "rfc5229-3", msg: corpus(t, "ruby-mail/rfc2822-example03.eml", "List-ID: Sieve <sieve.example.org@lists.example.org>"), want: []string{"fileinto INBOX.lists.sieve.example.org"}},
		{script: "rfc5229-3", msg: corpus(t, "ruby-mail/rfc2822-example03.eml", "Subject: [acme-users] [fwd] version 1.0 is out"), want: []string{"fileinto INBOX.lists.acme-users"}},
		{script: "rfc5229-3", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Cc: coyote@ACME.Example.COM"), want: []string{"fileinto INBOX.business.ACME.Example"}},
		{script: "rfc5229-3", msg: ex01, want: []string{"keep"}},
		{script: "rfc5229-3-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!Subject: Oh dear Ethelbert"), want: []string{"fileinto regarding ${beep}"}},
		{script: "rfc5229-3-a", msg: ex01, want: []string{"keep"}},
		{script: "rfc5229-4", msg: ex01, want: []string{"reject"}, check: reason("Dear Mr Coyote,\r\nI'm out, please leave a message after the meep.\r\n")},
		{script: "rfc5229-5", msg: ex01, want: []string{"redirect pending@example.com"}},

		{script: "rfc5230-a", msg: ex01, env: mary, want: []string{"vacation", "keep"}, check: reason("I'm out -- call me at +1 304 555 0123")},
		{script: "rfc5230-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!Subject: cyrus bug"), env: mary, want: []string{"vacation", "keep"}, check: reason("I'm out -- send mail to cyrus-bugs")},
		{script: "rfc5230-b", msg: ex01, env: mary, want: []string{"vacation", "keep"}, check: vacation(func(t *testing.T, v Vacation) {
			assert.Equal(t, "ran-away", v.Key.Handle)
			assert.Equal(t, "jdoe@machine.example", v.Key.Sender)
			assert.Equal(t, 7*24*time.Hour, v.Period)
		})},
		{script: "rfc5230-c", msg: ex01, env: mary, want: []string{"vacation", "keep"}, check: vacation(func(t *testing.T, v Vacation) {
			assert.Equal(t, 23*24*time.Hour, v.Period)
		})},
		// Sent to tjs@example.edu, one of :addresses, but To names only
		// Mary: not a message to the user (RFC 5230 section 4.5).
		{script: "rfc5230-c", msg: ex01, env: Envelope{From: "jdoe@machine.example", To: "tjs@example.edu"}, want: []string{"keep"}},
		{script: "rfc5230-c", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Cc: ts4z@landru.example.edu"), env: Envelope{From: "jdoe@machine.example", To: "tjs@example.edu"}, want: []string{"vacation", "keep"}},
		{script: "rfc5230-d", msg: ex01, env: mary, want: []string{"vacation", "keep"}, check: reason("Sorry, I'm away, I'll read your\nmessage when I get around to it.")},
		{script: "rfc5230-d", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: boss@example.edu"), env: mary, want: []string{"redirect pleeb@xanadu.example.edu"}},
		{script: "rfc5230-e", msg: ex01, env: mary, want: []string{"vacation", "keep"}, check: vacation(func(t *testing.T, v Vacation) {
			assert.True(t, v.MIME)
			s := string(v.Message)
			assert.Contains(t, s, "\r\nContent-Type: multipart/alternative; boundary=foo\r\n\r\n--foo\r\n")
			assert.Contains(t, s, "Auto-Submitted: auto-replied")
			assert.Contains(t, s, "In-Reply-To: <1234@local.machine.example>")
			assert.Contains(t, s, "To: jdoe@machine.example\r\n")
		})},
		{script: "rfc5230-f", msg: ex01, env: mary, want: []string{"vacation", "keep"}, check: vacation(func(t *testing.T, v Vacation) {
			assert.Equal(t, "Automatic response to: Saying Hello", v.Subject)
			assert.Contains(t, string(v.Message), "Subject: Automatic response to: Saying Hello\r\n")
		})},
		// RFC 5230 section 4.6 and RFC 3834: no answer to lists, daemons
		// and automatic mail.
		{script: "rfc5230-a", msg: corpus(t, "cpython/msg_02.txt"), env: Envelope{From: "ppp-request@zzz.org", To: "ppp@zzz.org"}, want: []string{"keep"}},
		{script: "rfc5230-a", msg: corpus(t, "cpython/msg_25.txt"), env: Envelope{From: "MAILER-DAEMON@zinfandel.lacita.com", To: "postmaster@zinfandel.lacita.com"}, want: []string{"keep"}},
		{script: "rfc5230-a", msg: corpus(t, "cpython/msg_25.txt"), env: Envelope{From: "", To: "postmaster@zinfandel.lacita.com"}, want: []string{"keep"}},
		{script: "rfc5230-a", msg: corpus(t, "ruby-mail/empty_in_reply_to.eml"), env: Envelope{From: "ak@g.com", To: "abuser@r.ru"}, want: []string{"keep"}},
		{script: "rfc5230-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Precedence: bulk"), env: mary, want: []string{"keep"}},
		{script: "rfc5230-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Auto-Submitted: no"), env: mary, want: []string{"vacation", "keep"}},

		{script: "rfc5231", msg: ex01, want: []string{"fileinto From A-M"}},
		{script: "rfc5231", msg: corpus(t, "ruby-mail/rfc2822-example06.eml"), want: []string{"fileinto From N-Z"}},
		{script: "rfc5231", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "X-Priority: 1 (Highest)"), want: []string{"fileinto Priority"}},
		{script: "rfc5231", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!To: a@x.test, b@x.test, c@x.test, d@x.test, e@x.test, f@x.test"), want: []string{"fileinto SPAM"}},
		{script: "rfc5231", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!To: ME@foo.example.com"), want: []string{"fileinto From A-M", "fileinto Only me"}},

		{script: "rfc5232", msg: ex01, want: []string{"fileinto spam"}},
		{script: "rfc5232", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: grandma@example.net", "!To: me@company.example.com"), want: []string{"fileinto GrandMa flags=$MDNSent \\answered", "keep flags=$MDNSent \\answered"}},
		{script: "rfc5232", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: grandma@example.net", "!To: me@company.example.org"), want: []string{"fileinto GrandMa flags=$MDNSent \\answered", "fileinto spam flags=$MDNSent \\answered"}},
		{script: "rfc5232", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: grandma@example.net", "Cc: me@company.example.com"), want: []string{"fileinto GrandMa flags=$MDNSent \\answered", "fileinto personal flags=$MDNSent \\answered"}},
		{script: "rfc5232", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "Sender: owner-ietf-mta-filters@example.org"), want: []string{"keep flags=$Work \\flagged"}},
		{script: "rfc5232-hasflag", msg: ex01, want: []string{"fileinto INBOX.From Boss flags=\\deleted", "keep flags=hello"}},

		{script: "rfc5233", msg: ex01, env: Envelope{To: "postmaster@example.com"}, want: []string{"fileinto inbox.postmaster"}},
		{script: "rfc5233", msg: ex01, env: Envelope{To: "postmaster+spam@example.com"}, want: []string{"fileinto inbox.postmaster"}},
		{script: "rfc5233", msg: ex01, env: Envelope{To: "ken+mta-filters@example.com"}, want: []string{"fileinto inbox.ietf-mta-filters"}},
		{script: "rfc5233", msg: ex01, env: Envelope{To: "ken+foo@example.com"}, want: []string{"redirect ken@example.net"}},
		{script: "rfc5233", msg: ex01, env: Envelope{To: "ken@example.com"}, want: []string{"keep"}},

		{script: "rfc3894", msg: ex01, want: []string{"fileinto Hellos", "redirect sent@example.com", "keep"}},
		{script: "rfc3894", msg: corpus(t, "ruby-mail/rfc2822-example03.eml"), want: []string{"redirect sent@example.com", "keep"}},

		{script: "rfc5173-a", msg: ex01, want: []string{"keep"}},
		{script: "rfc5173-a", msg: corpus(t, "cpython/msg_02.txt"), want: []string{"keep"}},
		{script: "rfc5173-b", msg: corpus(t, "cpython/msg_10.txt"), want: []string{"keep"}},
		{script: "rfc5173-c", msg: corpus(t, "cpython/msg_10.txt"), want: []string{"fileinto project/schedule"}},
		{script: "rfc5173-c", msg: ex01, want: []string{"keep"}},

		{script: "rfc5429-a", msg: ex01, want: []string{"keep"}},
		{script: "rfc5429-b", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: Wile <coyote@desert.example.org>"), want: []string{"reject"}, check: func(t *testing.T, r *Result) {
			assert.Equal(t, Reject{Reason: "I am not taking mail from you, and I don't\n    want your birdseed, either!", Extended: true}, r.Actions[0])
		}},

		{script: "rfc5490", msg: ex01, run: &Env{Mailboxes: mailboxes{"INBOX", "Partners"}}, want: []string{"fileinto Partners"}},
		{script: "rfc5490", msg: ex01, run: &Env{Mailboxes: mailboxes{"INBOX"}}, want: []string{"reject"}},
		{script: "rfc5490-create", msg: ex01, want: []string{"fileinto INBOX.folder"}, check: func(t *testing.T, r *Result) {
			assert.Equal(t, FileInto{Mailbox: "INBOX.folder", Create: true}, r.Actions[0])
		}},

		{script: "rfc5260-a", msg: boss, want: []string{"fileinto urgent"}},
		{script: "rfc5260-a", msg: ex01, want: []string{"keep"}},
		{script: "rfc5260-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "!From: boss@example.com", "!Date: Fri, 21 Nov 1997 17:00:00 -0600"), want: []string{"keep"}},
		{script: "rfc5260-b", msg: boss, run: &Env{Now: noon, Location: time.UTC}, want: []string{"fileinto urgent"}},
		{script: "rfc5260-b", msg: boss, run: &Env{Now: noon.Add(6 * time.Hour), Location: time.UTC}, want: []string{"keep"}},
		{script: "rfc5260-c", msg: ex01, run: &Env{Now: noon, Location: time.UTC}, want: []string{"fileinto 12-2026"}},
		{script: "rfc5260-d", msg: ex01, run: &Env{Now: noon, Location: time.UTC}, want: []string{"keep"}, check: func(t *testing.T, r *Result) {
			require.NotNil(t, r.Header)
			assert.Equal(t, "Mon, 07 Dec 2026 12:00:00 +0000", r.Header.Get("Processing-date"))
			assert.Equal(t, "Processing-date", r.Header.Field(0).Name())
		}},
		{script: "rfc5260-e", msg: ex01, env: mary, run: &Env{Now: time.Date(2007, 7, 1, 10, 0, 0, 0, time.UTC), Location: time.UTC}, want: []string{"vacation", "keep"}},
		{script: "rfc5260-e", msg: ex01, env: mary, run: &Env{Now: noon, Location: time.UTC}, want: []string{"keep"}},
		{script: "rfc5260-index", msg: corpus(t, "cpython/msg_25.txt"), want: []string{"keep"}},
		{script: "rfc5260-index", msg: corpus(t, "cpython/msg_25.txt", "Received: from a by b; Tue, 27 Feb 2007 09:00:00 -0500"), want: []string{"redirect aftercutoff@example.org"}},

		{script: "rfc5293-a", msg: ex01, want: []string{"redirect kim@home.example.com"}, check: func(t *testing.T, r *Result) {
			require.NotNil(t, r.Header)
			assert.Equal(t, "X-Sieve-Filtered", r.Header.Field(0).Name())
			assert.Equal(t, "<kim@job.example.com>", r.Header.Field(0).Value())
		}},
		{script: "rfc5293-a", msg: corpus(t, "ruby-mail/rfc2822-example01.eml", "X-Sieve-Filtered: <kim@home.example.com>"), want: []string{"keep"}},
		{script: "rfc5293-b", msg: corpus(t, "cpython/msg_25.txt"), want: []string{"keep"}, check: func(t *testing.T, r *Result) {
			require.NotNil(t, r.Header)
			assert.Len(t, r.Header.Values("Received"), 2, "Received is protected")
			assert.Equal(t, []string{"<linuxuser-admin@www.linux.org.uk>"}, r.Header.Values("To"))
			assert.Equal(t, "X-Hello", r.Header.Field(r.Header.Len()-1).Name())
			assert.Equal(t, "World", r.Header.Get("X-Hello"))
		}},

		{script: "rfc5235-a", msg: ex01, want: []string{"fileinto INBOX.unclassified"}},
		{script: "rfc5235-a", msg: ex01, run: &Env{Spam: &SpamScore{Value: 5}}, want: []string{"fileinto INBOX.spam-trap"}},
		{script: "rfc5235-a", msg: ex01, run: &Env{Spam: &SpamScore{Value: 1}}, want: []string{"keep"}},
		{script: "rfc5235-b", msg: ex01, want: []string{"fileinto INBOX.unclassified"}},
		{script: "rfc5235-b", msg: ex01, run: &Env{Spam: &SpamScore{Value: 1, Percent: 0}}, want: []string{"fileinto INBOX.not-spam"}},
		{script: "rfc5235-b", msg: ex01, run: &Env{Spam: &SpamScore{Value: 3, Percent: 20}}, want: []string{"fileinto INBOX.spam-trap"}},
		{script: "rfc5235-b", msg: ex01, run: &Env{Spam: &SpamScore{Value: 9, Percent: 90}}, want: []string{"discard"}},
	}
	files, err := filepath.Glob("testdata/rfc/*.sieve")
	require.NoError(t, err)
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.script] = true
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sieve")
		assert.True(t, covered[name], "no case runs %s", f)
	}
	for i, c := range cases {
		t.Run(c.script+"/"+itoa(i), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "rfc", c.script+".sieve"))
			require.NoError(t, err)
			s, err := Parse(src, nil)
			require.NoError(t, err)
			env := c.run
			if env == nil {
				env = &Env{Location: time.UTC}
			}
			res, err := Run(context.Background(), s, newMessage(t, c.msg, c.env), env)
			require.NoError(t, err)
			assert.Equal(t, c.want, summary(res, nil))
			if c.check != nil {
				c.check(t, res)
			}
		})
	}
}
