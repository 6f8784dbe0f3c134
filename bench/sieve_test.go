package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/sieve"
)

// sieveScript returns a 50-rule script of the kind users write: rules on
// lists and senders, subjects with wildcards and match variables, a few
// body tests, sizes, flags and a vacation-free catch-all; with body false
// the body rules are left out (and replaced by header rules).
func sieveScript(body bool) string {
	var b strings.Builder
	b.WriteString(`require ["fileinto", "imap4flags", "variables", "envelope", "subaddress", "relational", "comparator-i;ascii-numeric", "body", "copy"];` + "\n")
	n := 0
	rule := func(format string, args ...any) {
		fmt.Fprintf(&b, format+"\n", args...)
		n++
	}
	for i := 0; i < 15; i++ {
		rule(`if header :contains "List-Id" "list%d.example.org" { fileinto "Lists/list%d"; stop; }`, i, i)
	}
	for i := 0; i < 10; i++ {
		rule(`if address :domain :is ["from", "sender"] "customer%d.example.com" { addflag "$Customer"; fileinto "Customers/%d"; }`, i, i)
	}
	for i := 0; i < 8; i++ {
		rule(`if header :matches "subject" "*[ticket-%d*]*" { set "t" "${2}"; fileinto "Tickets/%d-${t}"; }`, i, i)
	}
	rule(`if envelope :detail "to" "*" { set "d" "${1}"; }`)
	rule(`if header :matches "from" "*<*@*>*" { set "dom" "${3}"; }`)
	rule(`if address :count "gt" :comparator "i;ascii-numeric" ["to", "cc"] "10" { addflag "$Many"; }`)
	rule(`if size :over 500K { addflag "$Big"; }`)
	rule(`if anyof (header :contains "subject" ["viagra", "lottery", "winner"], header :is "X-Spam-Flag" "YES") { fileinto "Junk"; stop; }`)
	rule(`if exists "X-Mailer" { addflag "$Mailer"; }`)
	rule(`if header :contains "x-mailer" "Mailman" { fileinto :copy "Digests"; }`)
	rule(`if address :localpart :matches "to" "*-request" { discard; stop; }`)
	rule(`if header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3" { addflag "\\Flagged"; }`)
	for i := 0; n < 47; i++ {
		rule(`if header :is "x-loop" "filter%d@example.net" { discard; stop; }`, i)
	}
	if body {
		rule(`if body :text :contains ["unsubscribe", "opt out"] { addflag "$Newsletter"; }`)
		rule(`if body :raw :contains "BEGIN PGP SIGNED MESSAGE" { addflag "$Signed"; }`)
		rule(`if body :content "application" :contains "" { addflag "$Attachment"; }`)
	} else {
		for i := 0; i < 3; i++ {
			rule(`if header :contains "subject" "newsletter %d" { addflag "$Newsletter"; }`, i)
		}
	}
	if n != 50 {
		panic(fmt.Sprint(n, " rules"))
	}
	return b.String()
}

// BenchmarkSieveFilter filters every corpus message with the 50-rule
// script: the header parsed with message.ReadMessage, then sieve.Run;
// msgs/s is messages filtered a second.
func BenchmarkSieveFilter(b *testing.B) {
	msgs, _ := messageCorpus(b)
	for _, body := range []bool{false, true} {
		name := "headers"
		if body {
			name = "with-body-rules"
		}
		b.Run(name, func(b *testing.B) {
			s, err := sieve.Parse([]byte(sieveScript(body)), nil)
			if err != nil {
				b.Fatal(err)
			}
			env := &sieve.Env{}
			ctx := context.Background()
			var total int64
			for _, m := range msgs {
				total += int64(len(m))
			}
			b.ReportAllocs()
			b.ResetTimer()
			count := 0
			for b.Loop() {
				for _, raw := range msgs {
					m, err := message.ReadMessage(bytes.NewReader(raw), nil)
					if err != nil {
						continue
					}
					res, _ := sieve.Run(ctx, s, &sieve.Message{Header: &m.Header, Body: m.Body, Size: int64(len(raw)),
						Envelope: sieve.Envelope{From: "sender@example.com", To: "user+detail@example.org"}}, env)
					if len(res.Actions) == 0 {
						b.Fatal("no actions")
					}
					count++
				}
			}
			b.ReportMetric(float64(count)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(0, "ns/op")
			b.SetBytes(total)
		})
	}
}

// BenchmarkSieveParse parses the 50-rule script, as a ManageSieve
// PUTSCRIPT or a delivery without a cached script does.
func BenchmarkSieveParse(b *testing.B) {
	src := []byte(sieveScript(true))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sieve.Parse(src, nil); err != nil {
			b.Fatal(err)
		}
	}
}
