package dsn

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addCorpusSeeds(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for i, name := range files {
			if i >= 12 {
				break
			}
			b, err := os.ReadFile(name)
			if err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzParse feeds whole messages to Parse: it must never panic, and every
// error must be an *Error or an I/O error.
func FuzzParse(f *testing.F) {
	addCorpusSeeds(f, "../testdata/dsn/postfix-generated/*.eml", "../testdata/dsn/mimekit/*.txt",
		"../testdata/dsn/ruby-mail/*.eml", "../testdata/dsn/sisimai/bsd/lhost-qmail-*.eml",
		"../testdata/dsn/sisimai/bsd/lhost-exim-*.eml")
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.c\nAction: failed\nStatus: 5.1.1\n--b--\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(bytes.NewReader(data), &ParseOptions{MaxRecipients: 50, MaxTextBytes: 8 << 10, MaxStatusBytes: 16 << 10})
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			return
		}
		if n.Report == nil || len(n.Report.Recipients) > 50 {
			t.Fatalf("report %+v", n.Report)
		}
		for i := range n.Report.Recipients {
			n.RecipientStatus(i)
		}
	})
}

// FuzzParseStatus checks that ParseStatus never panics and that a report it
// reads, when valid, is written and read back unchanged.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Reporting-MTA: dns; a.example\n\nFinal-Recipient: rfc822; x@b.example\nAction: failed\nStatus: 5.1.1\n"))
	f.Add([]byte("reporting-mta: DNS;a\nFINAL-RECIPIENT: utf-8; j\\x{F6}rg@x\nAction: delayed\nStatus: 4.4.1 (x)\nWill-Retry-Until: Mon, 23 Nov 2026 09:30:00 -0500\n  \nX-A: b\n"))
	f.Add([]byte("Original-Envelope-Id: a+2B=\nArrival-Date: 1 Jan 2000 00:00 GMT\nContent-Transfer-Encoding: base64\n\nRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFAYgpBY3Rpb246IGZhaWxlZApTdGF0dXM6IDUuMS4x\n"))
	// A run of unterminated \x{ escapes once took quadratic time.
	f.Add([]byte("Final-Recipient: utf-8; " + strings.Repeat(`\x{`, 2000) + "\nAction: failed\nStatus: 5.1.1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ParseStatus(bytes.NewReader(data), &ParseOptions{MaxRecipients: 50})
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if rep.Validate() != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := rep.WriteTo(&buf); err != nil {
			return // a value the header writer refuses
		}
		again, err := ParseStatus(bytes.NewReader(buf.Bytes()), nil)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, buf.Bytes())
		}
		if a, b := dumpReport(rep), dumpReport(again); a != b {
			t.Fatalf("round trip changed the report\nfirst: %s\nagain: %s\nwritten:\n%s", a, b, buf.Bytes())
		}
	})
}
