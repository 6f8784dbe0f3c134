package imapstress

import (
	"bufio"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzResponses feeds a client server responses of any shape: it reads
// them and applies them to its view, with an error for what does not fit
// and never a panic.
func FuzzResponses(f *testing.F) {
	f.Add("* OK [UIDVALIDITY 7] x\r\n* 3 EXISTS\r\n* 2 FETCH (UID 5 FLAGS (\\Seen) RFC822.SIZE 9 BODY[] {3}\r\nabc)\r\n* 1 EXPUNGE\r\n")
	f.Add("* OK [UIDVALIDITY ]\r\n* 0 FETCH (UID)\r\n* 4294967296 EXISTS\r\n")
	f.Add("* 1 FETCH (UID 1 RFC822.SIZE \r\n* 1 FETCH (FLAGS (\r\n{99999999999}\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		c := &client{rnd: rand.New(rand.NewPCG(1, 2)), own: map[uint32]*own{5: {id: "x", body: []byte("abc"), flags: map[string]bool{`\Seen`: true}}}, gone: map[uint32]bool{}, ops: map[string]int{}}
		c.r = bufio.NewReader(strings.NewReader(in))
		for range 1000 {
			r, err := c.read()
			if err != nil {
				return
			}
			c.untagged(r)
			if len(c.seq) > 1<<20 {
				return
			}
		}
	})
}
