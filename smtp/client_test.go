package smtp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

const cliBody = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n.leading dot\r\n..two dots\r\n"

func TestClientSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		disable    smtp.Extension
		noChunking bool
		chunk      int
		wantVerb   string // the command that carried the data
		oneWrite   bool   // MAIL, RCPT and the data verb went in one write
	}{
		{name: "pipelined BDAT", wantVerb: "BDAT", oneWrite: true},
		{name: "pipelined DATA", noChunking: true, wantVerb: "DATA", oneWrite: true},
		{name: "BDAT in small chunks", chunk: 7, wantVerb: "BDAT"},
		{name: "plain DATA", disable: smtp.ExtPipelining | smtp.ExtChunking, wantVerb: "DATA"},
		{name: "BDAT without pipelining", disable: smtp.ExtPipelining, wantVerb: "BDAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) { s.Disable = tt.disable })
			c, conn := cliDial(t, s, &smtp.ClientOptions{NoChunking: tt.noChunking, ChunkSize: tt.chunk, LocalName: "client.test"})
			ctx := context.Background()
			res, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net", "c@example.net"), strings.NewReader(cliBody))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.Delivered() != 2 || res.Data == nil || res.Data.Code != 250 || res.TLS != nil {
				t.Fatalf("result %+v", res)
			}
			for _, r := range res.Recipients {
				if !r.Delivered || r.Err() != nil || r.Reply.Code != 250 {
					t.Errorf("recipient %+v", r)
				}
			}
			msgs := be.messages()
			if len(msgs) != 1 || msgs[0].Data != cliBody || len(msgs[0].To) != 2 || msgs[0].From.Mailbox() != "a@example.org" {
				t.Fatalf("stored %+v", msgs)
			}
			batch := conn.writesWith("MAIL FROM:")
			if len(batch) != 1 {
				t.Fatalf("MAIL in %d writes", len(batch))
			}
			if got := strings.Contains(batch[0], "RCPT TO:<c@example.net>") && strings.Contains(batch[0], tt.wantVerb); got != tt.oneWrite {
				t.Errorf("pipelined batch %q", batch[0])
			}
			if len(conn.writesWith(tt.wantVerb)) == 0 {
				t.Errorf("no %s sent", tt.wantVerb)
			}
			// The connection carries a second message.
			if _, err := c.Send(ctx, cliEnv("", "b@example.net"), strings.NewReader("Subject: 2\r\n\r\nx")); err != nil {
				t.Fatalf("second Send: %v", err)
			}
			if msgs := be.messages(); len(msgs) != 2 || msgs[1].Data != "Subject: 2\r\n\r\nx\r\n" || !msgs[1].From.IsNull() {
				t.Fatalf("second message %+v", msgs)
			}
			if err := c.Quit(ctx); err != nil {
				t.Fatalf("Quit: %v", err)
			}
		})
	}
}

