package dsn

import (
	"strings"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

// The plain-text report families: bounces that MTAs write as text for a
// person, without a delivery-status part, each in its own documented
// layout. The package doc describes each format and its signs. All of
// them are read only from a notice that an MTA sent (a mailer-daemon,
// postmaster or no-reply sender, or Exchange's own) whose subject is not
// a reply or a forward, and only from lines that start with the family's
// markers, so a person quoting or forwarding such a text is not read as
// one. Each reader gives nil when the message is not in its format or
// names no recipient, and the generic rules of heuristic.go have their
// turn.

// bounceText is the text of a bounce, cut before the quoted original,
// split into lines once for the plain-text readers.
type bounceText struct {
	h   *message.Header
	raw []string // the lines without their CR
	low []string // the same, trimmed and in lower case
	// automated is set when an MTA sent the message (automatedNotice).
	automated bool
}

func newBounceText(h *message.Header, text string) *bounceText {
	text = cutOriginal(text)
	lines := strings.Split(text, "\n")
	if len(lines) > maxHeuristicLines {
		lines = lines[:maxHeuristicLines]
	}
	b := &bounceText{h: h, raw: lines, low: make([]string, len(lines)), automated: automatedNotice(h)}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
		b.low[i] = lowerASCII(strings.TrimSpace(lines[i]))
	}
	return b
}

// find returns the first line from line from on whose trimmed text starts
// with one of prefixes (lower case), or -1.
func (b *bounceText) find(from int, prefixes ...string) int {
	for i := max(from, 0); i < len(b.low); i++ {
		for _, p := range prefixes {
			if strings.HasPrefix(b.low[i], p) {
				return i
			}
		}
	}
	return -1
}

