// Benchmarks of package dkim against github.com/emersion/go-msgauth/dkim
// over the dkim corpus (../dkim/testdata/corpus, the messages in their
// wire form, CRLF line endings and no mbox "From " line, without the one
// that go-msgauth cannot read):
//
//   - BenchmarkDKIMVerifyRSA, BenchmarkDKIMVerifyEd25519: verify one
//     message signed relaxed/relaxed with an RSA 2048 or an Ed25519 key,
//     the key record from memory; reports msgs/s.
//   - BenchmarkDKIMSignRSA, BenchmarkDKIMSignEd25519: sign one message
//     relaxed/relaxed and write it, signature first, to io.Discard.
//   - BenchmarkDKIMVerifyLarge, BenchmarkDKIMSignLarge: the same with
//     Ed25519 for a message of a 4 MiB body, where canonicalization and
//     hashing rather than the key operation take the time; reports MB/s.
//
// Besides ns/op and msgs/s in wall time, each side reports cpu-ns/op, the
// CPU time of the process per message (GC included), which the other
// processes of a busy machine disturb much less.
//
// Each family has a herald, a msgauth and a crypto-floor side, the last
// doing only what neither can avoid per message: SHA-256 over the message
// and one signature operation (herald ÷ crypto-floor is how far Herald is
// above it; msgauth's time over the floor's is the best ratio Herald could
// reach if its own code cost nothing). The verify families have a
// herald-keycache side too: the same Verifier with a dkim.KeyCache, warm
// after the first message, as in a mail server that sees many messages
// from one signer. The herald and msgauth sides look up and parse the key
// record for every message; go-msgauth has no key cache. Run them side by
// side, interleaved, with:
//
//	bench/interleave.sh 'BenchmarkDKIM' 5
//
// or once with:
//
//	cd bench && go test -run '^$' -bench BenchmarkDKIM -benchmem -count 5
//
// How close each family is to its floor (interleave.sh 'BenchmarkDKIM' 5
// on 7 December 2026, medians of the per-run ratios of msgs/s, herald ÷
// crypto-floor in cpu-ns/op, on the 2-core machine with no other
// benchmark running):
//
//   - Verify RSA: 2.15x go-msgauth (2.26x with a warm key cache), 32
//     allocations to its 134. Herald does not verify RSA with crypto/rsa
//     any more (see the dkim package doc), so its public-key operation is
//     cheaper than the floor's: herald ÷ crypto-floor is 0.93 (0.88 with
//     the cache), and the floor is crypto/rsa's, not Herald's. About half
//     of Herald's time is its own Montgomery arithmetic, at about 0.35 ns
//     per 64-bit multiply-add in its reduction.
//   - Verify Ed25519: 1.28x go-msgauth; 1.19 times the floor.
//     crypto/ed25519.Verify is about 80% of Herald's time (decoding the
//     key's point, which crypto/ed25519 cannot keep between messages,
//     included).
//   - Sign RSA: 0.99x go-msgauth; 1.06 times the floor, which is the
//     private-key operation both call.
//   - Sign Ed25519: 2.08x go-msgauth; 1.41 times the floor:
//     ed25519.Sign is about 63% of Herald's time, the rest reading the
//     header, hashing the body and writing the field.
//   - 4 MiB messages: verify 2.30x, sign 3.68x go-msgauth; 2.3 times the
//     floor, which hashes the message raw, while Herald canonicalizes
//     the body relaxed first.
package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"github.com/heraldmail/herald/dkim"
	"github.com/heraldmail/herald/dnsmx"
)

// dkimCorpus returns the dkim corpus in wire form.
func dkimCorpus(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "dkim", "testdata", "corpus", "*.eml"))
	if err != nil || len(files) < 20 {
		tb.Fatalf("dkim corpus: %d files, %v", len(files), err)
	}
	var msgs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		if bytes.HasPrefix(b, []byte("From ")) {
			_, b, _ = bytes.Cut(b, []byte("\r\n"))
		}
		msgs = append(msgs, b)
	}
	return msgs
}

