package sasl

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// The interop tests run GNU SASL's command-line tool (Debian package gsasl)
// as the peer, in its stdin/stdout mode: no network at all. Without gsasl
// they skip, unless HERALD_INTEROP=1 asks for them to fail instead.

func needGsasl(t *testing.T) string {
	t.Helper()
	return peertest.LookPath(t, "gsasl")
}

// gsasl is one running gsasl process speaking base64 lines.
type gsasl struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr lockedBuffer
}

// lockedBuffer collects gsasl's standard error, written by os/exec's copier
// goroutine while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startGsasl(t *testing.T, args ...string) *gsasl {
	t.Helper()
	path := needGsasl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	g := &gsasl{cmd: exec.CommandContext(ctx, path, append([]string{"--quiet", "-d"}, args...)...), lines: make(chan string, 16)}
	g.cmd.Stderr = &g.stderr
	var err error
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := g.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			g.lines <- sc.Text()
		}
		close(g.lines)
	}()
	t.Cleanup(func() { g.cmd.Process.Kill(); g.cmd.Wait() })
	return g
}

// read returns the next line gsasl printed, decoded from base64.
func (g *gsasl) read() ([]byte, error) {
	select {
	case line, ok := <-g.lines:
		if !ok {
			return nil, fmt.Errorf("gsasl ended: %s", g.stderr.String())
		}
		return base64.StdEncoding.DecodeString(line)
	case <-time.After(10 * time.Second):
		return nil, errors.New("gsasl printed nothing for 10s")
	}
}

// mech reads the mechanism name gsasl prints first.
func (g *gsasl) mech() string {
	select {
	case line := <-g.lines:
		return line
	case <-time.After(10 * time.Second):
		return ""
	}
}

func (g *gsasl) write(b []byte) error {
	_, err := io.WriteString(g.stdin, base64.StdEncoding.EncodeToString(b)+"\n")
	return err
}

// wait closes gsasl's input and returns its exit error.
func (g *gsasl) wait() error {
	g.stdin.Close()
	for range g.lines {
	}
	return g.cmd.Wait()
}

// serveGsaslClient runs our server s against a gsasl client.
func serveGsaslClient(t *testing.T, s Server, args ...string) (serverErr, clientErr error) {
	g := startGsasl(t, append([]string{"--client"}, args...)...)
	if m := g.mech(); m == "" {
		t.Fatalf("gsasl printed no mechanism: %s", g.stderr.String())
	}
	resp, err := g.read()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		chal, done, err := s.Next(context.Background(), resp)
		if err != nil {
			g.wait()
			return err, nil
		}
		if done {
			// gsasl reads one more line after its last message: the
			// additional data with success, empty when there is none.
			if err := g.write(chal); err != nil {
				t.Fatal(err)
			}
			// After checking server-final data, gsasl answers it with an
			// empty response and waits for the outcome: an empty line.
			for range 2 {
				if _, err := g.read(); err != nil {
					break
				}
				g.write(nil)
			}
			if err := g.wait(); err != nil {
				return nil, fmt.Errorf("%w: %s", err, g.stderr.String())
			}
			return nil, nil
		}
		if err := g.write(chal); err != nil {
			t.Fatal(err)
		}
		if resp, err = g.read(); err != nil {
			return errors.New("client quit"), g.wait()
		}
	}
	t.Fatal("exchange did not end")
	return nil, nil
}

func TestInteropGsaslClients(t *testing.T) {
	t.Parallel()
	needGsasl(t)
	creds, err := NewScramCredentials("pencil", nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	scram := lookupOf(map[string]ScramCredentials{"user": creds, "root": creds})
	pw := passwords(map[string]string{"tim": "tanstaaftanstaaf", "root": "toor"})
	tests := []struct {
		name    string
		s       IdentityServer
		args    []string
		wantID  string
		wantErr error
	}{
		{"PLAIN", NewPlainServer(pw, nil), []string{"-m", "PLAIN", "-a", "tim", "-p", "tanstaaftanstaaf"}, "tim", nil},
		{"PLAIN authzid", NewPlainServer(pw, nil), []string{"-m", "PLAIN", "-a", "root", "-z", "admin", "-p", "toor"}, "admin", nil},
		{"PLAIN wrong password", NewPlainServer(pw, nil), []string{"-m", "PLAIN", "-a", "tim", "-p", "nope"}, "", ErrAuthFailed},
		{"LOGIN", NewLoginServer(pw, nil), []string{"-m", "LOGIN", "-a", "tim", "-p", "tanstaaftanstaaf"}, "tim", nil},
		{"EXTERNAL", NewExternalServer(certUser, nil), []string{"-m", "EXTERNAL", "-z", "shared"}, "shared", nil},
		{"SCRAM-SHA-256", NewScramSHA256Server(scram, nil), []string{"-m", "SCRAM-SHA-256", "-a", "user", "-p", "pencil", "--no-cb"}, "user", nil},
		{"SCRAM-SHA-256 authzid", NewScramSHA256Server(scram, nil), []string{"-m", "SCRAM-SHA-256", "-a", "root", "-z", "admin", "-p", "pencil", "--no-cb"}, "admin", nil},
		{"SCRAM-SHA-256 wrong password", NewScramSHA256Server(scram, nil), []string{"-m", "SCRAM-SHA-256", "-a", "user", "-p", "pencil2", "--no-cb"}, "", ErrAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serr, cerr := serveGsaslClient(t, tt.s, tt.args...)
			if tt.wantErr != nil {
				if !errors.Is(serr, tt.wantErr) || tt.s.Identity() != "" {
					t.Fatalf("server error %v identity %q, want %v", serr, tt.s.Identity(), tt.wantErr)
				}
				return
			}
			if serr != nil || tt.s.Identity() != tt.wantID {
				t.Fatalf("server: %v, identity %q, want %q", serr, tt.s.Identity(), tt.wantID)
			}
			if cerr != nil {
				t.Fatalf("gsasl client: %v", cerr)
			}
		})
	}
}

