package smtp

import (
	"strings"
	"testing"
)

// FuzzClientCommandLines builds MAIL and RCPT lines from arbitrary
// addresses and parameters and checks that every line the client would
// send is one line without control characters, and that Herald's own
// parser reads back what the client meant.
func FuzzClientCommandLines(f *testing.F) {
	f.Add("a", "example.org", "b", "example.net", "id+1", "b@example.net", "", int64(10), uint8(6), false)
	f.Add("jöran", "exämple.org", "åsa", "example.net", "", "åsa@example.net", "", int64(0), uint8(1), true)
	f.Add("a\r\nRCPT TO:<x@y>", "example.org", "b", "example.net>\nDATA", "\x00", "x\ry", "rfc822", int64(-1), uint8(255), false)
	f.Add("\"quoted\\\" local\"", "[192.0.2.1]", "postmaster", "", "a b=c", "<>", "x-type", int64(1<<40), uint8(14), false)
	f.Fuzz(func(t *testing.T, fromLocal, fromDomain, toLocal, toDomain, envid, orcpt, orcptType string, size int64, notify uint8, utf8 bool) {
		c := &Client{caps: Capabilities{Size: true, MaxSize: 1 << 30, EightBitMIME: true, SMTPUTF8: true, DSN: true, Auth: []string{"PLAIN"}}}
		from := Path{Local: fromLocal, Domain: fromDomain}
		to := Path{Local: toLocal, Domain: toDomain}
		mopts := &MailOptions{Size: size, UTF8: utf8, Return: ReturnFull, EnvelopeID: envid, Auth: envid}
		ropts := &RcptOptions{Notify: DSNNotify(notify), OriginalRecipient: orcpt, OriginalRecipientType: orcptType}
		txUTF8 := utf8 || !from.IsASCII() || !to.IsASCII()
		if line, err := c.mailLine(from, mopts, !to.IsASCII()); err == nil {
			checkLine(t, line)
			arg, _ := strings.CutPrefix(line, "MAIL ")
			gotFrom, gotOpts, err := ParseMail(arg)
			if err != nil {
				t.Fatalf("Herald cannot parse %q: %v", line, err)
			}
			if gotFrom != from || gotOpts.EnvelopeID != envid || gotOpts.UTF8 != txUTF8 || gotOpts.Return != ReturnFull || gotOpts.Auth != envid ||
				size > 0 && gotOpts.Size != size {
				t.Fatalf("%q read back as %+v %+v", line, gotFrom, gotOpts)
			}
		}
		if line, err := c.rcptLine(to, ropts, txUTF8); err == nil {
			checkLine(t, line)
			arg, _ := strings.CutPrefix(line, "RCPT ")
			gotTo, gotOpts, err := ParseRcpt(arg, txUTF8)
			if err != nil {
				t.Fatalf("Herald cannot parse %q: %v", line, err)
			}
			if gotTo != to || gotOpts.Notify != ropts.Notify {
				t.Fatalf("%q read back as %+v %+v", line, gotTo, gotOpts)
			}
			if orcpt != "" && clientIsASCII(orcpt) && !strings.EqualFold(orcptType, "utf-8") && gotOpts.OriginalRecipient != orcpt {
				t.Fatalf("%q: ORCPT read back as %q", line, gotOpts.OriginalRecipient)
			}
		}
	})
}

func checkLine(t *testing.T, line string) {
	t.Helper()
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			t.Fatalf("control character %#x in %q", c, line)
		}
	}
	if len(line) > DefaultMaxLineLength {
		t.Fatalf("line of %d octets", len(line))
	}
}

// FuzzClientEndings compares the client's line ending check and
// normalisation, fed in two pieces, with a byte-by-byte reference.
func FuzzClientEndings(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\nb", "a\rb", "\r", "\r\n.\r\n", "x\r\r\n", "\n", "ab\r\nc\r"} {
		f.Add(s, uint(1))
	}
	f.Fuzz(func(t *testing.T, s string, cut uint) {
		p := []byte(s)
		k := 0
		if len(p) > 0 {
			k = int(cut % uint(len(p)+1))
		}
		// Reference: valid when every CR is followed by LF and every LF
		// preceded by CR, a CR at the very end being completed later.
		valid := true
		for i := 0; i < len(p); i++ {
			switch p[i] {
			case '\r':
				if i+1 < len(p) && p[i+1] != '\n' {
					valid = false
				}
			case '\n':
				if i == 0 || p[i-1] != '\r' {
					valid = false
				}
			}
		}
		var out strings.Builder
		e := &clientEndingWriter{w: &out}
		_, err1 := e.Write(p[:k])
		var err2 error
		if err1 == nil {
			_, err2 = e.Write(p[k:])
		}
		if got := err1 == nil && err2 == nil; got != valid {
			t.Fatalf("%q cut at %d: valid %v, checker says %v %v", s, k, valid, err1, err2)
		}
		if valid && out.String() != s {
			t.Fatalf("%q passed as %q", s, out.String())
		}

		// Normalisation: bare CR and bare LF become CRLF.
		var want strings.Builder
		for i := 0; i < len(p); i++ {
			switch {
			case p[i] == '\r' && i+1 < len(p) && p[i+1] == '\n':
				want.WriteString("\r\n")
				i++
			case p[i] == '\r' || p[i] == '\n':
				want.WriteString("\r\n")
			default:
				want.WriteByte(p[i])
			}
		}
		out.Reset()
		n := &clientEndingWriter{w: &out, normalize: true}
		n.Write(p[:k])
		n.Write(p[k:])
		n.finish()
		w := want.String()
		if len(w) > 0 && !strings.HasSuffix(w, "\r\n") {
			w += "\r\n"
		}
		if out.String() != w {
			t.Fatalf("%q cut at %d normalised to %q, want %q", s, k, out.String(), w)
		}
	})
}
