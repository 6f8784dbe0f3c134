package imap

import (
	"bufio"
	"strings"
	"testing"
)

func newRespParser(s string) *respParser {
	return &respParser{r: bufio.NewReader(strings.NewReader(s)), maxLit: 100, maxDepth: 8, maxLine: 1000}
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		in   string
		want func(*response) bool
	}{
		{"* OK [UIDNEXT 4] Predicted next UID\r\n", func(r *response) bool {
			return r.tag == "*" && r.name == "OK" && r.code == "UIDNEXT 4" && r.text == "Predicted next UID"
		}},
		{"a1 NO [TRYCREATE] No such mailbox\r\n", func(r *response) bool { return r.tag == "a1" && r.name == "NO" && r.code == "TRYCREATE" }},
		{"+ idling\r\n", func(r *response) bool { return r.tag == "+" && r.text == "idling" }},
		{"* 12 EXISTS\r\n", func(r *response) bool { return r.num == 12 && r.name == "EXISTS" }},
		{"* 1 FETCH (UID 5 BODY[HEADER.FIELDS (A B)]<0> {3}\r\nabc FLAGS (\\Seen))\r\n", func(r *response) bool {
			l := r.fields[0].List
			return len(l) == 6 && l[2].Atom == "BODY[HEADER.FIELDS (A B)]<0>" && l[3].Str == "abc" && l[5].List[0].Atom == `\Seen`
		}},
		{`* LIST (\HasNoChildren) "/" "a \"q\""` + "\r\n", func(r *response) bool { return r.fields[2].Str == `a "q"` }},
		{"* ESEARCH (TAG \"a\") UID ALL 1:3,5\r\n", func(r *response) bool { return r.fields[3].Atom == "1:3,5" }},
		{"* 1 FETCH (BINARY[1] ~{2}\r\n\x00\x01)\r\n", func(r *response) bool { return r.fields[0].List[1].Str == "\x00\x01" }},
	}
	for _, tt := range tests {
		r, err := newRespParser(tt.in).readResponse()
		if err != nil || !tt.want(r) {
			t.Errorf("%q: %+v, %v", tt.in, r, err)
		}
	}
	for _, bad := range []string{
		"* 1 FETCH (BODY[] {101}\r\n",
		"* X " + strings.Repeat("(", 20) + "\r\n",
		"* X \"open\r\n",
		"* X (a\r\n",
		"* 1 FETCH (BODY[1\n",
	} {
		if _, err := newRespParser(bad).readResponse(); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzReadResponse feeds arbitrary server output to the client's response
// parser: it must return errors, never panic or exceed its limits.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev2] ready\r\n",
		"* 1 FETCH (UID 1 ENVELOPE (NIL \"s\" ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL NIL NIL) BODY[] {2}\r\nhi)\r\n",
		"a OK done\r\n+ go\r\n* 3 EXPUNGE\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &respParser{r: bufio.NewReader(strings.NewReader(string(data))), maxLit: 1 << 10, maxDepth: 16, maxLine: 1 << 12}
		for range 16 {
			r, err := p.readResponse()
			if err != nil {
				return
			}
			for _, v := range r.fields {
				if len(v.Str) > 1<<10 {
					t.Fatalf("literal of %d bytes", len(v.Str))
				}
			}
		}
	})
}