func TestClientPerRecipient(t *testing.T) {
	t.Parallel()
	for _, pipelining := range []bool{true, false} {
		for _, chunking := range []bool{true, false} {
			name := map[bool]string{true: "pipelining", false: "lockstep"}[pipelining] + "/" + map[bool]string{true: "BDAT", false: "DATA"}[chunking]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s, be := cliServer(func(s *smtp.Server) {
					if !pipelining {
						s.Disable |= smtp.ExtPipelining
					}
					if !chunking {
						s.Disable |= smtp.ExtChunking
					}
				})
				c, _ := cliDial(t, s, nil)
				ctx := context.Background()
				env := cliEnv("a@example.org", "ok@example.net", "unknown@example.net", "grey@example.net", "ok2@example.net")
				res, err := c.Send(ctx, env, strings.NewReader(cliBody))
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				want := []struct {
					code      smtp.ReplyCode
					enh       smtp.EnhancedCode
					text      string
					delivered bool
				}{
					{250, smtp.EnhancedOK, "", true},
					{550, smtp.EnhancedBadDestMailbox, "No such user", false},
					{450, smtp.EnhancedTempMailbox, "Greylisted", false},
					{250, smtp.EnhancedOK, "", true},
				}
				for i, w := range want {
					r := res.Recipients[i]
					if r.Delivered != w.delivered || r.Reply == nil || r.Reply.Code != w.code || r.Reply.Enhanced.Class() != w.enh.Class() ||
						w.text != "" && (r.Reply.Enhanced != w.enh || r.Reply.Lines[0] != w.text) {
						t.Errorf("recipient %d: %+v reply %+v", i, r, r.Reply)
					}
					if !w.delivered {
						var se *smtp.Error
						if !errors.As(r.Err(), &se) || se.Code != w.code || se.Temporary() != (w.code/100 == 4) {
							t.Errorf("recipient %d Err() = %v", i, r.Err())
						}
					}
				}
				if msgs := be.messages(); len(msgs) != 1 || len(msgs[0].To) != 2 {
					t.Fatalf("stored %+v", msgs)
				}

				// Every recipient refused: an error naming RCPT,
				// temporary because one refusal is, and the
				// connection stays usable.
				res, err = c.Send(ctx, cliEnv("a@example.org", "unknown@example.net", "grey@example.net"), strings.NewReader(cliBody))
				ce := asCommandError(t, err)
				if ce.Command != "RCPT" || !ce.Temporary() || ce.Reply() == nil || ce.Reply().Code != 450 || res.Delivered() != 0 {
					t.Fatalf("all refused: %v (%+v)", err, res)
				}
				res, err = c.Send(ctx, cliEnv("a@example.org", "unknown@example.net"), strings.NewReader(cliBody))
				if ce := asCommandError(t, err); ce.Command != "RCPT" || ce.Temporary() || res == nil {
					t.Fatalf("permanent refusal: %v", err)
				}

				// Sender refused.
				_, err = c.Send(ctx, cliEnv("reject@example.org", "ok@example.net"), strings.NewReader(cliBody))
				if ce := asCommandError(t, err); ce.Command != "MAIL" || ce.Temporary() || ce.Reply().Enhanced != smtp.EnhancedNotAuthorized {
					t.Fatalf("MAIL refused: %v", err)
				}

				// Data refused.
				res, err = c.Send(ctx, cliEnv("a@example.org", "dataerr@example.net", "ok@example.net"), strings.NewReader(cliBody))
				ce = asCommandError(t, err)
				if (ce.Command != "DATA" && ce.Command != "BDAT") || ce.Reply().Code != 554 || res.Recipients[1].Reply.Code != 554 || res.Delivered() != 0 {
					t.Fatalf("data refused: %v %+v", err, res)
				}
				if _, err := c.Send(ctx, cliEnv("a@example.org", "ok@example.net"), strings.NewReader(cliBody)); err != nil {
					t.Fatalf("after failures: %v", err)
				}
				if n := len(be.messages()); n != 2 {
					t.Fatalf("%d messages stored", n)
				}
			})
		}
	}
}

func TestClientParameters(t *testing.T) {
	t.Parallel()
	s, be := cliServer(nil)
	c, conn := cliDial(t, s, nil)
	ctx := context.Background()
	env := &smtp.Envelope{
		From: cliPath("a@example.org"),
		Options: smtp.MailOptions{
			Size: int64(len(cliBody)), Body: smtp.Body8BitMIME, Return: smtp.ReturnHeaders,
			EnvelopeID: "id+=with spaces", Auth: "<>",
		},
		To: []smtp.Recipient{
			{Path: cliPath("b@example.net"), Options: smtp.RcptOptions{Notify: smtp.NotifySuccess | smtp.NotifyFailure, OriginalRecipient: "B+x@example.net"}},
			{Path: cliPath("c@example.net"), Options: smtp.RcptOptions{Notify: smtp.NotifyNever}},
		},
	}
	if res, err := c.Send(ctx, env, strings.NewReader(cliBody)); err != nil || res.DSNDropped {
		t.Fatalf("%v %+v", err, res)
	}
	m := be.messages()[0]
	if m.Mail.Size != int64(len(cliBody)) || m.Mail.Body != smtp.Body8BitMIME || m.Mail.Return != smtp.ReturnHeaders || m.Mail.EnvelopeID != "id+=with spaces" {
		t.Errorf("MAIL options %+v", m.Mail)
	}
	if m.Rcpts[0].Notify != smtp.NotifySuccess|smtp.NotifyFailure || m.Rcpts[0].OriginalRecipientType != "rfc822" || m.Rcpts[0].OriginalRecipient != "B+x@example.net" || m.Rcpts[1].Notify != smtp.NotifyNever {
		t.Errorf("RCPT options %+v", m.Rcpts)
	}
	if w := conn.writesWith("ENVID=id+2B+3Dwith+20spaces"); len(w) != 1 || !strings.Contains(w[0], "ORCPT=rfc822;B+2Bx@example.net") {
		t.Errorf("xtext not on the wire: %q", conn.writesWith("MAIL"))
	}

	// Without DSN the DSN parameters are dropped, as a relay does.
	s2, be2 := cliServer(func(s *smtp.Server) { s.Disable = smtp.ExtDSN })
	c2, conn2 := cliDial(t, s2, nil)
	res, err := c2.Send(ctx, env, strings.NewReader(cliBody))
	if err != nil || !res.DSNDropped {
		t.Fatalf("%v %+v", err, res)
	}
	if m := be2.messages()[0]; m.Mail.Return != "" || m.Mail.EnvelopeID != "" || m.Rcpts[0].Notify != 0 || m.Rcpts[0].OriginalRecipient != "" {
		t.Errorf("DSN parameters sent without DSN: %+v %+v", m.Mail, m.Rcpts)
	}
	if w := conn2.writesWith("MAIL"); strings.Contains(w[0], "RET=") || strings.Contains(w[0], "NOTIFY") {
		t.Errorf("wire: %q", w[0])
	}
}

