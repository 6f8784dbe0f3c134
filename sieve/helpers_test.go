package sieve

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heraldmail/herald/message"
)

// corpus returns a message of testdata/messages, with extra header fields
// put in front (each "Name: value"), a field of the same name removed
// first when the extra one starts with '!'.
func corpus(t testing.TB, name string, extra ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "messages", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) == 0 {
		return b
	}
	h, body, err := message.ReadHeader(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(extra) - 1; i >= 0; i-- {
		e := extra[i]
		replace := strings.HasPrefix(e, "!")
		e = strings.TrimPrefix(e, "!")
		k, v, _ := strings.Cut(e, ":")
		if replace {
			h.Del(k)
		}
		h.Prepend(k, strings.TrimSpace(v))
	}
	var out bytes.Buffer
	h.WriteTo(&out)
	out.ReadFrom(body)
	return out.Bytes()
}

// newMessage parses raw into a Message with the given envelope.
func newMessage(t testing.TB, raw []byte, env Envelope) *Message {
	t.Helper()
	m, err := message.ReadMessage(bytes.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Message{Header: &m.Header, Body: m.Body, Size: int64(len(raw)), Envelope: env}
}

func mustParse(t testing.TB, src string) *Script {
	t.Helper()
	s, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	return s
}

// summary writes a result as short lines that can be compared with what
// Pigeonhole's sieve-test prints: "keep", "fileinto NAME", "redirect
// ADDR", "reject", "vacation", "discard", each store with " flags=" and
// its flags sorted (system flags in lower case); "error" first after a run-time error.
// A store into INBOX is a keep, as both are for Pigeonhole.
func summary(res *Result, err error) []string {
	var out []string
	if err != nil {
		out = append(out, "error")
	}
	flags := func(f []string) string {
		if len(f) == 0 {
			return ""
		}
		l := make([]string, len(f))
		for i, x := range f {
			// System flags ignore case; keywords keep theirs.
			if strings.HasPrefix(x, "\\") {
				x = strings.ToLower(x)
			}
			l[i] = x
		}
		slices.Sort(l)
		return " flags=" + strings.Join(l, " ")
	}
	for _, a := range res.Actions {
		switch a := a.(type) {
		case Keep:
			out = append(out, "keep"+flags(a.Flags))
		case FileInto:
			if strings.EqualFold(a.Mailbox, "INBOX") {
				out = append(out, "keep"+flags(a.Flags))
			} else {
				out = append(out, "fileinto "+a.Mailbox+flags(a.Flags))
			}
		case Redirect:
			out = append(out, "redirect "+a.Address)
		case Reject:
			out = append(out, "reject")
		case Vacation:
			out = append(out, "vacation")
		case Discard:
			out = append(out, "discard")
		}
	}
	return out
}

// mailboxes is a MailboxChecker over a fixed list.
type mailboxes []string

func (m mailboxes) MailboxExists(ctx context.Context, name string) (bool, error) {
	return slices.Contains(m, name), nil
}
