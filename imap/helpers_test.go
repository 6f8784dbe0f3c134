package imap_test

import (
	"bufio"
	"context"
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmem"
	"github.com/heraldmail/herald/sasl"
)

var update = flag.Bool("update", false, "rewrite the server lines of golden transcripts")

// testDate is the internal date of the fixture messages.
var testDate = time.Date(2024, 3, 14, 15, 9, 26, 0, time.FixedZone("", 3600))

const (
	msgPlain = "From: Alice Example <alice@example.org>\r\n" +
		"To: Bob <bob@example.net>, carol@example.net\r\n" +
		"Subject: Hello there\r\n" +
		"Date: Thu, 14 Mar 2024 15:09:26 +0100\r\n" +
		"Message-ID: <plain-1@example.org>\r\n" +
		"\r\n" +
		"Hi Bob,\r\n" +
		"this is a plain message.\r\n"
	msgMultipart = "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n" +
		"To: alice@example.org\r\n" +
		"Cc: team: dave@example.com, erin@example.com;\r\n" +
		"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"Date: Fri, 15 Mar 2024 08:00:00 +0000\r\n" +
		"Message-ID: <multi-2@example.org>\r\n" +
		"In-Reply-To: <plain-1@example.org>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
		"\r\n" +
		"preamble\r\n" +
		"--outer\r\n" +
		"Content-Type: multipart/alternative; boundary=inner\r\n" +
		"\r\n" +
		"--inner\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n" +
		"--inner\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"\r\n" +
		"<p>Hello</p>\r\n" +
		"--inner--\r\n" +
		"--outer\r\n" +
		"Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"data.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"AAECAwQFBgc=\r\n" +
		"--outer--\r\n" +
		"epilogue\r\n"
	msgForward = "From: bob@example.net\r\n" +
		"To: alice@example.org\r\n" +
		"Subject: Fwd: Hello there\r\n" +
		"Date: Sat, 16 Mar 2024 10:00:00 -0500\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b1\r\n" +
		"\r\n" +
		"--b1\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"See below.\r\n" +
		"--b1\r\n" +
		"Content-Type: message/rfc822\r\n" +
		"\r\n" +
		msgPlain +
		"--b1--\r\n"
)

// newFixture returns a backend with user alice: three messages in INBOX
// and a few more mailboxes.
func newFixture(t testing.TB) (*imapmem.Backend, *imapmem.User) {
	t.Helper()
	be := imapmem.New()
	be.Now = func() time.Time { return testDate }
	u := be.AddUser("alice")
	for i, m := range []string{msgPlain, msgMultipart, msgForward} {
		var flags []imap.Flag
		if i == 0 {
			flags = []imap.Flag{imap.FlagSeen}
		}
		if _, err := u.Deliver("INBOX", []byte(m), flags, testDate.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// An earlier session has seen them: they are not \Recent.
	claimRecent(t, be, "INBOX")
	for _, mb := range []struct {
		name string
		attr []imap.MailboxAttr
	}{{"Archive", []imap.MailboxAttr{imap.AttrArchive}}, {"Sent", []imap.MailboxAttr{imap.AttrSent}},
		{"Trash", []imap.MailboxAttr{imap.AttrTrash}}, {"Work/Projects", nil}} {
		if err := u.CreateMailbox(mb.name, mb.attr...); err != nil {
			t.Fatal(err)
		}
	}
	return be, u
}

// claimRecent selects a mailbox of alice and claims its messages as
// recent, as a session that saw them earlier did.
func claimRecent(t testing.TB, be imap.Backend, name string) {
	t.Helper()
	ctx := context.Background()
	u, err := be.Open(ctx, &imap.ConnInfo{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Logout(ctx)
	mb, err := u.Select(ctx, name, false)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close(ctx)
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	uids := make([]imap.UID, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	mb.(imap.MailboxRecent).ClaimRecent(ctx, uids)
}

func testAuth() *sasl.Authenticator {
	return &sasl.Authenticator{
		Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
			if user == "alice" && subtle.ConstantTimeCompare([]byte(pass), []byte("secret")) == 1 {
				return "", nil
			}
			return "", sasl.ErrAuthFailed
		},
		AllowInsecure: true,
	}
}

func testServer(be imap.Backend) *imap.Server {
	return &imap.Server{Backend: be, Auth: testAuth(), Logger: slog.New(slog.DiscardHandler)}
}

// pipeClient runs s on one end of a pipe and returns the other end, closed
// at the end of the test.
func pipeClient(t testing.TB, s *imap.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeConn(context.Background(), sc)
	}()
	t.Cleanup(func() {
		cc.Close()
		<-done
	})
	return cc, bufio.NewReader(cc)
}

// transcript is a golden dialogue: C lines are sent, S lines expected, and
// "@" lines are actions on the fixture between them.
type transcript struct {
	steps []step
}

type step struct {
	kind byte // 'C', 'S' or '@'
	text string
}

func readTranscript(t *testing.T, path string) transcript {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "C: "), strings.HasPrefix(line, "S: "):
			tr.steps = append(tr.steps, step{line[0], line[3:]})
		case line == "C:", line == "S:":
			tr.steps = append(tr.steps, step{line[0], ""})
		case strings.HasPrefix(line, "@"):
			tr.steps = append(tr.steps, step{'@', line[1:]})
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			t.Fatalf("%s: bad line %q", path, line)
		}
	}
	return tr
}

