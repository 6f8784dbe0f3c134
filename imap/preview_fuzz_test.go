package imap

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPreview makes previews of arbitrary messages: no panic, at most 256
// octets of valid UTF-8 without line breaks, tabs or white space at the
// ends.
func FuzzPreview(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nHello\r\n  world\r\n"))
	f.Add([]byte("Content-Type: text/html\r\n\r\n<p>a&amp;b<script>x</script><!-- c -->d</p>"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := makePreview(bytes.NewReader(data), int64(len(data)))
		if len(p) > maxPreview || !utf8.ValidString(p) || strings.ContainsAny(p, "\r\n\t") || strings.TrimSpace(p) != p {
			t.Fatalf("preview %q", p)
		}
		h := htmlToText(string(data))
		if len(h) > 2*len(data)+8 {
			t.Fatalf("htmlToText grew %d to %d", len(data), len(h))
		}
	})
}
