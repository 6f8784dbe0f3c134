package spf

import (
	"github.com/heraldmail/herald/internal/authres"
	"strings"
)

// ReceivedSPF returns a Received-SPF header field recording res (RFC 7208
// section 9.1), for a receiver to prepend to the message:
//
//	Received-SPF: pass (mx.example.org: domain of alice@example.com
//	 designates 192.0.2.1 as permitted sender) receiver=mx.example.org;
//	 client-ip=192.0.2.1; envelope-from="alice@example.com";
//	 helo=mail.example.com; identity=mailfrom; mechanism="ip4:192.0.2.0/24";
//
// a must be the Args the check ran with. The field is returned on one line,
// without the trailing CRLF; fold it where the message writer needs to.
// Text that came from the SMTP client or from DNS is quoted, and control
// characters (CR and LF included) and invalid UTF-8 in it become '?', so
// the field can never carry a second header line.
func ReceivedSPF(res Result, a Args) string {
	var b strings.Builder
	b.WriteString("Received-SPF: ")
	b.WriteString(res.Status.String())
	b.WriteString(" (")
	receiver := a.Receiver
	if receiver == "" {
		receiver = "unknown"
	}
	authres.Comment(&b, receiver+": "+resultComment(res, a))
	b.WriteString(")")
	kv := func(k, v string) {
		b.WriteByte(' ')
		b.WriteString(k)
		b.WriteByte('=')
		authres.Value(&b, v)
		b.WriteByte(';')
	}
	if a.Receiver != "" {
		kv("receiver", a.Receiver)
	}
	if a.IP.IsValid() {
		kv("client-ip", a.IP.Unmap().String())
	}
	if a.Identity == IdentityMailFrom {
		kv("envelope-from", a.Sender)
	}
	if a.HELO != "" {
		kv("helo", a.HELO)
	}
	kv("identity", res.Identity.String())
	if res.Mechanism != "" {
		kv("mechanism", res.Mechanism)
	}
	if res.Problem != nil && (res.Status == PermError || res.Status == TempError) {
		kv("problem", problemText(res.Problem))
	}
	return b.String()
}

// resultComment is the human-readable part of Received-SPF.
func resultComment(res Result, a Args) string {
	who := "domain of " + res.Sender
	if res.Identity == IdentityHELO {
		who = "domain of " + res.Domain
	}
	ip := a.IP.Unmap().String()
	switch res.Status {
	case Pass:
		return who + " designates " + ip + " as permitted sender"
	case Fail:
		return who + " does not designate " + ip + " as permitted sender"
	case SoftFail:
		return who + " discourages use of " + ip + " as sender"
	case Neutral:
		return ip + " is neither permitted nor denied by " + who
	case None:
		return who + " does not designate permitted sender hosts"
	case TempError:
		return "temporary error in processing " + who
	case PermError:
		return "permanent error in processing " + who
	}
	return res.Status.String()
}

// problemText is the category of a problem, without the package prefix
// and without text from DNS.
func problemText(p error) string {
	var e *Error
	if pe, ok := p.(*Error); ok {
		e = pe
	}
	if e == nil || e.Err == nil {
		return "error"
	}
	s := strings.TrimPrefix(e.Err.Error(), "spf: ")
	if e.Domain != "" {
		s += " for " + e.Domain
	}
	return s
}

// AuthenticationResults returns the SPF part (resinfo) of an
// Authentication-Results header field (RFC 8601 section 2.7.2), such as
//
//	spf=pass smtp.mailfrom=alice@example.com
//	spf=none smtp.helo=mail.example.com
//
// The caller writes the field name, the authserv-id and any other methods
// around it. Values are quoted when they are not dot-atoms, and control
// characters and invalid UTF-8 in them become '?'.
func AuthenticationResults(res Result) string {
	var b strings.Builder
	b.WriteString("spf=")
	b.WriteString(res.Status.String())
	if res.Identity == IdentityHELO {
		b.WriteString(" smtp.helo=")
		authres.Value(&b, res.Domain)
	} else {
		b.WriteString(" smtp.mailfrom=")
		writeAddrValue(&b, res.Sender)
	}
	return b.String()
}

// writeAddrValue writes an address as an RFC 8601 pvalue: as is when its
// local-part is a dot-atom and its domain a dot-atom, quoted otherwise.
func writeAddrValue(b *strings.Builder, addr string) {
	i := strings.LastIndexByte(addr, '@')
	if i > 0 && authres.IsDotAtom(addr[:i]) && authres.IsDotAtom(addr[i+1:]) {
		b.WriteString(addr)
		return
	}
	authres.Quote(b, addr)
}
