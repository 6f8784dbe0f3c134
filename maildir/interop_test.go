package maildir

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/imaputf7"
	"github.com/heraldmail/herald/internal/peertest"
)

// dovecot is a private Dovecot IMAP server on 127.0.0.1 serving one user
// whose mail is the Maildir++ tree mail (the default layout).
type dovecot struct {
	port  int
	mail  string
	owner int // uid the mail processes run as, -1 for the current user
}

func startDovecot(t *testing.T, mail string) *dovecot {
	t.Helper()
	bin := peertest.LookPath(t, "dovecot")
	peertest.LookPath(t, "python3")
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	state := filepath.Join(dir, "state")
	home := filepath.Join(dir, "home")
	for _, d := range []string{base, state, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	d := &dovecot{port: port, mail: mail, owner: -1}
	cur, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	loginUser, uid, gid := cur.Username, cur.Uid, cur.Gid
	// Dovecot hands its internal sockets to default_internal_group, which
	// a user other than root can only do for a group of its own.
	group := "dovecot"
	if g, err := user.LookupGroupId(cur.Gid); err == nil && os.Geteuid() != 0 {
		group = g.Name
	}
	if os.Geteuid() == 0 {
		// Dovecot runs neither its login process nor mail processes as
		// root: both run as nobody, which must reach the mail.
		nobody, err := user.Lookup("nobody")
		if err != nil {
			peertest.Unavailable(t, "no user nobody for Dovecot to run as: %v", err)
		}
		loginUser, uid, gid = "nobody", nobody.Uid, nobody.Gid
		d.owner, _ = strconv.Atoi(uid)
		for p := mail; p != "/" && p != "."; p = filepath.Dir(p) {
			if strings.HasPrefix(p, os.TempDir()) && p != os.TempDir() {
				os.Chmod(p, 0o755)
			}
		}
		os.Chown(home, d.owner, -1)
	}
	conf := fmt.Sprintf(`protocols = imap
listen = 127.0.0.1
base_dir = %[1]s
state_dir = %[2]s
log_path = %[3]s
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = %[4]s
default_internal_user = %[5]s
default_internal_group = %[11]s
first_valid_uid = 0
mail_location = maildir:%[6]s
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=%[7]s gid=%[8]s home=%[9]s
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
`, base, state, filepath.Join(dir, "dovecot.log"), loginUser, cur.Username, mail, uid, gid, home, port, group)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.chown(t)
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		// Dovecot logs what it finds wrong in a Maildir (a corrupt
		// dovecot-uidlist, a message that lost its UID) as errors.
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, " Error: ") || strings.Contains(line, " Panic: ") || strings.Contains(line, " Fatal: ") {
				t.Errorf("dovecot: %s", line)
			}
		}
		if t.Failed() {
			t.Logf("dovecot.log:\n%s", log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not start: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// chown hands the mail tree to the user Dovecot's mail processes run as
// (only when the test runs as root), before each IMAP session.
func (d *dovecot) chown(t *testing.T) {
	t.Helper()
	if d.owner < 0 {
		return
	}
	filepath.Walk(d.mail, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, d.owner, -1)
		}
		return nil
	})
}

