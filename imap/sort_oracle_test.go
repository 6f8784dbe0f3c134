package imap_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/imap/imaptest"
	"github.com/heraldmail/herald/maildir"
)

// threadMessages are synthetic messages that make threads: replies by
// References and by In-Reply-To only, a missing parent (a dummy), a
// References loop, re/fwd/blob subjects and an encoded subject.
var threadMessages = []struct{ date, subject, id, refs, irt string }{
	{"Mon, 01 Jan 2024 10:00:00 +0000", "Plans for the weekend", "<a1@x>", "", ""},
	{"Mon, 01 Jan 2024 11:00:00 +0000", "Re: Plans for the weekend", "<a2@x>", "<a1@x>", "<a1@x>"},
	{"Mon, 01 Jan 2024 12:00:00 +0000", "Re: Re: Plans for the weekend", "<a3@x>", "<a1@x> <a2@x>", ""},
	{"Mon, 01 Jan 2024 11:30:00 +0000", "RE: Plans for the weekend", "<a4@x>", "", "<a1@x>"},
	{"Tue, 02 Jan 2024 09:00:00 +0000", "Re: lost parent", "<b2@x>", "<b1@x>", ""},
	{"Tue, 02 Jan 2024 09:30:00 +0000", "Re: lost parent", "<b3@x>", "<b1@x>", ""},
	{"Wed, 03 Jan 2024 08:00:00 +0000", "[list] Fwd: report (fwd)", "<c1@x>", "", ""},
	{"Wed, 03 Jan 2024 08:05:00 +0000", "report", "<c2@x>", "", ""},
	{"Wed, 03 Jan 2024 08:10:00 +0000", "[Fwd: report]", "<c3@x>", "", ""},
	{"Thu, 04 Jan 2024 07:00:00 +0100", "=?UTF-8?Q?R=C3=A9union?=", "<d1@x>", "", ""},
	{"Thu, 04 Jan 2024 07:00:00 +0000", "Re: =?ISO-8859-1?Q?R=E9union?=", "<d2@x>", "<d1@x>", ""},
	{"Fri, 05 Jan 2024 06:00:00 +0000", "loop one", "<e1@x>", "<e2@x>", ""},
	{"Fri, 05 Jan 2024 06:01:00 +0000", "loop two", "<e2@x>", "<e1@x>", ""},
	{"not a date", "no date here", "<f1@x>", "", ""},
	{"Sat, 06 Jan 2024 06:00:00 +0000", "", "", "<a3@x>", ""},
	{"Sat, 06 Jan 2024 06:00:00 +0000", "duplicate id", "<a1@x>", "", ""},
	{"Sun, 07 Jan 2024 06:00:00 +0000", "Fw: [blob] Plans  for\tthe weekend", "<g1@x>", "", ""},
}

func threadMessage(i int) []byte {
	m := threadMessages[i]
	var b strings.Builder
	fmt.Fprintf(&b, "From: =?UTF-8?Q?J=C3=BCrgen?= <u%d@example.org>\r\nTo: list%d@example.org\r\n", i%3, (i*7)%5)
	if i%2 == 0 {
		fmt.Fprintf(&b, "Cc: \"Zed %d\" <cc%d@example.net>\r\n", i, (i*5)%4)
	}
	fmt.Fprintf(&b, "Date: %s\r\nSubject: %s\r\n", m.date, m.subject)
	if m.id != "" {
		fmt.Fprintf(&b, "Message-ID: %s\r\n", m.id)
	}
	if m.refs != "" {
		fmt.Fprintf(&b, "References: %s\r\n", m.refs)
	}
	if m.irt != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\n", m.irt)
	}
	fmt.Fprintf(&b, "\r\nbody %d\r\n", i)
	return []byte(b.String())
}

