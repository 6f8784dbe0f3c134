package imap_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// TestPythonImaplib runs Python's imaplib against the server on 127.0.0.1:
// STARTTLS and LOGIN, AUTHENTICATE PLAIN, SELECT, FETCH of bodies,
// envelopes and body structures, UID SEARCH, STORE, COPY, MOVE, EXPUNGE,
// APPEND, mailboxes with non-ASCII names, and IDLE over a raw socket.
func TestPythonImaplib(t *testing.T) {
	python := peertest.LookPath(t, "python3")
	be, u := newFixture(t)
	s := testServer(be)
	s.Auth.AllowInsecure = false
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	port := l.Addr().(*net.TCPAddr).Port

	cmd := exec.Command(python, "testdata/interop/imaplib_client.py", strconv.Itoa(port))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var lines []string
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if sc.Text() == "DELIVER" {
				if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, testDate); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("imaplib client: %v\n%s", err, stderr.String())
	}
	if len(lines) == 0 || lines[len(lines)-1] != "PASS" {
		t.Fatalf("imaplib client output %q\n%s", lines, stderr.String())
	}
}