// contains reports whether a line holds sub (lower case).
func (b *bounceText) contains(sub string) bool {
	for _, l := range b.low {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// dashed returns the first line that is the heading marker between runs
// of dashes ("----- Transcript of session follows -----"), or -1.
func (b *bounceText) dashed(marker string) int {
	for i, l := range b.low {
		if strings.HasPrefix(l, "--") && strings.HasPrefix(strings.TrimLeft(l, "- "), marker) {
			return i
		}
	}
	return -1
}

// replyPrefixes start the subject of a person's reply or forward.
var replyPrefixes = []string{"re:", "re ", "fwd:", "fw:", "aw:", "wg:", "tr:", "sv:", "vs:", "antw:", "rif:", "r:", "i:"}

func replySubject(h *message.Header) bool {
	s, _ := h.Text("Subject")
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range replyPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// daemonSender reports whether the From of h is an MTA's: a mailer-daemon
// or postmaster name (bounceSenders), a daemon or no-reply local part
// (isDaemon), or the MicrosoftExchange… system mailbox of Exchange.
func daemonSender(h *message.Header) bool {
	from := strings.ToLower(h.Get("From"))
	for _, s := range bounceSenders {
		if strings.Contains(from, s) {
			return true
		}
	}
	list, _ := h.AddressList("From")
	for _, a := range message.Mailboxes(list) {
		la := strings.ToLower(a.Addr)
		if isDaemon(la) || strings.HasPrefix(la, "microsoftexchange") {
			return true
		}
	}
	return false
}

// automatedNotice reports whether h is that of a notice an MTA sent: from
// a daemon sender, or marked by Exchange as a non-delivery report, and not
// with the subject of a reply or a forward.
func automatedNotice(h *message.Header) bool {
	if replySubject(h) {
		return false
	}
	return daemonSender(h) || h.Has("X-MS-Exchange-Message-Is-Ndr")
}

// validAddr reports whether a is a plain addr-spec with a dotted domain.
func validAddr(a string) bool {
	return a != "" && eximAddress(a) == a
}

// codeOf returns the status of a recipient's text: its first RFC 3463
// code of class 4 or 5 (failureCode), else class.0.0 of its first SMTP
// reply code of class 4 or 5, else def.
func codeOf(text string, def smtp.EnhancedCode) smtp.EnhancedCode {
	if c := failureCode(text); c.IsSet() {
		return c
	}
	if c := replyClass(text); c != 0 {
		return smtp.NewEnhancedCode(c, 0, 0)
	}
	return def
}

// hostBefore returns the host name that follows the first of markers
// found in s ("host mx.example.com[192.0.2.1] said:"), or "".
func hostBefore(s string, markers ...string) string {
	low := lowerASCII(s)
	for _, m := range markers {
		i := strings.Index(low, m)
		if i < 0 {
			continue
		}
		rest := s[i+len(m):]
		end := strings.IndexAny(rest, "[ :;,()")
		if end <= 0 {
			continue
		}
		host := strings.TrimRight(rest[:end], ".")
		if strings.Contains(host, ".") && isHostName(host) {
			return host
		}
	}
	return ""
}

func isHostName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDomainChar(s[i]) || s[i] >= 0x80 {
			return false
		}
	}
	return s != ""
}

func dnsValue(host string) TypedValue {
	if host == "" {
		return TypedValue{}
	}
	return TypedValue{Type: TypeDNS, Value: host}
}

func readPlainFamilies(h *message.Header, text string, o ParseOptions) []Recipient {
	if !automatedNotice(h) {
		return nil
	}
	b := newBounceText(h, text)
	for _, read := range []func(*bounceText, ParseOptions) []Recipient{
		readPostfixText, readSendmailText, readExchange, readDMA, readAuOne,
		readOpenSMTPD, readGmail, readDomino, readNotes,
	} {
		if rcpts := read(b, o); len(rcpts) > 0 {
			return rcpts
		}
	}
	return nil
}

// Postfix.

func readPostfixText(b *bounceText, o ParseOptions) []Recipient {
	intro := b.find(0, "this is the mail system at host ", "this is the postfix program at host ")
	if intro < 0 {
		return nil
	}
	act, def := ActionFailed, smtp.NewEnhancedCode(5, 0, 0)
	switch {
	case b.find(intro, "# this is a warning only", "this is a warning only") >= 0:
		act, def = ActionDelayed, smtp.NewEnhancedCode(4, 0, 0)
	case b.find(intro, "your message was successfully delivered", "your message was delivered") >= 0:
		act, def = ActionDelivered, smtp.NewEnhancedCode(2, 0, 0)
	}
	var out []Recipient
	for i := intro + 1; i < len(b.raw) && len(out) < o.MaxRecipients; i++ {
		l := b.raw[i]
		if !strings.HasPrefix(l, "<") {
			continue
		}
		end := strings.IndexByte(l, '>')
		if end < 0 || !validAddr(l[1:end]) {
			continue
		}
		addr, rest := l[1:end], l[end+1:]
		if strings.HasPrefix(rest, " (expanded from <") {
			// "<final> (expanded from <original>): reason"
			j := strings.Index(rest, ">)")
			if j < 0 {
				continue
			}
			rest = rest[j+2:]
		}
		if !strings.HasPrefix(rest, ":") {
			continue
		}
		reason := []string{strings.TrimSpace(rest[1:])}
		for i+1 < len(b.raw) && b.low[i+1] != "" && (b.raw[i+1][0] == ' ' || b.raw[i+1][0] == '\t') {
			i++
			reason = append(reason, strings.TrimSpace(b.raw[i]))
		}
		why := strings.Join(reason, " ")
		rc := Recipient{
			FinalRecipient: addressValue(addr),
			Action:         act,
			Status:         codeOf(why, def),
			RemoteMTA:      dnsValue(hostBefore(why, "host ", "connect to ", "delivery via ")),
			DiagnosticCode: diagnostic(why),
		}
		if _, said, ok := strings.Cut(why, " said: "); ok {
			if k := strings.LastIndex(said, " (in reply to "); k > 0 {
				said = said[:k]
			}
			rc.DiagnosticCode = TypedValue{Type: TypeSMTP, Value: diagnostic(said).Value}
		}
		if (act == ActionDelivered) != (rc.Status.Class() == 2) {
			rc.Status = def
		}
		out = append(out, rc)
	}
	return out
}

// Sendmail.

func readSendmailText(b *bounceText, o ParseOptions) []Recipient {
	perm := b.dashed("the following addresses had permanent fatal errors")
	trans := b.dashed("the following addresses had transient non-fatal errors")
	trs := b.dashed("transcript of session follows")
	if perm < 0 && trans < 0 && trs < 0 {
		return nil
	}
	type entry struct {
		addr    string
		act     Action
		code    string // the reply code that starts a transcript line
		reason  string
		dialog  string
		host    string
		inTrans bool
	}
	var list []*entry
	byAddr := map[string]*entry{}
	// The address lists: one address a line, then indented
	// "(reason: ...)" and "(expanded from: ...)" lines.
	for _, sec := range []struct {
		at  int
		act Action
	}{{perm, ActionFailed}, {trans, ActionDelayed}} {
		if sec.at < 0 {
			continue
		}
		var cur *entry
		for i := sec.at + 1; i < len(b.low) && b.low[i] != "" && !strings.HasPrefix(b.low[i], "--"); i++ {
			l := strings.TrimSpace(b.raw[i])
			if strings.HasPrefix(l, "(") {
				if cur != nil && strings.HasPrefix(b.low[i], "(reason:") {
					cur.reason = strings.TrimSuffix(strings.TrimSpace(l[len("(reason:"):]), ")")
				}
				continue
			}
			cur = nil
			a := eximAddress(l)
			if a == "" || byAddr[strings.ToLower(a)] != nil || len(list) >= o.MaxRecipients {
				continue
			}
			cur = &entry{addr: a, act: sec.act}
			byAddr[strings.ToLower(a)] = cur
			list = append(list, cur)
		}
	}
	// The transcript: "While talking to host:", the ">>> command" and
	// "<<< reply" lines, and sendmail's own "[code] <addr>... reason".
	type segment struct {
		host   string
		dialog []string
	}
	var segs []*segment
	if trs >= 0 {
		var host string
		var dialog []string
		for i := trs + 1; i < len(b.raw); i++ {
			l := strings.TrimSpace(b.raw[i])
			low := strings.TrimPrefix(b.low[i], "... ")
			switch {
			case strings.HasPrefix(low, "--"):
				i = len(b.raw)
				continue
			case strings.HasPrefix(low, "while talking to "):
				host = strings.TrimRight(strings.TrimSpace(low[len("while talking to "):]), ":.")
				dialog = nil
				if len(segs) < 100 {
					segs = append(segs, &segment{host: host})
				}
				continue
			case strings.HasPrefix(l, ">>> ") || strings.HasPrefix(l, "<<< "):
				if len(dialog) < 20 {
					dialog = append(dialog, l)
				}
				if len(segs) > 0 && len(segs[len(segs)-1].dialog) < 20 {
					segs[len(segs)-1].dialog = append(segs[len(segs)-1].dialog, l)
				}
				continue
			}
			code := ""
			if len(l) > 4 && isDigit(l[0]) && isDigit(l[1]) && isDigit(l[2]) && (l[3] == ' ' || l[3] == '-') {
				code, l = l[:3], strings.TrimSpace(l[4:])
				if tok := addrToken(l); len(tok) < len(l) {
					if _, err := smtp.ParseEnhancedCode(tok); err == nil {
						code, l = code+" "+tok, strings.TrimSpace(l[len(tok):])
					}
				}
			}
			dots := strings.Index(l, "... ")
			if dots <= 0 {
				continue
			}
			a := strings.Trim(l[:dots], "<>")
			if !validAddr(a) {
				continue
			}
			e := byAddr[strings.ToLower(a)]
			if e == nil {
				if len(list) >= o.MaxRecipients {
					continue
				}
				e = &entry{addr: a}
				byAddr[strings.ToLower(a)] = e
				list = append(list, e)
			}
			if !e.inTrans {
				e.inTrans, e.code, e.reason = true, code, strings.TrimSpace(l[dots+4:])
				if len(dialog) > 0 {
					e.dialog, e.host = strings.Join(dialog, "\n"), host
				}
			}
			dialog = nil
		}
	}
	// A listed address that no transcript line names takes the dialog
	// that names it, or, alone in the list, the last one.
	for _, e := range list {
		if e.dialog != "" {
			continue
		}
		for _, sg := range segs {
			d := strings.Join(sg.dialog, "\n")
			if strings.Contains(strings.ToLower(d), "<"+strings.ToLower(e.addr)+">") || len(list) == 1 && sg == segs[len(segs)-1] {
				e.dialog, e.host = d, sg.host
				break
			}
		}
	}
	subj, _ := b.h.Text("Subject")
	warning := strings.HasPrefix(strings.ToLower(strings.TrimSpace(subj)), "warning:") ||
		b.contains("this is a warning message only")
	var out []Recipient
	for _, e := range list {
		all := e.dialog + "\n" + e.code + " " + e.reason
		def := smtp.NewEnhancedCode(5, 0, 0)
		if e.act == ActionDelayed || e.act == "" && warning {
			def = smtp.NewEnhancedCode(4, 0, 0)
		}
		code := codeOf(all, def)
		act := e.act
		if act == "" {
			act = ActionFailed
			if code.Class() == 4 && (warning || perm < 0) {
				act = ActionDelayed
			}
		}
		if code.Class() == 2 {
			code = def
		}
		rc := Recipient{
			FinalRecipient: addressValue(e.addr),
			Action:         act,
			Status:         code,
			RemoteMTA:      dnsValue(e.host),
			DiagnosticCode: diagnostic(strings.TrimSpace(e.code + " " + e.reason)),
		}
		if reply := lastReply(e.dialog); reply != "" {
			rc.DiagnosticCode = TypedValue{Type: TypeSMTP, Value: diagnostic(reply).Value}
		}
		out = append(out, rc)
	}
	return out
}

// lastReply returns the last "<<< reply" of a transcript, without the
// marker.
func lastReply(dialog string) string {
	i := strings.LastIndex(dialog, "<<< ")
	if i < 0 {
		return ""
	}
	r, _, _ := strings.Cut(dialog[i+4:], "\n")
	return r
}

// Microsoft Exchange and Office 365.

func readExchange(b *bounceText, o ParseOptions) []Recipient {
	if s := b.find(0, "delivery has failed to these recipients or groups:"); s >= 0 {
		return readExchangeModern(b, s, o)
	}
	if s := b.find(0, "did not reach the following recipient(s):", "the following recipient(s) could not be reached:"); s >= 0 {
		return readExchangeLegacy(b, s, o)
	}
	return nil
}

// exchangeAddr returns the address a line of an Exchange NDR's recipient
// list names: "user@host", "user@host<mailto:user@host>", "Name
// (user@host)", "Name <user@host>"; or "".
func exchangeAddr(l string) string {
	l = strings.TrimSpace(l)
	tok := addrToken(l)
	if i := strings.Index(tok, "<mailto:"); i > 0 {
		tok = tok[:i]
	}
	if a := eximAddress(tok); a != "" {
		return a
	}
	if strings.HasSuffix(l, ")") || strings.HasSuffix(l, ">") {
		if i := strings.LastIndexAny(l, "(<"); i >= 0 {
			if a := l[i+1 : len(l)-1]; validAddr(a) {
				return a
			}
		}
	}
	return ""
}

// exchangeListLine reports whether a line of the recipient list is the
// entry of address a (both lower case) rather than a sentence that names
// it: the line starts with it, or is a short "Name (a)" or "Name <a>".
func exchangeListLine(low, a string) bool {
	return strings.HasPrefix(low, a) ||
		len(low) < 120 && (strings.HasSuffix(low, "("+a+")") || strings.HasSuffix(low, "<"+a+">")) && !strings.Contains(low, ". ")
}

func readExchangeModern(b *bounceText, start int, o ParseOptions) []Recipient {
	diag := b.find(start, "diagnostic information for administrators:")
	end := diag
	if end < 0 {
		end = len(b.raw)
	}
	var out []Recipient
	index := map[string]int{}
	var intro []string // what the list says after the addresses
	for i := start + 1; i < end; i++ {
		if a := exchangeAddr(b.raw[i]); a != "" && exchangeListLine(b.low[i], strings.ToLower(a)) {
			if _, dup := index[strings.ToLower(a)]; dup || len(out) >= o.MaxRecipients {
				continue
			}
			index[strings.ToLower(a)] = len(out)
			out = append(out, Recipient{FinalRecipient: addressValue(a), Action: ActionFailed})
			continue
		}
		if b.low[i] != "" && len(intro) < 20 {
			intro = append(intro, strings.TrimSpace(b.raw[i]))
		}
	}
	if len(out) == 0 {
		return nil
	}
	// Diagnostic information: "Generating server: host", then each
	// recipient's address on a line and the server's words under it
	// ("Remote Server returned '550 5.1.1 ...'", "#550 5.1.1 ...##").
	why := make([][]string, len(out))
	if diag >= 0 {
		cur := -1
		for i := diag + 1; i < len(b.raw); i++ {
			if a := exchangeAddr(b.raw[i]); a != "" && strings.HasPrefix(b.low[i], strings.ToLower(a)) {
				if k, ok := index[strings.ToLower(a)]; ok {
					cur = k
					continue
				}
			}
			if b.low[i] == "" {
				continue
			}
			if strings.HasPrefix(b.low[i], "original message headers") {
				break
			}
			if cur >= 0 && len(why[cur]) < 20 {
				why[cur] = append(why[cur], strings.TrimSpace(b.raw[i]))
			}
		}
	}
	def := codeOf(strings.Join(intro, "\n"), smtp.NewEnhancedCode(5, 0, 0))
	for k := range out {
		text := strings.Join(why[k], "\n")
		rc := &out[k]
		rc.Status = codeOf(text, def)
		if rc.Status.Class() == 2 {
			rc.Status = def
		}
		for _, l := range why[k] {
			low := lowerASCII(l)
			switch r := strings.Index(low, "remote server"); {
			case r >= 0:
				// "Remote Server returned '550 5.1.1 ...'", or
				// "Remote Server at host (address) returned '...'".
				rc.RemoteMTA = dnsValue(hostBefore(l[r:], "remote server at "))
				if q := strings.IndexByte(l[r:], '\''); q >= 0 {
					reply := strings.TrimSuffix(strings.TrimSpace(l[r+q+1:]), "'")
					rc.DiagnosticCode = TypedValue{Type: TypeSMTP, Value: diagnostic(reply).Value}
				}
			case strings.HasSuffix(low, "##") && strings.Contains(low, "#"):
				// "[host] #550 5.1.1 text ##"
				h, reply, _ := strings.Cut(l, "#")
				if h = strings.TrimSpace(h); h != "" && strings.Contains(h, ".") && isHostName(h) {
					rc.RemoteMTA = dnsValue(h)
				}
				reply = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(reply), "##"))
				rc.DiagnosticCode = TypedValue{Type: TypeSMTP, Value: diagnostic(reply).Value}
			}
		}
		if rc.DiagnosticCode.IsZero() {
			if text == "" {
				text = strings.Join(intro, "\n")
			}
			rc.DiagnosticCode = diagnostic(text)
		}
	}
	return out
}

