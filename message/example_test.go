package message_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/heraldmail/herald/message"
)

func ExampleReadMessage() {
	raw := "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>\r\n" +
		"To: Mary Smith <mary@example.net>, jdoe@example.org\r\n" +
		"Subject: =?iso-8859-1?q?Caf=E9?= meeting\r\n" +
		"Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n" +
		"\r\n" +
		"See you there.\r\n"
	m, err := message.ReadMessage(strings.NewReader(raw), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	subject, _ := m.Header.Text("Subject")
	from, _ := m.Header.AddressList("From")
	to, _ := m.Header.AddressList("To")
	date, _ := m.Header.Date()
	fmt.Println("Subject:", subject)
	fmt.Println("From:", from[0].Name, from[0].Addr)
	for _, a := range to {
		fmt.Printf("To: %q %s\n", a.Name, a.Addr)
	}
	fmt.Println("Date:", date.UTC())
	body, _ := io.ReadAll(m.Body)
	fmt.Printf("Body: %q\n", body)
	// Output:
	// Subject: Café meeting
	// From: Jörg joerg@example.com
	// To: "Mary Smith" mary@example.net
	// To: "" jdoe@example.org
	// Date: 1997-11-21 15:55:06 +0000 UTC
	// Body: "See you there.\r\n"
}

func ExampleReadHeader_strict() {
	_, _, err := message.ReadHeader(strings.NewReader("Subject: ok\r\nthis is not a field\r\nTo: a@b\r\n\r\n"),
		&message.ReadOptions{Mode: message.Strict})
	fmt.Println(err)
	// Output:
	// message: read header: line 2: malformed header: line is not a header field
}

func ExampleHeader_WriteTo() {
	// Fields read are written back byte for byte; fields added are folded.
	m, _ := message.ReadMessage(strings.NewReader("Subject:   kept   as is\nX-Old: 1\n\n"), nil)
	m.Header.Del("X-Old")
	m.Header.Prepend("Received", "from a.example by b.example; Fri, 21 Nov 1997 09:55:06 -0600")
	m.Header.Add("To", message.FormatAddressList([]message.Address{
		{Name: "Mary Smith", Addr: "mary@example.net"},
		{Name: "André Pirard", Addr: "andre@example.be"},
		{Name: "Undisclosed", Group: true},
	}))
	var b strings.Builder
	m.Header.WriteTo(&b)
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n")) // CRLF shown as LF
	// Output:
	// Received: from a.example by b.example; Fri, 21 Nov 1997 09:55:06 -0600
	// Subject:   kept   as is
	// To: Mary Smith <mary@example.net>, =?utf-8?q?Andr=C3=A9_Pirard?=
	//  <andre@example.be>, Undisclosed:;
}

func ExampleParseAddressList() {
	list, err := message.ParseAddressList(`"Joe Q. Public" <john.q.public@example.com>, A Group:Ed Jones <c@a.test>,joe@where.test;, "a b"@example.org`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range list {
		if a.Group {
			fmt.Printf("group %q with %d members\n", a.Name, len(a.Members))
			continue
		}
		fmt.Printf("%q %s local=%q\n", a.Name, a.Addr, a.LocalPart())
	}
	fmt.Println(message.FormatAddressList(list))
	// Output:
	// "Joe Q. Public" john.q.public@example.com local="john.q.public"
	// group "A Group" with 2 members
	// "" "a b"@example.org local="a b"
	// "Joe Q. Public" <john.q.public@example.com>, A Group: Ed Jones <c@a.test>, joe@where.test;, "a b"@example.org
}

func ExampleAddressParser() {
	// Lenient mode (the zero value) repairs what real mail contains.
	var p message.AddressParser
	list, _ := p.ParseList("Big Bug bb@bug.com, jang@xyz <jang@xyz.example>, Undisclosed-Recipient")
	for _, a := range list {
		fmt.Printf("%q %q\n", a.Name, a.Addr)
	}
	// Output:
	// "Big Bug" "bb@bug.com"
	// "jang@xyz" "jang@xyz.example"
	// "" "Undisclosed-Recipient"
}

func ExampleParseDate() {
	for _, s := range []string{
		"Fri, 21 Nov 1997 09:55:06 -0600",
		"21 Nov 97 09:55:06 GMT",
		"Thu, 13 Feb 1969 23:32 EST (Eastern)",
		"Tue Jul  1 10:52:37 2003",
	} {
		t, err := message.ParseDate(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(message.FormatDate(t))
	}
	// Output:
	// Fri, 21 Nov 1997 09:55:06 -0600
	// Fri, 21 Nov 1997 09:55:06 +0000
	// Thu, 13 Feb 1969 23:32:00 -0500
	// Tue, 01 Jul 2003 10:52:37 -0000
}

func ExampleParseMessageIDList() {
	ids, _ := message.ParseMessageIDList("<1234@local.machine.example>\r\n <3456@example.net>")
	fmt.Println(ids)
	fmt.Println(message.FormatMessageID(ids[1]))
	// Output:
	// [1234@local.machine.example 3456@example.net]
	// <3456@example.net>
}

func ExampleGenerateMessageID() {
	id, err := message.GenerateMessageID("mail.example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	parsed, _ := message.ParseMessageID(message.FormatMessageID(id))
	fmt.Println(len(id), strings.HasSuffix(id, "@mail.example.com"), parsed == id)
	// Output:
	// 43 true true
}

func ExampleWordDecoder_DecodeHeader() {
	var d message.WordDecoder
	s, _ := d.DecodeHeader("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?= =?utf-8?q?_world?=")
	fmt.Println(s)
	fmt.Println(message.EncodeWord("Grüße"))
	// Output:
	// こんにちは world
	// =?utf-8?q?Gr=C3=BC=C3=9Fe?=
}

func ExampleField_Raw() {
	// Raw keeps a field exactly as it arrived, folding and all, which is
	// what a DKIM verifier with "simple" canonicalization needs; Value
	// unfolds it.
	m, _ := message.ReadMessage(strings.NewReader("Subject: a long\r\n\tfolded  subject\r\n\r\n"), nil)
	f, _ := m.Header.Lookup("subject")
	fmt.Printf("%q\n%q\n", f.Raw(), f.Value())
	// Output:
	// "Subject: a long\r\n\tfolded  subject\r\n"
	// "a long\tfolded  subject"
}
