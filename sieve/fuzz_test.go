package sieve

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/message"
)

func seedScripts(f *testing.F) []string {
	files, _ := filepath.Glob("testdata/rfc/*.sieve")
	var out []string
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			out = append(out, string(b))
		}
	}
	out = append(out,
		`require ["variables","fileinto","imap4flags","editheader","body","relational","comparator-i;ascii-numeric","date","index","vacation","envelope","subaddress","copy","mailbox","spamtestplus","encoded-character","reject"];
if header :matches "subject" "*?*" { set :upper :length "x" "${1}${2}"; addflag "f${x}"; }
if body :text :contains "x" { fileinto :copy :create :flags "a" "B/${x}"; }
if date :index 1 :last :value "ge" :comparator "i;ascii-numeric" "date" "year" "2000" { deleteheader :index 1 "x"; }
if envelope :detail :count "eq" :comparator "i;ascii-numeric" "to" "1" { vacation :seconds 10 :mime :from "a@b.c" "x"; }
addheader :last "X" "${hex:41 42}";`,
		"if header :is \"a\" \"\\\\\" { keep; }",
		"text:\n.\n",
		"/* x",
		"if anyof (not not true, allof (false)) { stop; } else { discard; }",
	)
	return out
}

// FuzzParse checks that Parse never panics and that what it accepts runs.
func FuzzParse(f *testing.F) {
	for _, s := range seedScripts(f) {
		f.Add(s)
	}
	msg := []byte("From: a@b.c\r\nTo: d@e.f\r\nSubject: hello world\r\nDate: Fri, 21 Nov 1997 09:55:06 -0600\r\n\r\nbody\r\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse([]byte(src), nil)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		m, _ := message.ReadMessage(bytes.NewReader(msg), nil)
		start := time.Now()
		res, _ := Run(context.Background(), s, &Message{Header: &m.Header, Body: m.Body, Size: int64(len(msg)), Envelope: Envelope{From: "a@b.c", To: "d@e.f"}}, nil)
		if res == nil || len(res.Actions) == 0 {
			t.Fatal("no actions")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("run took %v", d)
		}
	})
}

// FuzzRun runs fuzzed scripts on fuzzed messages.
func FuzzRun(f *testing.F) {
	files, _ := filepath.Glob("testdata/messages/*/*")
	var msgs [][]byte
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil && !strings.Contains(file, "LICENSE") && !strings.Contains(file, "COPYRIGHT") && !strings.HasSuffix(file, ".md") {
			msgs = append(msgs, b)
		}
	}
	for i, s := range seedScripts(f) {
		f.Add(s, msgs[i%len(msgs)])
	}
	f.Fuzz(func(t *testing.T, src string, raw []byte) {
		s, err := Parse([]byte(src), &Options{Limits: Limits{MaxBodyBytes: 64 << 10}})
		if err != nil {
			return
		}
		m, err := message.ReadMessage(bytes.NewReader(raw), nil)
		if err != nil {
			return
		}
		env := &Env{Vacation: &MemoryVacationStore{}, Mailboxes: mailboxes{"INBOX"}, Spam: &SpamScore{Value: 3, Percent: 20}}
		start := time.Now()
		res, err := Run(context.Background(), s, &Message{Header: &m.Header, Body: m.Body, Size: int64(len(raw)), Envelope: Envelope{From: "x@y.z", To: "u+d@v.w"}}, env)
		if res == nil || len(res.Actions) == 0 {
			t.Fatal("no actions")
		}
		if k, ok := res.Actions[0].(Keep); err != nil && (len(res.Actions) != 1 || !ok || !k.Implicit || k.Flags != nil) {
			t.Fatalf("error %v with actions %v", err, res.Actions)
		}
		if len(res.Actions) > DefaultMaxActions+1 {
			t.Fatalf("%d actions", len(res.Actions))
		}
		for _, a := range res.Actions {
			if fi, ok := a.(FileInto); ok {
				if err := ValidMailbox(fi.Mailbox); err != nil {
					t.Fatalf("filed into %q: %v", fi.Mailbox, err)
				}
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("run took %v", d)
		}
	})
}

// globRef is an obviously correct matcher: it tries every way of matching
// each element, remembering the (position, element) pairs already tried so
// that runs of stars do not make it exponential (the fuzzer's third
// finding was this reference taking 50 s on fifteen stars, the matcher
// under test a microsecond).
func globRef(s string, p []globElem, fold bool) bool {
	seen := map[[2]int]bool{}
	var try func(i, k int) bool
	try = func(i, k int) bool {
		if k == len(p) {
			return i == len(s)
		}
		if seen[[2]int{i, k}] {
			return false
		}
		seen[[2]int{i, k}] = true
		e := p[k]
		switch {
		case e.star:
			for j := i; j <= len(s); j++ {
				if try(j, k+1) {
					return true
				}
			}
			return false
		case e.one:
			return i < len(s) && try(i+1, k+1)
		}
		return hasPrefixFold(s[i:], e.lit, fold) && try(i+len(e.lit), k+1)
	}
	return try(0, 0)
}

// FuzzGlob checks the linear matcher against globRef, and that the match
// variables put back together with the literals give the value.
func FuzzGlob(f *testing.F) {
	f.Add("coyote@ACME.Example.COM", "coyote@**.com", true)
	f.Add("aaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*b", false)
	f.Add("a*b", "a\\*b", false)
	f.Add("héllo", "h?llo", true)
	f.Add("héllo", "h??llo", false)
	f.Add("[acme-users] [fwd] x", "[*] *", true)
	f.Fuzz(func(t *testing.T, s, pattern string, fold bool) {
		if len(s) > 24 || len(pattern) > 16 {
			return
		}
		elems := parseGlob(pattern)
		var caps []string
		got := glob(s, pattern, fold, &caps)
		if want := globRef(s, elems, fold); got != want {
			t.Fatalf("glob(%q, %q, %v) = %v, want %v", s, pattern, fold, got, want)
		}
		if got != glob(s, pattern, fold, nil) {
			t.Fatal("result depends on captures")
		}
		if !got {
			return
		}
		var b strings.Builder
		k := 0
		for _, e := range elems {
			if e.star || e.one {
				if k >= len(caps) {
					t.Fatalf("%d captures for %q", len(caps), pattern)
				}
				b.WriteString(caps[k])
				k++
				continue
			}
			b.WriteString(e.lit)
		}
		if k != len(caps) || !strings.EqualFold(b.String(), s) || (!fold && b.String() != s) {
			t.Fatalf("captures %q of %q on %q rebuild %q", caps, pattern, s, b.String())
		}
	})
}
