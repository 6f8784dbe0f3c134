package dsn

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	hmime "github.com/heraldmail/herald/mime"
	"github.com/heraldmail/herald/smtp"
)

// postfixCase is one failure of testdata/dsn/postfix-generated/README.md as
// Herald's delivery queue would see it: the recipients with their outcome
// and the DSN parameters of the transaction.
type postfixCase struct {
	file  string
	ret   smtp.DSNReturn
	envid string
	rcpts []postfixRcpt
}

type postfixRcpt struct {
	addr    string
	reply   *smtp.Error // the failure; nil for a success
	remote  string      // the MTA that answered; "" for local delivery
	action  Action      // overrides the action RecipientFromError picks (expiry)
	success string      // Diagnostic-Code of a success
}

var (
	unknownUser = &smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "unknown user"}
	remoteUser  = &smtp.Error{Code: 550, Enhanced: smtp.EnhancedBadDestMailbox, Message: "Recipient address rejected: User unknown in virtual mailbox table"}
	greylisted  = &smtp.Error{Code: 450, Enhanced: smtp.NewEnhancedCode(4, 7, 1), Message: "Recipient address rejected: Greylisted"}
)

var postfixCases = []postfixCase{
	{file: "01-failed", rcpts: []postfixRcpt{{addr: "nosuchuser@localhost", reply: unknownUser}}},
	{file: "02-delivered", ret: smtp.ReturnHeaders, envid: "envid-0002", rcpts: []postfixRcpt{{addr: "dsnrcpt@localhost", action: ActionDelivered, success: "x-herald; delivered to mailbox"}}},
	{file: "03-delayed", rcpts: []postfixRcpt{{addr: "grey@tempfail.example.net", reply: greylisted, remote: "127.0.0.1"}}},
	{file: "04-relayed", rcpts: []postfixRcpt{{addr: "x@nodsn.example.net", remote: "127.0.0.1", action: ActionRelayed, success: "smtp; 250 2.0.0 Ok"}}},
	{file: "05-failed", rcpts: []postfixRcpt{{addr: "nosuch2@localhost", reply: unknownUser}}},
	{file: "06-failed", rcpts: []postfixRcpt{{addr: "nosuch3@localhost", reply: unknownUser}}},
	{file: "07-failed", rcpts: []postfixRcpt{{addr: "grey@tempfail.example.net", reply: greylisted, remote: "127.0.0.1", action: ActionFailed}}},
	{file: "08-failed", envid: "envid-0003", rcpts: []postfixRcpt{{addr: "someone@fail.example.net", reply: remoteUser, remote: "127.0.0.1"}}},
	{file: "09-failed", ret: smtp.ReturnFull, rcpts: []postfixRcpt{{addr: "nosuch4@localhost", reply: unknownUser}}},
	{file: "10-failed", rcpts: []postfixRcpt{{addr: "nosuch2@localhost", reply: unknownUser}, {addr: "a@fail.example.net", reply: remoteUser, remote: "127.0.0.1"}}},
	{file: "11-delayed", rcpts: []postfixRcpt{{addr: "grey2@tempfail.example.net", reply: greylisted, remote: "127.0.0.1"}}},
	{file: "12-failed", rcpts: []postfixRcpt{{addr: "grey2@tempfail.example.net", reply: greylisted, remote: "127.0.0.1", action: ActionFailed}}},
}