func TestClientMissingExtension(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		disable smtp.Extension
		maxSize int64
		env     *smtp.Envelope
		want    string // extension name, or "" for ErrMessageTooLarge
	}{
		{name: "SMTPUTF8 sender", disable: smtp.ExtSMTPUTF8, env: cliEnv("jöran@example.org", "b@example.net"), want: "SMTPUTF8"},
		{name: "SMTPUTF8 recipient", disable: smtp.ExtSMTPUTF8, env: cliEnv("a@example.org", "b@exämple.net"), want: "SMTPUTF8"},
		{name: "SMTPUTF8 asked", disable: smtp.ExtSMTPUTF8, env: &smtp.Envelope{From: cliPath("a@example.org"), Options: smtp.MailOptions{UTF8: true}, To: cliEnv("", "b@example.net").To}, want: "SMTPUTF8"},
		{name: "8BITMIME", disable: smtp.Ext8BitMIME, env: &smtp.Envelope{From: cliPath("a@example.org"), Options: smtp.MailOptions{Body: smtp.Body8BitMIME}, To: cliEnv("", "b@example.net").To}, want: "8BITMIME"},
		{name: "BINARYMIME without CHUNKING", disable: smtp.ExtChunking, env: &smtp.Envelope{From: cliPath("a@example.org"), Options: smtp.MailOptions{Body: smtp.BodyBinaryMIME}, To: cliEnv("", "b@example.net").To}, want: "BINARYMIME"},
		{name: "REQUIRETLS without TLS", env: &smtp.Envelope{From: cliPath("a@example.org"), Options: smtp.MailOptions{RequireTLS: true}, To: cliEnv("", "b@example.net").To}, want: "REQUIRETLS"},
		{name: "SIZE over limit", maxSize: 100, env: &smtp.Envelope{From: cliPath("a@example.org"), Options: smtp.MailOptions{Size: 101}, To: cliEnv("", "b@example.net").To}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) { s.Disable, s.MaxMessageBytes = tt.disable, tt.maxSize })
			c, conn := cliDial(t, s, nil)
			_, err := c.Send(context.Background(), tt.env, strings.NewReader(cliBody))
			ce := asCommandError(t, err)
			if ce.Temporary() || ce.Command != "MAIL" {
				t.Errorf("%v: temporary %v", err, ce.Temporary())
			}
			var ee *smtp.ExtensionError
			if tt.want == "" {
				if !errors.Is(err, smtp.ErrMessageTooLarge) {
					t.Errorf("got %v, want ErrMessageTooLarge", err)
				}
			} else if !errors.Is(err, smtp.ErrMissingExtension) || !errors.As(err, &ee) || ee.Extension != tt.want {
				t.Errorf("got %v, want missing %s", err, tt.want)
			}
			if len(conn.writesWith("MAIL")) != 0 || len(be.messages()) != 0 {
				t.Error("something was sent")
			}
			// Nothing was sent, so the client goes on.
			if err := c.Noop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClientSMTPUTF8(t *testing.T) {
	t.Parallel()
	s, be := cliServer(nil)
	c, conn := cliDial(t, s, nil)
	env := cliEnv("jöran@example.org", "åsa@exämple.net")
	env.To[0].Options.OriginalRecipient = "åsa+x@exämple.net"
	if _, err := c.Send(context.Background(), env, strings.NewReader(cliBody)); err != nil {
		t.Fatal(err)
	}
	m := be.messages()[0]
	if !m.Mail.UTF8 || m.From.Local != "jöran" || m.To[0].Domain != "exämple.net" || m.Rcpts[0].OriginalRecipientType != "utf-8" {
		t.Errorf("stored %+v", m)
	}
	if w := conn.writesWith("SMTPUTF8"); len(w) != 1 || !strings.Contains(w[0], `ORCPT=utf-8;åsa\x{2B}x@exämple.net`) {
		t.Errorf("wire %q", conn.writesWith("MAIL"))
	}
}

