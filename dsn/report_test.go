package dsn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

var testTime = time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("", -5*3600))

func sampleReport() Report {
	return Report{
		ReportingMTA:    TypedValue{Type: TypeDNS, Value: "mx.example.org"},
		ReceivedFromMTA: TypedValue{Type: TypeDNS, Value: "client.example.com"},
		EnvelopeID:      "id+1=QQ",
		ArrivalDate:     testTime.Add(-2 * time.Hour),
		Extensions:      []Field{{Name: "X-Queue-ID", Value: "ABC123"}},
		Recipients: []Recipient{{
			OriginalRecipient: TypedValue{Type: TypeRFC822, Value: "Bob@example.net"},
			FinalRecipient:    TypedValue{Type: TypeRFC822, Value: "bob@example.net"},
			Action:            ActionFailed,
			Status:            smtp.EnhancedBadDestMailbox,
			RemoteMTA:         TypedValue{Type: TypeDNS, Value: "mx.example.net"},
			DiagnosticCode:    TypedValue{Type: TypeSMTP, Value: "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in virtual mailbox table; please check the address and try again later"},
			LastAttemptDate:   testTime,
			FinalLogID:        "log-77",
		}, {
			FinalRecipient:  TypedValue{Type: TypeRFC822, Value: "carol@example.com"},
			Action:          ActionDelayed,
			Status:          smtp.NewEnhancedCode(4, 4, 1),
			WillRetryUntil:  testTime.Add(96 * time.Hour),
			LastAttemptDate: testTime,
			Extensions:      []Field{{Name: "X-Attempts", Value: "3"}},
		}},
	}
}

// equalReports compares reports with dates as instants.
func equalReports(t *testing.T, got, want *Report) {
	t.Helper()
	g, w := dumpReport(got), dumpReport(want)
	if g != w {
		t.Errorf("report differs\n got: %s\nwant: %s", g, w)
	}
}

func dumpReport(r *Report) string {
	date := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mta=%v gw=%v from=%v envid=%q arrival=%s ext=%v\n", r.ReportingMTA, r.DSNGateway, r.ReceivedFromMTA,
		r.EnvelopeID, date(r.ArrivalDate), r.Extensions)
	for _, rc := range r.Recipients {
		fmt.Fprintf(&b, " orig=%v final=%v action=%s status=%s remote=%v diag=%v last=%s log=%q retry=%s ext=%v\n",
			rc.OriginalRecipient, rc.FinalRecipient, rc.Action, rc.Status, rc.RemoteMTA, rc.DiagnosticCode,
			date(rc.LastAttemptDate), rc.FinalLogID, date(rc.WillRetryUntil), rc.Extensions)
	}
	return b.String()
}

func TestReportRoundTrip(t *testing.T) {
	t.Parallel()
	rep := sampleReport()
	var buf bytes.Buffer
	if _, err := rep.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ReplaceAll(buf.String(), "\r\n", ""), "\n") {
		t.Errorf("bare LF in %q", buf.String())
	}
	for _, l := range strings.Split(buf.String(), "\r\n") {
		if len(l) > 78 && strings.Contains(l, " ") {
			t.Errorf("line not folded: %q", l)
		}
	}
	if !strings.Contains(buf.String(), "Original-Envelope-Id: id+2B1+3DQQ\r\n") {
		t.Errorf("envelope id not in xtext:\n%s", buf.String())
	}
	got, err := ParseStatus(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	equalReports(t, got, &rep)
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	orig := "Received: from x by y\nFrom: alice@example.org\nTo: bob@example.net\nMessage-ID: <orig-1@example.org>\nSubject: hello\n\nline one\nline two\n"
	for _, ret := range []smtp.DSNReturn{"", smtp.ReturnHeaders, smtp.ReturnFull} {
		t.Run(string(ret), func(t *testing.T) {
			t.Parallel()
			m := &Message{
				Report:   sampleReport(),
				To:       smtp.Path{Local: "alice", Domain: "example.org"},
				Now:      func() time.Time { return testTime },
				Original: strings.NewReader(orig),
				Return:   ret,
			}
			var buf bytes.Buffer
			if _, err := m.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
				t.Error("bare LF in the notification")
			}
			for _, want := range []string{"Auto-Submitted: auto-replied\r\n", "To: alice@example.org\r\n",
				"report-type=delivery-status", "Date: " + message.FormatDate(testTime)} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q", want)
				}
			}
			n, err := Parse(strings.NewReader(out), nil)
			if err != nil {
				t.Fatal(err)
			}
			if n.Heuristic || n.Global {
				t.Errorf("heuristic=%v global=%v", n.Heuristic, n.Global)
			}
			want := sampleReport()
			equalReports(t, n.Report, &want)
			if n.Original == nil || n.Original.Get("Message-ID") != "<orig-1@example.org>" {
				t.Fatalf("original header = %v", n.Original)
			}
			full := ret != smtp.ReturnHeaders
			if got := strings.Contains(out, "Content-Type: message/rfc822"); got != full {
				t.Errorf("message/rfc822 present = %v, want %v", got, full)
			}
			if got := strings.Contains(out, "Content-Type: text/rfc822-headers"); got == full {
				t.Errorf("text/rfc822-headers present = %v, want %v", got, !full)
			}
			if got := strings.Contains(out, "line two\r\n"); got != full {
				t.Errorf("body returned = %v, want %v", got, full)
			}
			if !strings.Contains(n.Text, "could not be delivered") || !strings.Contains(n.Text, "bad destination mailbox address (5.1.1)") ||
				!strings.Contains(n.Text, "has not been delivered yet") {
				t.Errorf("human text = %q", n.Text)
			}
		})
	}
}

