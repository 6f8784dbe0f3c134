package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestViewAttachmentPDF(t *testing.T) {
	f, err := os.Open("../../testdata/messages/ruby-mail/attachment_emails/attachment_pdf.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if err := view(&out, f); err != nil {
		t.Fatal(err)
	}
	want := `From:       Test Tester <xxxx@xxxx.com>
Reply-To:   Test Tester <xxxx@xxxx.com>
To:         xxxx@xxxx.com, xxxx@xxxx.com
Date:       Tue, 10 May 2005 11:26:39 -0600
Subject:    Another PDF with 🎉 Unicode chars in it 🍿
Message-ID: <xxxx@xxxx.com>

message multipart/mixed
  1 text/plain charset=iso-8859-1 quoted-printable text disposition=inline 129 bytes
  2 application/pdf base64 attachment disposition=attachment filename="broken.pdf" 1026 bytes
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestViewNested(t *testing.T) {
	msg := "From: =?utf-8?q?Zo=C3=AB?= <zoe@example.com>\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>x</p>\r\n--b--\r\n"
	var out bytes.Buffer
	if err := view(&out, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	want := "From:       Zoë <zoe@example.com>\nSubject:    fwd\n\nmessage multipart/mixed\n  1 text/plain charset=us-ascii text 9 bytes\n  2 message/rfc822\n    2.1 text/html charset=utf-8 text 8 bytes\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestViewCorpus runs the viewer on every message and bounce of the corpus.
func TestViewCorpus(t *testing.T) {
	n := 0
	for _, dir := range []string{"messages", "dsn"} {
		filepath.WalkDir(filepath.Join("../../testdata", dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(strings.ToLower(d.Name()), "license") || strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".md") {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			var out bytes.Buffer
			if err := view(&out, f); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			if !strings.Contains(out.String(), "message ") {
				t.Errorf("%s: no tree printed", path)
			}
			n++
			return nil
		})
	}
	if n < 500 {
		t.Errorf("viewed %d files", n)
	}
}
