package spf

import (
	"context"
	"strings"
	"unicode/utf8"
)

// explain returns the explanation of a fail produced by rec at domain
// (RFC 7208 section 6.2): the exp= target's single TXT record, expanded,
// or else Args.DefaultExplanation. Any DNS error, a count of TXT records
// other than one, or a syntax error in the text means "no exp=". The
// lookup does not count against the limits.
func (c *checker) explain(ctx context.Context, rec *Record, domain string) string {
	if rec.Explanation != "" {
		if s, ok := c.expText(ctx, rec, domain); ok {
			return sanitizeExplanation(s, c.lim.Explanation)
		}
	}
	return c.defaultExplanation(domain)
}

func (c *checker) expText(ctx context.Context, rec *Record, domain string) (string, bool) {
	name, ok, p := c.target(&rec.exp, domain)
	if p != nil || !ok {
		return "", false
	}
	txts, err := c.r.LookupTXT(ctx, name)
	if err != nil || len(txts) != 1 {
		return "", false
	}
	m, err := parseMacroString(txts[0], modeExplain)
	if err != nil {
		return "", false
	}
	c.env.domain = domain
	s, err := m.expand(&c.env)
	if err != nil {
		return "", false
	}
	return s, true
}

// defaultExplanation expands Args.DefaultExplanation for domain; text that
// is not a valid macro-string is used as it is.
func (c *checker) defaultExplanation(domain string) string {
	def := c.a.DefaultExplanation
	if def == "" {
		return ""
	}
	m, err := parseMacroString(def, modeExplain)
	if err != nil {
		return sanitizeExplanation(def, c.lim.Explanation)
	}
	c.env.domain = domain
	s, err := m.expand(&c.env)
	if err != nil {
		return sanitizeExplanation(def, c.lim.Explanation)
	}
	return sanitizeExplanation(s, c.lim.Explanation)
}

// sanitizeExplanation makes s safe for the text of an SMTP reply: every
// character outside printable ASCII (controls, CR, LF, non-ASCII) becomes
// '?', leading and trailing spaces go, and the result is at most max
// octets, cut at a space when one is in the second half.
func sanitizeExplanation(s string, max int) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for len(s) > 0 && b.Len() <= max {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		if r >= 0x20 && r <= 0x7e {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('?')
		}
	}
	out := b.String()
	if len(out) > max {
		cut := out[:max]
		if i := strings.LastIndexByte(cut, ' '); i >= max/2 {
			cut = cut[:i]
		}
		out = cut
	}
	return strings.TrimRight(out, " ")
}
