package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/imap/imaptest"
	"github.com/heraldmail/herald/maildir"
)

// rawSession is a client that records every response line as sent,
// literals included, for the two-session comparison.
type rawSession struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	n   int
	tag string
}

func dialRaw(t testing.TB, addr, name string) *rawSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &rawSession{t: t, c: c, r: bufio.NewReaderSize(c, 64<<10), tag: name}
	s.c.SetDeadline(time.Now().Add(60 * time.Second))
	s.r.ReadString('\n')
	return s
}

// response reads one response line and the literals it announces.
func (s *rawSession) response() string {
	s.t.Helper()
	var b strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("%s: reading: %v (got %q)", s.c.RemoteAddr(), err, b.String()+line)
		}
		b.WriteString(line)
		n, _, ok := literalAt(strings.TrimSuffix(line, "\r\n"))
		if !ok {
			return strings.TrimSuffix(b.String(), "\r\n")
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(s.r, buf); err != nil {
			s.t.Fatal(err)
		}
		b.Write(buf)
	}
}

// run sends a command and returns the responses up to the tagged one.
func (s *rawSession) run(cmd string) []string {
	s.t.Helper()
	s.n++
	tag := fmt.Sprintf("%s%d", s.tag, s.n)
	io.WriteString(s.c, tag+" "+cmd+"\r\n")
	return s.until(tag)
}

func (s *rawSession) until(tag string) []string {
	var out []string
	for {
		l := s.response()
		if strings.HasPrefix(l, tag+" ") {
			return append(out, "TAG"+l[len(tag):])
		}
		out = append(out, l)
	}
}

var (
	reRespText  = regexp.MustCompile(`^((?:\* |TAG )(?:OK|NO|BAD|BYE|PREAUTH))( \[[^\]]*\])?.*$`)
	reFetchLine = regexp.MustCompile(`^\* (\d+) FETCH (\(.*\))$`)
)

// canonResponse makes a response comparable between servers: the human
// text after the status and code is dropped, the UIDVALIDITY (which
// differs by construction) replaced, and the items of FETCH responses
// sorted, with flags sorted too.
func canonResponse(l string, validity string) string {
	if validity != "" {
		l = strings.ReplaceAll(l, " "+validity+" ", " V ")
		l = strings.ReplaceAll(l, " "+validity+"]", " V]")
	}
	if m := reRespText.FindStringSubmatch(l); m != nil {
		return m[1] + m[2]
	}
	if m := reFetchLine.FindStringSubmatch(l); m != nil {
		v, err := respReader{bufio.NewReader(strings.NewReader(m[2]))}.value()
		if err != nil || !v.isL {
			return l
		}
		var items []string
		for i := 0; i+1 < len(v.list); i += 2 {
			val := v.list[i+1]
			if v.list[i].atom == "FLAGS" {
				slices.SortFunc(val.list, func(a, b node) int { return strings.Compare(a.canon(false), b.canon(false)) })
			}
			items = append(items, v.list[i].atom+" "+val.canon(false))
		}
		slices.Sort(items)
		return "* " + m[1] + " FETCH (" + strings.Join(items, " ") + ")"
	}
	if strings.HasPrefix(l, "* FLAGS ") || strings.HasPrefix(l, "* OK [PERMANENTFLAGS ") {
		i, j := strings.IndexByte(l, '('), strings.IndexByte(l, ')')
		if i > 0 && j > i {
			f := strings.Fields(l[i+1 : j])
			slices.Sort(f)
			l = l[:i+1] + strings.Join(f, " ") + l[j:]
		}
		if m := reRespText.FindStringSubmatch(l); m != nil {
			return m[1] + m[2]
		}
	}
	return l
}

// sessionStep is one command of the script: who sends it and how the
// responses are compared.
type sessionStep struct {
	who  byte   // 'A' or 'B'
	cmd  string // "IDLE" waits for the continuation, "DONE" ends it
	sets bool   // compare the responses as a set (SELECT lists its data in its own order)
	save string // name under which the side's HIGHESTMODSEQ is kept after the step
}

// sessionDifferences lists the steps where Herald answers otherwise than
// Dovecot, keyed by the step's index and command, with the reason.
var sessionDifferences = map[string]string{
	"5 B NOOP":  dvUnsolicitedUID,
	"13 B NOOP": dvUnsolicitedUID,
	"8 B FETCH 1 FLAGS": "the message was expunged by A after a silent STORE of \\Deleted that B was never told of: Herald's view keeps the flags B knows (none) and cannot read the flags of a message that is gone; " +
		"Dovecot's index still has them and sends them, once unsolicited and once as asked",
	"9 B STORE 1 +FLAGS (\\Seen)":                     "as for step 8: both answer OK with the FETCH of the flags in their view, which for Herald does not hold the \\Deleted B was never told of",
	"10 B FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]": "the content of a message expunged meanwhile: Herald answers NO [EXPUNGEISSUED] and sends no FETCH, Dovecot OK [EXPUNGEISSUED] with NIL; RFC 9051 section 7.1 allows both, and a NO makes the client resynchronise before using the data",
	"18 B DONE": "during IDLE Herald sends each change as it happens: A's STORE of \\Deleted (with UID) and then the EXPUNGE; Dovecot noticed both at once and sent only the EXPUNGE (each is a valid sequence)",
}

