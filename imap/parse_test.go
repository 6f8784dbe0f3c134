package imap

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, in string) (*command, error) {
	t.Helper()
	lim := limits{line: 200, literal: 100, strLit: 20, depth: 4, items: 10, setRanges: 4}
	d := newDecoder(bufio.NewReader(strings.NewReader(in)), lim, nil)
	return d.readCommand()
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(*command) bool
	}{
		{"login atoms", "a LOGIN alice secret\r\n", func(c *command) bool { return c.user == "alice" && c.pass == "secret" }},
		{"login quoted", `a login "al\"ice" "p w"` + "\r\n", func(c *command) bool { return c.name == "LOGIN" && c.user == `al"ice` && c.pass == "p w" }},
		{"login literal+", "a LOGIN {5+}\r\nalice x\r\n", func(c *command) bool { return c.user == "alice" && c.pass == "x" }},
		{"bare LF", "a NOOP\n", func(c *command) bool { return c.name == "NOOP" }},
		{"inbox any case", "a SELECT iNbOx\r\n", func(c *command) bool { return c.mailbox == "INBOX" }},
		{"inbox child", "a CREATE inbox/Sub\r\n", func(c *command) bool { return c.mailbox == "INBOX/Sub" }},
		{"seq set", "a FETCH 1:3,5,*:7 FLAGS\r\n", func(c *command) bool {
			return reflect.DeepEqual(c.set, SeqSet{{1, 3}, {5, 5}, {0, 7}})
		}},
		{"uid fetch", "a UID FETCH 1:* (UID FLAGS)\r\n", func(c *command) bool { return c.uid && c.name == "FETCH" && len(c.fetch) == 2 }},
		{"fetch macro", "a FETCH 1 ALL\r\n", func(c *command) bool { return len(c.fetch) == 4 && c.fetch[3].name == "ENVELOPE" }},
		{"section fields", "a FETCH 1 BODY.PEEK[1.2.HEADER.FIELDS (From \"To\")]<5.10>\r\n", func(c *command) bool {
			s := c.fetch[0].section
			return c.fetch[0].peek && reflect.DeepEqual(s.part, []int{1, 2}) && s.spec == "HEADER.FIELDS" &&
				reflect.DeepEqual(s.fields, []string{"From", "To"}) && s.partial && s.offset == 5 && s.count == 10
		}},
		{"section mime", "a FETCH 1 BODY[3.MIME]\r\n", func(c *command) bool { return c.fetch[0].section.String() == "[3.MIME]" }},
		{"binary", "a FETCH 1 BINARY.PEEK[1]<0.5>\r\n", func(c *command) bool { return c.fetch[0].name == "BINARY" && c.fetch[0].peek }},
		{"store", "a STORE 1 -FLAGS.SILENT (\\seen $Junk)\r\n", func(c *command) bool {
			return c.storeOp == StoreRemove && c.silent && reflect.DeepEqual(c.flags, []Flag{FlagSeen, "$Junk"})
		}},
		{"store bare flags", "a STORE 1 +FLAGS \\Deleted \\Seen\r\n", func(c *command) bool { return len(c.flags) == 2 }},
		{"search nested", "a SEARCH OR (FROM x SEEN) NOT UID 2:4\r\n", func(c *command) bool {
			k := c.search.sub[0]
			return k.op == "OR" && k.sub[0].op == "AND" && k.sub[1].op == "NOT" && k.sub[1].sub[0].op == "UID"
		}},
		{"search return charset", "a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 SINCE 1-Feb-2024\r\n", func(c *command) bool {
			return c.esearch && reflect.DeepEqual(c.searchRet, []string{"MIN", "COUNT"}) &&
				c.search.sub[0].date.Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC))
		}},
		{"search seq", "a SEARCH 2:* SUBJECT {3}\r\nabc\r\n", func(c *command) bool { return c.search.sub[0].op == "SEQ" && c.search.sub[1].str == "abc" }},
		{"append", "a APPEND Sent (\\Seen) \" 7-Feb-2024 10:11:12 +0100\" {4+}\r\n", func(c *command) bool {
			return c.literalLen == 4 && c.date.Equal(time.Date(2024, 2, 7, 9, 11, 12, 0, time.UTC)) && c.flags[0] == FlagSeen
		}},
		{"list extended", "a LIST (SUBSCRIBED) \"\" (INBOX %) RETURN (CHILDREN STATUS (MESSAGES))\r\n", func(c *command) bool {
			return reflect.DeepEqual(c.listPattern, []string{"INBOX", "%"}) && c.statusItems[0] == "MESSAGES"
		}},
		{"create special use", "a CREATE Junk (USE (\\junk))\r\n", func(c *command) bool { return c.specialUse[0] == AttrJunk }},
		{"authenticate ir", "a AUTHENTICATE plain AGEAYg==\r\n", func(c *command) bool { return c.mech == "PLAIN" && *c.initial == "AGEAYg==" }},
		{"enable", "a ENABLE IMAP4rev2 utf8=accept\r\n", func(c *command) bool { return reflect.DeepEqual(c.caps, []string{"IMAP4REV2", "UTF8=ACCEPT"}) }},
		{"uid expunge", "a UID EXPUNGE 3:5\r\n", func(c *command) bool { return c.uid && c.set[0] == SeqRange{3, 5} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.in)
			if err != nil {
				t.Fatalf("%q: %v", tt.in, err)
			}
			if !tt.check(c) {
				t.Fatalf("%q: parsed as %+v", tt.in, c)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name, in string
		err      error
	}{
		{"no tag", " NOOP\r\n", ErrSyntax},
		{"plus tag", "a+ NOOP\r\n", ErrSyntax},
		{"unknown", "a FOO\r\n", errUnknownCommand},
		{"missing arg", "a LOGIN alice\r\n", ErrSyntax},
		{"extra arg", "a NOOP x\r\n", ErrSyntax},
		{"zero seq", "a FETCH 0 FLAGS\r\n", ErrSyntax},
		{"bad range", "a FETCH 1: FLAGS\r\n", ErrSyntax},
		{"nul in quoted", "a LOGIN \"a\x00\" b\r\n", ErrSyntax},
		{"cr in quoted", "a LOGIN \"a\rb\" c\r\n", ErrSyntax},
		{"bad escape", `a LOGIN "a\b" c` + "\r\n", ErrSyntax},
		{"recent in store", "a STORE 1 FLAGS (\\Recent)\r\n", ErrSyntax},
		{"unknown system flag", "a STORE 1 FLAGS (\\Foo)\r\n", ErrSyntax},
		{"bad date", "a SEARCH SINCE 30-Feb-2024\r\n", ErrSyntax},
		{"bad date-time", "a APPEND x \"1-Jan-2024\" {1}\r\n", ErrSyntax},
		{"partial zero", "a FETCH 1 BODY[]<0.0>\r\n", ErrSyntax},
		{"mime without part", "a FETCH 1 BODY[MIME]\r\n", ErrSyntax},
		{"binary with spec", "a FETCH 1 BINARY[1.TEXT]\r\n", ErrSyntax},
		{"empty fetch list", "a FETCH 1 ()\r\n", ErrSyntax},
		{"empty header list", "a FETCH 1 BODY[HEADER.FIELDS ()]\r\n", ErrSyntax},
		{"line too long", "a LOGIN " + strings.Repeat("x", 300) + " y\r\n", ErrLineTooLong},
		{"string literal too big", "a LOGIN {21}\r\n", ErrTooBig},
		{"append too big", "a APPEND INBOX {101}\r\n", ErrTooBig},
		{"too deep", "a SEARCH NOT NOT NOT NOT NOT SEEN\r\n", ErrTooBig},
		{"too many items", "a SEARCH SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN\r\n", ErrTooBig},
		{"too many ranges", "a FETCH 1,2,3,4,5 FLAGS\r\n", ErrTooBig},
		{"bad charset", "a SEARCH CHARSET KOI8-R ALL\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.in)
			if err == nil {
				t.Fatalf("%q parsed", tt.in)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("%q: %v, want %v", tt.in, err, tt.err)
			}
		})
	}
}