// readExchangeLegacy reads the NDR of Exchange 5.5 to 2003 and of its
// Internet Mail Service: "addr on <date>" lines under "did not reach the
// following recipient(s):" or "The following recipient(s) could not be
// reached:", each with its reason indented deeper below it.
func readExchangeLegacy(b *bounceText, start int, o ParseOptions) []Recipient {
	var out []Recipient
	var why []string
	indent := 0
	flush := func() {
		if len(out) > 0 {
			text := strings.Join(why, "\n")
			rc := &out[len(out)-1]
			rc.Status = codeOf(text, smtp.NewEnhancedCode(5, 0, 0))
			if rc.Status.Class() == 2 {
				rc.Status = smtp.NewEnhancedCode(5, 0, 0)
			}
			rc.DiagnosticCode = diagnostic(text)
		}
		why = nil
	}
	for i := start + 1; i < len(b.raw); i++ {
		l := b.raw[i]
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		in := len(l) - len(strings.TrimLeft(l, " \t"))
		if a := eximAddress(t); a != "" && strings.HasPrefix(strings.TrimLeft(t[len(addrToken(t)):], " \t"), "on ") {
			flush()
			if len(out) >= o.MaxRecipients {
				break
			}
			out = append(out, Recipient{FinalRecipient: addressValue(a), Action: ActionFailed})
			indent = in
			continue
		}
		if len(out) == 0 {
			continue
		}
		if in <= indent && !strings.HasPrefix(t, ";") {
			break // the list ends
		}
		if len(why) < 20 {
			why = append(why, t)
		}
	}
	flush()
	return out
}

