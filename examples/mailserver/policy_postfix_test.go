package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/internal/postfixtest"
)

// TestPolicyGreylistPostfix: a real Postfix (a private instance with its
// own queue, relaying to the MX port) is deferred once with 451 4.7.1 by
// greylisting and delivers on its own retry after -greylist-delay; the
// message arrives once with X-Greylist. The triplet is then known and passes
// at once, and a client in -relay-networks is never greylisted.
func TestPolicyGreylistPostfix(t *testing.T) {
	in := newInstance(t, nil, "-greylist", "-greylist-delay", "2s", "-relay-networks", "127.0.0.4")
	in.start()
	in.addUser("alice@example.test", alicePW)
	pf := postfixtest.Start(t, in.addr["smtp"])
	pf.Send("someone@remote.test", "alice@example.test",
		"From: someone@remote.test\nTo: alice@example.test\nSubject: greylisted\nMessage-ID: <grey-1@remote.test>\n\nHello through the greylist.\n")
	require.True(t, pf.WaitEmpty(60*time.Second), "Postfix did not deliver within 60 s\nmaillog:\n%s\nserver log:\n%s", pf.Maillog(), in.log.String())
	msgs := in.waitInbox("alice@example.test", 1, 10*time.Second)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "Subject: greylisted")
	require.Regexp(t, `X-Greylist: delayed [0-9]+ seconds by Herald greylist at\s+mx.example.test;`, msgs[0])
	log := pf.Maillog()
	require.Contains(t, log, "said: 451 4.7.1 Greylisted, please retry in 2 seconds", log)
	require.Equal(t, 1, strings.Count(log, "status=sent"), log)
	in.waitLog(`check=greylist result=defer action=defer reason="new: someone@remote.test from 127.0.0.0/24 to alice@example.test"`)
	in.waitLog(`check=greylist result=pass action=accept reason="retried: someone@remote.test`)

	// The triplet passed: its next message is not delayed.
	_, rcpt, data := dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "Subject: again\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	in.waitLog(`check=greylist result=pass action=accept reason="known: someone@remote.test`)
	// A new triplet is deferred, unless the client is in -relay-networks.
	_, rcpt, _ = dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "other@remote.test", "alice@example.test", "Subject: new\n\nHello.")
	require.Regexp(t, `^451 4.7.1 Greylisted, please retry in 2 seconds`, rcpt)
	_, rcpt, data = dialFrom(t, "127.0.0.4", in.addr["smtp"]).sendMX("client.test", "third@remote.test", "alice@example.test", "Subject: trusted\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	msgs = in.waitInbox("alice@example.test", 3, 10*time.Second)
	for _, m := range msgs {
		if strings.Contains(m, "Subject: trusted") {
			require.NotContains(t, m, "X-Herald-Spam", "relay-networks clients skip the policy")
			require.NotContains(t, m, "Received-SPF")
		}
	}
	m := scrape(t, in)
	require.GreaterOrEqual(t, m[policyMetric("greylist", "defer")], 2.0)
	require.Equal(t, 2.0, m[policyMetric("greylist", "pass")])
	in.stop()
}

// TestPolicyGreylistSurvivesRestart: the in-memory greylist is saved at
// shutdown and loaded at start, so a retry after a restart passes as a
// retry instead of being deferred as new.
func TestPolicyGreylistSurvivesRestart(t *testing.T) {
	in := newInstance(t, nil, "-greylist", "-greylist-delay", "1s")
	in.start()
	in.addUser("alice@example.test", alicePW)
	_, rcpt, _ := dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "")
	require.Regexp(t, `^451 4.7.1 Greylisted`, rcpt)
	in.stop()
	_, err := os.Stat(filepath.Join(in.dir, "greylist.snapshot"))
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)
	in.start()
	_, rcpt, data := dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "Subject: after restart\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	in.waitLog(`check=greylist result=pass action=accept reason="retried: someone@remote.test`)
	in.stop()
}