func TestClientInvalidArguments(t *testing.T) {
	t.Parallel()
	s, _ := cliServer(nil)
	ctx := context.Background()
	bad := []struct {
		name string
		env  *smtp.Envelope
	}{
		{"CRLF in local part", &smtp.Envelope{From: smtp.Path{Local: "a\r\nRCPT TO:<x@y>", Domain: "example.org"}, To: cliEnv("", "b@example.net").To}},
		{"LF in domain", &smtp.Envelope{From: cliPath("a@example.org"), To: []smtp.Recipient{{Path: smtp.Path{Local: "b", Domain: "example.net>\nDATA"}}}}},
		{"null recipient", &smtp.Envelope{From: cliPath("a@example.org"), To: []smtp.Recipient{{}}}},
		{"no recipient", &smtp.Envelope{From: cliPath("a@example.org")}},
		{"bad NOTIFY", &smtp.Envelope{From: cliPath("a@example.org"), To: []smtp.Recipient{{Path: cliPath("b@example.net"), Options: smtp.RcptOptions{Notify: smtp.NotifyNever | smtp.NotifyDelay}}}}},
		{"ORCPT with CR", &smtp.Envelope{From: cliPath("a@example.org"), To: []smtp.Recipient{{Path: cliPath("b@example.net"), Options: smtp.RcptOptions{OriginalRecipient: "x\r@y"}}}}},
		{"long ENVID", &smtp.Envelope{From: cliPath("a@example.org"), Options: smtp.MailOptions{EnvelopeID: strings.Repeat("=", 40)}, To: cliEnv("", "b@example.net").To}},
		{"bad BODY", &smtp.Envelope{From: cliPath("a@example.org"), Options: smtp.MailOptions{Body: "8BIT\r\n"}, To: cliEnv("", "b@example.net").To}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, conn := cliDial(t, s, nil)
			_, err := c.Send(ctx, tt.env, strings.NewReader(cliBody))
			if !errors.Is(err, smtp.ErrInvalidArgument) || asCommandError(t, err).Temporary() {
				t.Fatalf("got %v", err)
			}
			if len(conn.writesWith("MAIL")) != 0 {
				t.Fatal("MAIL sent")
			}
		})
	}
	conn := cliPipe(t, s)
	c := smtp.NewClient(conn, &smtp.ClientOptions{LocalName: "host\r\nMAIL FROM:<>"})
	if err := c.Hello(ctx); !errors.Is(err, smtp.ErrInvalidArgument) {
		t.Fatalf("EHLO name with CRLF: %v", err)
	}
	if len(conn.writesWith("EHLO")) != 0 {
		t.Fatal("EHLO sent")
	}
}

func TestClientLineEndings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, chunking := range []bool{true, false} {
		name := map[bool]string{true: "BDAT", false: "DATA"}[chunking]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) {
				if !chunking {
					s.Disable = smtp.ExtChunking
				}
			})
			// Refused by default, before anything of the body reaches
			// the server as data.
			c, _ := cliDial(t, s, nil)
			_, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader("Subject: x\n\nbare LF\n.\n"))
			if !errors.Is(err, smtp.ErrBareLineEnding) || asCommandError(t, err).Temporary() {
				t.Fatalf("got %v", err)
			}
			if len(be.messages()) != 0 {
				t.Fatal("message stored")
			}
			// Normalised on request.
			c2, _ := cliDial(t, s, &smtp.ClientOptions{LineEndings: smtp.LineEndingsNormalize})
			big := strings.Repeat("line\n", 20000) + ".\rlast"
			for _, body := range []string{"Subject: x\n\nbare LF\n.\nbare CR\rend", big} {
				if _, err := c2.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(body)); err != nil {
					t.Fatal(err)
				}
			}
			msgs := be.messages()
			want := strings.NewReplacer("\r", "\r\n", "\n", "\r\n").Replace
			if len(msgs) != 2 || msgs[0].Data != want("Subject: x\n\nbare LF\n.\nbare CR\rend")+"\r\n" || msgs[1].Data != want(big)+"\r\n" {
				t.Fatalf("stored %+v", msgs)
			}
		})
	}
}