func TestSeqSet(t *testing.T) {
	set := SeqSet{{1, 3}, {5, 5}, {0, 7}}
	if s := set.String(); s != "1:3,5,*:7" {
		t.Fatalf("String = %q", s)
	}
	for _, tt := range []struct {
		n, max uint32
		want   bool
	}{{2, 10, true}, {4, 10, false}, {8, 10, true}, {6, 6, true}, {4, 6, false}} {
		if got := set.Contains(tt.n, tt.max); got != tt.want {
			t.Errorf("Contains(%d, %d) = %v", tt.n, tt.max, got)
		}
	}
	if s := uidSetString([]UID{1, 2, 3, 5, 7, 8}); s != "1:3,5,7:8" {
		t.Fatalf("uidSetString = %q", s)
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "a/b/c", true}, {"%", "a", true}, {"%", "a/b", false}, {"a/%", "a/b", true},
		{"a/%", "a/b/c", false}, {"a*c", "a/b/c", true}, {"a%c", "a/c", false}, {"INBOX", "INBOX", true},
		{"", "a", false}, {"%/%", "a/b", true}, {strings.Repeat("*", 50) + "x", strings.Repeat("a", 50), false},
	} {
		if got := match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("match(%q, %q) = %v", tt.pattern, tt.name, got)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, tt := range []struct {
		in     string
		utf8OK bool
		want   string
	}{
		{"plain", false, `"plain"`},
		{`a"b\c`, false, `"a\"b\\c"`},
		{"two\r\nlines", false, "{10}\r\ntwo\r\nlines"},
		{"Grüße", false, "{7}\r\nGrüße"},
		{"Grüße", true, `"Grüße"`},
		{"bad\xff", true, "{4}\r\nbad\xff"},
	} {
		if got := string(appendString(nil, tt.in, tt.utf8OK)); got != tt.want {
			t.Errorf("appendString(%q, %v) = %q, want %q", tt.in, tt.utf8OK, got, tt.want)
		}
	}
	if got := string(appendAString(nil, "NIL", false)); got != `"NIL"` {
		t.Errorf("appendAString(NIL) = %q", got)
	}
}