// imapScript is run by python3 with a JSON request; it prints a JSON
// answer. "read" reports each folder's status and messages; "write"
// appends, stores flags, creates a folder and subscribes through Dovecot.
const imapScript = `
import imaplib, json, re, sys
req = json.loads(sys.argv[1])
c = imaplib.IMAP4("127.0.0.1", req["port"])
c.login("herald", "secret")
def q(name):
    return '"' + name + '"'
def ok(r):
    if r[0] != "OK":
        raise SystemExit("IMAP failed: %r" % (r,))
    return r[1]
def status(box):
    d = ok(c.status(q(box), "(UIDVALIDITY UIDNEXT MESSAGES)"))[0].decode()
    m = re.search(r"\((.*)\)", d).group(1).split()
    return {m[i]: int(m[i + 1]) for i in range(0, len(m), 2)}
def messages(box):
    ok(c.select(q(box), readonly=True))
    out = []
    data = ok(c.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
        size = int(re.search(r"RFC822.SIZE (\d+)", meta).group(1))
        subj = item[1].decode().strip().replace("Subject: ", "")
        out.append({"uid": uid, "flags": sorted(f for f in flags if f != "\\Recent"), "size": size, "subject": subj})
    return out
res = {}
if req["op"] == "read":
    res["folders"] = {}
    for box in req["folders"]:
        res["folders"][box] = {"status": status(box), "messages": messages(box)}
    res["list"] = sorted(re.search(rb'"[.]" (.*)$', l).group(1).decode().strip('"') for l in ok(c.list()))
elif req["op"] == "append":
    for i in range(req["n"]):
        ok(c.append("INBOX", None, None, b"Subject: dovecot %d\r\n\r\nx\r\n" % i))
else:
    ok(c.select("INBOX"))
    r = ok(c.append("INBOX", r"(\Seen \Answered FromDovecot)", None, b"Subject: appended by dovecot\r\n\r\nhello\r\n"))
    res["appenduid"] = [int(x) for x in re.search(rb"APPENDUID (\d+) (\d+)", r[0]).groups()]
    ok(c.uid("STORE", str(req["store_uid"]), "+FLAGS", r"(\Flagged Dovecot$Kw)"))
    ok(c.create(q(req["create"])))
    r = ok(c.append(q(req["create"]), None, None, b"Subject: in a dovecot folder\r\n\r\nhi\r\n"))
    res["appenduid2"] = [int(x) for x in re.search(rb"APPENDUID (\d+) (\d+)", r[0]).groups()]
    ok(c.subscribe(q(req["create"])))
    res["inbox"] = messages("INBOX")
c.logout()
print(json.dumps(res))
`

type imapMessage struct {
	UID     uint32   `json:"uid"`
	Flags   []string `json:"flags"`
	Size    int64    `json:"size"`
	Subject string   `json:"subject"`
}

type imapFolder struct {
	Status   map[string]uint32 `json:"status"`
	Messages []imapMessage     `json:"messages"`
}

func (d *dovecot) run(t *testing.T, req map[string]any, resp any) {
	t.Helper()
	d.chown(t)
	req["port"] = d.port
	arg, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-c", imapScript, string(arg)).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("imaplib: %v\n%s", err, msg)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("imaplib output %q: %v", out, err)
	}
}

// imapFlags returns the IMAP flags Dovecot shows for a Herald message.
func imapFlags(m Message) []string {
	names := map[byte]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}
	var out []string
	for i := 0; i < len(m.Flags); i++ {
		if n, ok := names[m.Flags[i]]; ok {
			out = append(out, n)
		}
	}
	out = append(out, m.Keywords...)
	sort.Strings(out)
	return out
}

