package managesieve_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/sieve/managesieve/managesievedir"
)

// sieveConnect runs sieve-connect against addr as alice over STARTTLS,
// the password on file descriptor 0, and returns its output.
func sieveConnect(t *testing.T, addr, password string, args ...string) (string, error) {
	t.Helper()
	bin := peertest.LookPath(t, "sieve-connect")
	host, port, _ := net.SplitHostPort(addr)
	base := []string{"--nosrv", "--server", host, "--port", port, "--user", "alice",
		"--passwordfd", "0", "--notlsverify", "--authmech", "PLAIN"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestSieveConnect(t *testing.T) {
	be := newBackend()
	root := t.TempDir()
	s := newServer(t, be, "tls", nil)
	dirs := &managesievedir.Backend{Root: root}
	s.Backend = dirs
	addr := listen(t, s)
	work := t.TempDir()
	script := "require \"fileinto\";\r\nfileinto \"Lists\";\r\nkeep;\r\n"
	local := filepath.Join(work, "filter.sieve")
	if err := os.WriteFile(local, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(work, "bad.sieve")
	os.WriteFile(bad, []byte("keep;\nfrobnicate;\n"), 0o600)

	run := func(wantOK bool, args ...string) string {
		t.Helper()
		out, err := sieveConnect(t, addr, "secret", args...)
		if wantOK && err != nil || !wantOK && err == nil {
			t.Fatalf("sieve-connect %v: err %v, output:\n%s", args, err, out)
		}
		return out
	}
	run(true, "--upload", "--localsieve", local, "--remotesieve", "filter")
	if b, err := os.ReadFile(filepath.Join(root, "alice", "sieve", "filter.sieve")); err != nil || string(b) != script {
		t.Fatalf("uploaded file: %q, %v", b, err)
	}
	run(true, "--checkscript", "--localsieve", local)
	out := run(false, "--checkscript", "--localsieve", bad)
	if !strings.Contains(out, "line 2: unknown command 'frobnicate;'") {
		t.Fatalf("checkscript of a bad script does not show the checker's error:\n%s", out)
	}
	run(false, "--upload", "--localsieve", bad, "--remotesieve", "bad")
	run(true, "--activate", "--remotesieve", "filter")
	if p, err := dirs.ActiveScript("alice"); err != nil || filepath.Base(p) != "filter.sieve" {
		t.Fatalf("active script after --activate: %q, %v", p, err)
	}
	out = run(true, "--list")
	if !strings.Contains(out, "filter") || !strings.Contains(out, "ACTIVE") && !strings.Contains(out, "<- active") {
		t.Fatalf("--list output:\n%s", out)
	}
	downloaded := filepath.Join(work, "down.sieve")
	run(true, "--download", "--localsieve", downloaded, "--remotesieve", "filter")
	if b, err := os.ReadFile(downloaded); err != nil || string(b) != script {
		t.Fatalf("downloaded: %q, %v", b, err)
	}
	run(false, "--delete", "--remotesieve", "filter") // NO (ACTIVE)
	run(true, "--deactivate")
	run(true, "--delete", "--remotesieve", "filter")
	if _, err := os.Stat(filepath.Join(root, "alice", "sieve", "filter.sieve")); !os.IsNotExist(err) {
		t.Fatalf("script still on disk after --delete: %v", err)
	}
	if out, err := sieveConnect(t, addr, "wrong", "--list"); err == nil {
		t.Fatalf("wrong password accepted:\n%s", out)
	}
}