// dvUnsolicitedUID: Herald adds the UID to unsolicited FETCH responses.
const dvUnsolicitedUID = "Herald includes the UID in unsolicited FETCH responses, so that a client can apply them by UID without a sequence number map (RFC 3501 and RFC 9051 allow any data items there; RFC 7162 requires the UID once QRESYNC is enabled); Dovecot sends FLAGS only"

// TestDovecotOracleSessions runs two sessions on the same INBOX against a
// private Dovecot and against Herald over its Maildir backend, each
// server over its own Maildir holding the same messages: session A stores
// flags and expunges while session B is selected and then in IDLE. Both
// servers get the same scripted commands and their responses are
// compared line by line, except for the text after status codes. B is an
// IMAP4rev1 client, as imaplib is.
func TestDovecotOracleSessions(t *testing.T) {
	msgs := []string{msgPlain, msgMultipart, msgForward, msgPlain, msgPlain, msgMultipart, msgPlain}
	sides := startSessionSides(t, msgs)

	script := []sessionStep{
		{who: 'A', cmd: "SELECT INBOX", sets: true},
		{who: 'B', cmd: "SELECT INBOX", sets: true},
		// Flags changed and a message expunged by A: B's NOOP must
		// number the FETCH by what B has been told.
		{who: 'A', cmd: `STORE 4 +FLAGS.SILENT (\Flagged)`},
		{who: 'A', cmd: `STORE 2 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "NOOP"},
		// STORE and FETCH on a message A expunged meanwhile.
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "FETCH 1 FLAGS"},
		{who: 'B', cmd: `STORE 1 +FLAGS (\Seen)`},
		{who: 'B', cmd: "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"},
		{who: 'B', cmd: "NOOP"},
		// A new keyword: B learns of it with FLAGS.
		{who: 'A', cmd: "STORE 2 +FLAGS.SILENT (Project)"},
		{who: 'B', cmd: "NOOP"},
		// Updates during IDLE.
		{who: 'B', cmd: "IDLE"},
		{who: 'A', cmd: `STORE 3 +FLAGS.SILENT (\Answered)`},
		{who: 'A', cmd: `STORE 1 +FLAGS.SILENT (\Deleted)`},
		{who: 'A', cmd: "EXPUNGE"},
		{who: 'B', cmd: "DONE"},
		{who: 'B', cmd: "FETCH 1:* (UID FLAGS)"},
		{who: 'A', cmd: "FETCH 1:* (UID FLAGS)"},
		// WITHIN (RFC 5032), with a message dated long ago.
		{who: 'A', cmd: fmt.Sprintf("APPEND INBOX \"01-Jan-2020 00:00:00 +0000\" {%d+}\r\n%s", len(msgPlain), msgPlain)},
		{who: 'B', cmd: "NOOP"},
		{who: 'B', cmd: "SEARCH OLDER 3600"},
		{who: 'B', cmd: "SEARCH YOUNGER 3600"},
		{who: 'B', cmd: "UID SEARCH NOT YOUNGER 86400"},
	}
	runSessionScript(t, sides, script, sessionDifferences)
}

// sessionSide is one server of the comparison with its two sessions.
type sessionSide struct {
	name     string
	a, b     *rawSession
	validity string
	// modseqs maps the side's mod-sequences to names in the order they
	// first appear (M1, M2, ...), so that the two servers' values can be
	// compared; saved holds the last HIGHESTMODSEQ when a step saves it.
	modseqs map[string]string
	highest string
	saved   map[string]string
}

// startSessionSides starts a private Dovecot and Herald over its Maildir
// backend, logs two sessions A and B in on each and appends msgs to
// INBOX of both.
func startSessionSides(t *testing.T, msgs []string) []*sessionSide {
	t.Helper()
	dv := imaptest.StartDovecot(t, map[string]string{"alice": "secret"})
	root := t.TempDir()
	be := &imapmaildir.Backend{
		Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
			return maildir.OpenStore(filepath.Join(root, identity), nil)
		},
	}
	srv := &imap.Server{Backend: be, Auth: testAuth(), Logger: slog.New(slog.DiscardHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

	var sides []*sessionSide
	for _, srvAddr := range []struct{ name, addr string }{{"dovecot", dv.Addr}, {"herald", l.Addr().String()}} {
		sd := &sessionSide{name: srvAddr.name, modseqs: map[string]string{}, saved: map[string]string{}}
		sd.a = dialRaw(t, srvAddr.addr, "a")
		sd.b = dialRaw(t, srvAddr.addr, "b")
		sd.a.run("LOGIN alice secret")
		sd.b.run("LOGIN alice secret")
		for _, m := range msgs {
			sd.a.n++
			tag := fmt.Sprintf("a%d", sd.a.n)
			fmt.Fprintf(sd.a.c, "%s APPEND INBOX {%d+}\r\n%s\r\n", tag, len(m), m)
			if r := sd.a.until(tag); !strings.HasPrefix(last(r), "TAG OK") {
				t.Fatalf("%s APPEND: %q", sd.name, r)
			}
		}
		for _, r := range sd.a.run("STATUS INBOX (UIDVALIDITY)") {
			if i := strings.Index(r, "UIDVALIDITY "); i >= 0 {
				sd.validity = strings.TrimRight(r[i+len("UIDVALIDITY "):], ")")
			}
		}
		sides = append(sides, sd)
	}
	return sides
}

// runSessionScript runs the script on both sides and compares the
// canonical responses; differences lists the steps known to differ, keyed
// by index, session and command, with the reason.
func runSessionScript(t *testing.T, sides []*sessionSide, script []sessionStep, differences map[string]string) {
	t.Helper()
	for i, st := range script {
		var got [2][]string
		for k, sd := range sides {
			s := sd.a
			if st.who == 'B' {
				s = sd.b
			}
			var lines []string
			switch st.cmd {
			case "IDLE":
				s.n++
				io.WriteString(s.c, fmt.Sprintf("%s%d IDLE\r\n", s.tag, s.n))
				lines = []string{s.response()}
			case "DONE":
				// Let the server notice the changes while idling.
				time.Sleep(1500 * time.Millisecond)
				io.WriteString(s.c, "DONE\r\n")
				lines = s.until(fmt.Sprintf("%s%d", s.tag, s.n))
			default:
				lines = s.run(sd.expand(st.cmd))
			}
			for _, l := range lines {
				got[k] = append(got[k], canonResponse(sd.canonModSeqs(l), sd.validity))
			}
			if st.save != "" {
				sd.saved[st.save] = sd.highest
			}
			if st.sets {
				slices.Sort(got[k])
			}
		}
		key := fmt.Sprintf("%d %c %s", i, st.who, st.cmd)
		why, listed := differences[key]
		same := slices.Equal(got[0], got[1])
		switch {
		case same && listed:
			t.Errorf("%s: listed as a difference (%s) but agrees now", key, why)
		case !same && !listed:
			t.Errorf("%s:\n dovecot %q\n herald  %q", key, got[0], got[1])
		}
	}
}

var (
	reModSeq    = regexp.MustCompile(`(HIGHESTMODSEQ |MODSEQ \(|MODSEQ )(\d+)`)
	reSavedName = regexp.MustCompile(`\{M:(\w+)\}`)
)

// canonModSeqs replaces the mod-sequences of a response with their names
// and notes the last HIGHESTMODSEQ.
func (sd *sessionSide) canonModSeqs(l string) string {
	return reModSeq.ReplaceAllStringFunc(l, func(m string) string {
		sm := reModSeq.FindStringSubmatch(m)
		if sm[1] == "HIGHESTMODSEQ " {
			sd.highest = sm[2]
		}
		if sm[2] == "0" {
			return m
		}
		name, ok := sd.modseqs[sm[2]]
		if !ok {
			name = fmt.Sprintf("M%d", len(sd.modseqs)+1)
			sd.modseqs[sm[2]] = name
		}
		return sm[1] + name
	})
}

// expand puts the side's values in a command: {V} is the UIDVALIDITY,
// {M:name} a saved HIGHESTMODSEQ.
func (sd *sessionSide) expand(cmd string) string {
	cmd = strings.ReplaceAll(cmd, "{V}", sd.validity)
	return reSavedName.ReplaceAllStringFunc(cmd, func(m string) string {
		return sd.saved[reSavedName.FindStringSubmatch(m)[1]]
	})
}

// TestDovecotOracleID sends the same ID commands (RFC 2971) to Dovecot and
// to Herald: both answer with an untagged ID list, or refuse with BAD,
// alike. The values differ by nature (each server's name).
func TestDovecotOracleID(t *testing.T) {
	dv := imaptest.StartDovecot(t, map[string]string{"alice": "secret"})
	be, _ := newFixture(t)
	srv := testServer(be)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	d, h := dialRaw(t, dv.Addr, "d"), dialRaw(t, l.Addr().String(), "h")
	shape := func(lines []string) string {
		var out []string
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "* ID ("):
				out = append(out, "* ID (...)")
			case strings.HasPrefix(l, "TAG "):
				out = append(out, strings.Fields(l)[0]+" "+strings.Fields(l)[1])
			default:
				out = append(out, l)
			}
		}
		return strings.Join(out, " | ")
	}
	for i, cmd := range []string{`ID ("name" "herald-test" "version" "1")`, `ID NIL`, `ID ("name" "x" "os" NIL)`, `ID ("name")`, `ID name`, "LOGIN alice secret", `ID ("name" "after login")`} {
		want, got := shape(d.run(cmd)), shape(h.run(cmd))
		if want != got {
			t.Errorf("%d %s:\n dovecot %s\n herald  %s", i, cmd, want, got)
		}
	}
}