func TestClientBareLineEndingKeepsBDATSession(t *testing.T) {
	t.Parallel()
	s, be := cliServer(nil)
	c, _ := cliDial(t, s, &smtp.ClientOptions{ChunkSize: 16})
	ctx := context.Background()
	// The bad line comes after the first chunks went out: RSET
	// abandons the message and the connection goes on.
	body := strings.Repeat("0123456789\r\n", 10) + "bad\nline\r\n"
	if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(body)); !errors.Is(err, smtp.ErrBareLineEnding) {
		t.Fatalf("got %v", err)
	}
	if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody)); err != nil {
		t.Fatalf("next message: %v", err)
	}
	if msgs := be.messages(); len(msgs) != 1 || msgs[0].Data != cliBody {
		t.Fatalf("stored %+v", msgs)
	}
}

func TestClientBinaryMIME(t *testing.T) {
	t.Parallel()
	s, be := cliServer(nil)
	c, _ := cliDial(t, s, &smtp.ClientOptions{ChunkSize: 100})
	body := "Content-Type: application/octet-stream\r\n\r\n\x00\x01\n\r.\r\n\xff" + strings.Repeat("\n.", 200)
	env := cliEnv("a@example.org", "b@example.net")
	env.Options.Body = smtp.BodyBinaryMIME
	if _, err := c.Send(context.Background(), env, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if m := be.messages(); len(m) != 1 || m[0].Data != body || m[0].Mail.Body != smtp.BodyBinaryMIME {
		t.Fatalf("stored %+v", m)
	}
}

func TestClientLMTP(t *testing.T) {
	t.Parallel()
	for _, chunking := range []bool{true, false} {
		name := map[bool]string{true: "BDAT", false: "DATA"}[chunking]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) {
				s.LMTP = true
				if !chunking {
					s.Disable = smtp.ExtChunking
				}
			})
			c, conn := cliDial(t, s, &smtp.ClientOptions{LMTP: true})
			if len(conn.writesWith("LHLO localhost")) != 1 {
				t.Fatal("no LHLO")
			}
			ctx := context.Background()
			res, err := c.Send(ctx, cliEnv("a@example.org", "ok@example.net", "full@example.net", "unknown@example.net", "ok2@example.net"), strings.NewReader(cliBody))
			if err != nil {
				t.Fatal(err)
			}
			wantCodes := []smtp.ReplyCode{250, 552, 550, 250}
			for i, r := range res.Recipients {
				if r.Reply.Code != wantCodes[i] || r.Delivered != (wantCodes[i] == 250) {
					t.Errorf("recipient %d: %+v %+v", i, r, r.Reply)
				}
			}
			if res.Recipients[1].Reply.Enhanced != smtp.EnhancedMailboxFull || res.Data != nil {
				t.Errorf("full: %+v, data %+v", res.Recipients[1].Reply, res.Data)
			}
			// Every recipient failing after the data is an error.
			res, err = c.Send(ctx, cliEnv("a@example.org", "full@example.net"), strings.NewReader(cliBody))
			if ce := asCommandError(t, err); ce.Reply().Code != 552 || res.Delivered() != 0 {
				t.Fatalf("got %v", err)
			}
			if n := len(be.messages()); n != 2 {
				t.Fatalf("%d stored", n)
			}

			// The single steps: Mail, Rcpt, Data.
			if err := c.Mail(ctx, cliPath("a@example.org"), nil); err != nil {
				t.Fatal(err)
			}
			for _, to := range []string{"ok@example.net", "full@example.net"} {
				if err := c.Rcpt(ctx, cliPath(to), nil); err != nil {
					t.Fatal(err)
				}
			}
			w, err := c.Data(ctx)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, cliBody)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if r := w.LMTPReplies(); len(r) != 2 || r[0].Code != 250 || r[1].Code != 552 {
				t.Fatalf("LMTP replies %+v", r)
			}
		})
	}
}

