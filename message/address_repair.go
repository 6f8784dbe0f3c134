package message

import "strings"

// Lenient-mode repairs of address list entries that do not follow the
// grammar.

// maxRepairLen bounds the entries the word-splitting repairs look at; real
// broken entries are short, and the bound keeps hostile ones cheap.
const maxRepairLen = 4096

// entryEnd finds the end of the list entry starting at start: the next
// comma outside quotes, comments, angle brackets and groups.
func (p *addrParser) entryEnd(start int) int { return p.scanEnd(start, false) }

// memberEnd finds the end of a group member that did not parse: the next
// "," or ";" outside quotes, comments and angle brackets. It scans only up
// to that point, so skipping every member of a group stays linear.
func (p *addrParser) memberEnd(start int) int { return p.scanEnd(start, true) }

// scanEnd returns the index of the first separator at or after start that
// stands outside quoted strings, comments and angle brackets, or len(p.s):
// for a group member a "," or ";", for a list entry a "," outside a group.
func (p *addrParser) scanEnd(start int, member bool) int {
	depth, angle, group := 0, false, false
	for i := start; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '\\':
			i++
		case c == '"' && depth == 0:
			j := i + 1
			for j < len(p.s) && p.s[j] != '"' {
				if p.s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(p.s) {
				return len(p.s)
			}
			i = j
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case member:
			if (c == ';' || c == ',') && !angle {
				return i
			}
		case c == ':' && !angle:
			group = true
		case c == ';':
			group = false
		case c == ',' && !angle && !group:
			return i
		}
	}
	return len(p.s)
}

// repair makes what it can of a list entry that did not parse (lenient
// mode): a display name before an angle address, or a bare word.
func (p *addrParser) repair(start, end int) (Address, bool) {
	e := strings.TrimSpace(p.s[start:end])
	if e == "" {
		return Address{}, false
	}
	if lt := strings.LastIndexByte(e, '<'); lt >= 0 {
		gt := strings.IndexByte(e[lt:], '>')
		inner := e[lt+1:]
		if gt >= 0 {
			inner = e[lt+1 : lt+gt]
		}
		inner = strings.TrimSpace(inner)
		if inner == "" || strings.ContainsAny(inner, " \t\r\n<>,;:") {
			return Address{}, false
		}
		name := strings.TrimSpace(e[:lt])
		if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
			name = unquote(name)
		}
		name, _ = p.dec.DecodeHeader(name)
		return Address{Name: toValidUTF8(name), Addr: inner}, true
	}
	if !strings.ContainsAny(e, " \t\r\n\"()<>,;:[]") {
		return Address{Addr: e}, true
	}
	// "Big Bug bb@bug.com": a display name without quotes or brackets
	// before an addr-spec.
	if len(e) > maxRepairLen {
		return Address{}, false
	}
	words := strings.Fields(e)
	last := words[len(words)-1]
	if len(words) > 1 && strings.Contains(last, "@") {
		if a, err := (&AddressParser{Mode: Strict}).Parse(last); err == nil {
			name, _ := p.dec.DecodeHeader(strings.Join(words[:len(words)-1], " "))
			a.Name = toValidUTF8(name)
			return a, true
		}
	}
	return Address{}, false
}

// splitBareList reads "a@b c@d", addr-specs separated by white space
// instead of commas (lenient mode).
func splitBareList(e string) []Address {
	if len(e) > maxRepairLen {
		return nil
	}
	words := strings.Fields(e)
	if len(words) < 2 {
		return nil
	}
	strict := AddressParser{Mode: Strict}
	list := make([]Address, 0, len(words))
	for _, w := range words {
		if strings.ContainsAny(w, "<>") {
			return nil
		}
		a, err := strict.Parse(w)
		if err != nil || a.Name != "" {
			return nil
		}
		list = append(list, a)
	}
	return list
}
