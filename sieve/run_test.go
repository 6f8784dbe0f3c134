package sieve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runOn(t *testing.T, s *Script, raw string, env Envelope, e *Env) *Result {
	t.Helper()
	res, err := Run(context.Background(), s, newMessage(t, []byte(raw), env), e)
	require.NoError(t, err)
	return res
}

const plain = "From: Jane <jane@example.com>\r\nTo: me@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Jane\r\nMessage-ID: <1@example.com>\r\n\r\nHello there.\r\n"

func TestRuntimeErrorKeeps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		cat       error
	}{
		{"mailbox traversal", `require ["fileinto","variables"]; set "m" "a/../../etc"; fileinto "${m}";`, ErrRuntime},
		{"absolute mailbox", `require ["fileinto","variables"]; set "m" "/etc/passwd"; redirect "x@y.z"; fileinto "${m}";`, ErrRuntime},
		{"control character", `require ["fileinto","variables","encoded-character"]; set "m" "a${hex:0a}b"; fileinto "${m}";`, ErrRuntime},
		{"bad redirect", `require "variables"; set "a" "nobody"; redirect "${a}";`, ErrRuntime},
		{"too many redirects", `redirect "a@x.y"; redirect "b@x.y"; redirect "c@x.y"; redirect "d@x.y"; redirect "e@x.y";`, ErrLimit},
		{"reject conflicts", `require ["reject"]; keep; reject "no";`, ErrRuntime},
		{"two vacations", `require ["vacation"]; vacation :handle "a" "x"; vacation :handle "b" "y";`, ErrRuntime},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, c.src)
			res, err := Run(context.Background(), s, newMessage(t, []byte(plain), Envelope{From: "jane@example.com", To: "me@example.org"}), nil)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.cat), "%v", err)
			assert.Equal(t, []Action{Keep{Implicit: true}}, res.Actions)
			var e *Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, 1, e.Line)
		})
	}
}

func TestActionLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`require "fileinto";`)
	for i := 0; i < 40; i++ {
		b.WriteString(`fileinto "F` + itoa(i) + `";`)
	}
	s := mustParse(t, b.String())
	res, err := Run(context.Background(), s, newMessage(t, []byte(plain), Envelope{}), nil)
	assert.ErrorIs(t, err, ErrLimit)
	assert.Equal(t, []Action{Keep{Implicit: true}}, res.Actions)
}

func TestValidMailbox(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"INBOX", "Work", "Lists/Go", "INBOX.harassment", "Grüße", "a b", "From N-Z"} {
		assert.NoError(t, ValidMailbox(ok), ok)
	}
	for _, bad := range []string{"", "..", "../x", "a/../b", "a..b", "/etc", ".hidden", "a//b", "a/", "a/./b", "a\\b", "a\x00b", "a\nb", "a\x7fb", "\xff", strings.Repeat("x", 256)} {
		assert.Error(t, ValidMailbox(bad), "%q", bad)
	}
}

func TestEncodedWordsAndAddresses(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `require "fileinto";
if header :contains "subject" "Grüße" { fileinto "Decoded"; }
if header :contains "subject" "=?UTF-8?" { fileinto "Raw"; }
if address :localpart :is "from" "JANE" { fileinto "Local"; }
if address :domain :is "to" "example.org" { fileinto "Domain"; }
if address :all :is "from" "jane@example.com" { fileinto "All"; }`)
	res := runOn(t, s, plain, Envelope{}, nil)
	assert.Equal(t, []string{"fileinto Decoded", "fileinto Local", "fileinto Domain", "fileinto All"}, summary(res, nil))
}

func TestMatchVariables(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `require ["variables", "fileinto"];
if header :matches "from" "* <*@*>" { set "who" "${1}/${2}/${3}/${0}"; }
if header :matches "subject" "no match *" { set "who" "changed"; }
fileinto "${who}";`)
	res := runOn(t, s, plain, Envelope{}, nil)
	assert.Equal(t, []string{"fileinto Jane/jane/example.com/Jane <jane@example.com>"}, summary(res, nil))
}

