package sieve_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/sieve"
)

func Example() {
	script := `require ["fileinto", "imap4flags", "variables"];
if header :matches "List-Id" "*<*.example.org>" {
    fileinto "Lists/${2}";
    stop;
}
if address :is "from" "boss@example.com" {
    addflag "\\Flagged";
}
`
	s, err := sieve.Parse([]byte(script), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	raw := "From: The Boss <boss@example.com>\r\nTo: me@example.com\r\nSubject: Budget\r\n\r\nSee me.\r\n"
	m, err := message.ReadMessage(strings.NewReader(raw), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := sieve.Run(context.Background(), s, &sieve.Message{
		Header:   &m.Header,
		Body:     m.Body,
		Size:     int64(len(raw)),
		Envelope: sieve.Envelope{From: "boss@example.com", To: "me@example.com"},
	}, nil)
	if err != nil {
		fmt.Println("run-time error, keeping:", err)
	}
	for _, a := range res.Actions {
		fmt.Printf("%#v\n", a)
	}
	// Output:
	// sieve.Keep{Flags:[]string{"\\Flagged"}, Implicit:true}
}

func ExampleParse() {
	_, err := sieve.Parse([]byte("require \"fileinto\";\nif hedaer :is \"subject\" \"x\" {\n  fileinto \"X\";\n}\n"), nil)
	fmt.Println(err)
	// Output:
	// sieve: line 2, column 4: unknown test "hedaer"
}

func ExampleExtensions() {
	fmt.Println(strings.Join(sieve.Extensions(), " "))
	// Output:
	// body comparator-i;ascii-numeric copy date editheader encoded-character envelope ereject fileinto imap4flags index mailbox reject relational spamtest spamtestplus subaddress vacation vacation-seconds variables
}

func ExampleRun_vacation() {
	s, _ := sieve.Parse([]byte(`require "vacation";
vacation :days 3 :subject "Out of office" "I am back on Monday.";`), nil)
	raw := "From: Jane <jane@example.net>\r\nTo: me@example.com\r\nSubject: Lunch?\r\nMessage-ID: <42@example.net>\r\n\r\nTomorrow?\r\n"
	store := &sieve.MemoryVacationStore{}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		m, _ := message.ReadMessage(strings.NewReader(raw), nil)
		res, _ := sieve.Run(context.Background(), s, &sieve.Message{
			Header:   &m.Header,
			Envelope: sieve.Envelope{From: "jane@example.net", To: "me@example.com"},
		}, &sieve.Env{Vacation: store, Now: now})
		for _, a := range res.Actions {
			switch a := a.(type) {
			case sieve.Vacation:
				fmt.Printf("reply to %s: %q, again after %v\n", a.To, a.Subject, a.Period)
				// Send a.Message with MAIL FROM:<>, then remember it.
				store.Record(context.Background(), a.Key, now)
			case sieve.Keep:
				fmt.Println("keep")
			}
		}
	}
	// Output:
	// reply to jane@example.net: "Out of office", again after 72h0m0s
	// keep
	// keep
}

func ExampleValidMailbox() {
	for _, name := range []string{"Lists/golang", "../../etc/passwd", "INBOX.a..b"} {
		fmt.Println(name, sieve.ValidMailbox(name) == nil)
	}
	// Output:
	// Lists/golang true
	// ../../etc/passwd false
	// INBOX.a..b false
}
