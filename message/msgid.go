package message

import (
	"crypto/rand"
	"strings"
)

// ParseMessageID parses one msg-id (RFC 5322 section 3.6.4), such as
// "<1234@local.machine.example>", and returns it without the angle brackets.
// The obsolete forms of section 4.5.4 (comments and folding around the
// parts, quoted strings) are accepted and returned in canonical form. It
// returns an [*Error] wrapping [ErrSyntax] for anything else.
func ParseMessageID(s string) (string, error) {
	p := &addrParser{s: s, strict: true}
	p.skipCFWS()
	id, err := p.parseMsgID()
	if err != nil {
		return "", err
	}
	p.skipCFWS()
	if p.pos != len(s) {
		return "", syntaxError("parse message-id", p.pos, "unexpected text after the message-id")
	}
	return id, nil
}

func (p *addrParser) parseMsgID() (string, error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '<' {
		return "", syntaxError("parse message-id", p.pos, "missing \"<\"")
	}
	p.pos++
	toks, err := p.parsePhrase()
	if err != nil {
		return "", err
	}
	left, ok := localPart(toks)
	p.skipCFWS()
	if !ok || p.pos >= len(p.s) || p.s[p.pos] != '@' {
		return "", syntaxError("parse message-id", p.pos, "invalid id-left")
	}
	p.pos++
	right, err := p.parseDomain()
	if err != nil {
		return "", err
	}
	if p.pos >= len(p.s) || p.s[p.pos] != '>' {
		return "", syntaxError("parse message-id", p.pos, "missing \">\"")
	}
	p.pos++
	return left + "@" + right, nil
}

// ParseMessageIDList parses the msg-ids of a References or In-Reply-To
// field and returns them without angle brackets, in order. The obsolete
// phrases that may stand between them (RFC 5322 section 4.5.4) and other
// text outside angle brackets are skipped, and an id between brackets that
// does not follow the grammar (real mail has "<12345>") is returned as it
// is written. An unterminated "<" is an [*Error] wrapping [ErrSyntax].
func ParseMessageIDList(s string) ([]string, error) {
	var ids []string
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return ids, nil
		}
		s = s[i:]
		j := strings.IndexByte(s, '>')
		if j < 0 {
			return ids, syntaxError("parse message-id", -1, "unterminated \"<\"")
		}
		if id, err := ParseMessageID(s[:j+1]); err == nil {
			ids = append(ids, id)
		} else if raw := strings.TrimSpace(s[1:j]); raw != "" {
			ids = append(ids, raw)
		}
		s = s[j+1:]
	}
}

// FormatMessageID returns id between angle brackets, as it is written in a
// Message-ID, References or In-Reply-To field.
func FormatMessageID(id string) string { return "<" + id + ">" }

// GenerateMessageID returns a new unique msg-id for domain, without angle
// brackets: 26 random base32 characters (130 bits from crypto/rand), "@",
// and domain. Domain must be a dot-atom such as "mail.example.com";
// otherwise the result is an [*Error] wrapping [ErrSyntax].
func GenerateMessageID(domain string) (string, error) {
	if !isDotAtom(domain) {
		return "", syntaxError("generate message-id", 0, "domain is not a dot-atom: "+quoteForError(domain))
	}
	return rand.Text() + "@" + domain, nil
}

// MessageID parses the Message-ID field with [ParseMessageID]; a missing
// field is "" and no error.
func (h *Header) MessageID() (string, error) {
	f, ok := h.Lookup("Message-ID")
	if !ok {
		return "", nil
	}
	return ParseMessageID(f.Value())
}

// MessageIDList parses the first field named name, such as "References" or
// "In-Reply-To", with [ParseMessageIDList]; a missing field is nil.
func (h *Header) MessageIDList(name string) ([]string, error) {
	f, ok := h.Lookup(name)
	if !ok {
		return nil, nil
	}
	return ParseMessageIDList(f.Value())
}