// DragonFly Mail Agent.

const dmaIntro = "this is the dragonfly mail agent"

func readDMA(b *bounceText, o ParseOptions) []Recipient {
	first := 0
	for first < len(b.low) && b.low[first] == "" {
		first++
	}
	if first >= len(b.low) || !strings.HasPrefix(b.low[first], dmaIntro) {
		return nil
	}
	at := b.find(first, "there was an error delivering your mail to <")
	if at < 0 {
		return nil
	}
	l := strings.TrimSpace(b.raw[at])
	l = l[len("there was an error delivering your mail to <"):]
	end := strings.IndexByte(l, '>')
	if end < 0 || !validAddr(l[:end]) {
		return nil
	}
	var why []string
	for i := at + 1; i < len(b.raw) && len(why) < 40; i++ {
		if b.low[i] != "" {
			why = append(why, strings.TrimSpace(b.raw[i]))
		}
	}
	text := strings.Join(why, "\n")
	def := smtp.NewEnhancedCode(5, 0, 0)
	if low := strings.ToLower(text); strings.Contains(low, "could not deliver for the last") && strings.Contains(low, "giving up") {
		def = smtp.NewEnhancedCode(4, 4, 7) // delivery time expired
	}
	rc := Recipient{
		FinalRecipient: addressValue(l[:end]),
		Action:         ActionFailed,
		Status:         codeOf(text, def),
		DiagnosticCode: diagnostic(text),
	}
	if rc.Status.Class() == 2 {
		rc.Status = def
	}
	for k, w := range why {
		// "host [address] did not like our COMMAND:", the reply on the
		// next line.
		if i := strings.Index(lowerASCII(w), " did not like our "); i > 0 {
			rc.RemoteMTA = dnsValue(hostBefore(" "+w[:i], " "))
			if k+1 < len(why) && replyClass(why[k+1][:min(len(why[k+1]), 4)]) != 0 {
				rc.DiagnosticCode = TypedValue{Type: TypeSMTP, Value: diagnostic(why[k+1]).Value}
			}
			break
		}
	}
	return []Recipient{rc}
}