func TestStructureSections(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n" +
		"--c\r\n\r\nalt1\r\n--c\r\n\r\nalt2\r\n--c--\r\n--b--\r\nepilogue\r\n"
	root, err := buildStructure(strings.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	body := func(path ...int) string {
		p, ok := locate(root, path)
		if !ok {
			return "<none>"
		}
		return msg[p.bodyStart:p.end]
	}
	for _, tt := range []struct {
		path []int
		want string
	}{
		{[]int{1}, "one"},
		{[]int{2, 1}, "alt1"},
		{[]int{2, 2}, "alt2"},
		{[]int{3}, "<none>"},
		{[]int{1, 1}, "<none>"},
		{[]int{2, 3}, "<none>"},
	} {
		if got := body(tt.path...); got != tt.want {
			t.Errorf("section %v = %q, want %q", tt.path, got, tt.want)
		}
	}
	p, _ := locate(root, []int{2})
	if p.msg == nil || p.msg.header.Get("Subject") != "in" {
		t.Fatalf("part 2 is not the encapsulated message")
	}
}

// TestSkipOversizedLiteral checks that a non-synchronizing literal over the
// string limit but within the APPEND limit is skipped with the rest of its
// command, so that the next command is read correctly.
func TestSkipOversizedLiteral(t *testing.T) {
	lim := limits{line: 200, literal: 100, strLit: 20, depth: 4, items: 10, setRanges: 4}
	in := "a LOGIN {30+}\r\n" + strings.Repeat("x", 30) + " pass\r\nb NOOP\r\n"
	d := newDecoder(bufio.NewReader(strings.NewReader(in)), lim, nil)
	_, err := d.readCommand()
	if !errors.Is(err, ErrTooBig) || d.fatal {
		t.Fatalf("err %v, fatal %v", err, d.fatal)
	}
	if err := d.skipLine(); err != nil {
		t.Fatal(err)
	}
	d.reset()
	c, err := d.readCommand()
	if err != nil || c.tag != "b" || c.name != "NOOP" {
		t.Fatalf("next command %+v, %v", c, err)
	}
}