// TestSetModifiers checks the table of RFC 5229 section 4.1.
func TestSetModifiers(t *testing.T) {
	t.Parallel()
	cases := []struct{ mods, in, want string }{
		{"", "juMBlEd lETteRS", "juMBlEd lETteRS"},
		{":length", "juMBlEd lETteRS", "15"},
		{":lower", "juMBlEd lETteRS", "jumbled letters"},
		{":upperfirst", "juMBlEd lETteRS", "JuMBlEd lETteRS"},
		{":upperfirst :lower", "juMBlEd lETteRS", "Jumbled letters"},
		{":quotewildcard", "Rock*", "Rock\\*"},
		{":length :quotewildcard", "a*?", "5"},
		{":upper", "grüße", "GRÜßE"},
		{":length", "grüße", "5"},
	}
	for _, c := range cases {
		s := mustParse(t, `require ["variables", "reject"]; set `+c.mods+` "b" "`+c.in+`"; reject "${b}";`)
		res := runOn(t, s, plain, Envelope{}, nil)
		assert.Equal(t, Reject{Reason: c.want}, res.Actions[0], "set %s %q", c.mods, c.in)
	}
}

func TestVariableLimits(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(`require ["variables", "reject"];
set "a" "0123456789";
set "a" "${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}";
set "a" "${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}";
reject "${a}";`), &Options{Limits: Limits{MaxVariableBytes: 500}})
	require.NoError(t, err)
	res := runOn(t, s, plain, Envelope{}, nil)
	assert.Len(t, res.Actions[0].(Reject).Reason, 500)

	s, err = Parse([]byte(`require ["variables"]; set "a" "x"; set "b" "y"; set "c" "z";`), &Options{Limits: Limits{MaxVariables: 2}})
	require.NoError(t, err)
	_, err = Run(context.Background(), s, newMessage(t, []byte(plain), Envelope{}), nil)
	assert.ErrorIs(t, err, ErrLimit)
}

func TestImplicitKeepAndFlags(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `require ["imap4flags", "fileinto", "copy"];
setflag "\\Seen"; addflag "$Work \\seen"; fileinto :copy "Archive"; removeflag "$work";`)
	res := runOn(t, s, plain, Envelope{}, nil)
	assert.Equal(t, []Action{
		FileInto{Mailbox: "Archive", Flags: []string{"\\Seen", "$Work"}, Copy: true},
		Keep{Flags: []string{"\\Seen"}, Implicit: true},
	}, res.Actions)
}

func TestVacationMemory(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `require "vacation"; vacation :days 2 :from "Me <me@example.org>" "Away until Monday.";`)
	store := &MemoryVacationStore{}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	env := &Env{Vacation: store, Now: now, Hostname: "mx.example.org"}
	res := runOn(t, s, plain, Envelope{From: "jane@example.com", To: "me@example.org"}, env)
	require.Len(t, res.Actions, 2)
	v := res.Actions[0].(Vacation)
	assert.Equal(t, "jane@example.com", v.To)
	assert.Equal(t, "Auto: Grüße from Jane", v.Subject)
	msg := string(v.Message)
	for _, want := range []string{"From: Me <me@example.org>\r\n", "To: jane@example.com\r\n", "Subject: =?utf-8?q?Auto:", "In-Reply-To: <1@example.com>\r\n", "References: <1@example.com>\r\n", "Auto-Submitted: auto-replied", "@mx.example.org>\r\n", "\r\n\r\nAway until Monday."} {
		assert.Contains(t, msg, want)
	}
	// The caller sends it and records it: no second reply for two days.
	require.NoError(t, store.Record(context.Background(), v.Key, now))
	env.Now = now.Add(47 * time.Hour)
	res = runOn(t, s, plain, Envelope{From: "jane@example.com", To: "me@example.org"}, env)
	assert.Equal(t, []string{"keep"}, summary(res, nil))
	env.Now = now.Add(49 * time.Hour)
	res = runOn(t, s, plain, Envelope{From: "jane@example.com", To: "me@example.org"}, env)
	assert.Equal(t, []string{"vacation", "keep"}, summary(res, nil))
}