// sortOracleCommands are run on both servers.
var sortOracleCommands = []string{
	"SORT (ARRIVAL) UTF-8 ALL",
	"SORT (REVERSE ARRIVAL) UTF-8 ALL",
	"SORT (DATE) UTF-8 ALL",
	"SORT (REVERSE DATE) UTF-8 ALL",
	"SORT (SUBJECT) UTF-8 ALL",
	"SORT (REVERSE SUBJECT DATE) UTF-8 ALL",
	"SORT (FROM) UTF-8 ALL",
	"SORT (TO) UTF-8 ALL",
	"SORT (CC) UTF-8 ALL",
	"SORT (SIZE) UTF-8 ALL",
	"SORT (REVERSE SIZE) UTF-8 ALL",
	"SORT (DISPLAYFROM) UTF-8 ALL",
	"SORT (DISPLAYTO) UTF-8 ALL",
	"SORT (SUBJECT REVERSE ARRIVAL) US-ASCII ALL",
	"UID SORT (SUBJECT) UTF-8 UID 1:20,40:*",
	"SORT (DATE) UTF-8 SUBJECT weekend",
	"THREAD ORDEREDSUBJECT UTF-8 ALL",
	"THREAD REFERENCES UTF-8 ALL",
	"UID THREAD REFERENCES UTF-8 ALL",
	"THREAD REFERENCES UTF-8 NOT SUBJECT report",
	// ESORT (RFC 5267).
	"SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL",
	"UID SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 UID 30:60",
	"SORT RETURN (COUNT) (SIZE) UTF-8 LARGER 5000",
	"SORT RETURN (MIN MAX) (FROM) UTF-8 SUBJECT weekend",
	"SORT RETURN () (SIZE) UTF-8 1:10",
	"SORT RETURN (ALL) (SIZE) UTF-8 SUBJECT nothing-matches-this",
	// SEARCHRES (RFC 5182).
	"SEARCH RETURN (SAVE) FROM mikel",
	"SORT (DATE SUBJECT) UTF-8 $",
	"UID SORT (REVERSE SIZE) UTF-8 UID $",
	"THREAD REFERENCES UTF-8 OR $ SUBJECT weekend",
	"SEARCH RETURN (SAVE MIN MAX) SUBJECT plans",
	"SEARCH $",
}

// sortDisagreement is a command whose answers differ because of some
// messages: without them (NOT UID ...; UIDs and sequence numbers are the
// same here) the answers must agree.
type sortDisagreement struct {
	without string
	why     string
}

// Reasons for the SORT and THREAD disagreements.
const (
	dvSentDate = "Dovecot takes a Date before 1970 (example04 and example10: 1969) as no date and sorts the message by INTERNALDATE, and sorts the year 3609 (raw_email_bad_time) before every other date; Herald sorts all three by the dates as written (RFC 5256 section 2.2), the 1969 ones first and 3609 last"
	dvBomFrom  = "feedback-report.txt starts with a UTF-8 byte order mark, which Herald skips; Dovecot takes it as part of the first field name and so loses its From field, sorting it as an empty address"
)

// sortDisagreements lists the commands whose answers differ, with the
// messages that make them differ and the reason.
var sortDisagreements = map[string]sortDisagreement{
	"SORT (DATE) UTF-8 ALL":                      {"157,172,178", dvSentDate},
	"SORT (REVERSE DATE) UTF-8 ALL":              {"157,172,178", dvSentDate},
	"SORT (REVERSE SUBJECT DATE) UTF-8 ALL":      {"157,172,178", dvSentDate},
	"SORT (FROM) UTF-8 ALL":                      {"68", dvBomFrom},
	"SORT (DISPLAYFROM) UTF-8 ALL":               {"68", dvBomFrom},
	"THREAD ORDEREDSUBJECT UTF-8 ALL":            {"157,172,178", dvSentDate},
	"THREAD REFERENCES UTF-8 ALL":                {"157,172,178", dvSentDate},
	"UID THREAD REFERENCES UTF-8 ALL":            {"157,172,178", dvSentDate},
	"THREAD REFERENCES UTF-8 NOT SUBJECT report": {"157,172,178", dvSentDate},
}