func TestClientSingleSteps(t *testing.T) {
	t.Parallel()
	s, be := cliServer(nil)
	c, _ := cliDial(t, s, nil)
	ctx := context.Background()
	if err := c.Mail(ctx, cliPath("a@example.org"), &smtp.MailOptions{Size: 10}); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt(ctx, cliPath("unknown@example.net"), nil)
	if ce := asCommandError(t, err); ce.Command != "RCPT" || ce.Reply().Code != 550 {
		t.Fatalf("got %v", err)
	}
	if err := c.Rcpt(ctx, cliPath("b@example.net"), &smtp.RcptOptions{Notify: smtp.NotifyDelay}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, strings.NewReader(cliBody)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil || w.Reply().Code != 250 {
		t.Fatalf("Close: %v %+v", err, w.Reply())
	}
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if m := be.messages(); len(m) != 1 || m[0].Data != cliBody || m[0].Rcpts[0].Notify != smtp.NotifyDelay {
		t.Fatalf("stored %+v", m)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(ctx); !errors.Is(err, smtp.ErrClientClosed) {
		t.Fatalf("after Quit: %v", err)
	}
}

func TestClientCapabilitiesFromServer(t *testing.T) {
	t.Parallel()
	s, _ := cliServer(func(s *smtp.Server) { s.MaxMessageBytes = 12345; s.MaxRecipients = 7 })
	c, _ := cliDial(t, s, nil)
	caps := c.Capabilities()
	if !caps.Pipelining || !caps.EightBitMIME || !caps.SMTPUTF8 || !caps.DSN || !caps.Chunking || !caps.BinaryMIME ||
		!caps.EnhancedStatusCodes || caps.StartTLS || caps.MaxSize != 12345 || caps.RcptMax != 7 || caps.Domain != "mx.test" ||
		!caps.HasAuth("plain") || !caps.Has("help") {
		t.Fatalf("capabilities %+v", caps)
	}
	if g := c.Greeting(); g == nil || g.Code != 220 {
		t.Fatalf("greeting %+v", g)
	}
}

func TestClientRcptMax(t *testing.T) {
	t.Parallel()
	s, be := cliServer(func(s *smtp.Server) { s.MaxRecipients = 2 })
	c, conn := cliDial(t, s, nil)
	res, err := c.Send(context.Background(), cliEnv("a@example.org", "b@example.net", "c@example.net", "d@example.net"), strings.NewReader(cliBody))
	if err != nil {
		t.Fatal(err)
	}
	r := res.Recipients[2]
	if r.Delivered || r.Reply.Code != 452 || r.Reply.Enhanced != smtp.EnhancedTooManyRecipients || res.Delivered() != 2 {
		t.Fatalf("result %+v %+v", res, r.Reply)
	}
	if len(conn.writesWith("d@example.net")) != 0 || len(be.messages()[0].To) != 2 {
		t.Fatal("recipient over RCPTMAX was sent")
	}
}

func TestClientAuth(t *testing.T) {
	t.Parallel()
	ct := cliTestTLS(t)
	mechs := []struct {
		name   string
		client func(cs *tls.ConnectionState) sasl.Client
	}{
		{"PLAIN", func(*tls.ConnectionState) sasl.Client { return sasl.NewPlainClient("", "user", "pass") }},
		{"LOGIN", func(*tls.ConnectionState) sasl.Client { return sasl.NewLoginClient("user", "pass") }},
		{"SCRAM-SHA-256", func(*tls.ConnectionState) sasl.Client { return sasl.NewScramSHA256Client("user", "pass", nil) }},
		{"SCRAM-SHA-256-PLUS", func(cs *tls.ConnectionState) sasl.Client {
			cb, err := sasl.TLSExporter(cs)
			if err != nil {
				t.Fatal(err)
			}
			return sasl.NewScramSHA256PlusClient("user", "pass", &sasl.ScramClientOptions{ChannelBinding: cb})
		}},
		{"OAUTHBEARER", func(*tls.ConnectionState) sasl.Client {
			return sasl.NewOAuthBearerClient(sasl.TokenRequest{Username: "user", Token: "tok"})
		}},
		{"XOAUTH2", func(*tls.ConnectionState) sasl.Client { return sasl.NewXOAuth2Client("user", "tok") }},
	}
	for _, m := range mechs {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server })
			c, _ := cliDial(t, s, &smtp.ClientOptions{TLSPolicy: smtp.TLSRequired, TLSConfig: &tls.Config{RootCAs: ct.pool, ServerName: "mx.test"}})
			cs, ok := c.TLSConnectionState()
			if !ok {
				t.Fatal("no TLS")
			}
			ctx := context.Background()
			if err := c.Auth(ctx, m.client(&cs)); err != nil {
				t.Fatalf("Auth: %v", err)
			}
			if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody)); err != nil {
				t.Fatal(err)
			}
			if msg := be.messages()[0]; msg.Auth != "user" || !msg.TLS {
				t.Fatalf("stored %+v", msg)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		s, _ := cliServer(nil)
		c, _ := cliDial(t, s, nil)
		ctx := context.Background()
		for _, cl := range []sasl.Client{sasl.NewPlainClient("", "user", "wrong"), sasl.NewLoginClient("user", "wrong"), sasl.NewScramSHA256Client("user", "wrong", nil)} {
			err := c.Auth(ctx, cl)
			ce := asCommandError(t, err)
			if ce.Command != "AUTH" || ce.Reply() == nil || ce.Reply().Code != 535 {
				t.Fatalf("got %v", err)
			}
		}
		// Not offered.
		err := c.Auth(ctx, sasl.NewScramSHA256PlusClient("user", "pass", &sasl.ScramClientOptions{ChannelBinding: make([]byte, 32)}))
		if !errors.Is(err, smtp.ErrMissingExtension) {
			t.Fatalf("got %v", err)
		}
		if err := c.Auth(ctx, sasl.NewPlainClient("", "user", "pass")); err != nil {
			t.Fatalf("after failures: %v", err)
		}
	})
}

