package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/message"
)

func TestPolicyParseRateLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want rateLimit
		err  bool
	}{
		{"50/h", rateLimit{50, time.Hour}, false},
		{"3/m", rateLimit{3, time.Minute}, false},
		{"100/d", rateLimit{100, 24 * time.Hour}, false},
		{"10/30m", rateLimit{10, 30 * time.Minute}, false},
		{"off", rateLimit{}, false},
		{"0", rateLimit{}, false},
		{"50", rateLimit{}, true},
		{"-1/h", rateLimit{}, true},
		{"5/fortnight", rateLimit{}, true},
	} {
		got, err := parseRateLimit(tc.in)
		if tc.err {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	require.Equal(t, "50/h", rateLimit{50, time.Hour}.String())
	require.Equal(t, "10/30m0s", rateLimit{10, 30 * time.Minute}.String())
}

func TestPolicyParseDNSLists(t *testing.T) {
	t.Parallel()
	lists, err := parseDNSLists("zen.example=127.0.0.2-127.0.0.11;127.0.0.20, PBL.Example. ,cidr.example=127.0.1.0/30")
	require.NoError(t, err)
	require.Len(t, lists, 3)
	require.Equal(t, "zen.example", lists[0].zone)
	require.Equal(t, "pbl.example", lists[1].zone)
	a := netip.MustParseAddr
	require.True(t, lists[0].lists(a("127.0.0.2")))
	require.True(t, lists[0].lists(a("127.0.0.11")))
	require.True(t, lists[0].lists(a("127.0.0.20")))
	require.False(t, lists[0].lists(a("127.0.0.12")))
	require.True(t, lists[1].lists(a("127.0.0.99")), "no codes: any listing counts")
	require.True(t, lists[2].lists(a("127.0.1.3")))
	require.False(t, lists[2].lists(a("127.0.1.4")))
	for _, bad := range []string{"zen.example=127.0.0.9-127.0.0.2", "zen.example=nope", "=127.0.0.2", "a b.example"} {
		_, err := parseDNSLists(bad)
		require.Error(t, err, bad)
	}
}

func TestPolicyRateLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	r := newRateLimiter(rateLimit{Max: 3, Window: time.Hour})
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		ok, sent := r.allow("alice@example.test", t0.Add(time.Duration(i)*time.Minute))
		require.True(t, ok)
		require.Equal(t, i, sent)
		r.add("alice@example.test", t0.Add(time.Duration(i)*time.Minute))
	}
	ok, sent := r.allow("alice@example.test", t0.Add(10*time.Minute))
	require.False(t, ok)
	require.Equal(t, 3, sent)
	require.Equal(t, 50*time.Minute, r.retryAfter("alice@example.test", t0.Add(10*time.Minute)))
	ok, _ = r.allow("bob@example.test", t0.Add(10*time.Minute))
	require.True(t, ok, "the limit is per user")
	// The first message leaves the window an hour after it was sent.
	ok, sent = r.allow("alice@example.test", t0.Add(time.Hour+time.Second))
	require.True(t, ok)
	require.Equal(t, 2, sent)
	ok, _ = r.allow("alice@example.test", t0.Add(3*time.Hour))
	require.True(t, ok)
	require.Empty(t, r.users, "users without messages in the window are forgotten")
}

func TestPolicyJunkRulesParse(t *testing.T) {
	t.Parallel()
	rules, err := parseJunkRules(strings.NewReader(defaultJunkRules))
	require.NoError(t, err)
	require.Equal(t, 5.0, rules.threshold)
	require.NotEmpty(t, rules.rules)

	rules, err = parseJunkRules(strings.NewReader("threshold 4.5\nsubject 3 Free  Money\nbody -1 unsubscribe\nspf 2 softfail\n"))
	require.NoError(t, err)
	require.Equal(t, 4.5, rules.threshold)
	require.Equal(t, "free money", rules.rules[0].phrase)
	require.Equal(t, -1.0, rules.rules[1].score)

	for _, bad := range []string{"subject 3", "threshold x", "spf 2 great", "link-mismatch 2 extra", "frobnicate 1 x", "body"} {
		_, err := parseJunkRules(strings.NewReader(bad + "\n"))
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "line 1", bad)
	}
}

func scanString(t *testing.T, msg string) *scan {
	t.Helper()
	h, body, err := message.ReadHeader(strings.NewReader(msg), nil)
	require.NoError(t, err)
	var hb bytes.Buffer
	h.WriteTo(&hb)
	var b bytes.Buffer
	b.ReadFrom(body)
	return scanMessage(h, hb.Bytes(), b.Bytes())
}

func TestPolicyJunkScan(t *testing.T) {
	t.Parallel()
	plain := scanString(t, "Subject: =?utf-8?q?You_have_WON?=\r\n\r\nClaim your unclaimed   prize at http://192.0.2.7/claim now.\r\n")
	require.Equal(t, "you have won", plain.subject)
	require.Contains(t, plain.text, "unclaimed prize")
	require.True(t, plain.ipLink)
	require.False(t, plain.mismatched)

	// Quoted-printable HTML in a multipart: the link text shows one
	// domain, the href goes to another.
	phish := scanString(t, "Subject: account\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"+
		"--b\r\nContent-Type: text/plain\r\n\r\nSee your bank.\r\n"+
		"--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"+
		"<p>Log in at <a href=3D\"https://login.attacker.example/bank\">www.bank.example</a></p>\r\n--b--\r\n")
	require.True(t, phish.mismatched)
	require.False(t, phish.ipLink)
	require.Contains(t, phish.text, "log in at www.bank.example")

	honest := scanString(t, "Content-Type: text/html\r\n\r\n<a href=\"https://www.bank.example/login\">bank.example</a> <a href=\"https://x.example/\">click here</a> see https://bank.example/\r\n")
	require.False(t, honest.mismatched, "same site, and a text that is not a domain")
	require.False(t, honest.ipLink)

	rules, err := parseJunkRules(strings.NewReader("threshold 5\nsubject 3 you have won\nbody 1 prize\nip-link 2\nlink-mismatch 4\nspf 1 softfail\n"))
	require.NoError(t, err)
	v := rules.score(plain, junkInputs{spf: "pass"})
	require.True(t, v.spam)
	require.Equal(t, 6.0, v.score)
	require.Equal(t, "yes score=6.0 threshold=5.0 rules=subject:2,body:3,ip-link:4", v.header(rules.threshold))
	v = rules.score(phish, junkInputs{spf: "softfail"})
	require.True(t, v.spam)
	require.Equal(t, 5.0, v.score)
	v = rules.score(honest, junkInputs{spf: "softfail"})
	require.False(t, v.spam)
	require.Equal(t, "no score=1.0 threshold=5.0 rules=spf:6", v.header(rules.threshold))
}

func TestPolicyMetricsFormat(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	m.inc("dnsbl", "listed")
	m.inc("dnsbl", "listed")
	m.inc("spf", "fail")
	m.inc("dnsbl", "clean")
	m.inc(`we"ird`, "a\\b\n")
	var b strings.Builder
	require.NoError(t, m.writeTo(&b))
	require.Equal(t, `# HELP herald_smtp_policy_total Decisions of the SMTP policy checks, by check and result.
# TYPE herald_smtp_policy_total counter
herald_smtp_policy_total{check="dnsbl",result="clean"} 1
herald_smtp_policy_total{check="dnsbl",result="listed"} 2
herald_smtp_policy_total{check="spf",result="fail"} 1
herald_smtp_policy_total{check="we\"ird",result="a\\b\n"} 1
`, b.String())
}
