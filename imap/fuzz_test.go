package imap

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

var fuzzLimits = limits{line: 1 << 12, literal: 1 << 12, strLit: 1 << 10, depth: 8, items: 64, setRanges: 64}

// FuzzParseCommand feeds arbitrary input to the command parser: it must
// never panic, must stay within its limits, and must not read past the end
// of a command it accepted.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"a1 LOGIN alice secret\r\n",
		"a2 SELECT INBOX\r\n",
		"a3 FETCH 1:*,5 (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BODY[1.2.MIME] BINARY[1] ENVELOPE)\r\n",
		"a4 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM \"x\" SINCE 1-Jan-2020) NOT UID 1:5\r\n",
		"a5 STORE 1 +FLAGS.SILENT (\\Seen $Junk)\r\n",
		"a6 APPEND INBOX (\\Seen) \"14-Mar-2024 15:09:26 +0100\" {5+}\r\nhello\r\n",
		"a7 LIST (SUBSCRIBED) \"\" (* %) RETURN (STATUS (MESSAGES))\r\n",
		"a8 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
		"a9 CREATE Drafts (USE (\\Drafts))\r\n",
		"b AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
		"c UID EXPUNGE 1:3,7\r\n",
		"d SEARCH ((((SEEN))))\r\n",
		"e SEARCH RETURN (PARTIAL -1:-100 UPDATE CONTEXT MIN) FLAGGED\r\n",
		"f CANCELUPDATE \"e\" \"a4\"\r\n",
		"g UID FETCH 1:* (FLAGS) (PARTIAL 1:50)\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 64)
		d := newDecoder(br, fuzzLimits, func(n int64) error { return nil })
		for range 8 {
			d.reset()
			cmd, err := d.readCommand()
			if err == nil && cmd.literal != nil {
				if cmd.literalLen > fuzzLimits.literal {
					t.Fatalf("literal of %d accepted", cmd.literalLen)
				}
				err = d.finishAppend(cmd)
			}
			if err != nil {
				if _, ok := err.(*SyntaxError); !ok {
					if _, ok := err.(*Error); !ok {
						return // end of input
					}
				}
				if d.fatal {
					return
				}
				if d.skipLine() != nil {
					return
				}
				continue
			}
			if cmd.tag == "" || cmd.name == "" {
				t.Fatalf("command without tag or name: %+v", cmd)
			}
			if cmd.search != nil && depthOf(cmd.search) > fuzzLimits.depth+2 {
				t.Fatalf("search nested %d deep", depthOf(cmd.search))
			}
			if len(cmd.set) > fuzzLimits.setRanges {
				t.Fatalf("%d ranges", len(cmd.set))
			}
		}
	})
}

func depthOf(k *searchKey) int {
	d := 0
	for _, s := range k.sub {
		d = max(d, depthOf(s))
	}
	return d + 1
}

// FuzzStructure builds the structure of arbitrary messages and formats
// BODYSTRUCTURE, ENVELOPE and every section: offsets must stay inside the
// message and nothing may panic.
func FuzzStructure(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b\r\n\r\ny\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: multipart/digest; boundary=\"q\"\n\n--q\n\nFrom: a@b\n\nz\n--q--"))
	f.Add([]byte("From: \"A\" <a@b>, group: c@d;\r\nTo: undisclosed-recipients:;\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		size := int64(len(data))
		root, err := buildStructure(r, size)
		if err != nil {
			t.Fatal(err)
		}
		var check func(p *part, depth int)
		check = func(p *part, depth int) {
			if p.start < 0 || p.start > p.bodyStart || p.bodyStart > size || p.end > size {
				t.Fatalf("bad offsets %d %d %d of %d", p.start, p.bodyStart, p.end, size)
			}
			if depth > maxStructDepth+2 {
				t.Fatalf("depth %d", depth)
			}
			for _, c := range p.children {
				check(c, depth+1)
			}
			if p.msg != nil {
				check(p.msg, depth+1)
				// The lines counted while scanning are the line
				// endings of the body.
				if want := int64(bytes.Count(data[p.bodyStart:p.end], []byte{'\n'})); p.lines != want {
					t.Fatalf("message/rfc822 part has %d lines, want %d", p.lines, want)
				}
			}
		}
		check(root, 0)
		sum, err := Summarize(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Size() != size {
			t.Fatalf("Summarize read %d bytes of %d", sum.Size(), size)
		}
		enc, _ := sum.MarshalBinary()
		var back Summary
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("a Summary does not read back: %v", err)
		}
		for _, u := range []bool{false, true} {
			if string(back.pick(back.bs, u)) != string(appendBodyStructure(nil, root, true, u)) ||
				string(back.pick(back.env, u)) != string(appendEnvelope(nil, root.header, u)) ||
				string(back.pick(back.body, u)) != string(appendBodyStructure(nil, root, false, u)) {
				t.Fatal("a Summary read back differs from the structure")
			}
		}
		appendBodyStructure(nil, root, true, false)
		appendEnvelope(nil, root.header, true)
		for _, path := range [][]int{{1}, {1, 1}, {2}, {1, 2, 1}, {3, 1}} {
			if p, ok := locate(root, path); ok && (p.bodyStart > size || p.end > size) {
				t.Fatalf("section %v out of range", path)
			}
		}
	})
}

// FuzzSummaryUnmarshal reads damaged cache data: an error or a Summary
// whose wire forms are well-formed lists, never a panic.
func FuzzSummaryUnmarshal(f *testing.F) {
	for _, m := range []string{
		"Subject: x\r\n\r\nbody\r\n",
		"From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\r\nSubject: caf\xc3\xa9\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
	} {
		s, _ := Summarize(strings.NewReader(m))
		enc, _ := s.MarshalBinary()
		f.Add(enc)
	}
	f.Add([]byte{1, 0, 2, '(', ')'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Summary
		if err := s.UnmarshalBinary(data); err != nil {
			return
		}
		for _, v := range [][2][]byte{s.env, s.body, s.bs} {
			if !validWireList(v[0], false) || v[1] != nil && !validWireList(v[1], true) {
				t.Fatal("accepted a wire form that is not a list")
			}
		}
		enc, _ := s.MarshalBinary()
		var again Summary
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded summary does not read back: %v", err)
		}
	})
}