// runTranscript plays a transcript against a fresh fixture. With -update it
// records the server's lines instead of checking them.
func runTranscript(t *testing.T, path string) {
	tr := readTranscript(t, path)
	be, u := newFixture(t)
	s := testServer(be)
	configure(t, s, path)
	cc, r := pipeClient(t, s)
	cc.SetDeadline(time.Now().Add(10 * time.Second))
	var out strings.Builder // the rewritten transcript
	if data, err := os.ReadFile(path); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "#") {
				out.WriteString(l + "\n")
			} else {
				break
			}
		}
	}
	lastTag := "*"
	pendingLit := 0
	afterPlus := false
	steps := tr.steps
	if *update {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("S: " + strings.TrimSuffix(line, "\r\n") + "\n")
		for len(steps) > 0 && steps[0].kind == 'S' {
			steps = steps[1:]
		}
	}
	for i := 0; i < len(steps); {
		st := steps[i]
		switch st.kind {
		case '@':
			doAction(t, u, st.text)
			out.WriteString("@" + st.text + "\n")
			i++
		case 'C':
			var send strings.Builder
			for first := true; i < len(steps) && steps[i].kind == 'C' && (first || !*update || pendingLit > 0); i++ {
				first = false
				text := steps[i].text
				send.WriteString(text + "\r\n")
				out.WriteString("C: " + text + "\n")
				if pendingLit > 0 {
					// Literal data: the command goes on after it.
					if pendingLit <= len(text) {
						text = text[pendingLit:]
						pendingLit = 0
					} else {
						pendingLit -= len(text) + 2
						continue
					}
				} else if afterPlus {
					// An answer to a continuation request, such as a SASL
					// response: the command's tag stays.
				} else if f := strings.Fields(text); len(f) > 1 && !strings.ContainsAny(f[0], "*+") {
					lastTag = f[0]
				} else {
					lastTag = "*" // answered untagged
				}
				if n, sync, ok := literalAt(text); ok {
					pendingLit = n
					if sync {
						// Wait for the continuation request.
						i++
						break
					}
				}
			}
			errc := make(chan error, 1)
			go func() { _, err := io.WriteString(cc, send.String()); errc <- err }()
			if *update {
				last, err := recordUntil(t, cc, r, &out, lastTag, i < len(steps) && steps[i].kind == '@')
				afterPlus = strings.HasPrefix(last, "+")
				if !afterPlus {
					pendingLit = 0 // the literal was refused
				}
				if err != nil {
					t.Fatalf("%s: %v\n%s", path, err, out.String())
				}
				// Skip the old server lines.
				for i < len(steps) && steps[i].kind == 'S' {
					i++
				}
			}
			if err := <-errc; err != nil && !*update {
				t.Fatalf("%s: writing: %v", path, err)
			}
		case 'S':
			var want strings.Builder
			for ; i < len(steps) && steps[i].kind == 'S'; i++ {
				want.WriteString(steps[i].text + "\r\n")
				out.WriteString("S: " + steps[i].text + "\n")
			}
			got := make([]byte, want.Len())
			n, err := io.ReadFull(r, got)
			if string(got[:n]) != want.String() {
				t.Fatalf("%s: server sent\n%s\nwant\n%s\n(err %v)", path, show(string(got[:n])), show(want.String()), err)
			}
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func show(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// recordUntil copies server lines to out until the tagged reply to tag, a
// continuation request or BYE; quiet reads only what arrives in a moment.
func recordUntil(t *testing.T, cc net.Conn, r *bufio.Reader, out *strings.Builder, tag string, quiet bool) (string, error) {
	var lastLine string
	if quiet {
		// Read what comes in a moment, then leave the connection for the
		// action that follows.
		cc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		defer cc.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && quiet {
				return "", nil
			}
			if err == io.EOF && strings.HasPrefix(lastLine, "* BYE") {
				return lastLine, nil // the server ended the connection
			}
			return "", err
		}
		lastLine = line
		line = strings.TrimSuffix(line, "\r\n")
		out.WriteString("S: " + line + "\n")
		if strings.HasPrefix(line, tag+" ") || strings.HasPrefix(line, "+") {
			return line, nil
		}
	}
}

// doAction runs an "@" line: "deliver MAILBOX" adds msgPlain.
func doAction(t *testing.T, u *imapmem.User, action string) {
	f := strings.Fields(action)
	switch f[0] {
	case "deliver":
		if _, err := u.Deliver(f[1], []byte(msgPlain), nil, testDate); err != nil {
			t.Fatal(err)
		}
	case "sleep":
		time.Sleep(50 * time.Millisecond)
	default:
		t.Fatalf("unknown action %q", action)
	}
}

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatal("no transcripts", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runTranscript(t, f)
		})
	}
}

