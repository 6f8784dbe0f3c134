package pop3

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// refCRLF is the obvious definition of line-ending repair: every CRLF,
// bare CR and bare LF becomes CRLF.
func refCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// refTop is TOP by the book on CRLF text: the lines up to and including
// the first empty one, then n more.
func refTop(s string, n int) string {
	lines := strings.SplitAfter(s, "\r\n")
	var b strings.Builder
	body := false
	for _, l := range lines {
		if body {
			if n == 0 {
				break
			}
			n--
		}
		b.WriteString(l)
		if l == "\r\n" && !body {
			body = true
		}
	}
	return b.String()
}

// stream runs msg through the server's writers in chunks of the given
// size, as io.Copy would.
func stream(msg string, chunk, lines int) (string, error) {
	var out bytes.Buffer
	var w interface{ Write([]byte) (int, error) } = &out
	if lines >= 0 {
		w = &topWriter{w: &out, lines: lines}
	}
	cw := &crlfWriter{w: w}
	for i := 0; i < len(msg); i += chunk {
		if _, err := cw.Write([]byte(msg[i:min(i+chunk, len(msg))])); err != nil {
			if errors.Is(err, errTopDone) {
				break
			}
			return "", err
		}
	}
	if cw.lastCR && lines < 0 {
		out.WriteByte('\n') // what DotWriter.Close completes
	}
	return out.String(), nil
}

func FuzzMessageStream(f *testing.F) {
	f.Add("Subject: x\r\n\r\nbody\r\nmore\r\n", 3, 1)
	f.Add("a\nb\rc\r\n\n\r\rd", 1, 0)
	f.Add("no header end\r\nline\r\n", 5, 2)
	f.Add("\r\n\r\n\r\n", 2, 1)
	f.Fuzz(func(t *testing.T, msg string, chunk, lines int) {
		if chunk <= 0 || chunk > len(msg)+1 {
			chunk = len(msg) + 1
		}
		got, err := stream(msg, chunk, -1)
		if err != nil {
			t.Fatal(err)
		}
		want := refCRLF(msg)
		if got != want {
			t.Fatalf("crlf %q in chunks of %d:\n got %q\nwant %q", msg, chunk, got, want)
		}
		if lines < 0 || lines > 50 {
			return
		}
		top, err := stream(msg, chunk, lines)
		if err != nil {
			t.Fatal(err)
		}
		// A CR at the very end is completed by DotWriter.Close, which the
		// TOP stream leaves to the caller here.
		if wantTop := refTop(want, lines); top != wantTop && top+"\n" != wantTop {
			t.Fatalf("top %d of %q in chunks of %d:\n got %q\nwant %q", lines, want, chunk, top, wantTop)
		}
	})
}
