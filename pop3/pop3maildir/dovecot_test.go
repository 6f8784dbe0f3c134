package pop3maildir_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
)

// dovecot is a private Dovecot on 127.0.0.1 serving POP3 and IMAP for the
// user alice (password "secret") from a Maildir given to it, with the
// session lock and the unique-id format that match Herald's.
type dovecot struct {
	pop3Addr, imapAddr string
}

// mailUser is the user Dovecot accesses mail as: the current one, or
// nobody as root, since Dovecot refuses mail access as UID 0.
func mailUser(t *testing.T) (name string, uid, gid int) {
	t.Helper()
	cur, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		return cur.Username, os.Getuid(), os.Getgid()
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		peertest.Unavailable(t, "no user nobody for Dovecot's mail processes: %v", err)
	}
	uid, _ = strconv.Atoi(nobody.Uid)
	gid, _ = strconv.Atoi(nobody.Gid)
	return nobody.Username, uid, gid
}

// handOver gives the files under root to Dovecot's mail user, as root:
// in production Herald and Dovecot run as the same mail user, here Herald
// runs as root and writes files only root may read. A no-op otherwise.
func handOver(t *testing.T, root string) {
	t.Helper()
	if os.Getuid() != 0 {
		return
	}
	_, uid, gid := mailUser(t)
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// startDovecot starts Dovecot in the foreground with its own
// configuration and base_dir under dir, serving the Maildir maildirPath as
// mailUser.
func startDovecot(t *testing.T, dir, maildirPath string) *dovecot {
	t.Helper()
	bin := peertest.LookPath(t, "dovecot")
	loginUser, uid, gid := mailUser(t)
	grp, err := user.LookupGroupId(strconv.Itoa(gid))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"run", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("alice:{PLAIN}secret::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pop3Port, imapPort := freePort(t), freePort(t)
	logFile := filepath.Join(dir, "dovecot.log")
	conf := fmt.Sprintf(`
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[2]s
protocols = pop3 imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = %[3]s
default_internal_user = %[3]s
default_internal_group = %[4]s
first_valid_uid = %[7]d
first_valid_gid = %[8]d
mail_location = maildir:%[5]s
pop3_uidl_format = %%08Xu%%08Xv
pop3_lock_session = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[6]s
}
userdb {
  driver = static
  args = uid=%[7]d gid=%[8]d home=%[1]s
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[9]d
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[10]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
`, dir, logFile, loginUser, grp.Name, maildirPath, passwd, uid, gid, pop3Port, imapPort)
	confFile := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// The login user must reach base_dir.
	for d := dir; d != "/" && strings.HasPrefix(d, os.TempDir()) && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	handOver(t, dir)
	cmd := exec.Command(bin, "-F", "-c", confFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &dovecot{
		pop3Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(pop3Port)),
		imapAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort)),
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("dovecot output:\n%s\nlog:\n%s", out.String(), b)
		}
	})
	for _, addr := range []string{d.pop3Addr, d.imapAddr} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			nc, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				l, _ := bufio.NewReader(nc).ReadString('\n')
				nc.Close()
				if strings.HasPrefix(l, "+OK") || strings.HasPrefix(l, "* OK") {
					break
				}
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(logFile)
				t.Fatalf("dovecot did not start: %v\n%s\n%s", err, out.String(), b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return d
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// uidlOf logs in at addr and returns the maildrop's UIDL listing.
func uidlOf(t *testing.T, addr string) []pop3.Entry {
	t.Helper()
	c := login(t, addr)
	ul, err := c.Uidl(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ul {
		ul[i].Size = list[i].Size
	}
	if err := c.Quit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return ul
}

// imapSeenScript prints, for each message of alice's INBOX on Dovecot's
// IMAP, whether it has \Seen, one "uid seen" line each.
const imapSeenScript = `
import imaplib, os, re
m = imaplib.IMAP4("127.0.0.1", int(os.environ["PORT"]))
m.login("alice", "secret")
m.select("INBOX", readonly=True)
typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
for d in data:
    if d is None:
        continue
    s = d.decode()
    uid = re.search(r"UID (\d+)", s).group(1)
    print(uid, "seen" if "\\Seen" in s else "unseen")
m.logout()
`

// TestDovecotSideBySide serves one Maildir with Herald and Dovecot: the
// same unique-ids and sizes from both, IN-USE from either while the other
// holds the maildrop, the seen flag of RETR visible to the other, and
// deletions through one seen by the other.
func TestDovecotSideBySide(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := filepath.Join(dir, "Maildir")
	e := newEnv(t, root, nil, fixture...)
	e.backend.LockWait = 200 * time.Millisecond
	dc := startDovecot(t, dir, root)

	herald := uidlOf(t, e.addr)
	waitUnlocked(t, root)
	handOver(t, root)
	dove := uidlOf(t, dc.pop3Addr)
	if !slices.Equal(herald, dove) || len(herald) != 3 {
		t.Fatalf("UIDL/LIST differ:\nherald  %+v\ndovecot %+v", herald, dove)
	}
	waitUnlocked(t, root)

	// Herald holds the maildrop: Dovecot answers IN-USE (after waiting
	// 10 seconds for it, its session lock timeout).
	c := login(t, e.addr)
	d := dial(t, dc.pop3Addr)
	if err := d.Login(ctx(t), "alice", "secret"); !errors.Is(err, &pop3.Error{Code: pop3.CodeInUse}) {
		t.Errorf("Dovecot login while Herald holds the maildrop: %v, want [IN-USE]", err)
	}
	retr(t, c, 1)
	if err := c.Quit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitUnlocked(t, root)
	handOver(t, root)

	// Dovecot holds it: Herald answers IN-USE.
	d = login(t, dc.pop3Addr)
	h := dial(t, e.addr)
	if err := h.Login(ctx(t), "alice", "secret"); !errors.Is(err, &pop3.Error{Code: pop3.CodeInUse}) {
		t.Errorf("Herald login while Dovecot holds the maildrop: %v, want [IN-USE]", err)
	}
	// RETR through Dovecot, then DELE of the message Herald retrieved.
	r, err := d.Retr(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := bufio.NewReader(r).ReadString(0); b != crlf(fixture[1]) {
		t.Errorf("Dovecot RETR 2 = %q", b)
	}
	if err := d.Dele(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := d.Quit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitUnlocked(t, root)

	// Dovecot's RETR is seen by Herald's store.
	s := snapshot(t, e.store)
	if len(s.Messages) != 2 || !s.Messages[0].Flags.Has(maildir.FlagSeen) || s.Messages[1].Flags.Has(maildir.FlagSeen) {
		t.Errorf("after Dovecot's session: %+v; want 2 messages, the first seen", s.Messages)
	}
	herald = uidlOf(t, e.addr)
	waitUnlocked(t, root)
	handOver(t, root)
	dove = uidlOf(t, dc.pop3Addr)
	if !slices.Equal(herald, dove) || len(herald) != 2 || herald[0].UID != uidls(t, e.store)[0] {
		t.Fatalf("UIDL/LIST after DELE differ:\nherald  %+v\ndovecot %+v", herald, dove)
	}

	// Herald's RETR is seen by Dovecot's IMAP.
	waitUnlocked(t, root)
	c = login(t, e.addr)
	retr(t, c, 2)
	if err := c.Dele(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitUnlocked(t, root)
	handOver(t, root)
	out, code := runPeer(t, []string{"PORT=" + port(t, dc.imapAddr)}, "python3", "-c", imapSeenScript)
	last := s.Messages[1].UID
	if want := strconv.FormatUint(uint64(last), 10) + " seen\n"; code != 0 || out != want {
		t.Errorf("Dovecot IMAP after Herald's RETR and DELE: %q (exit %d), want %q", out, code, want)
	}
	if dove := uidlOf(t, dc.pop3Addr); len(dove) != 1 || dove[0].UID != uidls(t, e.store)[0] {
		t.Errorf("Dovecot UIDL after Herald's DELE = %+v", dove)
	}
}
