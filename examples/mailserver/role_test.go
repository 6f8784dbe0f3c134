package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRoleFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-role", "edge"}, `-role: "edge" is none of all, mx and mailbox`},
		{[]string{"-role", "mx"}, "-role mx needs -mailbox-lmtp"},
		{[]string{"-role", "mx", "-mailbox-lmtp", "10.0.0.5:24", "-imap", "127.0.0.1:143"}, "-imap: an MX instance (-role mx) keeps no mailboxes"},
		{[]string{"-role", "mailbox", "-smtp", "127.0.0.1:25"}, "-smtp: a mailbox instance (-role mailbox) takes mail over -lmtp"},
		{[]string{"-role", "mailbox", "-lmtp", ""}, "-role mailbox needs an -lmtp listener"},
		{[]string{"-mailbox-lmtp", "10.0.0.5:24"}, "-mailbox-lmtp is for -role mx"},
		{[]string{"-lmtp-from", "10.0.0.0/33"}, "-lmtp-from:"},
	} {
		_, _, err := parseFlags(tc.args, io.Discard)
		require.Error(t, err, "%v", tc.args)
		require.Contains(t, err.Error(), tc.err, "%v", tc.args)
	}

	c, _, err := parseFlags([]string{"-role", "mx", "-mailbox-lmtp", "10.0.0.5:24"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"", "", "", "", "", ""}, []string{c.imapAddr, c.imapsAddr, c.pop3Addr, c.pop3sAddr, c.managesieveAddr, c.lmtpAddr})
	require.NotEmpty(t, c.smtpAddr)
	require.NotEmpty(t, c.submissionAddr)

	c, _, err = parseFlags([]string{"-role", "mailbox"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, defaultLMTPAddr, c.lmtpAddr)
	require.Equal(t, []string{"", "", ""}, []string{c.smtpAddr, c.submissionAddr, c.submissionsAddr})
	require.NotEmpty(t, c.imapAddr)
}

// TestRoleSplitEdges: what the split does when its parts disagree or fail.
// A client outside -lmtp-from gets no LMTP service; a user the MX's copy
// of the database still has but the mailbox instance no longer does is
// refused at the end of the data (no bounce later), and so is a message
// the user's Sieve script erejects on the mailbox instance; while the mailbox
// instance is down the MX queues the mail and answers 250, and the queue
// hands it over once the mailbox instance is back.
func TestRoleSplitEdges(t *testing.T) {
	mailbox := newRoleInstance(t, roleMailbox, mailboxListeners, "-lmtp-from", "127.0.0.1/32", "-hostname", "mailbox.example.test")
	mailbox.start()
	mailbox.addUser("alice@example.test", alicePW)
	mx := newRoleInstance(t, roleMX, mxListeners, "-mailbox-lmtp", mailbox.addr["lmtp"])
	mx.start()
	copyUserDB(t, mailbox, mx)
	mx.addUser("bob@example.test", alicePW) // only in the MX's copy

	refused := rawGreeting(t, "127.0.0.3", mailbox.addr["lmtp"])
	require.Equal(t, "554 Not an MX instance of this mailbox server\r\n", refused, "a greeting has no enhanced code: ENHANCEDSTATUSCODES is not negotiated yet")
	mailbox.waitLog(`msg="refused: not in -lmtp-from" proto=lmtp client=127.0.0.3:`)

	_, rcpt, data := dialFrom(t, "127.0.0.1", mx.addr["smtp"]).sendMX("client.test", "someone@remote.test", "bob@example.test", "Subject: to bob\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), "the MX's copy knows bob: %s", rcpt)
	require.Equal(t, "550 5.1.1 No such user here\r\n", data)

	// The mailbox instance runs the Sieve scripts: an ereject there is
	// the MX's refusal in the dialogue, and the script ran once.
	mailbox.setScript("alice@example.test", "require \"ereject\";\r\nereject \"Alice takes no mail today.\";\r\n")
	require.Equal(t, "data 550 5.7.1 Alice takes no mail today.",
		mx.sendMX("someone@remote.test", "alice@example.test", "", []byte("From: someone@remote.test\r\nSubject: hi\r\n\r\nHello.\r\n")))
	require.Equal(t, 1, sieveRuns(mailbox, "alice@example.test"), mailbox.log.String())
	require.Empty(t, mailbox.inbox("alice@example.test"))
	mailbox.setScript("alice@example.test", "keep;\r\n")

	mailbox.stop()
	_, _, data = dialFrom(t, "127.0.0.1", mx.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "Subject: while down\n\nHello.")
	require.True(t, strings.HasPrefix(data, "250"), data)
	mx.waitLog(`msg="mailbox instance did not take the message" .*to=<alice@example.test> status=temporary`)
	mx.waitLog(`msg=queued `)
	mailbox.start()
	out, err := mx.cli("", "queue", "retry", "all")
	require.NoError(t, err, out)
	got := mailbox.waitInbox("alice@example.test", 1, 20*time.Second)
	require.Contains(t, got[0], "Subject: while down")
	mx.stop()
	mailbox.stop()
}

// rawGreeting connects from src to addr and returns the first reply line.
func rawGreeting(t *testing.T, src, addr string) string {
	t.Helper()
	dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := dl.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 512)
	n, _ := io.ReadAtLeast(c, b, 1)
	return string(b[:n])
}
