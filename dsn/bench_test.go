package dsn

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/smtp"
)

func benchFile(b *testing.B, name string) {
	raw, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(raw), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePostfix parses a two-recipient Postfix bounce that returns
// the full original.
func BenchmarkParsePostfix(b *testing.B) {
	benchFile(b, "../testdata/dsn/postfix-generated/postfix-3.7.11-10-failed.eml")
}

// BenchmarkParseHeuristic parses a qmail bounce with the heuristic parser.
func BenchmarkParseHeuristic(b *testing.B) {
	benchFile(b, "../testdata/dsn/sisimai/bsd/lhost-qmail-01.eml")
}

// BenchmarkWrite writes a two-recipient notification that returns a 64 KiB
// original.
func BenchmarkWrite(b *testing.B) {
	orig := "From: a@example.org\r\nTo: b@example.net\r\nSubject: x\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 1000)
	b.SetBytes(int64(len(orig)))
	b.ReportAllocs()
	for b.Loop() {
		m := &Message{Report: sampleReport(), To: smtp.Path{Local: "a", Domain: "example.org"},
			Date: time.Unix(0, 0), MessageID: "x@y", Original: strings.NewReader(orig), Return: smtp.ReturnFull}
		if _, err := m.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePlainText parses a plain-text bounce that the readers of
// plaintext.go read (Sendmail's V5 transcript with four recipients),
// after the family readers before them have declined it.
func BenchmarkParsePlainText(b *testing.B) {
	benchFile(b, "../testdata/dsn/sisimai/bsd/lhost-v5sendmail-05.eml")
}