// au one net (KDDI).

func readAuOne(b *bounceText, o ParseOptions) []Recipient {
	if b.find(0, "your mail sent on:") < 0 {
		return nil
	}
	var out []Recipient
	for i := 0; i < len(b.raw) && len(out) < o.MaxRecipients; i++ {
		if !strings.HasPrefix(b.low[i], "could not be delivered to:") {
			continue
		}
		a := strings.Trim(strings.TrimSpace(strings.TrimSpace(b.raw[i])[len("could not be delivered to:"):]), "<>")
		if !validAddr(a) {
			continue
		}
		var why []string
		for i+1 < len(b.raw) && b.low[i+1] != "" && !strings.HasPrefix(b.low[i+1], "could not be delivered to:") && len(why) < 20 {
			i++
			why = append(why, strings.TrimSpace(b.raw[i]))
		}
		text := strings.Join(why, "\n")
		code := codeOf(text, smtp.NewEnhancedCode(5, 0, 0))
		if code.Class() == 2 {
			code = smtp.NewEnhancedCode(5, 0, 0)
		}
		out = append(out, Recipient{FinalRecipient: addressValue(a), Action: ActionFailed, Status: code, DiagnosticCode: diagnostic(text)})
	}
	return out
}

// OpenSMTPD.

// readOpenSMTPD reads OpenSMTPD's notice (bounce.c): after "This is the
// MAILER-DAEMON, please DO NOT REPLY", a sentence that says what
// happened, then one line per recipient, "user@host: what the MTA
// said", not indented.
func readOpenSMTPD(b *bounceText, o ParseOptions) []Recipient {
	intro := b.find(0, "this is the mailer-daemon, please do not reply to this e")
	if intro < 0 {
		return nil
	}
	act, def := ActionFailed, smtp.NewEnhancedCode(5, 0, 0)
	kind := b.find(intro, "an error has occurred while attempting to deliver")
	if k := b.find(intro, "a message is delayed for more than"); k >= 0 && (kind < 0 || k < kind) {
		act, def, kind = ActionDelayed, smtp.NewEnhancedCode(4, 0, 0), k
	}
	if k := b.find(intro, "your message was successfully delivered to these recipients"); k >= 0 && (kind < 0 || k < kind) {
		act, def, kind = ActionDelivered, smtp.NewEnhancedCode(2, 0, 0), k
	}
	if k := b.find(intro, "your message was relayed to these recipients"); k >= 0 && (kind < 0 || k < kind) {
		act, def, kind = ActionRelayed, smtp.NewEnhancedCode(2, 0, 0), k
	}
	if kind < 0 {
		return nil
	}
	var out []Recipient
	for i := kind + 1; i < len(b.raw) && len(out) < o.MaxRecipients; i++ {
		l := b.raw[i]
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		a, reason, ok := strings.Cut(l, ": ")
		if !ok || !validAddr(a) {
			continue
		}
		rc := Recipient{FinalRecipient: addressValue(a), Action: act, Status: codeOf(reason, def), DiagnosticCode: diagnostic(reason)}
		if (act == ActionDelivered || act == ActionRelayed) != (rc.Status.Class() == 2) {
			rc.Status = def
		}
		if replyClass(reason[:min(len(reason), 4)]) != 0 {
			rc.DiagnosticCode.Type = TypeSMTP
		}
		out = append(out, rc)
	}
	return out
}

