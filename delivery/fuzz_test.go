package delivery

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// FuzzParsePolicy checks that the MTA-STS policy parser never panics, that
// every error is typed, and that an accepted policy respects the limits and
// parses again from its own lines.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
		"version: STSv1\nmode: none\nmax_age: 0",
		"version: STSv1\nmode: testing\nmx: a\nmax_age: 31557600\nx: y\n",
		"version: STSv1\n\nmode: enforce\n",
		"mx: *.\nmx: *.*.a\n",
		"<html>",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			if !errors.Is(err, ErrPolicyInvalid) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if p.MaxAge < 0 || p.MaxAge > MaxPolicyMaxAge || len(p.MX) > DefaultMaxPolicyMX {
			t.Fatalf("policy over limits: %+v", p)
		}
		if p.Mode != STSModeNone && len(p.MX) == 0 {
			t.Fatal("policy without mx")
		}
		var again bytes.Buffer
		for _, l := range p.Lines {
			again.WriteString(l + "\n")
		}
		q, err := ParsePolicy(again.Bytes())
		if err != nil || q.Mode != p.Mode || q.MaxAge != p.MaxAge || len(q.MX) != len(p.MX) {
			t.Fatalf("re-parse of %q: %+v, %v", again.String(), q, err)
		}
		for _, mx := range p.MX {
			host := mx
			if len(host) > 2 && host[:2] == "*." {
				host = "x" + host[1:]
			}
			if !p.Match(host) {
				t.Fatalf("policy does not match its own mx %q", mx)
			}
		}
	})
}

// FuzzParseSTSRecord checks the _mta-sts TXT record parser.
func FuzzParseSTSRecord(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=20160831085700Z;", "v=STSv1;id=a;b=c;", "v=STSv1", "id=1; v=STSv1", ";;;", "v=STSv1; id=a; id=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSTSRecord(s)
		if err != nil {
			if !errors.Is(err, ErrPolicyInvalid) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if id == "" || len(id) > 32 || !allAlnum(id) {
			t.Fatalf("invalid id %q accepted", id)
		}
	})
}

// FuzzParseState checks that the queue's state file reader never panics,
// reports every refusal as ErrBadState, and that what it accepts is written
// back to an equivalent file.
func FuzzParseState(f *testing.F) {
	st := &ItemState{
		ID: "0000000000001-abcdef", From: smtp.Path{Local: "a", Domain: "sender.test"},
		Options: smtp.MailOptions{Body: smtp.Body8BitMIME, Return: smtp.ReturnHeaders, EnvelopeID: "e1", RequireTLS: true},
		Size:    42, Arrival: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Attempts: 2,
		Next: time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC),
		Recipients: []QueuedRecipient{
			{Recipient: smtp.Recipient{Path: smtp.Path{Local: "b", Domain: "example.test"}, Options: smtp.RcptOptions{Notify: smtp.NotifySuccess | smtp.NotifyFailure, OriginalRecipientType: "rfc822", OriginalRecipient: "b@example.test"}},
				State: StatePending, Code: 451, Enhanced: smtp.NewEnhancedCode(4, 2, 0), Text: "later", Host: "mx.example.test"},
			{Recipient: smtp.Recipient{Path: smtp.Path{Local: "c", Domain: "example.test"}}, State: StateDelivered, Code: 250},
		},
	}
	b, err := MarshalState(st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"version":1,"id":"x","from":"<>","size":0,"arrival":"2026-01-01T00:00:00Z","attempts":0,"next":"2026-01-01T00:00:00Z","rcpts":[{"to":"<a@b>","state":"pending"}]}`))
	f.Add([]byte(`{"version":1,"id":"x","from":"<>","rcpts":[{"to":"<>","state":"pending"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"id":"x","from":"<>","size":0,"arrival":"2026-01-01T00:00:00Z","attempts":0,"next":"2026-01-01T00:00:00Z","rcpts":[{"to":"<a@b>","state":"pending","notify":"NEVER,SUCCESS"}]}`))
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseState(b)
		if err != nil {
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !validID(st.ID) || len(st.Recipients) == 0 || len(st.Recipients) > DefaultMaxQueueRecipients {
			t.Fatalf("accepted %+v", st)
		}
		out, err := MarshalState(st)
		if err != nil {
			t.Fatalf("cannot write back %+v: %v", st, err)
		}
		st2, err := ParseState(out)
		if err != nil {
			t.Fatalf("written state does not parse: %v\n%s", err, out)
		}
		out2, _ := MarshalState(st2)
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip differs:\n%s\n%s", out, out2)
		}
	})
}

// FuzzReadFooter: the footer reader of message files never panics, never
// reads a state larger than MaxStateBytes, and accepts only footers whose
// lengths add up to the file.
func FuzzReadFooter(f *testing.F) {
	st := []byte(`{"version":1,"id":"x","from":"<>","size":5,"rcpts":[{"to":"<a@b>","state":"pending"}]}` + "\n")
	f.Add(append([]byte("hello"), appendFooter(st, 5, len(st))...))
	f.Add([]byte("hello\nHQ1 0000000000000005 00000000\n"))
	f.Add([]byte("\nHQ1 ffffffffffffffff ffffffff\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		size, state, err := readFooter(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if int64(len(state)) > MaxStateBytes || size+int64(len(state))+int64(footerLen) != int64(len(b)) {
			t.Fatalf("accepted size %d, state %d bytes, in a %d-byte file", size, len(state), len(b))
		}
		if !bytes.Equal(state, b[size:size+int64(len(state))]) {
			t.Fatal("state is not the bytes before the footer")
		}
	})
}
