package dsn

import (
	"sort"
	"strings"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

// The heuristic parser reads bounces that carry no delivery-status part:
// qmail's "Hi. This is the qmail-send program", Exim's "The following
// address(es) failed", Sendmail transcripts ("550 <user@host>... User
// unknown"), Exchange's "user@host on <date>", OpenSMTPD's "user@host: 550
// ...", and the vendor texts of Gmail, Yahoo and others. It works on the
// header and the human-readable text only:
//
//  1. the message must look like a bounce: a multipart/report of
//     report-type delivery-status, or sent by a mailer daemon or
//     postmaster, or with a subject that says delivery failed, and not a
//     feedback or disposition report;
//  2. RFC 3464 fields pasted into the text (a multipart/report that lost
//     its delimiters) are parsed as such;
//  3. the text is cut where the quoted original begins;
//  4. the recipients are those of X-Failed-Recipients (Exim, Google) when
//     present; else addresses on lines of their own ("<user@host>:"), that
//     start a line, in Sendmail's "<user@host>... reason" form, or after a
//     Final-Recipient, Original-Recipient or RCPT TO label; failing those,
//     addresses on a line that says what went wrong; failing those, the To
//     of the quoted original. The bounce's own From, To, Cc, Reply-To,
//     Sender and Return-Path and mailer-daemon addresses never count.
//
// Each recipient's status is the first RFC 3463 code of class 4 or 5 in the
// text that follows it, else the first in the whole text, else class.0.0
// from the first SMTP reply code of class 4 or 5 or from words that say
// whether the failure is temporary; a success code (2.1.5 for an accepted
// RCPT) counts only where no failure code is found. Before these generic
// rules, the readers of families.go and plaintext.go try the documented
// formats of qmail, Exim, Amazon SES, Postfix, Sendmail, Exchange, the
// DragonFly Mail Agent, au one net, OpenSMTPD, Google Mail, Domino and
// Notes. A reply or forward (its subject)
// and a mailing-list message (List-Id) from a sender that is not a mailer
// daemon never look like a bounce.

// maxHeuristicLines bounds the lines examined.
const maxHeuristicLines = 5000

func heuristic(h *message.Header, text string, o ParseOptions) *Report {
	bounce := looksLikeBounce(h)
	if bounce {
		if rep := embeddedStatus(text, o); rep != nil {
			return rep
		}
	}
	// A family's documented format first (families.go), then the
	// generic rules.
	rcpts := readFamilies(h, text, o)
	if len(rcpts) == 0 && bounce {
		rcpts = heuristicRecipients(h, text, o, true)
	}
	if len(rcpts) == 0 {
		return nil
	}
	rep := &Report{Recipients: rcpts}
	if from, _ := h.AddressList("From"); len(from) > 0 {
		if d := message.Mailboxes(from); len(d) > 0 && d[0].Domain() != "" {
			rep.ReportingMTA = TypedValue{Type: TypeDNS, Value: d[0].Domain()}
		}
	}
	return rep
}

// failedRecipients returns the addresses of the X-Failed-Recipients
// fields, at most 100.
func failedRecipients(h *message.Header) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range h.Values("X-Failed-Recipients") {
		for _, a := range strings.Split(v, ",") {
			a = strings.Trim(strings.TrimSpace(a), "<>")
			if a == "" || !strings.Contains(a, "@") || seen[strings.ToLower(a)] || len(out) >= 100 {
				continue
			}
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	return out
}

// embeddedStatus finds RFC 3464 fields written into the text of a bounce
// whose MIME structure was lost (a multipart/report without delimiters, or
// a report pasted into a plain-text bounce) and parses them from the
// Reporting-MTA or first Final-Recipient line on. It needs a Final-Recipient
// and an Action or Status field at the start of lines.
func embeddedStatus(text string, o ParseOptions) *Report {
	low := lowerASCII(text)
	fr := lineIndex(low, "final-recipient:")
	if fr < 0 || lineIndex(low, "action:") < 0 && lineIndex(low, "status:") < 0 {
		return nil
	}
	start := fr
	if rm := lineIndex(low, "reporting-mta:"); rm >= 0 && rm < fr {
		start = rm
	}
	rep, err := parseStatus([]byte(text[start:]), o)
	if err != nil || len(rep.Recipients) == 0 {
		return nil
	}
	for _, rc := range rep.Recipients {
		if rc.FinalRecipient.Value == "" {
			return nil
		}
	}
	return rep
}

// lineIndex returns the offset of the first line of s that starts with
// prefix, or -1.
func lineIndex(s, prefix string) int {
	for off := 0; off < len(s); {
		if strings.HasPrefix(s[off:], prefix) {
			return off
		}
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return -1
}

// originalRecipients takes the recipients of a report without
// per-recipient groups from the To and Cc of the returned message.
func originalRecipients(orig *message.Header, text string, o ParseOptions) []Recipient {
	var out []Recipient
	code, _ := findCode(text)
	if !code.Valid() {
		code = guessClass(text)
	}
	for _, name := range []string{"To", "Cc"} {
		list, _ := orig.AddressList(name)
		for _, a := range message.Mailboxes(list) {
			if a.Addr == "" || len(out) >= o.MaxRecipients {
				continue
			}
			act := ActionFailed
			if code.Class() == 4 {
				act = ActionDelayed
			}
			out = append(out, Recipient{FinalRecipient: addressValue(a.Addr), Action: act, Status: code})
		}
	}
	return out
}

// heuristicRecipients finds failed recipients in the text of a bounce.
// known is set when the message is a delivery report already, so the
// bounce check is skipped.
func heuristicRecipients(h *message.Header, text string, o ParseOptions, known bool) []Recipient {
	if !known && !looksLikeBounce(h) {
		return nil
	}
	full := text
	text = cutOriginal(text)
	lines := strings.Split(text, "\n")
	if len(lines) > maxHeuristicLines {
		lines = lines[:maxHeuristicLines]
	}
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	exclude := map[string]bool{}
	for _, name := range []string{"From", "To", "Reply-To", "Sender", "Return-Path", "Cc"} {
		list, _ := h.AddressList(name)
		for _, a := range message.Mailboxes(list) {
			exclude[strings.ToLower(a.Addr)] = true
		}
	}

	type hit struct {
		addr string
		line int
	}
	var strong, weak []hit
	seen := map[string]bool{}
	for i, l := range lines {
		for _, a := range findAddrs(l) {
			la := strings.ToLower(a.addr)
			if exclude[la] || isDaemon(la) || seen[la] || a.sender {
				continue
			}
			switch {
			case a.alone || a.sendmail || a.labelled || a.lead:
				seen[la] = true
				strong = append(strong, hit{a.addr, i})
			case failureWords(l):
				weak = append(weak, hit{a.addr, i})
			}
		}
	}
	hits := strong
	// Exim and Google name the failed recipients in X-Failed-Recipients;
	// when present, those are the recipients, found in the text for their
	// status where the text names them.
	if failed := failedRecipients(h); len(failed) > 0 {
		hits = hits[:0:0]
		for _, a := range failed {
			line := len(lines)
			for i, l := range lines {
				if strings.Contains(strings.ToLower(l), strings.ToLower(a)) {
					line = i
					break
				}
			}
			hits = append(hits, hit{a, line})
		}
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].line < hits[j].line })
	}
	if len(hits) == 0 {
		seenWeak := map[string]bool{}
		for _, w := range weak {
			if !seenWeak[strings.ToLower(w.addr)] {
				seenWeak[strings.ToLower(w.addr)] = true
				hits = append(hits, w)
			}
		}
	}
	if len(hits) == 0 {
		// No recipient in the text: the returned original, quoted
		// after the text, names them in its To field.
		for _, a := range quotedRecipients(full) {
			la := strings.ToLower(a)
			if !exclude[la] && !isDaemon(la) && !seen[la] {
				seen[la] = true
				hits = append(hits, hit{a, len(lines)})
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	if len(hits) > o.MaxRecipients {
		hits = hits[:o.MaxRecipients]
	}
	whole := strings.Join(lines, "\n")
	fallback := failureCode(whole)
	if !fallback.IsSet() {
		fallback = guessClass(whole)
	}
	var rcpts []Recipient
	for k, hh := range hits {
		end := len(lines)
		if k+1 < len(hits) && hits[k+1].line > hh.line && hits[k+1].line < end {
			end = hits[k+1].line
		}
		if end > hh.line+12 {
			end = hh.line + 12
		}
		block := ""
		if hh.line < len(lines) {
			block = strings.Join(lines[hh.line:min(end, len(lines))], "\n")
		}
		code := failureCode(block)
		if !code.IsSet() {
			if c := replyClass(block); c != 0 {
				code = smtp.NewEnhancedCode(c, 0, 0)
			} else {
				code = fallback
			}
		}
		act := ActionFailed
		if code.Class() == 4 {
			act = ActionDelayed
		}
		diag := strings.Join(strings.Fields(block), " ")
		if len(diag) > 1000 {
			diag = diag[:1000]
		}
		rcpts = append(rcpts, Recipient{
			FinalRecipient: TypedValue{Type: TypeRFC822, Value: hh.addr},
			Action:         act,
			Status:         code,
			DiagnosticCode: TypedValue{Value: strings.ToValidUTF8(diag, "")},
		})
	}
	return rcpts
}

var daemonLocals = []string{"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon", "maildaemon", "double-bounce", "bounce", "bounces", "noreply", "no-reply"}

func isDaemon(addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	for _, d := range daemonLocals {
		if local == d {
			return true
		}
	}
	return false
}

var bounceSubjects = []string{
	"undeliver", "undelivered", "delivery status", "delivery failure", "delivery failed",
	"delivery notification", "delivery problem", "delivery has failed", "failure notice",
	"returned mail", "mail delivery failed", "could not be delivered", "couldn't be delivered",
	"non remis", "nicht zustellbar", "unzustellbar", "non-delivery", "nondelivery", "not delivered",
	"delivery report", "mail system error", "returned to sender", "delivery error",
	"permanent error", "rejected", "failed delivery", "warning: could not send",
	"mail could not", "message failure", "unable to deliver", "bounce",
}

var bounceSenders = []string{"mailer-daemon", "postmaster", "mail delivery", "mail administrator", "maildaemon", "mail-daemon", "mailerdaemon", "mdaemon"}

func looksLikeBounce(h *message.Header) bool {
	ct := strings.ToLower(h.Get("Content-Type"))
	if strings.Contains(ct, "multipart/report") && strings.Contains(ct, "report-type") {
		// A delivery report that lost its structure is a bounce; a
		// feedback report or a disposition notification is not.
		return strings.Contains(ct, "delivery-status")
	}
	from := strings.ToLower(h.Get("From"))
	for _, s := range bounceSenders {
		if strings.Contains(from, s) {
			return true
		}
	}
	if replySubject(h) || h.Has("List-Id") {
		// A person's reply to a bounce or forward of one, or a
		// message to a mailing list, whatever its subject says.
		return false
	}
	subj, _ := h.Text("Subject")
	subj = strings.ToLower(subj)
	for _, s := range bounceSubjects {
		if strings.Contains(subj, s) {
			return true
		}
	}
	return false
}

// originalMarkers start the part of a bounce text that quotes the returned
// message, lower case.
var originalMarkers = []string{
	"--- below this line is a copy of the message",
	"------ this is a copy of the message",
	"----- original message -----",
	"-----original message-----",
	"----- unsent message follows -----",
	"----- message header follows -----",
	"----- the header of the original message is following",
	"original message follows",
	"------ original message header",
	"--- original message ---",
	"--- the header of the original message is following",
	"---------- a copy of the original message",
	"------ received message follows",
	"this is a copy of the headers that were received",
	"original message headers:",
	"----- original message headers -----",
	"------- returned message --------",
	"----- returned message -----",
	"---- the original message follows",
	"message headers follow",
	"below is a copy of the original message",
	"below is the original message",
	"a copy of the original message below",
	"headers of the original message",
	"original message header follows",
	"your message reads (in part)",
	"----- transcript of session follows -----\n\n----- original",
}

// quotedRecipients reads the header of the original message quoted after
// an original-message marker in text and returns its To addresses.
func quotedRecipients(text string) []string {
	cut := len(cutOriginal(text))
	if cut == len(text) {
		return nil
	}
	rest := text[cut:]
	// Skip the marker line and any blank lines after it.
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = strings.TrimLeft(rest[i+1:], "\r\n")
	}
	h, _, err := message.ReadHeader(strings.NewReader(rest), &message.ReadOptions{MaxHeaderBytes: 64 << 10})
	if err != nil || h == nil {
		return nil
	}
	list, _ := h.AddressList("To")
	var out []string
	for _, a := range message.Mailboxes(list) {
		if a.Addr != "" && strings.Contains(a.Addr, "@") && len(out) < 100 {
			out = append(out, a.Addr)
		}
	}
	return out
}

func cutOriginal(text string) string {
	low := lowerASCII(text)
	cut := len(text)
	for _, m := range originalMarkers {
		if i := strings.Index(low, m); i >= 0 && i < cut {
			cut = i
		}
	}
	return text[:cut]
}

type foundAddr struct {
	addr                      string
	alone, sendmail, labelled bool
	lead                      bool // starts the line
	sender                    bool // after "MAIL FROM:" or "envelope-from"
}

// findAddrs returns the addresses on one line with what surrounds them.
func findAddrs(l string) []foundAddr {
	var out []foundAddr
	trimmed := strings.TrimSpace(l)
	low := lowerASCII(l)
	for i := 0; i < len(l) && len(out) < 16; i++ {
		if l[i] != '@' {
			continue
		}
		s := i
		for s > 0 && isLocalChar(l[s-1]) {
			s--
		}
		e := i + 1
		for e < len(l) && isDomainChar(l[e]) {
			e++
		}
		for e > i+1 && l[e-1] == '.' {
			e--
		}
		for s < i && l[s] == '.' {
			s++
		}
		if s == i || !strings.Contains(l[i+1:e], ".") || e-s > 254 {
			i = e
			continue
		}
		a := foundAddr{addr: l[s:e]}
		core := strings.Trim(trimmed, "<>:;,.\"'() \t")
		a.alone = core == a.addr || strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(trimmed), "RCPT TO:")) == "<"+a.addr+">"
		rest := l[e:]
		if strings.HasPrefix(rest, ">") {
			rest = rest[1:]
		}
		a.sendmail = strings.HasPrefix(rest, "...")
		// "user@host: 550 ..." (OpenSMTPD), "user@host on <date>"
		// (Exchange): an address that starts the line names a recipient.
		lead := strings.TrimLeft(trimmed, "<")
		if strings.HasPrefix(lead, a.addr) {
			r := strings.TrimPrefix(strings.TrimPrefix(lead[len(a.addr):], ">"), " ")
			a.lead = strings.HasPrefix(r, ":") || strings.HasPrefix(r, "on ") || strings.HasPrefix(r, "(") || r == ""
		}
		before := low[:s]
		a.labelled = strings.Contains(before, "final-recipient") || strings.Contains(before, "original-recipient") ||
			strings.Contains(before, "rcpt to:") || strings.Contains(before, "recipient address:") ||
			strings.Contains(before, "failed recipient") || strings.Contains(before, "to address:")
		a.sender = strings.Contains(before, "mail from:") || strings.Contains(before, "envelope-from") ||
			strings.Contains(before, "return-path")
		out = append(out, a)
		i = e
	}
	return out
}

