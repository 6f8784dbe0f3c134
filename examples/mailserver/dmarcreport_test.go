package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/xml"
	"io"
	stdmime "mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/dkim"
	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/internal/xsdtest"
)

// sentReport is a DMARC report message as smtp-sink received it.
type sentReport struct {
	raw      string // from the DKIM-Signature field on
	to       string
	subject  string
	filename string
	xml      []byte
	feedback dmarc.Feedback
}

// parseReport reads the report message: multipart/mixed with an
// application/gzip attachment holding the XML.
func parseReport(t *testing.T, dump string) sentReport {
	t.Helper()
	r := sentReport{raw: sinkMessage(dump)}
	msg, err := mail.ReadMessage(strings.NewReader(r.raw))
	require.NoError(t, err, r.raw)
	r.to, r.subject = msg.Header.Get("To"), msg.Header.Get("Subject")
	mt, params, err := stdmime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", mt)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		ct, _, _ := stdmime.ParseMediaType(p.Header.Get("Content-Type"))
		if ct != "application/gzip" {
			continue
		}
		require.Equal(t, "base64", p.Header.Get("Content-Transfer-Encoding"))
		r.filename = p.FileName()
		zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, p))
		require.NoError(t, err)
		r.xml, err = io.ReadAll(zr)
		require.NoError(t, err)
	}
	require.NotEmpty(t, r.xml, "no application/gzip part:\n%s", r.raw)
	require.NoError(t, xml.Unmarshal(r.xml, &r.feedback))
	return r
}

// setClock sets the time the server's DMARC reporter sees.
func setClock(t *testing.T, file string, tm time.Time) {
	t.Helper()
	require.NoError(t, os.WriteFile(file+".tmp", []byte(tm.Format(time.RFC3339)), 0o600))
	require.NoError(t, os.Rename(file+".tmp", file))
}

