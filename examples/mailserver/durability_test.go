package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/smtp"
)

// TestDurabilityUnderSIGKILL sends from 20 connections at once, to a local
// user and to a remote domain through the queue, and kills the server with
// SIGKILL several times. Every message that got 250 must be in the Maildir
// afterwards, whole, and every queued one must reach the remote MX after
// the last restart.
func TestDurabilityUnderSIGKILL(t *testing.T) {
	in := newInstance(t, remoteZone(), "-relay-networks", "127.0.0.1/32")
	in.addUser("alice@example.test", alicePW)
	in.start()

	// smtp-source as in the issue, for load next to our own senders.
	source := peertest.LookPath(t, "smtp-source")

	var mu sync.Mutex
	acked := map[string]string{} // Message-ID -> body hash
	send := func(ctx context.Context, worker int, seq *int) {
		for ctx.Err() == nil {
			*seq++
			id := fmt.Sprintf("w%d-%d", worker, *seq)
			to := "alice@example.test"
			if *seq%5 == 0 {
				to = "carol@remote.test"
			}
			body := fmt.Sprintf("Message-ID: <%s@test>\r\nSubject: %s\r\n\r\n%s\r\n", id, id, strings.Repeat("durable line of text 0123456789\r\n", 120))
			c, err := smtp.Dial(ctx, in.addr["smtp"], &smtp.ClientOptions{LocalName: "client.test", TLSPolicy: smtp.TLSNone})
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			env := &smtp.Envelope{From: smtp.Path{Local: "sender", Domain: "remote.test"},
				To: []smtp.Recipient{{Path: smtp.Path{Local: strings.Split(to, "@")[0], Domain: strings.Split(to, "@")[1]}}}}
			res, err := c.Send(ctx, env, strings.NewReader(body))
			c.Close()
			if err == nil && res.Delivered() == 1 {
				h := sha256.Sum256([]byte(body))
				mu.Lock()
				acked[id+" "+to] = hex.EncodeToString(h[:])
				mu.Unlock()
			}
		}
	}
	for round := range 4 {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seq := round * 1_000_000
				send(ctx, w, &seq)
			}()
		}
		host, port := hostPort(in.addr["smtp"])
		src := exec.Command(source, "-s", "20", "-m", "20000", "-l", "4096", "-f", "load@remote.test", "-t", "alice@example.test", host+":"+port)
		require.NoError(t, src.Start())
		time.Sleep(time.Duration(700+rand.IntN(800)) * time.Millisecond)
		in.kill()
		cancel()
		wg.Wait()
		src.Process.Kill()
		src.Wait()
		in.start()
	}
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(acked), 100, "too few messages were accepted to test anything")

	onDisk := map[string]string{}
	for _, m := range in.inbox("alice@example.test") {
		i := strings.Index(m, "Message-ID: <")
		if i < 0 {
			continue // smtp-source's messages
		}
		id := m[i+len("Message-ID: <"):]
		id = id[:strings.Index(id, "@")]
		_, body, _ := strings.Cut(m, "\r\nMessage-ID: ")
		h := sha256.Sum256([]byte("Message-ID: " + body))
		require.NotContains(t, onDisk, id, "message %s stored twice", id)
		onDisk[id] = hex.EncodeToString(h[:])
	}
	sinkDir := sink(t, "127.0.0.1", in.outPort)
	out, err := in.cli("", "queue", "retry", "all")
	require.NoError(t, err, out)
	remote := 0
	for key, hash := range acked {
		id, to, _ := strings.Cut(key, " ")
		if to == "alice@example.test" {
			require.Equal(t, hash, onDisk[id], "acknowledged message %s is missing or damaged in the Maildir", id)
		} else {
			remote++
		}
	}
	require.Eventually(t, func() bool {
		got := 0
		for _, d := range dumps(t, sinkDir) {
			if strings.Contains(d, "carol@remote.test") || strings.Contains(d, "durable line") {
				got++
			}
		}
		return got >= remote
	}, 60*time.Second, 200*time.Millisecond, "queued messages not delivered after the restart")
	for _, d := range dumps(t, sinkDir) {
		for key := range acked {
			id, to, _ := strings.Cut(key, " ")
			if to != "alice@example.test" && strings.Contains(d, "<"+id+"@test>") {
				delete(acked, key)
			}
		}
	}
	for key := range acked {
		require.False(t, strings.HasSuffix(key, " carol@remote.test"), "acknowledged remote message %s never reached the remote MX", key)
	}
	t.Logf("%d messages acknowledged across 4 SIGKILLs, %d of them remote", len(onDisk)+remote, remote)
}