func TestMessageGlobal(t *testing.T) {
	t.Parallel()
	rep := Report{
		ReportingMTA: TypedValue{Type: TypeDNS, Value: "mx.example.org"},
		Recipients: []Recipient{{
			OriginalRecipient: TypedValue{Type: TypeUTF8, Value: "jörg@bücher.example"},
			FinalRecipient:    TypedValue{Type: TypeUTF8, Value: "jörg@bücher.example"},
			Action:            ActionFailed,
			Status:            smtp.NewEnhancedCode(5, 2, 2),
		}},
	}
	orig := "From: =?utf-8?q?Z=C3=B6e?= <zoe@example.org>\r\nTo: jörg@bücher.example\r\nSubject: Grüße\r\n\r\nHallo\r\n"
	m := &Message{Report: rep, To: smtp.Path{Local: "zoe", Domain: "example.org"}, Now: func() time.Time { return testTime },
		Original: strings.NewReader(orig), Return: smtp.ReturnFull, UTF8: true}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"report-type=global-delivery-status", "Content-Type: message/global-delivery-status",
		"Content-Type: message/global\r\n", "Content-Transfer-Encoding: 8bit", "Final-Recipient: utf-8; jörg@bücher.example",
		"charset=utf-8"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	n, err := Parse(strings.NewReader(out), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Global {
		t.Error("not read as global")
	}
	equalReports(t, n.Report, &rep)
	if n.Original == nil || n.Original.Get("Subject") != "Grüße" {
		t.Errorf("original = %v", n.Original)
	}
	// Headers only for an internationalized original: message/global-headers.
	m.Original, m.Return = strings.NewReader(orig), smtp.ReturnHeaders
	buf.Reset()
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Content-Type: message/global-headers") {
		t.Errorf("no message/global-headers:\n%s", buf.String())
	}
}

