package imap_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// wireSteps runs commands on cl and checks every response: the untagged
// ones exactly, the tagged one by its prefix; a step without want is
// only run.
func wireSteps(t *testing.T, cl *client, steps []wireStep) {
	t.Helper()
	for _, st := range steps {
		got := cl.do("t", st.cmd)
		if st.want == nil {
			continue
		}
		ok := len(got) == len(st.want)
		for i := 0; ok && i < len(got); i++ {
			if i == len(got)-1 {
				ok = strings.HasPrefix(got[i], st.want[i])
			} else {
				ok = got[i] == st.want[i]
			}
		}
		if !ok {
			t.Errorf("%s:\n got  %q\n want %q", st.cmd, got, st.want)
		}
	}
}

type wireStep struct {
	cmd  string
	want []string // untagged responses, then the tagged status prefix
}

// TestContextPartial checks RETURN (PARTIAL) of RFC 5267 section 4.4 and
// its negative ranges of RFC 9394 for SEARCH, UID SEARCH, SORT and UID
// SORT, the FETCH modifier PARTIAL (RFC 9394 section 3.2), RETURN
// (CONTEXT), and the ranges and combinations refused with BAD.
func TestContextPartial(t *testing.T) {
	cl := sortFixture(t) // 6 messages; SORT (SUBJECT) is 6 2 1 3 4 5
	caps := cl.do("c", "CAPABILITY")[0] + " "
	for _, c := range []string{" CONTEXT=SEARCH ", " CONTEXT=SORT ", " PARTIAL ", " ESORT "} {
		if !strings.Contains(caps, c) {
			t.Errorf("CAPABILITY lacks%s: %s", c, caps)
		}
	}
	wireSteps(t, cl, []wireStep{
		{"SEARCH RETURN (PARTIAL 1:2) ALL", []string{`* ESEARCH (TAG "t") PARTIAL (1:2 1:2)`, "t OK"}},
		// The range is sent low:high whatever the order; MIN, MAX and
		// COUNT are of the whole result.
		{"SEARCH RETURN (PARTIAL 5:3 MIN MAX COUNT) ALL", []string{`* ESEARCH (TAG "t") MIN 1 MAX 6 PARTIAL (3:5 3:5) COUNT 6`, "t OK"}},
		{"SEARCH RETURN (PARTIAL 2:3) SUBJECT hello", []string{`* ESEARCH (TAG "t") PARTIAL (2:3 3:4)`, "t OK"}},
		// Negative ranges count from the end: -1 is the last.
		{"SEARCH RETURN (PARTIAL -1:-2) ALL", []string{`* ESEARCH (TAG "t") PARTIAL (-1:-2 5:6)`, "t OK"}},
		{"SEARCH RETURN (PARTIAL -100:-5) ALL", []string{`* ESEARCH (TAG "t") PARTIAL (-5:-100 1:2)`, "t OK"}},
		{"SEARCH RETURN (PARTIAL -7:-9) ALL", []string{`* ESEARCH (TAG "t") PARTIAL (-7:-9 NIL)`, "t OK"}},
		{"UID SEARCH RETURN (PARTIAL 7:9) ALL", []string{`* ESEARCH (TAG "t") UID PARTIAL (7:9 NIL)`, "t OK"}},
		{"UID SEARCH RETURN (PARTIAL 1:4294967295) ALL", []string{`* ESEARCH (TAG "t") UID PARTIAL (1:4294967295 1:6)`, "t OK"}},
		{"SEARCH RETURN (PARTIAL 1:5 COUNT) SUBJECT nosuch", []string{`* ESEARCH (TAG "t") PARTIAL (1:5 NIL) COUNT 0`, "t OK"}},
		// SORT: positions in the sort order, numbers in that order.
		{"SORT RETURN (PARTIAL 2:4) (SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "t") PARTIAL (2:4 2,1,3)`, "t OK"}},
		{"SORT RETURN (PARTIAL -2:-4 MIN) (REVERSE SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "t") MIN 5 PARTIAL (-2:-4 3:4,2)`, "t OK"}},
		{"UID SORT RETURN (PARTIAL -1:-3 COUNT) (SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "t") UID PARTIAL (-1:-3 3:5) COUNT 6`, "t OK"}},
		// FETCH (PARTIAL): a range of the messages the set names.
		{"UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)", []string{`* 5 FETCH (UID 5 FLAGS (\Recent))`, `* 6 FETCH (UID 6 FLAGS (\Recent))`, "t OK"}},
		{"FETCH 2:5 (UID) (PARTIAL 2:3)", []string{"* 3 FETCH (UID 3)", "* 4 FETCH (UID 4)", "t OK"}},
		{"UID FETCH 2:5 (UID) (PARTIAL 9:10)", []string{"t OK"}},
		// SAVE with PARTIAL saves the range only.
		{"SEARCH RETURN (PARTIAL 2:3 SAVE) ALL", []string{`* ESEARCH (TAG "t") PARTIAL (2:3 2:3)`, "t OK"}},
		{"FETCH $ (UID)", []string{"* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)", "t OK"}},
		// CONTEXT is a hint: alone it is RETURN (), that is ALL.
		{"SEARCH RETURN (CONTEXT) SUBJECT hello", []string{`* ESEARCH (TAG "t") ALL 1,3:4`, "t OK"}},
		{"SEARCH RETURN (CONTEXT COUNT) SUBJECT hello", []string{`* ESEARCH (TAG "t") COUNT 3`, "t OK"}},
		// Broken ranges and combinations.
		{"SEARCH RETURN (PARTIAL 1:2 ALL) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL 0:2) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL 1:-1) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL -0:-1) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL 4294967296:1) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL 1) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (PARTIAL 1:2:3) ALL", []string{"t BAD"}},
		{"SEARCH RETURN (UPDATE UPDATE) ALL", []string{"t BAD"}},
		{"FETCH 1:* (UID) (PARTIAL 1:2 PARTIAL 1:2)", []string{"t BAD"}},
		{"FETCH 1:* (UID) (PARTIAL x)", []string{"t BAD"}},
	})
}

// contextPair returns two sessions of alice with INBOX selected (three
// messages, the first \Seen) on a server keeping at most maxUpdates
// UPDATE contexts a session.
func contextPair(t *testing.T, maxUpdates int) (a, b *client) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxSearchUpdates = maxUpdates
	a, b = newClient(t, s), newClient(t, s)
	for _, cl := range []*client{a, b} {
		cl.do("l", "LOGIN alice secret")
		cl.do("s", "SELECT INBOX")
	}
	return a, b
}

func wantWire(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// TestContextUpdate checks RETURN (UPDATE) (RFC 5267 section 4.3): the
// ESEARCH ADDTO and REMOVEFROM responses a session gets, after the
// unsolicited FETCH and EXISTS responses, when another session stores,
// appends and expunges, after its NOOP and during IDLE and after its own
// STORE; REMOVEFROM before EXPUNGE, numbered as the client still knows
// the messages; a context of sequence numbers following its messages;
// UID contexts; CANCELUPDATE; and contexts ending with the selection.
func TestContextUpdate(t *testing.T) {
	a, b := contextPair(t, 0)
	wantWire(t, "UPDATE alone", b.do("b1", "SEARCH RETURN (UPDATE) FLAGGED"), []string{`* ESEARCH (TAG "b1")`, "b1 OK SEARCH completed"})
	wantWire(t, "UID UPDATE", b.do("b2", "UID SEARCH RETURN (UPDATE ALL) UNSEEN"), []string{`* ESEARCH (TAG "b2") UID ALL 2:3`, "b2 OK UID SEARCH completed"})
	wantWire(t, "UPDATE of a set", b.do("b3", "SEARCH RETURN (UPDATE COUNT) 2:3"), []string{`* ESEARCH (TAG "b3") COUNT 2`, "b3 OK SEARCH completed"})
	// A tag in use is refused: its updates could not be told apart.
	expectPrefix(t, last(b.do("b3", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")), "b3 BAD")
	expectPrefix(t, last(b.do("b3", "SEARCH RETURN (COUNT) ALL")), "b3 OK")

	// Another session's STORE: after B's NOOP.
	a.do("a1", `STORE 2:3 +FLAGS.SILENT (\Flagged)`)
	a.do("a2", `STORE 2 +FLAGS.SILENT (\Seen)`)
	wantWire(t, "NOOP after STORE", b.do("b4", "NOOP"), []string{
		`* 2 FETCH (UID 2 FLAGS (\Flagged \Seen))`, `* 3 FETCH (UID 3 FLAGS (\Flagged))`,
		`* ESEARCH (TAG "b1") ADDTO (0 2:3)`, `* ESEARCH (TAG "b2") UID REMOVEFROM (0 2)`,
		"b4 OK NOOP completed"})

	// A new message: ADDTO after EXISTS.
	a.do("a3", fmt.Sprintf("APPEND INBOX (\\Flagged) {%d+}\r\n%s", len(msgPlain), msgPlain))
	wantWire(t, "NOOP after APPEND", b.do("b5", "NOOP"), []string{
		"* 4 EXISTS",
		`* ESEARCH (TAG "b1") ADDTO (0 4)`, `* ESEARCH (TAG "b2") UID ADDTO (0 4)`,
		"b5 OK NOOP completed"})

	// An expunge: REMOVEFROM by the numbers B knows, before EXPUNGE.
	a.do("a4", `STORE 2 +FLAGS.SILENT (\Deleted)`)
	a.do("a5", "EXPUNGE")
	wantWire(t, "NOOP after EXPUNGE", b.do("b6", "NOOP"), []string{
		`* ESEARCH (TAG "b1") REMOVEFROM (0 2)`, `* ESEARCH (TAG "b3") REMOVEFROM (0 2)`,
		"* 2 EXPUNGE", "b6 OK NOOP completed"})
	// Not during FETCH, STORE or SEARCH, which may not announce an
	// expunge: the REMOVEFROM waits with the EXPUNGE.
	a.do("a6", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.do("a7", "EXPUNGE")
	wantWire(t, "FETCH with an expunge pending", b.do("b7", "FETCH 3 (UID)"), []string{
		"* 3 FETCH (UID 4)", "b7 OK FETCH completed"})
	wantWire(t, "NOOP after the FETCH", b.do("b8", "NOOP"), []string{"* 1 EXPUNGE", "b8 OK NOOP completed"})

	// The context of "2:3" follows its message (UID 3, now 1), not
	// the numbers: UID 4, now number 2, does not join it.
	a.do("a8", `STORE 1 -FLAGS.SILENT (\Flagged)`)
	wantWire(t, "NOOP after -FLAGS", b.do("b9", "NOOP"), []string{
		`* 1 FETCH (UID 3 FLAGS ())`, `* ESEARCH (TAG "b1") REMOVEFROM (0 1)`,
		"b9 OK NOOP completed"})

	// During IDLE, as the change happens.
	b.send("b10 IDLE\r\n")
	expectPrefix(t, b.line(), "+ ")
	a.do("a9", `STORE 2 -FLAGS.SILENT (\Flagged)`)
	wantWire(t, "IDLE", []string{b.line(), b.line()}, []string{`* 2 FETCH (UID 4 FLAGS ())`, `* ESEARCH (TAG "b1") REMOVEFROM (0 2)`})
	b.send("DONE\r\n")
	wantWire(t, "DONE", b.until("b10"), []string{"b10 OK IDLE completed"})

	// B's own STORE: the update follows its FETCH response.
	wantWire(t, "own STORE", b.do("b11", `STORE 1 +FLAGS (\Flagged)`), []string{
		`* 1 FETCH (FLAGS (\Flagged))`, `* ESEARCH (TAG "b1") ADDTO (0 1)`, "b11 OK STORE completed"})

	// CANCELUPDATE ends a context; an unknown tag is NO.
	wantWire(t, "CANCELUPDATE", b.do("b12", `CANCELUPDATE "b1" "b3"`), []string{"b12 OK CANCELUPDATE completed"})
	expectPrefix(t, last(b.do("b13", `CANCELUPDATE "b1"`)), "b13 NO")
	expectPrefix(t, last(b.do("b14", `CANCELUPDATE`)), "b14 BAD")
	a.do("a10", `STORE 1:2 +FLAGS.SILENT (\Seen)`)
	wantWire(t, "NOOP after CANCELUPDATE", b.do("b15", "NOOP"), []string{
		`* 1 FETCH (UID 3 FLAGS (\Flagged \Seen))`, `* 2 FETCH (UID 4 FLAGS (\Seen))`,
		`* ESEARCH (TAG "b2") UID REMOVEFROM (0 3:4)`, "b15 OK NOOP completed"})

	// Contexts end with the selection.
	b.do("b16", "UNSELECT")
	b.do("b17", "SELECT INBOX")
	expectPrefix(t, last(b.do("b18", `CANCELUPDATE "b2"`)), "b18 NO")
	a.do("a11", `STORE 1:2 -FLAGS.SILENT (\Seen)`)
	for _, l := range b.do("b19", "NOOP") {
		if strings.HasPrefix(l, "* ESEARCH") {
			t.Errorf("update after UNSELECT: %q", l)
		}
	}
}

// TestContextNoUpdate checks the bound on UPDATE contexts: beyond
// Server.MaxSearchUpdates the command succeeds with its result and an
// untagged NO [NOUPDATE "tag"] (RFC 5267 section 4.3), keeps no context,
// and a context cancelled makes room for one more.
func TestContextNoUpdate(t *testing.T) {
	a, b := contextPair(t, 2)
	b.do("b1", "SEARCH RETURN (UPDATE) FLAGGED")
	b.do("b2", "SEARCH RETURN (UPDATE) SEEN")
	wantWire(t, "third context", b.do("b3", "SEARCH RETURN (UPDATE COUNT) ALL"), []string{
		`* NO [NOUPDATE "b3"] Too many search update contexts`, `* ESEARCH (TAG "b3") COUNT 3`, "b3 OK SEARCH completed"})
	a.do("a1", fmt.Sprintf("APPEND INBOX (\\Flagged) {%d+}\r\n%s", len(msgPlain), msgPlain))
	wantWire(t, "NOOP", b.do("b4", "NOOP"), []string{"* 4 EXISTS", `* ESEARCH (TAG "b1") ADDTO (0 4)`, "b4 OK NOOP completed"})
	b.do("b5", `CANCELUPDATE "b2"`)
	wantWire(t, "after CANCELUPDATE", b.do("b6", "SEARCH RETURN (UPDATE MIN) ALL"), []string{`* ESEARCH (TAG "b6") MIN 1`, "b6 OK SEARCH completed"})
	a.do("a2", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msgPlain), msgPlain))
	wantWire(t, "NOOP", b.do("b7", "NOOP"), []string{"* 5 EXISTS", `* ESEARCH (TAG "b6") ADDTO (0 5)`, "b7 OK NOOP completed"})
}

// TestContextSortUpdate checks SORT RETURN (UPDATE) (RFC 5267 sections
// 4.3 and 4.4, CONTEXT=SORT): ADDTO and REMOVEFROM carry the position in
// the sort order, removals each at its position once those before are
// gone, additions at their positions in the new order, so that a client
// applying them in turn has the new result.
func TestContextSortUpdate(t *testing.T) {
	be, u := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, cl := range []*client{a, b} {
		cl.do("l", "LOGIN alice secret")
		cl.do("s", "SELECT INBOX")
	}
	// Subjects: 1 "Hello there", 2 "Grüße", 3 "Fwd: Hello there".
	wantWire(t, "SORT", b.do("b1", "SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNDELETED"), []string{`* ESEARCH (TAG "b1") ALL 2,1,3`, "b1 OK SORT completed"})
	wantWire(t, "UID SORT", b.do("b2", "UID SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 UNDELETED"), []string{`* ESEARCH (TAG "b2") UID ALL 1,3,2`, "b2 OK UID SORT completed"})
	// New: 4 "Aaa Hello there", 5 "Zzz Hello there", 6 without a
	// subject (the empty base subject, first).
	for _, subj := range []string{"Aaa ", "Zzz ", ""} {
		msg := strings.Replace(msgPlain, "Subject: ", "Subject: "+subj, 1)
		if subj == "" {
			msg = strings.Replace(msgPlain, "Subject: ", "X-Subject: ", 1)
		}
		if _, err := u.Deliver("INBOX", []byte(msg), nil, testDate); err != nil {
			t.Fatal(err)
		}
	}
	// b1 becomes 6,4,2,1,3,5 and b2 5,1,3,2,4,6: each addition at its
	// final position, in ascending order of positions.
	wantWire(t, "NOOP after delivery", b.do("b3", "NOOP"), []string{
		"* 6 EXISTS", "* 3 RECENT",
		`* ESEARCH (TAG "b1") ADDTO (1 6 2 4 6 5)`, `* ESEARCH (TAG "b2") UID ADDTO (1 5 5 4 6 6)`,
		"b3 OK NOOP completed"})
	// Removals in the order of the result, each at its position once
	// the earlier ones are gone: b1 6,2,3,5 and b2 5,3,2,6.
	a.do("a0", "NOOP")
	a.do("a1", `STORE 1,4 +FLAGS.SILENT (\Deleted)`)
	wantWire(t, "NOOP after STORE", b.do("b4", "NOOP"), []string{
		`* 1 FETCH (UID 1 FLAGS (\Seen \Deleted))`, `* 4 FETCH (UID 4 FLAGS (\Deleted \Recent))`,
		`* ESEARCH (TAG "b1") REMOVEFROM (2 4 3 1)`, `* ESEARCH (TAG "b2") UID REMOVEFROM (2 1 4 4)`,
		"b4 OK NOOP completed"})
	// Their expunge changes no result; the numbers of the others do
	// change, as the client knows from the EXPUNGE responses.
	a.do("a2", "EXPUNGE")
	wantWire(t, "NOOP after EXPUNGE", b.do("b5", "NOOP"), []string{"* 1 EXPUNGE", "* 3 EXPUNGE", "* 2 RECENT", "b5 OK NOOP completed"})
	a.do("a3", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	wantWire(t, "NOOP after the last STORE", b.do("b6", "NOOP"), []string{
		`* 1 FETCH (UID 2 FLAGS (\Deleted))`,
		`* ESEARCH (TAG "b1") REMOVEFROM (2 1)`, `* ESEARCH (TAG "b2") UID REMOVEFROM (3 2)`,
		"b6 OK NOOP completed"})
	wantWire(t, "the results now", b.do("b7", "SORT RETURN (ALL) (SUBJECT) UTF-8 UNDELETED"), []string{`* ESEARCH (TAG "b7") ALL 4,2:3`, "b7 OK SORT completed"})
}

// contextModel is what a client keeps of an update context: the result
// in its order, updated from ADDTO and REMOVEFROM, and renumbered by
// EXPUNGE when it holds sequence numbers.
type contextModel struct {
	tag, crit string
	uid, sort bool
	result    []uint32
}

// expandSet expands a sequence set of numbers as sent, keeping its order.
func expandSet(t *testing.T, s string) []uint32 {
	t.Helper()
	var out []uint32
	for _, r := range strings.Split(s, ",") {
		lo, hi, _ := strings.Cut(r, ":")
		var x, y uint32
		if _, err := fmt.Sscan(lo, &x); err != nil {
			t.Fatalf("set %q: %v", s, err)
		}
		y = x
		if hi != "" {
			if _, err := fmt.Sscan(hi, &y); err != nil {
				t.Fatalf("set %q: %v", s, err)
			}
		}
		if x > y {
			t.Fatalf("set %q has a descending range", s)
		}
		for n := x; n <= y; n++ {
			out = append(out, n)
		}
	}
	return out
}

// apply applies one ESEARCH update line to the models.
func applyUpdate(t *testing.T, models []*contextModel, line string) {
	t.Helper()
	var m *contextModel
	for _, x := range models {
		if strings.HasPrefix(line, `* ESEARCH (TAG "`+x.tag+`") `) {
			m = x
		}
	}
	if m == nil {
		t.Fatalf("update for no context: %q", line)
	}
	rest := line[strings.Index(line, ") ")+2:]
	if m.uid != strings.HasPrefix(rest, "UID ") {
		t.Fatalf("UID in %q for context %s", line, m.tag)
	}
	rest = strings.TrimPrefix(rest, "UID ")
	for rest != "" {
		name, args, ok := strings.Cut(rest, " (")
		end := strings.IndexByte(args, ')')
		if !ok || end < 0 || name != "ADDTO" && name != "REMOVEFROM" {
			t.Fatalf("bad update %q", line)
		}
		f := strings.Fields(args[:end])
		rest = strings.TrimPrefix(args[end+1:], " ")
		if len(f) == 0 || len(f)%2 != 0 {
			t.Fatalf("bad update %q", line)
		}
		for i := 0; i < len(f); i += 2 {
			var pos int
			fmt.Sscan(f[i], &pos)
			nums := expandSet(t, f[i+1])
			if !m.sort {
				if pos != 0 {
					t.Fatalf("position %d in an update of SEARCH: %q", pos, line)
				}
				for _, n := range nums {
					has := slices.Contains(m.result, n)
					if has == (name == "ADDTO") {
						t.Fatalf("%s of %d, in the result %v: %q", name, n, m.result, line)
					}
					if has {
						m.result = slices.DeleteFunc(m.result, func(x uint32) bool { return x == n })
					} else {
						m.result = append(m.result, n)
					}
				}
				slices.Sort(m.result)
				continue
			}
			for k, n := range nums {
				if name == "REMOVEFROM" {
					if pos < 1 || pos > len(m.result) || m.result[pos-1] != n {
						t.Fatalf("REMOVEFROM (%d %d) of %v: %q", pos, n, m.result, line)
					}
					m.result = slices.Delete(m.result, pos-1, pos)
					continue
				}
				p := pos - 1 + k
				if p < 0 || p > len(m.result) {
					t.Fatalf("ADDTO (%d %d) to %v: %q", pos, n, m.result, line)
				}
				m.result = slices.Insert(m.result, p, n)
			}
		}
	}
}

// TestContextUpdateModel checks update contexts as a client uses them:
// while another session stores, appends and expunges at random, and
// this one stores too, a client that applies every ADDTO, REMOVEFROM and
// EXPUNGE to its copy of each result (sequence numbers renumbered by
// EXPUNGE, positions for SORT) has, after each command, the result a new
// SEARCH or SORT gives; an EXPUNGE never comes for a message still in a
// result (its REMOVEFROM comes first).
func TestContextUpdateModel(t *testing.T) {
	seen := map[string]int{}
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			contextModelRun(t, seed, seen)
		})
	}
	// The run must have gone through every kind of update.
	for _, k := range []string{"ADDTO 0", "REMOVEFROM 0", "ADDTO pos", "REMOVEFROM pos", "B EXPUNGE REMOVEFROM", "sorted REMOVEFROM for an expunge"} {
		if seen[k] == 0 {
			t.Errorf("no %s in the run: %v", k, seen)
		}
	}
}

func contextModelRun(t *testing.T, seed uint64, seen map[string]int) {
	a, b := contextPair(t, 0)
	rng := rand.New(rand.NewPCG(seed, 7))
	models := []*contextModel{
		{tag: "c1", crit: "FLAGGED"},
		{tag: "c2", crit: "OR UNSEEN DELETED", uid: true},
		{tag: "c3", crit: "(SUBJECT) UTF-8 UNDELETED", sort: true},
		{tag: "c4", crit: "(REVERSE SIZE SUBJECT) UTF-8 NOT KEYWORD k", sort: true, uid: true},
		{tag: "c5", crit: "NOT OR SEEN FLAGGED"},
		{tag: "c6", crit: "(ARRIVAL SUBJECT) UTF-8 OR DELETED ANSWERED", sort: true},
	}
	fresh := func(m *contextModel) []uint32 {
		cmd := "SEARCH RETURN (ALL) " + m.crit
		if m.sort {
			cmd = "SORT RETURN (ALL) " + m.crit
		}
		if m.uid {
			cmd = "UID " + cmd
		}
		lines := b.do("f", cmd)
		if len(lines) != 2 {
			t.Fatalf("%s: %q", cmd, lines)
		}
		if _, all, ok := strings.Cut(lines[0], " ALL "); ok {
			return expandSet(t, all)
		}
		return nil
	}
	handle := func(lines []string) {
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "* ESEARCH (TAG \"c"):
				applyUpdate(t, models, l)
				for _, k := range []string{"ADDTO", "REMOVEFROM"} {
					if strings.Contains(l, k+" (0 ") {
						seen[k+" 0"]++
					} else if strings.Contains(l, k+" (") {
						seen[k+" pos"]++
					}
				}
			case strings.HasSuffix(l, " EXPUNGE"):
				var n uint32
				fmt.Sscanf(l, "* %d EXPUNGE", &n)
				for _, m := range models {
					if m.uid {
						continue
					}
					if slices.Contains(m.result, n) {
						t.Fatalf("EXPUNGE of %d still in the result %v of %s", n, m.result, m.tag)
					}
					for i, x := range m.result {
						if x > n {
							m.result[i] = x - 1
						}
					}
				}
			}
		}
	}
	for _, m := range models {
		cmd := "SEARCH RETURN (UPDATE ALL) " + m.crit
		if m.sort {
			cmd = "SORT RETURN (UPDATE ALL) " + m.crit
		}
		if m.uid {
			cmd = "UID " + cmd
		}
		lines := b.do(m.tag, cmd)
		if _, all, ok := strings.Cut(lines[0], " ALL "); ok {
			m.result = expandSet(t, all)
		}
	}
	flags := []string{`\Seen`, `\Flagged`, `\Deleted`, "k", `\Answered`}
	subjects := []string{"Zebra", "apple", "Re: apple", "mango", ""}
	count := 3
	for step := range 60 {
		var what string
		switch op := rng.IntN(10); {
		case op < 5 && count > 0:
			set := fmt.Sprintf("%d:%d", 1+rng.IntN(count), 1+rng.IntN(count))
			sign := []string{"+", "-", ""}[rng.IntN(3)]
			what = fmt.Sprintf("STORE %s %sFLAGS.SILENT (%s)", set, sign, flags[rng.IntN(len(flags))])
			a.do("a", what)
		case op < 7:
			subj := subjects[rng.IntN(len(subjects))]
			msg := fmt.Sprintf("Subject: %s\r\n\r\n%s\r\n", subj, strings.Repeat("x", rng.IntN(40)))
			what = "APPEND " + subj
			a.do("a", fmt.Sprintf("APPEND INBOX (%s) {%d+}\r\n%s", flags[rng.IntN(len(flags))], len(msg), msg))
			count++
		case op < 8:
			what = "EXPUNGE"
			count -= len(slices.DeleteFunc(a.do("a", "EXPUNGE"), func(l string) bool { return !strings.HasSuffix(l, " EXPUNGE") }))
		case op < 9 && rng.IntN(2) == 0:
			// B's own EXPUNGE: REMOVEFROM before its EXPUNGE responses.
			what = "B EXPUNGE"
			lines := b.do("b", "EXPUNGE")
			handle(lines)
			if len(lines) > 0 && strings.Contains(lines[0], "REMOVEFROM") {
				seen["B EXPUNGE REMOVEFROM"]++
			}
			if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, `* ESEARCH (TAG "c6") REMOVEFROM`) }) {
				seen["sorted REMOVEFROM for an expunge"]++
			}
			count -= len(slices.DeleteFunc(lines, func(l string) bool { return !strings.HasSuffix(l, " EXPUNGE") }))
		case count > 0:
			// B's own STORE: its updates come after its FETCH responses.
			what = fmt.Sprintf("B STORE %d +FLAGS (%s)", 1+rng.IntN(count), flags[rng.IntN(len(flags))])
			handle(b.do("b", what[2:]))
		}
		a.do("a", "NOOP")
		handle(b.do("b", "NOOP"))
		for _, m := range models {
			want := fresh(m)
			got := slices.Clone(m.result)
			if !slices.Equal(got, want) {
				t.Fatalf("step %d (%s): context %s (%s) holds %v, a new search gives %v", step, what, m.tag, m.crit, got, want)
			}
		}
	}
}