// TestPostfixSameFields generates, for each failure Postfix reported in
// testdata/dsn/postfix-generated, Herald's notification of the same failure
// and checks that both carry the same fields in each group (Postfix's own
// X-Postfix-* fields aside), the same parts in the same order, the same
// Subject and Auto-Submitted, and the same actions and status codes.
func TestPostfixSameFields(t *testing.T) {
	t.Parallel()
	for _, pc := range postfixCases {
		t.Run(pc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("../testdata/dsn/postfix-generated", "postfix-3.7.11-"+pc.file+".eml")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := Parse(bytes.NewReader(raw), nil)
			if err != nil {
				t.Fatal(err)
			}
			if pf.Original == nil {
				t.Fatal("postfix returned no original")
			}

			arrival := pf.Report.ArrivalDate
			rep := Report{ReportingMTA: TypedValue{Type: TypeDNS, Value: "mx.example.test"}, EnvelopeID: pc.envid, ArrivalDate: arrival}
			for _, r := range pc.rcpts {
				var rc Recipient
				if r.reply != nil {
					rc = RecipientFromError(r.addr, r.reply, r.remote, r.reply.Temporary())
				} else {
					rc = Recipient{FinalRecipient: addressValue(r.addr), Status: smtp.EnhancedOK, DiagnosticCode: parseTyped(r.success)}
					if r.remote != "" {
						rc.RemoteMTA = TypedValue{Type: TypeDNS, Value: r.remote}
					}
				}
				if r.action != "" {
					rc.Action = r.action
				}
				rc.OriginalRecipient = addressValue(r.addr)
				if rc.Action == ActionDelayed {
					rc.WillRetryUntil = arrival.Add(5 * 24 * time.Hour)
				}
				rep.Recipients = append(rep.Recipients, rc)
			}
			var orig bytes.Buffer
			pf.Original.WriteTo(&orig)
			orig.WriteString("body\r\n")
			m := &Message{Report: rep, To: smtp.Path{Local: "dsntest", Domain: "localhost"}, Original: &orig,
				Return: pc.ret, Now: func() time.Time { return arrival.Add(time.Minute) }}
			var out bytes.Buffer
			if _, err := m.WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			hd, err := Parse(bytes.NewReader(out.Bytes()), nil)
			if err != nil {
				t.Fatal(err)
			}

			if a, b := messageFieldNames(pf.Report), messageFieldNames(hd.Report); !slices.Equal(a, b) {
				t.Errorf("per-message fields: postfix %v, herald %v", a, b)
			}
			if len(pf.Report.Recipients) != len(hd.Report.Recipients) {
				t.Fatalf("recipients: postfix %d, herald %d", len(pf.Report.Recipients), len(hd.Report.Recipients))
			}
			for i := range pf.Report.Recipients {
				p, h := &pf.Report.Recipients[i], &hd.Report.Recipients[i]
				if a, b := recipientFieldNames(p), recipientFieldNames(h); !slices.Equal(a, b) {
					t.Errorf("recipient %d fields: postfix %v, herald %v", i+1, a, b)
				}
				if p.Action != h.Action || p.Status != h.Status || p.Addr() != h.Addr() {
					t.Errorf("recipient %d: postfix %s %s %s, herald %s %s %s", i+1, p.Addr(), p.Action, p.Status, h.Addr(), h.Action, h.Status)
				}
			}
			if a, b := topParts(t, raw), topParts(t, out.Bytes()); !slices.Equal(a, b) {
				t.Errorf("parts: postfix %v, herald %v", a, b)
			}
			for _, name := range []string{"Subject", "Auto-Submitted"} {
				if a, b := pf.Header.Get(name), hd.Header.Get(name); a != b {
					t.Errorf("%s: postfix %q, herald %q", name, a, b)
				}
			}
		})
	}
}

// messageFieldNames lists the per-message fields a report carries, in a
// fixed order, without Postfix's X-Postfix-* fields.
func messageFieldNames(r *Report) []string {
	var names []string
	for _, n := range []string{"Reporting-MTA", "DSN-Gateway", "Received-From-MTA", "Original-Envelope-Id", "Arrival-Date"} {
		if _, ok := messageFieldValue(r, n); ok {
			names = append(names, n)
		}
	}
	for _, f := range r.Extensions {
		if !strings.HasPrefix(strings.ToLower(f.Name), "x-postfix-") {
			names = append(names, f.Name)
		}
	}
	return names
}

func recipientFieldNames(r *Recipient) []string {
	var names []string
	for _, n := range []string{"Original-Recipient", "Final-Recipient", "Action", "Status", "Remote-MTA",
		"Diagnostic-Code", "Last-Attempt-Date", "Final-Log-ID", "Will-Retry-Until"} {
		if _, ok := recipientFieldValue(r, n); ok {
			names = append(names, n)
		}
	}
	for _, f := range r.Extensions {
		if !strings.HasPrefix(strings.ToLower(f.Name), "x-postfix-") {
			names = append(names, f.Name)
		}
	}
	return names
}

// topParts lists the media type of the message and of each of its parts,
// with the report-type parameter and the transfer encoding of encapsulated
// messages.
func topParts(t *testing.T, raw []byte) []string {
	t.Helper()
	r := hmime.NewReader(bytes.NewReader(raw), nil)
	var out []string
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Parent == nil:
			out = append(out, fmt.Sprintf("%s;report-type=%s", p.MediaType.Essence(), p.MediaType.Params.Get("report-type")))
		case p.Parent.Parent == nil:
			s := p.MediaType.Essence()
			if p.MediaType.IsMessage() {
				s += ";" + string(p.Encoding)
			}
			out = append(out, s)
		}
	}
}
