package imap_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestPreviewSaveDate checks FETCH PREVIEW (RFC 8970) and, over a Mailbox
// without save dates, SAVEDATE NIL and the SAVED* search keys (RFC 8514).
func TestPreviewSaveDate(t *testing.T) {
	be, u := newFixture(t)
	long := strings.Repeat("Grüße ", 100)
	for _, m := range []string{
		"Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p {color: red}</style></head>" +
			"<body><p>Hello&nbsp;&amp; <b>welcome</b></p>\r\n<!-- hidden --><script>x()</script>bye</body></html>\r\n",
		"Subject: attachment only\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n",
		"Subject: long\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + long + "\r\n",
		"Subject: empty\r\n\r\n",
	} {
		if _, err := u.Deliver("INBOX", []byte(m), nil, testDate); err != nil {
			t.Fatal(err)
		}
	}
	cl := newClient(t, testServer(be))
	if !strings.Contains(cl.do("c", "CAPABILITY")[0], " PREVIEW") {
		t.Error("PREVIEW not announced")
	}
	cl.do("a", "LOGIN alice secret")
	cl.do("e", "ENABLE UTF8=ACCEPT")
	cl.do("b", "SELECT INBOX")
	got := cl.do("f", "FETCH 1:7 (PREVIEW)")
	want := []string{
		`* 1 FETCH (PREVIEW "Hi Bob, this is a plain message.")`,
		`* 2 FETCH (PREVIEW "Grüße aus Köln")`,
		"", // the forward: its own text part
		`* 4 FETCH (PREVIEW "Hello & welcome bye")`,
		`* 5 FETCH (PREVIEW NIL)`,
		"", // the long one, checked below
		`* 7 FETCH (PREVIEW "")`,
	}
	if len(got) != 8 {
		t.Fatalf("FETCH PREVIEW: %q", got)
	}
	for i, w := range want {
		if w != "" && got[i] != w {
			t.Errorf("message %d: %s, want %s", i+1, got[i], w)
		}
	}
	if !strings.HasPrefix(got[2], `* 3 FETCH (PREVIEW "See below.`) {
		t.Errorf("forward: %s", got[2])
	}
	p := strings.TrimSuffix(strings.TrimPrefix(got[5], `* 6 FETCH (PREVIEW "`), `")`)
	if len(p) > 256 || len(p) < 250 || !utf8.ValidString(p) || !strings.HasPrefix(long, p) {
		t.Errorf("long preview of %d octets: %q", len(p), p)
	}
	if got := cl.do("g", "FETCH 1 (UID PREVIEW (LAZY) FLAGS)"); !strings.HasPrefix(got[0], `* 1 FETCH (UID 1 PREVIEW "Hi Bob`) {
		t.Errorf("PREVIEW (LAZY): %q", got)
	}
	for _, bad := range []string{"FETCH 1 (PREVIEW (FAST))", "FETCH 1 (PREVIEW ())", "FETCH 1 PREVIEW (LAZY"} {
		if got := cl.do("h", bad); !strings.HasPrefix(last(got), "h BAD") {
			t.Errorf("%s: %q", bad, got)
		}
	}
	// No save dates in imapmem.
	if got := cl.do("i", "FETCH 1 (SAVEDATE)"); got[0] != "* 1 FETCH (SAVEDATE NIL)" {
		t.Errorf("SAVEDATE: %q", got)
	}
	today := time.Now().Format("2-Jan-2006")
	for _, cmd := range []string{"SEARCH SAVEDSINCE 1-Jan-2000", "SEARCH SAVEDON " + today, "SEARCH SAVEDATESUPPORTED", "SEARCH NOT SAVEDBEFORE 1-Jan-2000 SAVEDON 1-Jan-2000"} {
		if got := cl.do("j", cmd); got[0] != "* SEARCH" {
			t.Errorf("%s: %q", cmd, got)
		}
	}
	if got := cl.do("k", "SEARCH SAVEDSINCE yesterday"); !strings.HasPrefix(last(got), "k BAD") {
		t.Errorf("bad date: %q", got)
	}
}
