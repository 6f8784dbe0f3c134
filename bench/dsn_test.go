// Reading a bounce: Herald's dsn.Parse side by side with the same work
// done by hand on github.com/emersion/go-message (walk the multipart, read
// each field group of the message/delivery-status part as a header, drain
// the other parts), over the Postfix-generated bounces:
//
//	cd bench && go test -run='^$' -bench='BenchmarkDSN' -benchmem -count=5 .
//
// dsn.Parse does more than the go-message side: it types every field
// (dates, status codes, address types), keeps the human-readable text and
// the returned message's header.

package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	gomessage "github.com/emersion/go-message"
	gotextproto "github.com/emersion/go-message/textproto"
	"github.com/heraldmail/herald/dsn"
)

func dsnCorpus(b *testing.B) ([][]byte, int64) {
	files, err := filepath.Glob("../testdata/dsn/postfix-generated/*.eml")
	if err != nil || len(files) == 0 {
		b.Fatal("no corpus", err)
	}
	var out [][]byte
	var total int64
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, raw)
		total += int64(len(raw))
	}
	return out, total
}

// goMessageDSN reads the field groups of the delivery-status part with
// go-message and returns how many there are.
func goMessageDSN(raw []byte) (int, error) {
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	mr := e.MultipartReader()
	if mr == nil {
		return 0, errors.New("not multipart")
	}
	groups := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return groups, nil
		}
		if err != nil {
			return 0, err
		}
		t, _, _ := p.Header.ContentType()
		if t != "message/delivery-status" {
			io.Copy(io.Discard, p.Body)
			continue
		}
		br := bufio.NewReader(p.Body)
		for {
			h, err := gotextproto.ReadHeader(br)
			if err != nil {
				break
			}
			if h.Len() > 0 {
				groups++
			}
			if _, err := br.Peek(1); err != nil {
				break
			}
		}
	}
}

func BenchmarkDSNParse(b *testing.B) {
	corpus, total := dsnCorpus(b)
	b.Run("herald", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			for _, raw := range corpus {
				n, err := dsn.Parse(bytes.NewReader(raw), nil)
				if err != nil || len(n.Report.Recipients) == 0 {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("go-message", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			for _, raw := range corpus {
				if g, err := goMessageDSN(raw); err != nil || g < 2 {
					b.Fatal(g, err)
				}
			}
		}
	})
}