// TestInteropGsaslRejectsForgedServer checks that gsasl refuses our
// server-final message when it is forged: proof that gsasl does verify it,
// and so that the passing run above means our signature is right.
func TestInteropGsaslRejectsForgedServer(t *testing.T) {
	t.Parallel()
	needGsasl(t)
	creds, _ := NewScramCredentials("pencil", nil, 4096)
	forged := creds
	forged.ServerKey = make([]byte, 32)
	s := NewScramSHA256Server(lookupOf(map[string]ScramCredentials{"user": forged}), nil)
	serr, cerr := serveGsaslClient(t, s, "-m", "SCRAM-SHA-256", "-a", "user", "-p", "pencil", "--no-cb")
	if serr != nil {
		t.Fatalf("server: %v", serr)
	}
	if cerr == nil {
		t.Fatal("gsasl accepted a forged server signature")
	}
}

// TestInteropGsaslServer runs our SCRAM client against gsasl's server.
func TestInteropGsaslServer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, password string
		ok             bool
	}{{"right password", "pencil", true}, {"wrong password", "pencil2", false}} {
		t.Run(tt.name, func(t *testing.T) {
			g := startGsasl(t, "--server", "-m", "SCRAM-SHA-256", "-p", "pencil", "--iteration-count", "4096")
			if m := g.mech(); m != ScramSHA256 {
				t.Fatalf("gsasl mechanism %q: %s", m, g.stderr.String())
			}
			if chal, err := g.read(); err != nil || len(chal) != 0 {
				t.Fatalf("first challenge %q, %v", chal, err)
			}
			c := NewScramSHA256Client("user", tt.password, nil)
			_, ir, err := c.Start()
			if err != nil {
				t.Fatal(err)
			}
			g.write(ir)
			first, err := g.read()
			if err != nil {
				t.Fatal(err)
			}
			final, err := c.Next(first)
			if err != nil {
				t.Fatalf("client on %q: %v", first, err)
			}
			g.write(final)
			last, rerr := g.read()
			if !tt.ok {
				if werr := g.wait(); werr == nil {
					t.Fatalf("gsasl accepted a wrong password: %q", last)
				}
				return
			}
			if rerr != nil {
				t.Fatalf("gsasl server: %v %s", rerr, g.stderr.String())
			}
			resp, err := c.Next(last)
			if err != nil || !c.ServerVerified() {
				t.Fatalf("client on server-final %q: %v", last, err)
			}
			g.write(resp)
			if err := g.wait(); err != nil {
				t.Fatalf("gsasl server: %v %s", err, g.stderr.String())
			}
		})
	}
}

// TestInteropGsaslMkpasswd compares NewScramCredentials with gsasl's own
// derivation, including a password SASLprep changes.
func TestInteropGsaslMkpasswd(t *testing.T) {
	t.Parallel()
	path := needGsasl(t)
	salt := []byte("0123456789abcdef")
	for _, pw := range []string{
		"pencil",
		"p\u00e4ss w\u00f6rd", // NFC already
		"pa\u0308ss",          // NFD: composed
		"I\u00adX",            // soft hyphen: mapped to nothing
		"a\u00a0b\u3000c",     // non-ASCII spaces: mapped to U+0020
		"\ufb01\u2460\uff21",  // compatibility characters: NFKC
		"\u2168",              // ROMAN NUMERAL NINE: "IX" under NFKC
	} {
		out, err := exec.Command(path, "--mkpasswd", "--mechanism", "SCRAM-SHA-256", "--password", pw,
			"--iteration-count", "4096", "--salt", base64.StdEncoding.EncodeToString(salt)).Output()
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewScramCredentials(pw, salt, 4096)
		if err != nil {
			t.Fatal(err)
		}
		b64 := base64.StdEncoding.EncodeToString
		want := fmt.Sprintf("{SCRAM-SHA-256}4096,%s,%s,%s", b64(salt), b64(c.StoredKey), b64(c.ServerKey))
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("password %q: gsasl %s, ours %s", pw, got, want)
		}
	}
}