func TestClientStartTLSPolicy(t *testing.T) {
	t.Parallel()
	ct := cliTestTLS(t)
	ctx := context.Background()
	verified := &tls.Config{RootCAs: ct.pool, ServerName: "mx.test"}
	t.Run("opportunistic", func(t *testing.T) {
		t.Parallel()
		s, be := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server })
		c, _ := cliDial(t, s, nil) // unverified: self-signed is fine
		res, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody))
		if err != nil || res.TLS == nil || !res.TLS.HandshakeComplete || !be.messages()[0].TLS {
			t.Fatalf("%v %+v", err, res)
		}
		if !c.Capabilities().RequireTLS || c.Capabilities().StartTLS {
			t.Fatal("capabilities not read again after STARTTLS")
		}
		// REQUIRETLS needs a verified certificate (RFC 8689 section
		// 4.2.1), which opportunistic TLS does not check.
		env := cliEnv("a@example.org", "b@example.net")
		env.Options.RequireTLS = true
		if _, err := c.Send(ctx, env, strings.NewReader(cliBody)); !errors.Is(err, smtp.ErrMissingExtension) {
			t.Fatalf("REQUIRETLS over unverified TLS: %v", err)
		}
	})
	t.Run("REQUIRETLS", func(t *testing.T) {
		t.Parallel()
		s, be := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server })
		for _, opts := range []*smtp.ClientOptions{
			{TLSPolicy: smtp.TLSRequired, TLSConfig: verified},
			// A DANE-style check by callback counts as verified.
			{TLSConfig: &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(tls.ConnectionState) error { return nil }}},
		} {
			c, _ := cliDial(t, s, opts)
			env := cliEnv("a@example.org", "b@example.net")
			env.Options.RequireTLS = true
			if _, err := c.Send(ctx, env, strings.NewReader(cliBody)); err != nil {
				t.Fatalf("REQUIRETLS: %v", err)
			}
		}
		if m := be.messages(); len(m) != 2 || !m[0].Mail.RequireTLS || !m[1].Mail.RequireTLS {
			t.Fatalf("stored %+v", m)
		}
	})
	t.Run("opportunistic without STARTTLS", func(t *testing.T) {
		t.Parallel()
		s, _ := cliServer(nil)
		c, _ := cliDial(t, s, nil)
		if _, ok := c.TLSConnectionState(); ok {
			t.Fatal("TLS")
		}
	})
	t.Run("required without STARTTLS", func(t *testing.T) {
		t.Parallel()
		s, _ := cliServer(nil)
		conn := cliPipe(t, s)
		err := smtp.NewClient(conn, &smtp.ClientOptions{TLSPolicy: smtp.TLSRequired}).Hello(ctx)
		if !errors.Is(err, smtp.ErrMissingExtension) || asCommandError(t, err).Command != "STARTTLS" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("required, certificate not trusted", func(t *testing.T) {
		t.Parallel()
		// Over TCP: on a pipe, the alert the client sends would wait
		// for the server to finish writing its handshake flight.
		s, _ := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server })
		addr := cliListen(t, s)
		_, err := smtp.Dial(ctx, addr, &smtp.ClientOptions{TLSPolicy: smtp.TLSRequired, TLSConfig: &tls.Config{ServerName: "mx.test"}})
		var ue x509.UnknownAuthorityError
		if err == nil || !errors.As(err, &ue) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("required, verified", func(t *testing.T) {
		t.Parallel()
		s, _ := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server })
		c, _ := cliDial(t, s, &smtp.ClientOptions{TLSPolicy: smtp.TLSRequired, TLSConfig: verified})
		if cs, ok := c.TLSConnectionState(); !ok || len(cs.PeerCertificates) == 0 {
			t.Fatal("no TLS")
		}
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		s, _ := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server })
		c, conn := cliDial(t, s, &smtp.ClientOptions{TLSPolicy: smtp.TLSNone})
		if _, ok := c.TLSConnectionState(); ok || len(conn.writesWith("STARTTLS")) != 0 || !c.Capabilities().StartTLS {
			t.Fatal("STARTTLS sent")
		}
	})
}