// txtResolver is a dnsmx.Resolver serving TXT records from a map.
type txtResolver map[string][]string

func (r txtResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if txt, ok := r[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return txt, nil
	}
	return nil, &dnsmx.Error{Op: "lookup TXT", Name: name, Rcode: dnsmx.RcodeNone, Kind: dnsmx.ErrNotFound}
}

func (r txtResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, &dnsmx.Error{Kind: dnsmx.ErrNotFound, Rcode: dnsmx.RcodeNone}
}

func (r txtResolver) LookupMX(context.Context, string) ([]*net.MX, error) {
	return nil, &dnsmx.Error{Kind: dnsmx.ErrNotFound, Rcode: dnsmx.RcodeNone}
}

func (r txtResolver) LookupAddr(context.Context, string) ([]string, error) {
	return nil, &dnsmx.Error{Kind: dnsmx.ErrNotFound, Rcode: dnsmx.RcodeNone}
}

// dkimLab holds the keys, their records and the corpus signed with each.
type dkimLab struct {
	msgs     [][]byte
	rsa      *rsa.PrivateKey
	ed       ed25519.PrivateKey
	txt      txtResolver
	signed   map[string][][]byte // by selector
	verifier *dkim.Verifier
	msgauth  *msgauth.VerifyOptions
}

var benchHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}

// msgauthReadable drops the messages go-msgauth cannot read at all (it
// wants a blank line after the header even when the body is empty), so
// that both sides get the same messages.
func msgauthReadable(msgs [][]byte) [][]byte {
	var out [][]byte
	for _, m := range msgs {
		if _, err := msgauth.VerifyWithOptions(bytes.NewReader(m), &msgauth.VerifyOptions{
			LookupTXT: func(string) ([]string, error) { return nil, nil },
		}); err == nil {
			out = append(out, m)
		}
	}
	return out
}

func newDKIMLab(b *testing.B, msgs [][]byte) *dkimLab {
	b.Helper()
	msgs = msgauthReadable(msgs)
	l := &dkimLab{msgs: msgs, txt: txtResolver{}, signed: map[string][][]byte{}}
	var err error
	if l.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		b.Fatal(err)
	}
	_, l.ed, _ = ed25519.GenerateKey(rand.Reader)
	for sel, key := range map[string]crypto.Signer{"rsa": l.rsa, "ed": l.ed} {
		rec, err := dkim.KeyRecordText(key.Public())
		if err != nil {
			b.Fatal(err)
		}
		l.txt[sel+"._domainkey.example.com"] = []string{rec}
		for _, m := range msgs {
			sig, err := dkim.Sign(bytes.NewReader(m), l.heraldSigner(sel, key))
			if err != nil {
				b.Fatal(err)
			}
			l.signed[sel] = append(l.signed[sel], append([]byte(sig), m...))
		}
	}
	l.verifier = &dkim.Verifier{Resolver: l.txt}
	l.msgauth = &msgauth.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		return l.txt.LookupTXT(context.Background(), name)
	}}
	// Both sides must agree that every signature passes, or the race is
	// not the same.
	for sel, signed := range l.signed {
		for i, m := range signed {
			res, err := l.verifier.Verify(context.Background(), bytes.NewReader(m))
			if err != nil || len(res) != 1 || res[0].Status != dkim.Pass {
				b.Fatalf("herald on %s message %d: %+v %v", sel, i, res, err)
			}
			vs, err := msgauth.VerifyWithOptions(bytes.NewReader(m), l.msgauth)
			if err != nil || len(vs) != 1 || vs[0].Err != nil {
				b.Fatalf("msgauth on %s message %d: %v %v", sel, i, vs, err)
			}
		}
	}
	return l
}

func (l *dkimLab) heraldSigner(sel string, key crypto.Signer) *dkim.Signer {
	return &dkim.Signer{Domain: "example.com", Selector: sel, Key: key, Headers: benchHeaders, OverSign: []string{}}
}