func subjectOf(t *testing.T, m *Maildir, uid uint32) string {
	t.Helper()
	h, err := m.Header(context.Background(), uid, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h.Get("Subject")
}

// TestDovecotInterop checks, against a private Dovecot, that (1) messages,
// flags, keywords and folders (one with a non-ASCII name) made by Herald
// are seen by Dovecot with the UIDs and UIDVALIDITY Herald reports, and
// (2) messages appended, flags stored and folders created through Dovecot
// are read by Herald with the UIDs Dovecot reports.
func TestDovecotInterop(t *testing.T) {
	ctx := context.Background()
	mail := filepath.Join(t.TempDir(), "Maildir")
	st, err := OpenStore(mail, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := startDovecot(t, mail)

	// (1) Herald writes.
	for _, n := range []string{"Archive", "Entwürfe", "Archive.2024"} {
		if err := st.CreateFolder(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Subscribe(ctx, "Entwürfe"); err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Folder(Inbox)
	drafts, _ := st.Folder("Entwürfe")
	deliver(t, inbox, "Subject: one\r\n\r\nfirst\r\n", nil)
	deliver(t, inbox, "Subject: two\n\nbare LF body\n", &DeliverOptions{Flags: "S", Keywords: []string{"$Junk", "Work"}})
	three := deliver(t, inbox, "Subject: three\r\n\r\nthird\r\n", nil)
	if _, err := inbox.SetFlags(ctx, []uint32{three.UID}, FlagsAdd, "FR", []string{"Later"}); err != nil {
		t.Fatal(err)
	}
	deliver(t, drafts, "Subject: draft\r\n\r\nwip\r\n", &DeliverOptions{Flags: "DS"})
	want := map[string]*Snapshot{}
	for _, name := range []string{Inbox, "Entwürfe", "Archive.2024"} {
		want[name] = syncT(t, mustFolder(t, st, name), nil)
	}

	enc := func(s string) string { e, _ := imaputf7.Encode(s); return e }
	var read struct {
		Folders map[string]imapFolder `json:"folders"`
		List    []string              `json:"list"`
	}
	d.run(t, map[string]any{"op": "read", "folders": []string{"INBOX", enc("Entwürfe"), "Archive.2024"}}, &read)
	wantList := []string{"Archive", "Archive.2024", "Entw&APw-rfe", "INBOX"}
	if strings.Join(read.List, ",") != strings.Join(wantList, ",") {
		t.Errorf("Dovecot LIST = %q, want %q", read.List, wantList)
	}
	for name, snap := range want {
		f := mustFolder(t, st, name)
		got := read.Folders[enc(name)]
		if got.Status["UIDVALIDITY"] != snap.UIDValidity || got.Status["UIDNEXT"] != snap.UIDNext || int(got.Status["MESSAGES"]) != len(snap.Messages) {
			t.Errorf("%s: Dovecot STATUS %v, Herald UIDVALIDITY %d UIDNEXT %d, %d messages", name, got.Status, snap.UIDValidity, snap.UIDNext, len(snap.Messages))
		}
		if len(got.Messages) != len(snap.Messages) {
			t.Fatalf("%s: Dovecot sees %+v, Herald %+v", name, got.Messages, snap.Messages)
		}
		for i, hm := range snap.Messages {
			dm := got.Messages[i]
			n, _ := ParseName(hm.Name)
			if dm.UID != hm.UID || dm.Subject != subjectOf(t, f, hm.UID) || dm.Size != n.VSize ||
				strings.Join(dm.Flags, " ") != strings.Join(imapFlags(hm), " ") {
				t.Errorf("%s: Dovecot %+v, Herald %+v (flags %q)", name, dm, hm, imapFlags(hm))
			}
		}
	}

	// (2) Dovecot writes.
	created := "Dovecot.Ünïcode"
	var wrote struct {
		AppendUID  []uint32      `json:"appenduid"`
		AppendUID2 []uint32      `json:"appenduid2"`
		Inbox      []imapMessage `json:"inbox"`
	}
	d.run(t, map[string]any{"op": "write", "store_uid": three.UID, "create": enc(created)}, &wrote)
	s := syncT(t, inbox, nil)
	if s.UIDValidity != wrote.AppendUID[0] || s.UIDValidity != want[Inbox].UIDValidity {
		t.Errorf("UIDVALIDITY: Herald %d, Dovecot APPENDUID %d", s.UIDValidity, wrote.AppendUID[0])
	}
	if len(s.Messages) != len(wrote.Inbox) {
		t.Fatalf("Herald sees %+v, Dovecot %+v", s.Messages, wrote.Inbox)
	}
	for i, dm := range wrote.Inbox {
		hm := s.Messages[i]
		if dm.UID != hm.UID || dm.Subject != subjectOf(t, inbox, hm.UID) || strings.Join(dm.Flags, " ") != strings.Join(imapFlags(hm), " ") {
			t.Errorf("INBOX: Dovecot %+v, Herald %+v (flags %q)", dm, hm, imapFlags(hm))
		}
	}
	if last := s.Messages[len(s.Messages)-1]; last.UID != wrote.AppendUID[1] || subjectOf(t, inbox, last.UID) != "appended by dovecot" {
		t.Errorf("appended message: Herald %+v, Dovecot UID %d", last, wrote.AppendUID[1])
	}
	nf, err := st.Folder(created)
	if err != nil {
		t.Fatalf("folder created by Dovecot: %v", err)
	}
	ns := syncT(t, nf, nil)
	if ns.UIDValidity != wrote.AppendUID2[0] || len(ns.Messages) != 1 || ns.Messages[0].UID != wrote.AppendUID2[1] {
		t.Errorf("Dovecot's folder: Herald %+v, Dovecot APPENDUID %v", ns, wrote.AppendUID2)
	}
	subs, err := st.Subscriptions()
	if err != nil || strings.Join(subs, ",") != "Dovecot.Ünïcode,Entwürfe" {
		t.Errorf("Subscriptions after Dovecot = %q, %v", subs, err)
	}
	// Herald delivers after Dovecot: the next UID, which Dovecot agrees on.
	next := deliver(t, inbox, "Subject: after\r\n\r\nx\r\n", nil)
	if next.UID != wrote.AppendUID[1]+1 {
		t.Errorf("UID after Dovecot's append = %d, want %d", next.UID, wrote.AppendUID[1]+1)
	}
	d.run(t, map[string]any{"op": "read", "folders": []string{"INBOX"}}, &read)
	msgs := read.Folders["INBOX"].Messages
	if l := msgs[len(msgs)-1]; l.UID != next.UID || l.Subject != "after" {
		t.Errorf("Dovecot sees the last delivery as %+v, Herald UID %d", l, next.UID)
	}
}

func mustFolder(t *testing.T, st *Store, name string) *Maildir {
	t.Helper()
	m, err := st.Folder(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDovecotConcurrentDeliveries has Herald (a second process, running as
// the user Dovecot runs as) and Dovecot (IMAP APPEND) add messages to one
// folder at the same time: both take dovecot-uidlist.lock, so every
// message gets its own UID and both agree on all of them.
func TestDovecotConcurrentDeliveries(t *testing.T) {
	mail := filepath.Join(t.TempDir(), "Maildir")
	st, err := OpenStore(mail, nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Folder(Inbox)
	deliver(t, inbox, "Subject: first\r\n\r\nx\r\n", nil)
	d := startDovecot(t, mail)
	d.chown(t)

	const n = 30
	child := helper(t, "deliver", mail, n)
	if d.owner >= 0 {
		// The test binary's directory is private to root: run a copy.
		exe, _ := os.Executable()
		data, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		os.Chmod(dir, 0o755)
		copyPath := filepath.Join(dir, "maildir.test")
		if err := os.WriteFile(copyPath, data, 0o755); err != nil {
			t.Fatal(err)
		}
		child.Path = copyPath
		child.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(d.owner), Gid: uint32(d.owner)}}
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var appended struct{}
	d.run(t, map[string]any{"op": "append", "n": n}, &appended)
	if err := child.Wait(); err != nil {
		t.Fatalf("Herald process: %v", err)
	}

	var read struct {
		Folders map[string]imapFolder `json:"folders"`
	}
	d.run(t, map[string]any{"op": "read", "folders": []string{"INBOX"}}, &read)
	dm := read.Folders["INBOX"].Messages
	s := syncT(t, inbox, nil)
	if len(dm) != 2*n+1 || len(s.Messages) != 2*n+1 {
		t.Fatalf("Dovecot sees %d messages, Herald %d, want %d", len(dm), len(s.Messages), 2*n+1)
	}
	for i, hm := range s.Messages {
		if dm[i].UID != hm.UID || dm[i].Subject != subjectOf(t, inbox, hm.UID) {
			t.Errorf("message %d: Dovecot UID %d %q, Herald UID %d %q", i, dm[i].UID, dm[i].Subject, hm.UID, subjectOf(t, inbox, hm.UID))
		}
	}
	if s.UIDValidity != read.Folders["INBOX"].Status["UIDVALIDITY"] {
		t.Errorf("UIDVALIDITY: Herald %d, Dovecot %d", s.UIDValidity, read.Folders["INBOX"].Status["UIDVALIDITY"])
	}
}