// Gmail.

// readGmail reads Google Mail's own notices of before 2014: "Delivery to
// the following recipient(s) failed permanently:" (failed) or "... has
// been delayed:" (delayed), the recipients indented below, then
// "Technical details of permanent (temporary) failure:" with the remote
// server's reply after "The error that the other server returned was:".
func readGmail(b *bounceText, o ParseOptions) []Recipient {
	head := b.find(0, "delivery to the following recipient")
	if head < 0 {
		return nil
	}
	act, def := ActionFailed, smtp.NewEnhancedCode(5, 0, 0)
	switch h := b.low[head]; {
	case strings.HasSuffix(h, "failed permanently:"):
	case strings.HasSuffix(h, "has been delayed:") || strings.HasSuffix(h, "failed temporarily:"):
		act, def = ActionDelayed, smtp.NewEnhancedCode(4, 0, 0)
	default:
		return nil
	}
	tech := b.find(head, "technical details of ")
	end := tech
	if end < 0 {
		end = len(b.raw)
	}
	var out []Recipient
	for i := head + 1; i < end && len(out) < o.MaxRecipients; i++ {
		if l := b.raw[i]; l != "" && (l[0] == ' ' || l[0] == '\t') && validAddr(b.low[i]) {
			out = append(out, Recipient{FinalRecipient: addressValue(strings.TrimSpace(l)), Action: act})
		}
	}
	var why []string
	if tech >= 0 {
		for i := tech + 1; i < len(b.raw) && len(why) < 40; i++ {
			if b.low[i] != "" {
				why = append(why, strings.TrimSpace(b.raw[i]))
			}
		}
	}
	text := strings.Join(why, " ")
	code := codeOf(text, def)
	if code.Class() == 2 {
		code = def
	}
	diag := diagnostic(text)
	low := lowerASCII(text)
	if i := strings.Index(low, "the error that the other server returned was:"); i >= 0 {
		diag = TypedValue{Type: TypeSMTP, Value: diagnostic(text[i+len("the error that the other server returned was:"):]).Value}
	}
	// "... rejected by the server for the recipient domain D by HOST. [address]."
	var remote string
	for off := 0; off < len(low); {
		j := strings.Index(low[off:], " by ")
		if j < 0 {
			break
		}
		rest := text[off+j+4:]
		rest = rest[:min(len(rest), 256)] // a host name, not the rest of the text
		if k := strings.Index(rest, " ["); k > 0 && isHostName(strings.TrimSuffix(rest[:k], ".")) && strings.Contains(rest[:k], ".") {
			remote = strings.TrimSuffix(rest[:k], ".")
			break
		}
		off += j + 4
	}
	for k := range out {
		out[k].Status, out[k].DiagnosticCode, out[k].RemoteMTA = code, diag, dnsValue(remote)
	}
	return out
}