func TestClientLoopback(t *testing.T) {
	t.Parallel()
	ct := cliTestTLS(t)
	s, be := cliServer(func(s *smtp.Server) { s.TLSConfig = ct.server })
	addr := cliListen(t, s)
	ctx := context.Background()
	c, err := smtp.Dial(ctx, addr, &smtp.ClientOptions{TLSPolicy: smtp.TLSRequired, TLSConfig: &tls.Config{RootCAs: ct.pool}})
	if err != nil {
		t.Fatal(err) // verified against 127.0.0.1 from the address
	}
	for i := range 20 {
		if _, err := c.Send(ctx, cliEnv("a@example.org", "b@example.net", "c@example.net"), strings.NewReader(cliBody)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(be.messages()); n != 20 {
		t.Fatalf("%d stored", n)
	}
}

func TestSendMail(t *testing.T) {
	t.Parallel()
	ct := cliTestTLS(t)
	ctx := context.Background()
	for _, implicit := range []bool{false, true} {
		name := map[bool]string{false: "STARTTLS", true: "implicit TLS"}[implicit]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, be := cliServer(func(s *smtp.Server) {
				s.TLSConfig = ct.server
				s.ImplicitTLS = implicit
				s.Auth = nil
			})
			addr := cliListen(t, s)
			opts := &smtp.SendMailOptions{
				ClientOptions: smtp.ClientOptions{TLSConfig: &tls.Config{RootCAs: ct.pool}},
				ImplicitTLS:   implicit,
				Username:      "user", Password: "pass",
			}
			res, err := smtp.SendMail(ctx, addr, opts, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody))
			if err != nil {
				t.Fatal(err)
			}
			if res.TLS == nil || res.Delivered() != 1 {
				t.Fatalf("result %+v", res)
			}
			m := be.messages()
			if len(m) != 1 || m[0].Auth != "user" || !m[0].TLS {
				t.Fatalf("stored %+v", m)
			}
			opts.Password = "wrong"
			_, err = smtp.SendMail(ctx, addr, opts, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody))
			if ce := asCommandError(t, err); ce.Command != "AUTH" || ce.Reply().Code != 535 {
				t.Fatalf("wrong password: %v", err)
			}
		})
	}
	t.Run("refuses plain text", func(t *testing.T) {
		t.Parallel()
		s, _ := cliServer(nil)
		_, err := smtp.SendMail(ctx, cliListen(t, s), &smtp.SendMailOptions{Username: "user", Password: "pass"}, cliEnv("a@example.org", "b@example.net"), strings.NewReader(cliBody))
		if !errors.Is(err, smtp.ErrMissingExtension) {
			t.Fatalf("got %v", err)
		}
	})
}