// lowerASCII maps the ASCII letters of s to lower case and leaves every
// other byte as it is, so that an offset in the result is the same offset
// in s. (strings.ToLower may change the length: "\u212a" (Kelvin) becomes
// "k", "\u023a" grows a byte, invalid UTF-8 becomes U+FFFD.)
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isLocalChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0 || c >= 0x80
}

func isDomainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c >= 0x80
}

var failureWordList = []string{
	"unknown", "fail", "not found", "reject", "undeliver", "does not exist", "doesn't exist",
	"no such", "invalid", "could not", "couldn't", "unable", "full", "quota", "disabled",
	"refused", "denied", "not deliver", "error", "bounce", "permanent", "inactive",
	"suspended", "unavailable", "blocked", "expired", "problem", "delivery to",
}

func failureWords(l string) bool {
	low := strings.ToLower(l)
	for _, w := range failureWordList {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// findCode returns the first RFC 3463 code in s that is not part of a
// longer dotted number (an IP address or a version).
func findCode(s string) (smtp.EnhancedCode, int) {
	for i := 0; i+5 <= len(s); i++ {
		c := s[i]
		if c != '2' && c != '4' && c != '5' || s[i+1] != '.' {
			continue
		}
		if i > 0 && (isDigit(s[i-1]) || s[i-1] == '.' || isLetter(s[i-1])) {
			continue
		}
		j := i + 2
		n1 := digits(s, j)
		if n1 == 0 || n1 > 3 || j+n1 >= len(s) || s[j+n1] != '.' {
			continue
		}
		k := j + n1 + 1
		n2 := digits(s, k)
		if n2 == 0 || n2 > 3 {
			continue
		}
		end := k + n2
		if end < len(s) && (s[end] == '.' && end+1 < len(s) && isDigit(s[end+1]) || isLetter(s[end])) {
			continue
		}
		code, err := smtp.ParseEnhancedCode(s[i:end])
		if err != nil {
			continue
		}
		return code, i
	}
	return 0, -1
}

func digits(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// replyClass returns 4 or 5 for the first SMTP reply code in s that stands
// as a word ("550 ...", "said: 451"), 0 if none.
func replyClass(s string) int {
	for i := 0; i+3 <= len(s); i++ {
		if (s[i] != '4' && s[i] != '5') || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
			continue
		}
		if i > 0 && (isDigit(s[i-1]) || isLetter(s[i-1]) || s[i-1] == '.' || s[i-1] == '#') {
			continue
		}
		if i+3 < len(s) && s[i+3] != ' ' && s[i+3] != '-' && s[i+3] != '\n' && s[i+3] != '\r' {
			continue
		}
		if s[i+1] > '5' {
			continue
		}
		return int(s[i] - '0')
	}
	return 0
}

var temporaryWords = []string{"temporar", "will retry", "will be retried", "delayed", "still trying", "deferred", "try again later", "not yet been delivered"}

func guessClass(s string) smtp.EnhancedCode {
	low := strings.ToLower(s)
	for _, w := range temporaryWords {
		if strings.Contains(low, w) {
			return smtp.NewEnhancedCode(4, 0, 0)
		}
	}
	return smtp.NewEnhancedCode(5, 0, 0)
}

// stripHTML turns an HTML body into rough text for the heuristics: tags
// become line breaks and the common entities are decoded.
func stripHTML(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '<':
			in = true
			b.WriteByte('\n')
		case c == '>' && in:
			in = false
		case !in:
			b.WriteByte(c)
		}
	}
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&nbsp;", " ", "&quot;", "\"", "&#64;", "@")
	return r.Replace(b.String())
}
