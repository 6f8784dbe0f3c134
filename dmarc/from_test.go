package dmarc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/message"
)

func readHeader(t testing.TB, s string) *message.Header {
	t.Helper()
	h, _, err := message.ReadHeader(strings.NewReader(s), nil)
	if err != nil {
		t.Fatalf("ReadHeader: %v", err)
	}
	return h
}

func TestFromDomain(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header string
		want   string
		err    error
	}{
		{"From: alice@example.com\r\n\r\n", "example.com", nil},
		{"From: \"Alice Q.\" <Alice@Mail.EXAMPLE.com>\r\n\r\n", "mail.example.com", nil},
		{"from: Alice <alice@example.com> (comment)\r\nTo: bob@example.org\r\n\r\n", "example.com", nil},
		{"From: =?utf-8?q?J=C3=B6rg?= <j@bücher.example>\r\n\r\n", "xn--bcher-kva.example", nil},
		{"From: alice@example.com,\r\n\r\n", "example.com", nil}, // obs-mbox-list: empty entry
		{"From: Alice\r\n <alice@example.com>\r\n\r\n", "example.com", nil},
		{"To: bob@example.org\r\n\r\n", "", dmarc.ErrNoFrom},
		{"From: a@example.com\r\nFrom: b@example.com\r\n\r\n", "", dmarc.ErrMultipleFrom},
		{"From: a@example.com, b@example.org\r\n\r\n", "", dmarc.ErrMultipleAuthors},
		{"From: a@example.com, B <b@EXAMPLE.com>\r\n\r\n", "example.com", nil},
		{"From: a@example.com, b@sub.example.com\r\n\r\n", "", dmarc.ErrMultipleAuthors},
		{"From: a@example.com, b\r\n\r\n", "", dmarc.ErrFromSyntax},
		{"From: undisclosed-recipients:;\r\n\r\n", "", dmarc.ErrGroup},
		{"From: Team: a@example.com;\r\n\r\n", "", dmarc.ErrGroup},
		{"From: \r\n\r\n", "", dmarc.ErrNoAuthor},
		{"From: alice\r\n\r\n", "", dmarc.ErrFromSyntax},
		{"From: alice@[192.0.2.1]\r\n\r\n", "", dmarc.ErrNoDomain},
		{"From: alice@localhost\r\n\r\n", "", dmarc.ErrNoDomain},
		{"From: alice@exa_mple..com\r\n\r\n", "", dmarc.ErrFromSyntax},
		{"From: alice@-example-.com\r\n\r\n", "", dmarc.ErrNoDomain},
		{"From: <alice@example.com\r\n\r\n", "", dmarc.ErrFromSyntax},
	} {
		h := readHeader(t, tt.header)
		got, err := dmarc.FromDomain(h)
		if tt.err != nil {
			var e *dmarc.Error
			if !errors.Is(err, tt.err) || !errors.As(err, &e) {
				t.Errorf("%q: got %q, %v; want %v", tt.header, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.header, got, err, tt.want)
		}
	}
}