// Lotus Domino and Notes.

// readDomino reads the notice of Domino: "Your message ... was not
// delivered to:", the recipients, then "because:" and the reason.
func readDomino(b *bounceText, o ParseOptions) []Recipient {
	head := b.find(0, "was not delivered to:")
	if head < 0 {
		return nil
	}
	because := b.find(head, "because:")
	if because < 0 {
		return nil
	}
	var out []Recipient
	for i := head + 1; i < because && len(out) < o.MaxRecipients; i++ {
		if a := exchangeAddr(b.raw[i]); a != "" {
			out = append(out, Recipient{FinalRecipient: addressValue(a), Action: ActionFailed})
		}
	}
	var why []string
	for i := because + 1; i < len(b.raw) && len(why) < 20; i++ {
		if b.low[i] == "" {
			if len(why) > 0 {
				break
			}
			continue
		}
		why = append(why, strings.TrimSpace(b.raw[i]))
	}
	text := strings.Join(why, " ")
	code := codeOf(text, smtp.NewEnhancedCode(5, 0, 0))
	if code.Class() == 2 {
		code = smtp.NewEnhancedCode(5, 0, 0)
	}
	for k := range out {
		out[k].Status, out[k].DiagnosticCode = code, diagnostic(text)
	}
	return out
}