// TestDovecotSortOracle writes the corpus messages and the synthetic
// threads into one Maildir (with dovecot-uidlist, INTERNALDATEs as file
// times in an order unlike the UIDs'), copies it for a private Dovecot
// and for Herald's imapmaildir, and compares the SORT and THREAD
// responses of both. Dovecot keeps its sort and thread data in its index
// (dovecot.index.cache, dovecot.index.thread), built on the first SORT;
// no setting changes its results.
func TestDovecotSortOracle(t *testing.T) {
	dv := imaptest.StartDovecot(t, map[string]string{"alice": "secret"})
	names, msgs := oracleMessages(t)
	var all [][]byte
	for _, n := range names {
		all = append(all, msgs[n])
	}
	for i := range threadMessages {
		all = append(all, threadMessage(i))
		names = append(names, fmt.Sprintf("thread #%d", i))
	}

	src := t.TempDir()
	st, err := maildir.OpenStore(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range all {
		// Arrival times out of UID order.
		when := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((i*37)%len(all)) * time.Minute)
		if _, err := inbox.Deliver(context.Background(), strings.NewReader(string(m)), &maildir.DeliverOptions{Time: when}); err != nil {
			t.Fatal(err)
		}
	}
	dvMail := filepath.Join(dv.Dir, "mail", "alice")
	copyTree(t, src, dvMail)
	hMail := filepath.Join(t.TempDir(), "alice")
	copyTree(t, src, hMail)

	be := &imapmaildir.Backend{Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
		return maildir.OpenStore(hMail, nil)
	}}
	s := testServer(be)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Shutdown(context.Background())

	d := dialIMAP(t, dv.Addr)
	d.cmd("LOGIN alice secret")
	d.cmd("SELECT INBOX")
	h := dialIMAP(t, l.Addr().String())
	h.cmd("LOGIN alice secret")
	h.cmd("SELECT INBOX")

	compare := func(cmd string) (string, bool) {
		want, wst := untaggedOf(t, d, cmd)
		got, gst := untaggedOf(t, h, cmd)
		if !strings.HasPrefix(wst, "OK") || !strings.HasPrefix(gst, "OK") || want == "" && !strings.Contains(cmd, "(SAVE)") {
			t.Errorf("%s: herald %s, dovecot %s", cmd, gst, wst)
		}
		return fmt.Sprintf("%s:\n herald  %s\n dovecot %s", cmd, got, want), want == got
	}
	for _, cmd := range sortOracleCommands {
		diff, same := compare(cmd)
		dis, listed := sortDisagreements[cmd]
		switch {
		case same && listed:
			t.Errorf("%s: listed as a disagreement (%s) but agrees now", cmd, dis.why)
		case !same && !listed:
			t.Error(diff)
		case !same && os.Getenv("ORACLE_ALL") != "":
			t.Logf("%s\n (%s)", diff, dis.why)
		}
		if listed {
			if diff, same := compare(cmd + " NOT UID " + dis.without); !same {
				t.Errorf("without %s (%s):\n%s", dis.without, dis.why, diff)
			}
		}
	}
	t.Logf("%d messages, %d commands compared, %d listed disagreements", len(all), len(sortOracleCommands), len(sortDisagreements))
}

// untaggedOf sends a command and returns its untagged responses joined
// and the tagged status.
func untaggedOf(t *testing.T, s *imapSession, cmd string) (string, string) {
	t.Helper()
	s.n++
	tag := fmt.Sprintf("t%d", s.n)
	fmt.Fprintf(s.c, "%s %s\r\n", tag, cmd)
	var out []string
	for {
		line, err := s.r.r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, tag+" ") {
			st := line[len(tag)+1:]
			if i := strings.Index(st, "] "); i >= 0 && strings.HasPrefix(st, "OK [") {
				st = "OK"
			}
			return strings.Join(out, "\n"), st
		}
		out = append(out, line)
	}
}

// copyTree copies a directory tree, file times kept, owned by the user
// Dovecot's mail processes run as.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		fi, err := de.Info()
		if err != nil {
			return err
		}
		if de.IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		} else {
			in, err := os.Open(path)
			if err != nil {
				return err
			}
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				in.Close()
				return err
			}
			_, err = io.Copy(out, in)
			in.Close()
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Chtimes(dst, fi.ModTime(), fi.ModTime()); err != nil {
				return err
			}
		}
		if os.Geteuid() == 0 {
			os.Chown(dst, 65534, 65534)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Directory times after their files were written.
	filepath.WalkDir(from, func(path string, de os.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			if fi, err := de.Info(); err == nil {
				rel, _ := filepath.Rel(from, path)
				os.Chtimes(filepath.Join(to, rel), fi.ModTime(), fi.ModTime())
			}
		}
		return nil
	})
}
