package mime_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
)

func ExampleParseMediaType() {
	mt, err := hmime.ParseMediaType(`application/pdf; name*0*=utf-8''%C3%9Cbersicht; name*1=".pdf"`)
	if err != nil {
		panic(err)
	}
	fmt.Println(mt.Essence())
	fmt.Println(mt.Params.Get("name"))
	// Output:
	// application/pdf
	// Übersicht.pdf
}

func ExampleNewReader() {
	msg := "Subject: report\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n" +
		"\r\n" +
		"--b\r\n" +
		"Content-Type: text/plain; charset=iso-8859-1\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"Voil=E0 le rapport.\r\n" +
		"--b\r\n" +
		"Content-Type: application/pdf\r\n" +
		"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"JVBERi0xLjQK\r\n" +
		"--b--\r\n"
	rd := hmime.NewReader(strings.NewReader(msg), nil)
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		switch p.Kind() {
		case hmime.KindContainer:
			fmt.Printf("%q %s\n", p.Path, p.MediaType.Essence())
		case hmime.KindText:
			text, _ := p.Text()
			b, _ := io.ReadAll(text)
			fmt.Printf("%q text: %s\n", p.Path, b)
		default:
			body, _ := p.Body()
			n, _ := io.Copy(io.Discard, body)
			fmt.Printf("%q %s %s, %d bytes\n", p.Path, p.Kind(), p.Filename(), n)
		}
	}
	// Output:
	// "" multipart/mixed
	// "1" text: Voilà le rapport.
	// "2" attachment résumé.pdf, 9 bytes
}

func ExampleMessage() {
	var m hmime.Message
	m.Header.Add("From", "Zoë <zoe@example.com>")
	m.Header.Add("To", "team@example.com")
	m.Header.Add("Subject", "Café tomorrow?")
	m.Text = "Shall we meet at 10?\n"
	m.HTML = "<p>Shall we meet at <b>10</b>?</p>"
	m.Attachments = []hmime.Attachment{{Filename: "plan.txt", ContentType: "text/plain", Body: strings.NewReader("Meet at 10:00 in the café on the corner.\n")}}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		panic(err)
	}
	// Boundaries are random; print the structure as a reader sees it.
	rd := hmime.NewReader(&buf, nil)
	for {
		p, err := rd.Next()
		if err != nil {
			break
		}
		if p.Path == "" {
			fmt.Println("Subject:", p.Header().Get("Subject"))
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-3s %s %s %s", p.Path, p.MediaType.Essence(), p.Encoding, p.Filename())))
	}
	// Output:
	// Subject: =?utf-8?q?Caf=C3=A9_tomorrow=3F?=
	// multipart/mixed 7bit
	// 1   multipart/alternative 7bit
	// 1.1 text/plain 7bit
	// 1.2 text/html 7bit
	// 2   text/plain quoted-printable plan.txt
}

func ExampleMultipartWriter() {
	var buf bytes.Buffer
	mw := hmime.NewMultipartWriter(&buf, "frontier")
	var h message.Header
	h.Add("Content-Type", "text/plain")
	w, _ := mw.CreatePart(&h)
	io.WriteString(w, "This is the body.")
	mw.Close()
	// Lines end in CRLF; show them with LF.
	fmt.Print(strings.ReplaceAll(buf.String(), "\r\n", "\n"))
	// Output:
	// --frontier
	// Content-Type: text/plain
	//
	// This is the body.
	// --frontier--
}

func ExampleDowngrade() {
	msg := "Subject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n"
	var buf bytes.Buffer
	if err := hmime.Downgrade(&buf, strings.NewReader(msg), nil); err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(buf.String(), "\r\n", "\n"))
	// Output:
	// Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
	// Content-Type: text/plain; charset=utf-8
	// Content-Transfer-Encoding: quoted-printable
	//
	// Gr=C3=BC=C3=9Fe aus K=C3=B6ln
}