// literalAt reports the literal a line announces at its end.
func literalAt(line string) (n int, sync, ok bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, false
	}
	num := line[i+1 : len(line)-1]
	sync = true
	if strings.HasSuffix(num, "+") || strings.HasSuffix(num, "-") {
		num, sync = num[:len(num)-1], false
	}
	_, err := fmt.Sscanf(num, "%d", &n)
	return n, sync, err == nil && n >= 0
}

// configure applies the "#! Field=value" lines at the top of a transcript
// to the server's limits.
func configure(t *testing.T, s *imap.Server, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#! ") {
			continue
		}
		for _, kv := range strings.Fields(line[3:]) {
			k, v, _ := strings.Cut(kv, "=")
			var n int
			if _, err := fmt.Sscanf(v, "%d", &n); err != nil {
				t.Fatalf("%s: %q", path, kv)
			}
			switch k {
			case "MaxLineLength":
				s.MaxLineLength = n
			case "MaxLiteralSize":
				s.MaxLiteralSize = int64(n)
			case "MaxStringLiteral":
				s.MaxStringLiteral = n
			case "MaxDepth":
				s.MaxDepth = n
			case "MaxItems":
				s.MaxItems = n
			case "MaxSetRanges":
				s.MaxSetRanges = n
			case "MaxErrors":
				s.MaxErrors = n
			case "MaxAuthFailures":
				s.MaxAuthFailures = n
			default:
				t.Fatalf("%s: unknown setting %q", path, k)
			}
		}
	}
}
