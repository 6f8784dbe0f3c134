package mime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// leafDigests walks raw and returns path, type and the digest of every
// leaf's decoded body with line breaks made LF.
func leafDigests(t *testing.T, raw []byte) ([]string, error) {
	t.Helper()
	rd := NewReader(bytes.NewReader(raw), nil)
	var out []string
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		line := p.Path + " " + p.MediaType.Essence()
		if !p.IsContainer() {
			b, err := p.Body()
			if err != nil {
				return out, err
			}
			body, err := io.ReadAll(b)
			if err != nil {
				return out, err
			}
			body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
			sum := sha256.Sum256(body)
			line += " " + hex.EncodeToString(sum[:8])
		}
		out = append(out, line)
	}
}

func check7bit(t *testing.T, name string, raw []byte) {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("%s: line %d has %d octets", name, i+1, len(line))
			return
		}
		for _, c := range line {
			if c >= 0x80 || c == 0 || c == '\n' || c == '\r' {
				t.Errorf("%s: line %d is not 7bit: %.60q", name, i+1, line)
				return
			}
		}
	}
}

func TestDowngrade(t *testing.T) {
	t.Parallel()
	msg := "From: Jörg <j@example.com>\r\nSubject: Grüße\r\nContent-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"preamble\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xff\xfe binary\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÄpfel\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nalready 7bit\r\n" +
		"--b--\r\nepilogue\r\n"
	var out bytes.Buffer
	if err := Downgrade(&out, strings.NewReader(msg), nil); err != nil {
		t.Fatal(err)
	}
	check7bit(t, "downgraded", out.Bytes())
	before, err := leafDigests(t, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	after, err := leafDigests(t, out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("before\n%s\nafter\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	s := out.String()
	for _, want := range []string{
		"Subject: =?utf-8?", "From: =?utf-8?", "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe",
		"Content-Transfer-Encoding: base64\r\n\r\nAAH//iBiaW5hcnk=", "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n",
		"preamble\r\n--b\r\n", "\r\n--b--\r\nepilogue\r\n", "Content-Type: text/plain\r\n\r\nalready 7bit\r\n--b",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestDowngradeNonASCIIAddress(t *testing.T) {
	t.Parallel()
	msg := "From: jörg@exämple.com\r\n\r\nx"
	err := Downgrade(io.Discard, strings.NewReader(msg), nil)
	if !errors.Is(err, ErrSyntax) {
		t.Errorf("got %v, want ErrSyntax", err)
	}
}

// TestDowngradeCorpus downgrades every corpus message: the result is 7bit
// and holds the same entities with the same decoded content.
func TestDowngradeCorpus(t *testing.T) {
	t.Parallel()
	for _, path := range corpusFiles(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Downgrade(&out, bytes.NewReader(raw), nil); err != nil {
			if errors.Is(err, ErrSyntax) && strings.Contains(err.Error(), "SMTPUTF8") {
				continue // a non-ASCII address: needs SMTPUTF8, not 8BITMIME
			}
			t.Errorf("%s: %v", path, err)
			continue
		}
		check7bit(t, path, out.Bytes())
		// Compare with the message as SMTP would carry it: CRLF.
		before, err1 := leafDigests(t, []byte(toCRLF(string(raw))))
		after, err2 := leafDigests(t, out.Bytes())
		if err1 != nil || err2 != nil {
			t.Errorf("%s: %v %v", path, err1, err2)
			continue
		}
		if strings.Join(before, "\n") != strings.Join(after, "\n") {
			t.Errorf("%s: content changed\nbefore %q\nafter  %q", path, before, after)
		}
	}
}