func TestVacationNeverAnswersAutomaticMail(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `require "vacation"; vacation "Away.";`)
	to := Envelope{From: "jane@example.com", To: "me@example.org"}
	for name, c := range map[string]struct {
		extra string
		env   Envelope
	}{
		"List-Id":          {"List-Id: <go.example.org>\r\n", to},
		"List-Unsubscribe": {"List-Unsubscribe: <mailto:x@example.org>\r\n", to},
		"Precedence list":  {"Precedence: list\r\n", to},
		"Precedence junk":  {"Precedence: JUNK\r\n", to},
		"Auto-Submitted":   {"Auto-Submitted: auto-replied\r\n", to},
		"null sender":      {"", Envelope{To: "me@example.org"}},
		"MAILER-DAEMON":    {"", Envelope{From: "MAILER-DAEMON@example.com", To: "me@example.org"}},
		"owner-":           {"", Envelope{From: "owner-golang@example.com", To: "me@example.org"}},
		"-request":         {"", Envelope{From: "golang-request@example.com", To: "me@example.org"}},
		"not to me":        {"", Envelope{From: "jane@example.com", To: "other@example.org"}},
		"from me":          {"", Envelope{From: "me@example.org", To: "me@example.org"}},
	} {
		res := runOn(t, s, c.extra+plain, c.env, nil)
		assert.Equal(t, []string{"keep"}, summary(res, nil), name)
	}
	// Bcc is a message to me, and so is my second address.
	res := runOn(t, s, strings.Replace(plain, "To: me@example.org", "To: list@example.net\r\nBcc: me2@example.org", 1), Envelope{From: "jane@example.com", To: "me@example.org"}, &Env{Addresses: []string{"me2@example.org"}})
	assert.Equal(t, []string{"vacation", "keep"}, summary(res, nil))
}

func TestBodyBounded(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(`require "body"; if body :raw :contains "needle" { discard; }`), &Options{Limits: Limits{MaxBodyBytes: 1000}})
	require.NoError(t, err)
	far := plain + strings.Repeat("x", 2000) + "needle\r\n"
	assert.Equal(t, []string{"keep"}, summary(runOn(t, s, far, Envelope{}, nil), nil))
	near := plain + "needle\r\n"
	assert.Equal(t, []string{"discard"}, summary(runOn(t, s, near, Envelope{}, nil), nil))
}

func TestHeaderFieldLimit(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(`if header :is "x-late" "1" { discard; }`), &Options{Limits: Limits{MaxHeaderFields: 10}})
	require.NoError(t, err)
	msg := strings.Repeat("X-Pad: p\r\n", 20) + "X-Late: 1\r\n" + plain
	assert.Equal(t, []string{"keep"}, summary(runOn(t, s, msg, Envelope{}, nil), nil))
	msg = "X-Late: 1\r\n" + plain
	assert.Equal(t, []string{"discard"}, summary(runOn(t, s, msg, Envelope{}, nil), nil))
}

