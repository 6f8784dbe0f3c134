package greylist

import (
	"fmt"
	"strings"
	"time"
)

// HeaderName is the name of the header field that records a greylisting
// delay, as postgrey and milter-greylist add it.
const HeaderName = "X-Greylist"

// Reply is the SMTP reply for a deferred recipient, free of any SMTP
// package so that it fits any server: Herald's smtp.Error is built from its
// three fields.
type Reply struct {
	// Code is 450 or 451 (Options.ReplyCode).
	Code int
	// Enhanced is the RFC 3463 enhanced status code: "4.7.1", a
	// temporary "delivery not authorized, message refused".
	Enhanced string
	// Text says when to retry. It is plain ASCII, safe to send.
	Text string
}

// String formats the reply as it goes on the wire, without CRLF:
// "451 4.7.1 Greylisted, please retry in 300 seconds (after 2026-11-23T17:50:00Z)".
func (r Reply) String() string {
	return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
}

// Reply returns the reply to give for a deferred decision, and false for a
// decision that passes. The text gives the time left in seconds, rounded
// up, and the time in UTC from which a retry passes.
func (p *Policy) Reply(d Decision) (Reply, bool) {
	if d.Action != Defer {
		return Reply{}, false
	}
	secs := int64((d.RetryAfter + time.Second - 1) / time.Second)
	at := d.Time.Add(d.RetryAfter).UTC().Truncate(time.Second)
	if at.Before(d.Time.Add(d.RetryAfter)) {
		at = at.Add(time.Second)
	}
	return Reply{
		Code:     p.replyCode,
		Enhanced: "4.7.1",
		Text: fmt.Sprintf("Greylisted, please retry in %d seconds (after %s)",
			secs, at.Format(time.RFC3339)),
	}, true
}

// HeaderValue returns the value of the X-Greylist header field ([HeaderName])
// for a message whose recipient passed after a delay (ReasonRetried), and
// false for any other decision:
//
//	delayed 312 seconds by Herald greylist at mx.example.org; Mon, 23 Nov 2026 17:50:12 +0000
//
// The date is the decision time in RFC 5322 format, in UTC.
func (p *Policy) HeaderValue(d Decision) (string, bool) {
	if d.Reason != ReasonRetried {
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "delayed %d seconds by Herald greylist", int64(d.Delayed/time.Second))
	if p.hostname != "" {
		b.WriteString(" at ")
		b.WriteString(p.hostname)
	}
	b.WriteString("; ")
	b.WriteString(d.Time.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	return b.String(), true
}

// sanitizeHeaderText keeps the printable ASCII of s other than ';', so that a
// configured host name cannot break the header field or the reply.
func sanitizeHeaderText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c > ' ' && c < 0x7f && c != ';' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