func TestMessageErrors(t *testing.T) {
	t.Parallel()
	good := sampleReport()
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{"null sender", Message{Report: good}, ErrNullSender},
		{"no recipients", Message{Report: Report{ReportingMTA: good.ReportingMTA}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
		{"no reporting MTA", Message{Report: Report{Recipients: good.Recipients}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
		{"bad action", Message{Report: Report{ReportingMTA: good.ReportingMTA, Recipients: []Recipient{{FinalRecipient: TypedValue{Value: "x@y"}, Action: "bounced", Status: smtp.EnhancedBadDestMailbox}}}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
		{"no status", Message{Report: Report{ReportingMTA: good.ReportingMTA, Recipients: []Recipient{{FinalRecipient: TypedValue{Value: "x@y"}, Action: ActionFailed}}}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
		{"delay with a permanent status", Message{Report: Report{ReportingMTA: good.ReportingMTA, Recipients: []Recipient{{FinalRecipient: TypedValue{Value: "x@y"}, Action: ActionDelayed, Status: smtp.EnhancedBadDestMailbox}}}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
		{"success with a failure status", Message{Report: Report{ReportingMTA: good.ReportingMTA, Recipients: []Recipient{{FinalRecipient: TypedValue{Value: "x@y"}, Action: ActionDelivered, Status: smtp.EnhancedBadDestMailbox}}}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
		{"injected line", Message{Report: Report{ReportingMTA: TypedValue{Type: "dns", Value: "a\r\nBcc: x@y"}, Recipients: good.Recipients}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
		{"bad extension name", Message{Report: Report{ReportingMTA: good.ReportingMTA, Extensions: []Field{{Name: "Bad Name", Value: "v"}}, Recipients: good.Recipients}, To: smtp.Path{Local: "a", Domain: "b.example"}}, ErrInvalidReport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := tt.m.WriteTo(&buf)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Errorf("err %T is not *Error", err)
			}
			if tt.name != "bad extension name" && buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

func TestParseStatusVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string // dumpReport of the result
		wantErr error
	}{
		{
			name: "standard",
			in:   "Reporting-MTA: dns; a.example\r\n\r\nFinal-Recipient: rfc822; x@b.example\r\nAction: failed\r\nStatus: 5.1.1\r\n",
			want: "mta=dns; a.example gw= from= envid=\"\" arrival=- ext=[]\n orig= final=rfc822; x@b.example action=failed status=5.1.1 remote= diag= last=- log=\"\" retry=- ext=[]\n",
		},
		{
			name: "no blank line between groups, odd case, folded",
			in:   "reporting-mta: DNS;a.example\nFINAL-RECIPIENT: RFC822;x@b.example\nACTION: Failed\nstatus: 4.2.2 (mailbox full)\ndiagnostic-code: smtp; 452 4.2.2\n  over quota\nFinal-Recipient: rfc822;y@b.example\nAction: delayed\nStatus: 4.4.1\n",
			want: "mta=dns; a.example gw= from= envid=\"\" arrival=- ext=[]\n orig= final=rfc822; x@b.example action=failed status=4.2.2 remote= diag=smtp; 452 4.2.2 over quota last=- log=\"\" retry=- ext=[]\n orig= final=rfc822; y@b.example action=delayed status=4.4.1 remote= diag= last=- log=\"\" retry=- ext=[]\n",
		},
		{
			name: "doubled blank lines and no per-message group",
			in:   "\n\n\nOriginal-Recipient: rfc822;x@b.example\n\n\n\nFinal-Recipient: rfc822;y@b.example\nAction: expanded\nStatus: 2.0.0\n\n\n",
			want: "mta= gw= from= envid=\"\" arrival=- ext=[]\n orig=rfc822; x@b.example final= action= status= remote= diag= last=- log=\"\" retry=- ext=[]\n orig= final=rfc822; y@b.example action=expanded status=2.0.0 remote= diag= last=- log=\"\" retry=- ext=[]\n",
		},
		{
			name: "unparsable values kept as extensions",
			in:   "Reporting-MTA: dns; a.example\nArrival-Date: yesterday\n\nFinal-Recipient: rfc822; x@b.example\nAction: bounced\nStatus: five\n",
			want: "mta=dns; a.example gw= from= envid=\"\" arrival=- ext=[{Arrival-Date yesterday}]\n orig= final=rfc822; x@b.example action= status= remote= diag= last=- log=\"\" retry=- ext=[{Action bounced} {Status five}]\n",
		},
		{
			name: "utf-8 address type with escapes",
			in:   "Reporting-MTA: dns; a.example\n\nFinal-Recipient: utf-8; j\\x{F6}rg@b\\x{FC}cher.example\nAction: failed\nStatus: 5.1.1\n",
			want: "mta=dns; a.example gw= from= envid=\"\" arrival=- ext=[]\n orig= final=utf-8; jörg@bücher.example action=failed status=5.1.1 remote= diag= last=- log=\"\" retry=- ext=[]\n",
		},
		{
			name: "stops at a stray MIME delimiter",
			in:   "Reporting-MTA: dns; a.example\n\nFinal-Recipient: rfc822; x@b.example\nAction: failed\nStatus: 5.1.1\n\n--boundary\nContent-Type: message/rfc822\n\nFrom: z@c.example\nFinal-Recipient: rfc822; z@c.example\n",
			want: "mta=dns; a.example gw= from= envid=\"\" arrival=- ext=[]\n orig= final=rfc822; x@b.example action=failed status=5.1.1 remote= diag= last=- log=\"\" retry=- ext=[]\n",
		},
		{name: "prose only", in: "This message was undeliverable.\n\n<x@y> has a problem\n", wantErr: ErrSyntax},
		{name: "empty", in: "", wantErr: ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseStatus(strings.NewReader(tt.in), nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := dumpReport(got); d != tt.want {
				t.Errorf("got  %q\nwant %q", d, tt.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Reporting-MTA: dns; a.example\n\n")
	for i := range 20 {
		fmt.Fprintf(&b, "Final-Recipient: rfc822; u%d@b.example\nAction: failed\nStatus: 5.1.1\n\n", i)
	}
	if _, err := ParseStatus(strings.NewReader(b.String()), &ParseOptions{MaxRecipients: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("recipients over the limit: err = %v", err)
	}
	if _, err := ParseStatus(strings.NewReader(b.String()), &ParseOptions{MaxStatusBytes: 100}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("body over the limit: err = %v", err)
	}
	rep, err := ParseStatus(strings.NewReader(b.String()), nil)
	if err != nil || len(rep.Recipients) != 20 {
		t.Errorf("default limits: %v, %d recipients", err, len(rep.Recipients))
	}
}

func TestNotBounces(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../testdata/dsn/sisimai/not/*.eml")
	files = append(files, "../testdata/dsn/mimekit/disposition-notification.txt", "../testdata/dsn/mimekit/feedback-report.txt")
	if len(files) < 4 {
		t.Fatalf("only %d files", len(files))
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Parse(f, nil)
		f.Close()
		if !errors.Is(err, ErrNotReport) {
			t.Errorf("%s: taken for a bounce (err %v, report %+v)", name, err, n)
		}
	}
}

func TestHeuristicBounces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		addrs  []string
		status []string
	}{
		{"lhost-qmail-01.eml", []string{"kijitora@example.ne.jp"}, []string{"5.5.0"}},
		{"lhost-exim-05.eml", []string{"kijitora@neko.example.co.jp"}, []string{"5.1.1"}},
		{"lhost-v5sendmail-05.eml", []string{"kijitora@example.edu", "kuroneko@example.or.jp", "kijitora@example.org", "mikeneko@example.co.jp"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			n := parseFile(t, filepath.Join("../testdata/dsn/sisimai/bsd", tt.file))
			if !n.Heuristic {
				t.Error("not marked heuristic")
			}
			var got, st []string
			for i, r := range n.Report.Recipients {
				got = append(got, r.Addr())
				st = append(st, n.RecipientStatus(i).String())
			}
			if !reflect.DeepEqual(got, tt.addrs) {
				t.Errorf("recipients = %q, want %q", got, tt.addrs)
			}
			if tt.status != nil && !reflect.DeepEqual(st, tt.status) {
				t.Errorf("status = %q, want %q", st, tt.status)
			}
		})
	}
	// Without heuristics the same bounce is not a report.
	f, _ := os.Open("../testdata/dsn/sisimai/bsd/lhost-qmail-01.eml")
	defer f.Close()
	if _, err := Parse(f, &ParseOptions{NoHeuristics: true}); !errors.Is(err, ErrNotReport) {
		t.Errorf("NoHeuristics: err = %v", err)
	}
}

func TestWanted(t *testing.T) {
	t.Parallel()
	all := []Action{ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded}
	tests := []struct {
		notify smtp.DSNNotify
		want   []Action
	}{
		{0, []Action{ActionFailed, ActionDelayed}},
		{smtp.NotifyNever, nil},
		{smtp.NotifySuccess, []Action{ActionDelivered, ActionRelayed, ActionExpanded}},
		{smtp.NotifyFailure, []Action{ActionFailed}},
		{smtp.NotifyDelay, []Action{ActionDelayed}},
		{smtp.NotifySuccess | smtp.NotifyFailure | smtp.NotifyDelay, all},
	}
	for _, tt := range tests {
		var got []Action
		for _, a := range all {
			if Wanted(tt.notify, a) {
				got = append(got, a)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Wanted(%v) = %v, want %v", tt.notify, got, tt.want)
		}
	}
	if !ReturnContent(smtp.ReturnFull, ActionFailed) || ReturnContent(smtp.ReturnHeaders, ActionFailed) ||
		!ReturnContent("", ActionFailed) || ReturnContent(smtp.ReturnFull, ActionDelivered) ||
		ReturnContent("", ActionDelayed) || ReturnContent(smtp.ReturnFull, ActionDelayed) {
		t.Error("ReturnContent")
	}
}

func TestNeverBounce(t *testing.T) {
	t.Parallel()
	sender := smtp.Path{Local: "a", Domain: "b.example"}
	hdr := func(s string) *message.Header {
		h, _, err := message.ReadHeader(strings.NewReader(s+"\r\n\r\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tests := []struct {
		name string
		from smtp.Path
		h    *message.Header
		want bool
	}{
		{"null reverse path", smtp.Path{}, nil, true},
		{"ordinary mail", sender, hdr("Subject: hi"), false},
		{"no header", sender, nil, false},
		{"delivery report", sender, hdr("Content-Type: multipart/report; report-type=delivery-status; boundary=x"), true},
		{"global report", sender, hdr("Content-Type: multipart/report; report-type=\"global-delivery-status\"; boundary=x"), true},
		{"feedback report", sender, hdr("Content-Type: multipart/report; report-type=feedback-report; boundary=x"), false},
		{"auto-replied", sender, hdr("Auto-Submitted: Auto-Replied"), true},
		{"auto-generated list mail", sender, hdr("Auto-Submitted: auto-generated"), false},
	}
	for _, tt := range tests {
		if got := NeverBounce(tt.from, tt.h); got != tt.want {
			t.Errorf("%s: NeverBounce = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A notification this package writes is never bounced itself.
	m := &Message{Report: sampleReport(), To: sender, Now: func() time.Time { return testTime }}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	h, _, err := message.ReadHeader(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !NeverBounce(sender, h) {
		t.Error("own notification would be bounced")
	}
}

func TestRecipientFromError(t *testing.T) {
	t.Parallel()
	r := RecipientFromError("bob@example.net", fmt.Errorf("rcpt: %w", &smtp.Error{Code: 452, Enhanced: smtp.NewEnhancedCode(4, 2, 2), Message: "mailbox\nfull"}), "mx.example.net", true)
	if r.Action != ActionDelayed || r.Status.String() != "4.2.2" || r.DiagnosticCode.String() != "smtp; 452 4.2.2 mailbox full" ||
		r.RemoteMTA.String() != "dns; mx.example.net" || r.FinalRecipient.String() != "rfc822; bob@example.net" {
		t.Errorf("got %+v", r)
	}
	r = RecipientFromError("bob@example.net", &smtp.Error{Code: 550}, "", false)
	if r.Action != ActionFailed || r.Status.String() != "5.0.0" {
		t.Errorf("no enhanced code: %+v", r)
	}
	r = RecipientFromError("jörg@bücher.example", io.ErrUnexpectedEOF, "", false)
	if r.Status.String() != "5.4.4" || r.DiagnosticCode.Value != "" || r.FinalRecipient.Type != TypeUTF8 {
		t.Errorf("local error: %+v", r)
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want string
	}{
		{"5.1.1", "bad destination mailbox address"},
		{"4.2.2", "mailbox full"},
		{"2.0.0", "other undefined status"},
		{"5.7.26", "multiple authentication checks failed"},
		{"5.1.10", "recipient address has null MX"},
		{"5.7.509", ""},
		{"5.0.911", ""},
		{"5.8.0", ""},
	}
	for _, tt := range tests {
		c, err := smtp.ParseEnhancedCode(tt.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := StatusText(c); got != tt.want {
			t.Errorf("StatusText(%s) = %q, want %q", tt.code, got, tt.want)
		}
		if Registered(c) != (tt.want != "") {
			t.Errorf("Registered(%s) wrong", tt.code)
		}
	}
	if StatusText(0) != "" || ClassText(smtp.EnhancedBadDestMailbox) != "permanent failure" {
		t.Error("zero code or class text")
	}
}

func TestBestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, diag, want string
	}{
		{"5.0.0", "550 5.7.1 blocked", "5.7.1"},
		{"5.1.1", "550 5.7.1 IP address blacklisted", "5.7.1"},
		{"5.0.0", "550 #5.1.0 Address rejected.", "5.1.0"},
		{"5.0.0", "5.1.0 - Unknown address error 550-'5.7.1 <x@y>... Access denied", "5.7.1"},
		{"4.4.1", "550 5.1.1 user unknown", "4.4.1"},
		{"", "550 5.1.1 <x@y>... User unknown", "5.1.1"},
		{"5.2.2", "host 192.0.2.5 said: over quota", "5.2.2"},
	}
	for _, tt := range tests {
		r := Recipient{DiagnosticCode: TypedValue{Type: TypeSMTP, Value: tt.diag}}
		r.Status, _ = parseStatusCode(tt.status)
		if got := r.BestStatus().String(); got != tt.want {
			t.Errorf("BestStatus(%s, %q) = %s, want %s", tt.status, tt.diag, got, tt.want)
		}
	}
}

func TestOriginalRecipient(t *testing.T) {
	t.Parallel()
	if v := OriginalRecipient(smtp.RcptOptions{}); !v.IsZero() {
		t.Errorf("no ORCPT: %v", v)
	}
	v := OriginalRecipient(smtp.RcptOptions{OriginalRecipientType: "RFC822", OriginalRecipient: "Bob@example.net"})
	if v.String() != "rfc822; Bob@example.net" {
		t.Errorf("ORCPT: %v", v)
	}
}

func TestMessageWithoutOriginal(t *testing.T) {
	t.Parallel()
	for _, orig := range []io.Reader{nil, strings.NewReader("")} {
		m := &Message{Report: sampleReport(), To: smtp.Path{Local: "a", Domain: "b.example"}, Now: func() time.Time { return testTime },
			Original: orig, Return: smtp.ReturnFull, UTF8: true}
		var buf bytes.Buffer
		if _, err := m.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "rfc822") && strings.Contains(out, "Content-Type: message/rfc822") || strings.Contains(out, "headers") ||
			strings.Contains(out, "is attached") || !strings.Contains(out, "Content-Transfer-Encoding: 7bit\r\n\r\nThis is a MIME") {
			t.Errorf("original part or 8bit without an original:\n%s", out)
		}
		n, err := Parse(strings.NewReader(out), nil)
		if err != nil || n.Original != nil || len(n.Report.Recipients) != 2 {
			t.Errorf("parse: %v, original %v", err, n.Original)
		}
	}
}

// TestNoFalseBounces parses every message of the shared message corpora:
// the heuristic parser must take none of them for a bounce, and the only
// ones read as notifications are those with a delivery-status part.
func TestNoFalseBounces(t *testing.T) {
	t.Parallel()
	files, notices := 0, 0
	err := filepath.WalkDir("../testdata/messages", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.EqualFold(filepath.Ext(p), ".md") || strings.Contains(strings.ToUpper(d.Name()), "LICENSE") ||
			strings.Contains(strings.ToUpper(d.Name()), "COPYRIGHT") {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		n, err := Parse(bytes.NewReader(raw), nil)
		if err != nil {
			return nil
		}
		notices++
		if n.Heuristic || !bytes.Contains(bytes.ToLower(raw), []byte("message/delivery-status")) {
			t.Errorf("%s taken for a bounce: %+v", p, n.Report)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 150 || notices < 10 {
		t.Fatalf("%d files, %d notices", files, notices)
	}
	t.Logf("%d messages, %d delivery status notifications, no heuristic match", files, notices)
}

func TestCRLFWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"a\nb\r\nc\rd"}, "a\r\nb\r\nc\r\nd\r\n"},
		{[]string{"a\r", "\nb\r", "", "c"}, "a\r\nb\r\nc\r\n"},
		{[]string{"a\r\n"}, "a\r\n"},
		{[]string{"\r\r\n\n"}, "\r\n\r\n\r\n"},
		{[]string{"a\r"}, "a\r\n"},
		{[]string{"a\r", "b\r\n\r"}, "a\r\nb\r\n\r\n"},
		{[]string{"\n"}, "\r\n"},
		{nil, ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		w := &crlfWriter{w: &b}
		for _, s := range tt.in {
			if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
				t.Fatal(n, err)
			}
		}
		if err := w.finish(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, b.String(), tt.want)
		}
	}
}