func TestEditheaderKeepsRawBytes(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `require ["editheader"]; deleteheader "x-drop"; addheader :last "X-Gruesse" "Grüße";`)
	msg := "Subject: folded\r\n  over two lines\r\nX-Drop: a\r\nX-Keep:   spaced  \r\n" + plain
	res := runOn(t, s, msg, Envelope{}, nil)
	require.NotNil(t, res.Header)
	out := res.Header.String()
	assert.True(t, strings.HasPrefix(out, "Subject: folded\r\n  over two lines\r\nX-Keep:   spaced  \r\n"), out)
	assert.NotContains(t, out, "X-Drop")
	assert.Contains(t, out, "X-Gruesse: =?utf-8?")
	// The message's own header is not changed.
	s2 := mustParse(t, `require ["editheader"]; addheader "X-New" "1";`)
	m := newMessage(t, []byte(plain), Envelope{})
	_, err := Run(context.Background(), s2, m, nil)
	require.NoError(t, err)
	assert.False(t, m.Header.Has("X-New"))
}

// TestEditheaderProtected: Received and Auto-Submitted cannot be deleted
// (RFC 5293 section 6, as Pigeonhole always forbids it), whatever the
// case of the name, also through a variable, with :index or a pattern;
// adding them is allowed (as in Pigeonhole by default) and other fields
// can be deleted.
func TestEditheaderProtected(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `require ["editheader", "variables"]; set "n" "RECEIVED";
deleteheader "received"; deleteheader "Auto-Submitted"; deleteheader "${n}";
deleteheader :index 1 "Received"; deleteheader :contains "received" "from";
deleteheader "X-Drop"; addheader :last "Auto-Submitted" "auto-generated";`)
	msg := "Received: from a by b; Tue, 27 Feb 2007 09:00:00 -0500\r\nAuto-Submitted: no\r\nX-Drop: 1\r\n" + plain
	res := runOn(t, s, msg, Envelope{}, nil)
	require.NotNil(t, res.Header)
	assert.Equal(t, []string{"from a by b; Tue, 27 Feb 2007 09:00:00 -0500"}, res.Header.Values("Received"))
	assert.Equal(t, []string{"no", "auto-generated"}, res.Header.Values("Auto-Submitted"))
	assert.False(t, res.Header.Has("X-Drop"))
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `keep;`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, s, newMessage(t, []byte(plain), Envelope{}), nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []Action{Keep{Implicit: true}}, res.Actions)
}

func TestComparisonLimit(t *testing.T) {
	t.Parallel()
	keys := strings.Repeat(`"k", `, 999) + `"k"`
	s, err := Parse([]byte(`if header :is ["x-a", "x-b"] [`+keys+`] { discard; }`), &Options{Limits: Limits{MaxComparisons: 1500}})
	require.NoError(t, err)
	msg := "X-A: 1\r\nX-B: 2\r\n" + plain
	_, err = Run(context.Background(), s, newMessage(t, []byte(msg), Envelope{}), nil)
	assert.ErrorIs(t, err, ErrLimit)
	msg = "X-A: 1\r\n" + plain
	res, err := Run(context.Background(), s, newMessage(t, []byte(msg), Envelope{}), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"keep"}, summary(res, nil))
}

func TestMemoryVacationStoreBounded(t *testing.T) {
	ctx := context.Background()
	s := &MemoryVacationStore{Max: 100}
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		s.Record(ctx, VacationKey{Sender: fmt.Sprintf("s%d@example.com", i)}, base.Add(time.Duration(i)*time.Minute))
	}
	if n := len(s.m); n > 100 {
		t.Fatalf("%d entries held, want at most 100", n)
	}
	// The newest are remembered, the oldest forgotten.
	if _, ok, _ := s.LastReply(ctx, VacationKey{Sender: "s999@example.com"}); !ok {
		t.Error("the newest reply was forgotten")
	}
	if _, ok, _ := s.LastReply(ctx, VacationKey{Sender: "s0@example.com"}); ok {
		t.Error("the oldest reply is still held")
	}
	// Equal times still shrink.
	s = &MemoryVacationStore{Max: 10}
	for i := range 50 {
		s.Record(ctx, VacationKey{Sender: fmt.Sprint(i)}, base)
	}
	if n := len(s.m); n > 10 {
		t.Fatalf("%d entries with equal times, want at most 10", n)
	}
}