// TestDMARCReports runs the server with -dmarc-reports over two days of
// its injected clock: it evaluates MX mail of domains that ask for
// aggregate reports, is restarted in the middle of the first day, and
// sends the first day's reports once its clock passes midnight, to
// smtp-sink as the domains' MX: one per policy domain whose rua= may
// receive it (its own domain, or a third party that confirms it under
// _report._dmarc), none to a third party that does not confirm or whose
// size limit is too small. Each report is DKIM-signed by the server's
// key, holds a gzip'ed XML attachment that follows the appendix C schema,
// and counts the messages right. The second day's message is reported by
// a server started after that day ended, as one down at midnight would.
func TestDMARCReports(t *testing.T) {
	zone := remoteZone().
		AddTXT("news.test", "v=spf1 ip4:127.0.0.1 -all").
		AddTXT("list.test", "v=spf1 ip4:127.0.0.1 -all").
		AddTXT("_dmarc.news.test", "v=DMARC1; p=none; rua=mailto:dmarc@reports.news.test").
		AddTXT("_dmarc.shop.test", "v=DMARC1; p=quarantine; rua=mailto:agg@thirdparty.test").
		AddTXT("shop.test._report._dmarc.thirdparty.test", "v=DMARC1").
		AddTXT("_dmarc.nope.test", "v=DMARC1; p=none; rua=mailto:x@unverified.test").
		AddTXT("_dmarc.tiny.test", "v=DMARC1; p=none; rua=mailto:r@tiny.test!1").
		AddMX("reports.news.test", 10, "mx.remote.test").
		AddMX("thirdparty.test", 10, "mx.remote.test").
		AddMX("unverified.test", 10, "mx.remote.test").
		AddMX("tiny.test", 10, "mx.remote.test")
	clock := filepath.Join(t.TempDir(), "clock")
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	setClock(t, clock, day.Add(12*time.Hour))
	t.Setenv(testClockEnv, clock)

	in := newInstance(t, zone, "-dmarc-reports", "-dmarc-report-org", "Example Test Mail")
	remote := sink(t, "127.0.0.1", in.outPort)
	in.start()
	in.addUser("alice@example.test", alicePW)

	mxHost, mx := hostPort(in.addr["smtp"])
	send := `
import smtplib, sys
host, port, sender, msg = sys.argv[1:5]
s = smtplib.SMTP(host, int(port), local_hostname='mail.news.test')
s.sendmail(sender, ['alice@example.test'], msg.encode()); print('ok')
s.quit()
`
	mail := func(sender, from string) {
		t.Helper()
		require.Equal(t, "ok\n", python(t, send, mxHost, mx, sender, "From: "+from+"\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello.\r\n"))
	}
	// news.test: SPF passes aligned, DMARC passes.
	mail("bulletin@news.test", "bulletin@news.test")
	mail("bulletin@news.test", "bulletin@news.test")
	// shop.test: SPF passes for list.test, not aligned; p=quarantine.
	mail("bounce@list.test", "orders@shop.test")
	// Mail whose reports may not be sent.
	mail("bounce@list.test", "hello@nope.test")
	mail("bounce@list.test", "hello@tiny.test")

	// A restart loses nothing of the day.
	in.stop()
	in.start()
	mail("bulletin@news.test", "bulletin@news.test")
	mail("bounce@list.test", "orders@shop.test")
	in.waitInbox("alice@example.test", 5, 20*time.Second)
	require.Empty(t, dumps(t, remote), "a report before the day ended")

	// Midnight passes: the reports go out.
	setClock(t, clock, day.Add(24*time.Hour+30*time.Second))
	var got []string
	require.Eventually(t, func() bool {
		got = dumps(t, remote)
		return len(got) >= 2
	}, 30*time.Second, 50*time.Millisecond, "reports not sent\n%s", in.log.String())
	time.Sleep(500 * time.Millisecond) // a third would be one too many
	got = dumps(t, remote)
	require.Len(t, got, 2, "%q", got)

	pemBytes, err := os.ReadFile(filepath.Join(in.dir, "dkim", "example.test.pem"))
	require.NoError(t, err)
	key, err := dkim.ParsePrivateKey(pemBytes)
	require.NoError(t, err)
	rec, err := dkim.KeyRecordText(key.Public())
	require.NoError(t, err)
	schema, err := xsdtest.Load("testdata/rfc7489-appendix-c.xsd")
	require.NoError(t, err)

	byTo := map[string]sentReport{}
	for _, d := range got {
		r := parseReport(t, d)
		byTo[r.to] = r
		// Signed by the server, as all its outbound mail.
		require.True(t, strings.HasPrefix(r.raw, "DKIM-Signature: "), r.raw)
		require.Equal(t, "pass", dkimpyVerify(t, r.raw, map[string]string{"herald._domainkey.example.test": rec}))
		errs, err := schema.Validate(bytes.NewReader(r.xml))
		require.NoError(t, err)
		require.Empty(t, errs, "%s", r.xml)
		md := r.feedback.ReportMetadata
		require.Equal(t, "Example Test Mail", md.OrgName)
		require.Equal(t, "dmarc-reports@example.test", md.Email)
		require.Equal(t, day.Unix(), md.DateRange.Begin)
		require.Equal(t, day.Add(24*time.Hour-time.Second).Unix(), md.DateRange.End)
		require.Contains(t, r.subject, "Report Domain: "+r.feedback.PolicyPublished.Domain+" Submitter: example.test Report-ID: <")
		require.Equal(t, "example.test!"+r.feedback.PolicyPublished.Domain+"!"+
			strconv.FormatInt(md.DateRange.Begin, 10)+"!"+strconv.FormatInt(md.DateRange.End, 10)+".xml.gz", r.filename)
	}
	news, ok := byTo["dmarc@reports.news.test"]
	require.True(t, ok, "no report for news.test: %v", keys(byTo))
	require.Equal(t, "news.test", news.feedback.PolicyPublished.Domain)
	require.Len(t, news.feedback.Records, 1)
	row := news.feedback.Records[0]
	require.Equal(t, "127.0.0.1", row.Row.SourceIP)
	require.Equal(t, 3, row.Row.Count)
	require.Equal(t, dmarc.PolicyEvaluated{Disposition: "none", DKIM: "fail", SPF: "pass"}, row.Row.PolicyEvaluated)
	require.Equal(t, "news.test", row.Identifiers.HeaderFrom)
	require.Equal(t, []dmarc.SPFAuthResult{{Domain: "news.test", Scope: "mfrom", Result: "pass"}}, row.AuthResults.SPF)

	shop, ok := byTo["agg@thirdparty.test"]
	require.True(t, ok, "no report for shop.test: %v", keys(byTo))
	require.Len(t, shop.feedback.Records, 1)
	require.Equal(t, 2, shop.feedback.Records[0].Row.Count)
	require.Equal(t, "quarantine", shop.feedback.Records[0].Row.PolicyEvaluated.Disposition)
	require.Equal(t, "quarantine", shop.feedback.PolicyPublished.P)

	log := in.log.String()
	require.Contains(t, log, "DMARC report not sent to a destination that does not accept reports for the domain")
	require.Contains(t, log, "uri=mailto:x@unverified.test")
	require.Contains(t, log, "DMARC report not sent to a destination: larger than its size limit")
	require.Contains(t, log, "uri=mailto:r@tiny.test")

	// The second day: one message, and the server is down at midnight.
	mail("bulletin@news.test", "bulletin@news.test")
	in.waitInbox("alice@example.test", 6, 20*time.Second)
	in.stop()
	setClock(t, clock, day.Add(48*time.Hour+time.Minute))
	in.start()
	require.Eventually(t, func() bool { return len(dumps(t, remote)) >= 3 }, 30*time.Second, 50*time.Millisecond,
		"the second day not reported after the restart\n%s", in.log.String())
	var second *sentReport
	for _, d := range dumps(t, remote) {
		r := parseReport(t, d)
		if r.feedback.ReportMetadata.DateRange.Begin == day.Add(24*time.Hour).Unix() {
			second = &r
		}
	}
	require.NotNil(t, second)
	require.Equal(t, "dmarc@reports.news.test", second.to)
	require.Len(t, second.feedback.Records, 1)
	require.Equal(t, 1, second.feedback.Records[0].Row.Count)
	// Reported days are gone from the data directory; today's is open.
	logs, _ := filepath.Glob(filepath.Join(in.dir, "dmarc-reports", "*.log"))
	require.Equal(t, []string{filepath.Join(in.dir, "dmarc-reports", "2026-12-09.log")}, logs)
	in.stop()
}

func keys(m map[string]sentReport) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