// readNotes reads the notice of the Lotus SMTP MTA of Notes: between
// "------- Failure Reasons --------" and "------- Returned Message
// --------", reasons and the addresses they are about, each address on a
// line of its own after its reason.
func readNotes(b *bounceText, o ParseOptions) []Recipient {
	head := b.dashed("failure reasons")
	if head < 0 {
		return nil
	}
	var out []Recipient
	var why []string
	for i := head + 1; i < len(b.raw) && len(out) < o.MaxRecipients; i++ {
		if strings.HasPrefix(b.low[i], "--") {
			break // "------- Returned Message --------"
		}
		if b.low[i] == "" {
			continue
		}
		if a := strings.Trim(strings.TrimSpace(b.raw[i]), "<>"); validAddr(a) {
			text := strings.Join(why, " ")
			code := codeOf(text, smtp.NewEnhancedCode(5, 0, 0))
			if code.Class() == 2 {
				code = smtp.NewEnhancedCode(5, 0, 0)
			}
			out = append(out, Recipient{FinalRecipient: addressValue(a), Action: ActionFailed, Status: code, DiagnosticCode: diagnostic(text)})
			why = nil
			continue
		}
		if len(why) < 20 {
			why = append(why, strings.TrimSpace(b.raw[i]))
		}
	}
	return out
}
