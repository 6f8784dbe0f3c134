package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/smtp"
)

// lineReader gives n copies of line.
type lineReader struct {
	line []byte
	n    int
	off  int
}

func (r *lineReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if r.n == 0 {
			if w == 0 {
				return 0, io.EOF
			}
			break
		}
		c := copy(p[w:], r.line[r.off:])
		w += c
		r.off += c
		if r.off == len(r.line) {
			r.off = 0
			r.n--
		}
	}
	return w, nil
}

// TestInboundSieveHoldsOneCopy: on the MX port the scripts read the
// message from the spool DKIM made when it made one, and from one spool
// of their own otherwise; either way the memory a message costs is
// bounded by the limits (the spool's 1 MiB, the junk filter's and the
// body test's prefixes), the same for 8 MiB as for 32 MiB.
func TestInboundSieveHoldsOneCopy(t *testing.T) {
	srv, user := scriptedServer(t, `require ["body", "fileinto"]; if body :raw :contains "needle" { fileinto "Found"; }`)
	log := srv.log
	from := smtp.Path{Local: "someone", Domain: "remote.test"}
	env := &smtp.Envelope{From: from, To: []smtp.Recipient{{Path: smtp.Path{Local: "postmaster", Domain: "example.test"}}}}
	line := []byte(strings.Repeat("x", 62) + "\r\n")
	// run passes a message of size bytes through inboundData and
	// inboundSieve and returns the bytes allocated meanwhile.
	run := func(signed bool, size int) uint64 {
		lines := size / len(line)
		hdr := "From: someone@remote.test\r\nTo: postmaster@example.test\r\nSubject: big\r\n"
		if signed {
			hdr = "DKIM-Signature: v=1; a=rsa-sha256; d=remote.test; s=s; h=from; bh=AAAA; b=AAAA\r\n" + hdr
		}
		s := &session{b: &smtpBackend{srv: srv}, srv: srv, log: log,
			info: &smtp.ConnInfo{RemoteAddr: netip.MustParseAddrPort("127.0.0.1:4000"), HeloName: "client.remote.test"}}
		s.from = from
		ctx := context.Background()
		require.NoError(t, s.inboundMail(ctx, from))
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, spec, release, err := s.inboundData(ctx, io.MultiReader(strings.NewReader(hdr+"\r\n"), &lineReader{line: line, n: lines}))
		require.NoError(t, err)
		defer release()
		r, release2, err := s.inboundSieve(ctx, env, r, &spec)
		require.NoError(t, err)
		defer release2()
		runtime.ReadMemStats(&after)
		require.NotNil(t, spec.held, "signed=%v", signed)
		if signed {
			require.Same(t, s.inbound.spool, spec.held.body, "the scripts read DKIM's spool")
			require.False(t, spec.held.own)
		} else {
			require.Nil(t, s.inbound.spool)
			require.True(t, spec.held.own)
		}
		require.LessOrEqual(t, spec.held.body.mem.Len(), spoolMemory)
		require.Contains(t, spec.verdicts, user)
		// The message to deliver is the one received, trace fields first.
		b, err := io.ReadAll(io.LimitReader(r, 4096))
		require.NoError(t, err)
		head, _, ok := strings.Cut(string(b), "\r\n\r\n")
		require.True(t, ok)
		require.Contains(t, head, "Received-SPF: ")
		require.True(t, strings.HasSuffix(head, "\r\nSubject: big"), head)
		n, err := io.Copy(io.Discard, r)
		require.NoError(t, err)
		require.Equal(t, int64(lines*len(line)), n+int64(len(b)-len(head)-4))
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, signed := range []bool{true, false} {
		small, large := run(signed, 8<<20), run(signed, 32<<20)
		t.Logf("signed=%v: %d bytes allocated for 8 MiB, %d for 32 MiB", signed, small, large)
		// What is allocated is bounded by the limits (the spool's memory,
		// the junk filter's and the body test's prefixes), not by the
		// size of the message.
		require.Less(t, large, small+1<<20, "signed=%v", signed)
		require.Less(t, large, uint64(16<<20), "signed=%v", signed)
	}
}

// scriptedServer makes an in-process server whose postmaster@example.test
// (a user that always exists) has script as its active Sieve script.
func scriptedServer(t *testing.T, script string) (*server, string) {
	t.Helper()
	dns := dnstest.NewServer(t, dnstest.NewZone())
	cfg, _, err := parseFlags([]string{"-data", filepath.Join(t.TempDir(), "d"), "-domains", "example.test",
		"-hostname", "mx.example.test", "-greylist=false"}, io.Discard)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(cfg.dataDir, 0o700))
	log := slog.New(slog.DiscardHandler)
	p, err := newPolicy(cfg, dns.Resolver(nil), log)
	require.NoError(t, err)
	db, err := openUserDB(cfg.dataDir)
	require.NoError(t, err)
	srv := &server{cfg: cfg, policy: p, db: db, log: log}
	srv.boxes = newMailboxes(cfg, db, log)
	srv.boxes.filter = newFilter(cfg, log)
	// postmaster@ always exists without a users file.
	user := "postmaster@example.test"
	root := filepath.Join(cfg.dataDir, "sieve", user)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "sieve"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(root, "sieve", "s.sieve"),
		[]byte(script), 0o600))
	require.NoError(t, os.Symlink("sieve/s.sieve", filepath.Join(root, ".dovecot.sieve")))
	return srv, user
}

// TestDeliverRecipient: the per-recipient step an LMTP listener calls
// refuses a rejected message with 550 5.7.1 and the reason and stores
// nothing, and stores the others with the script's edited header.
func TestDeliverRecipient(t *testing.T) {
	srv, user := scriptedServer(t, "require [\"ereject\", \"editheader\"];\r\n"+
		"if header :contains \"subject\" \"spam\" { ereject \"No spam,\r\nthanks\"; stop; }\r\naddheader \"X-Seen\" \"1\";\r\n")
	ctx := context.Background()
	env := &smtp.Envelope{From: smtp.Path{Local: "a", Domain: "remote.test"}}
	dir := filepath.Join(srv.cfg.dataDir, "tmp")
	msg, err := holdMessage(dir, strings.NewReader("From: a@remote.test\r\nSubject: spam spam\r\n\r\nbody\r\n"))
	require.NoError(t, err)
	defer msg.close()
	_, err = srv.boxes.deliverRecipient(ctx, env, user, msg, "")
	var se *smtp.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, "550 5.7.1 No spam, thanks", fmt.Sprintf("%d %s %s", se.Code, se.Enhanced, se.Message))
	stored, _ := filepath.Glob(filepath.Join(srv.cfg.mailDir(user), "*", "*"))
	for _, f := range stored {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.True(t, fi.IsDir() || !strings.Contains(f, "/new/") && !strings.Contains(f, "/cur/"), "stored %s", f)
	}

	msg2, err := holdMessage(dir, strings.NewReader("From: a@remote.test\r\nSubject: hello\r\n\r\nbody\r\n"))
	require.NoError(t, err)
	defer msg2.close()
	got, err := srv.boxes.deliverRecipient(ctx, env, user, msg2, "")
	require.NoError(t, err)
	f, err := srv.boxes.reopen(ctx, user, "INBOX", got)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, "X-Seen: 1\r\nFrom: a@remote.test\r\nSubject: hello\r\n\r\nbody\r\n", string(b))
}
