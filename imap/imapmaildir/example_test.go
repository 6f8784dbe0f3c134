package imapmaildir_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/sasl"
)

// Serve a Maildir++ tree per user over IMAP: a message delivered with
// package maildir shows in the INBOX with the UID dovecot-uidlist gives it.
func Example() {
	root, err := os.MkdirTemp("", "imapmaildir")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	// The delivery side, as an SMTP server would do it.
	st, err := maildir.OpenStore(filepath.Join(root, "alice"), nil)
	if err != nil {
		log.Fatal(err)
	}
	inbox, err := st.Folder(maildir.Inbox)
	if err != nil {
		log.Fatal(err)
	}
	msg := "From: bob@example.org\r\nSubject: Lunch?\r\n\r\nAt noon.\r\n"
	if _, err := inbox.Deliver(context.Background(), strings.NewReader(msg), nil); err != nil {
		log.Fatal(err)
	}

	srv := &imap.Server{
		Backend: &imapmaildir.Backend{
			Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
				return maildir.OpenStore(filepath.Join(root, identity), nil)
			},
		},
		Auth: &sasl.Authenticator{
			Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
				if user == "alice" && pass == "secret" {
					return "", nil
				}
				return "", sasl.ErrAuthFailed
			},
			AllowInsecure: true,
		},
	}
	cc, sc := net.Pipe()
	go srv.ServeConn(context.Background(), sc)
	defer cc.Close()
	r := bufio.NewReader(cc)
	r.ReadString('\n') // greeting
	for _, cmd := range []string{
		"a LOGIN alice secret",
		`b LIST "" "S*"`,
		"c SELECT INBOX",
		"d UID FETCH 1:* (FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
	} {
		fmt.Fprintf(cc, "%s\r\n", cmd)
		tag := cmd[:2]
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				log.Fatal(err)
			}
			line = strings.TrimRight(line, "\r\n")
			if strings.HasPrefix(line, "* ") && !strings.Contains(line, " OK ") && !strings.HasPrefix(line, "* FLAGS") || strings.HasPrefix(line, "Subject") {
				fmt.Println(line)
			}
			if strings.HasPrefix(line, tag) {
				break
			}
		}
	}
	// Output:
	// * LIST (\Sent \HasNoChildren) "/" "Sent"
	// * 1 EXISTS
	// * 1 RECENT
	// * 1 FETCH (UID 1 FLAGS (\Recent) RFC822.SIZE 52 BODY[HEADER.FIELDS (SUBJECT)] {19}
	// Subject: Lunch?
}