func (l *dkimLab) msgauthOptions(sel string, key crypto.Signer) *msgauth.SignOptions {
	return &msgauth.SignOptions{Domain: "example.com", Selector: sel, Signer: key, HeaderKeys: benchHeaders,
		HeaderCanonicalization: msgauth.CanonicalizationRelaxed, BodyCanonicalization: msgauth.CanonicalizationRelaxed}
}

// clock measures a benchmark's loop in wall time and in the CPU time of
// the process, all its threads: on a loaded machine the wall time includes
// the waits for a CPU, the CPU time does not. It counts the GC's work and
// that of any goroutine a side starts (go-msgauth signs in one), and the
// benchmark process does nothing else meanwhile.
type clock struct {
	wall time.Time
	cpu  time.Duration
}

func startClock() clock { return clock{wall: time.Now(), cpu: processCPU()} }

// processCPU returns the user and system time of the process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportMsgs reports msgs/s in wall time, and cpu-ns/op, the process's
// CPU time per message.
func reportMsgs(b *testing.B, start clock) {
	cpu := processCPU() - start.cpu
	b.ReportMetric(float64(b.N)/time.Since(start.wall).Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func benchVerify(b *testing.B, l *dkimLab, sel string) {
	signed := l.signed[sel]
	var size int64
	for _, m := range signed {
		size += int64(len(m))
	}
	b.Run("herald", func(b *testing.B) {
		b.SetBytes(size / int64(len(signed)))
		b.ReportAllocs()
		start := startClock()
		for i := 0; b.Loop(); i++ {
			res, err := l.verifier.Verify(context.Background(), bytes.NewReader(signed[i%len(signed)]))
			if err != nil || res[0].Status != dkim.Pass {
				b.Fatal(res, err)
			}
		}
		reportMsgs(b, start)
	})
	b.Run("herald-keycache", func(b *testing.B) {
		b.SetBytes(size / int64(len(signed)))
		b.ReportAllocs()
		v := *l.verifier
		v.Keys = &dkim.KeyCache{}
		start := startClock()
		for i := 0; b.Loop(); i++ {
			res, err := v.Verify(context.Background(), bytes.NewReader(signed[i%len(signed)]))
			if err != nil || res[0].Status != dkim.Pass {
				b.Fatal(res, err)
			}
		}
		reportMsgs(b, start)
	})
	b.Run("crypto-floor", func(b *testing.B) {
		// What any verifier must do per message, and go-msgauth does
		// too: SHA-256 over the message's octets and one signature check
		// of the key's algorithm. Not a verifier: the ratio of Herald to
		// it is how far Herald is above the crypto it cannot avoid.
		b.SetBytes(size / int64(len(signed)))
		b.ReportAllocs()
		check := l.floorCheck(b, sel)
		start := startClock()
		for i := 0; b.Loop(); i++ {
			sum := sha256.Sum256(signed[i%len(signed)])
			if !check(sum[:]) {
				b.Fatal("floor check failed")
			}
		}
		reportMsgs(b, start)
	})
	b.Run("msgauth", func(b *testing.B) {
		b.SetBytes(size / int64(len(signed)))
		b.ReportAllocs()
		start := startClock()
		for i := 0; b.Loop(); i++ {
			vs, err := msgauth.VerifyWithOptions(bytes.NewReader(signed[i%len(signed)]), l.msgauth)
			if err != nil || vs[0].Err != nil {
				b.Fatal(vs, err)
			}
		}
		reportMsgs(b, start)
	})
}

// floorCheck returns a check of one signature by the key of sel over a
// digest, made once here: the public-key operation of one verification.
func (l *dkimLab) floorCheck(b *testing.B, sel string) func(digest []byte) bool {
	d := sha256.Sum256([]byte("floor"))
	if sel == "ed" {
		sig := ed25519.Sign(l.ed, d[:])
		pub := l.ed.Public().(ed25519.PublicKey)
		return func(digest []byte) bool { return ed25519.Verify(pub, d[:], sig) && len(digest) == 32 }
	}
	sig, err := rsa.SignPKCS1v15(nil, l.rsa, crypto.SHA256, d[:])
	if err != nil {
		b.Fatal(err)
	}
	return func(digest []byte) bool {
		return rsa.VerifyPKCS1v15(&l.rsa.PublicKey, crypto.SHA256, d[:], sig) == nil && len(digest) == 32
	}
}

func benchSign(b *testing.B, l *dkimLab, sel string, key crypto.Signer) {
	var size int64
	for _, m := range l.msgs {
		size += int64(len(m))
	}
	b.Run("herald", func(b *testing.B) {
		b.SetBytes(size / int64(len(l.msgs)))
		b.ReportAllocs()
		s := l.heraldSigner(sel, key)
		start := startClock()
		for i := 0; b.Loop(); i++ {
			m := l.msgs[i%len(l.msgs)]
			sig, err := dkim.Sign(bytes.NewReader(m), s)
			if err != nil {
				b.Fatal(err)
			}
			io.WriteString(io.Discard, sig)
			io.Copy(io.Discard, bytes.NewReader(m))
		}
		reportMsgs(b, start)
	})
	b.Run("crypto-floor", func(b *testing.B) {
		// What any signer must do per message: SHA-256 over it and one
		// private-key operation.
		b.SetBytes(size / int64(len(l.msgs)))
		b.ReportAllocs()
		opts := crypto.SignerOpts(crypto.SHA256)
		if sel == "ed" {
			opts = crypto.Hash(0)
		}
		start := startClock()
		for i := 0; b.Loop(); i++ {
			sum := sha256.Sum256(l.msgs[i%len(l.msgs)])
			if _, err := key.Sign(rand.Reader, sum[:], opts); err != nil {
				b.Fatal(err)
			}
		}
		reportMsgs(b, start)
	})
	b.Run("msgauth", func(b *testing.B) {
		b.SetBytes(size / int64(len(l.msgs)))
		b.ReportAllocs()
		o := l.msgauthOptions(sel, key)
		start := startClock()
		for i := 0; b.Loop(); i++ {
			if err := msgauth.Sign(io.Discard, bytes.NewReader(l.msgs[i%len(l.msgs)]), o); err != nil {
				b.Fatal(err)
			}
		}
		reportMsgs(b, start)
	})
}

func BenchmarkDKIMVerifyRSA(b *testing.B) {
	l := newDKIMLab(b, dkimCorpus(b))
	benchVerify(b, l, "rsa")
}

func BenchmarkDKIMVerifyEd25519(b *testing.B) {
	l := newDKIMLab(b, dkimCorpus(b))
	benchVerify(b, l, "ed")
}

func BenchmarkDKIMSignRSA(b *testing.B) {
	l := newDKIMLab(b, dkimCorpus(b)[:1])
	l.msgs = msgauthReadable(dkimCorpus(b))
	benchSign(b, l, "rsa", l.rsa)
}

func BenchmarkDKIMSignEd25519(b *testing.B) {
	l := newDKIMLab(b, dkimCorpus(b)[:1])
	l.msgs = msgauthReadable(dkimCorpus(b))
	benchSign(b, l, "ed", l.ed)
}

// largeMessage is a text message with a body of about 4 MiB: lines of
// words, runs of spaces and tabs, trailing white space and empty lines.
func largeMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: a large one\r\n" +
		"Date: Mon, 07 Dec 2026 09:00:00 +0000\r\nMessage-ID: <large@example.com>\r\n\r\n")
	line := "Lorem ipsum dolor sit amet,  consectetur\tadipiscing elit, sed do eiusmod tempor   \r\n"
	for b.Len() < 4<<20 {
		b.WriteString(line)
		if b.Len()%7 == 0 {
			b.WriteString("\r\n")
		}
	}
	return b.Bytes()
}

func BenchmarkDKIMVerifyLarge(b *testing.B) {
	l := newDKIMLab(b, [][]byte{largeMessage()})
	benchVerify(b, l, "ed")
}

func BenchmarkDKIMSignLarge(b *testing.B) {
	l := newDKIMLab(b, [][]byte{largeMessage()})
	benchSign(b, l, "ed", l.ed)
}
