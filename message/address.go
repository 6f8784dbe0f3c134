package message

import "strings"

// DefaultMaxAddresses bounds the addresses [AddressParser] returns from one
// list, group members included.
const DefaultMaxAddresses = 1000

// maxCommentDepth bounds the nesting of comments (RFC 5322 section 3.2.2)
// so hostile input cannot recurse deeply.
const maxCommentDepth = 64

// Address is a mailbox or a group (RFC 5322 section 3.4).
//
// For a mailbox, Name is the display name with encoded words decoded and
// Addr the addr-spec in canonical form: the local part as a dot-atom when
// it is one and as a minimal quoted string otherwise, then "@" and the
// domain (a dot-atom or a domain literal such as "[192.0.2.1]"). Comments,
// folding and obsolete routes are dropped. Non-ASCII text is UTF-8 (RFC
// 6532).
//
// For a group, Group is true, Name is the group's display name and Members
// its mailboxes (possibly none, as in "undisclosed-recipients:;").
type Address struct {
	Name    string
	Addr    string
	Group   bool
	Members []Address
}

// LocalPart returns the local part of a mailbox's Addr with any quoting
// removed, for example `a b` for `"a b"@example.com`.
func (a Address) LocalPart() string {
	i := strings.LastIndexByte(a.Addr, '@')
	if i < 0 {
		return unquote(a.Addr)
	}
	return unquote(a.Addr[:i])
}

// Domain returns the part of a mailbox's Addr after the last "@", or "".
func (a Address) Domain() string {
	i := strings.LastIndexByte(a.Addr, '@')
	if i < 0 {
		return ""
	}
	return a.Addr[i+1:]
}

func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Mailboxes flattens a list: group members take the place of their group.
func Mailboxes(list []Address) []Address {
	var out []Address
	for _, a := range list {
		if a.Group {
			out = append(out, a.Members...)
		} else {
			out = append(out, a)
		}
	}
	return out
}

// AddressParser parses addresses. The zero value parses in [Lenient] mode
// with the default decoder and limits; it is safe for concurrent use.
//
// Both modes accept the obsolete syntax of RFC 5322 section 4.4 (routes,
// comments and folding around dots, empty list entries, periods in display
// names) and RFC 6532 UTF-8. Lenient mode also repairs what real mail
// contains: a mailbox without a domain, a display name holding "@" or other
// specials before an angle address, encoded words inside quoted strings, a
// missing ">" or ";" at the end; an entry it still cannot read is skipped.
type AddressParser struct {
	// Mode is Lenient (the zero value) or Strict.
	Mode Mode
	// WordDecoder decodes RFC 2047 display names; nil means the default.
	WordDecoder *WordDecoder
	// MaxAddresses bounds the addresses in one list, group members
	// included; 0 means DefaultMaxAddresses.
	MaxAddresses int
}

// ParseAddress parses a single mailbox such as `"Joe Q. Public"
// <john.q.public@example.com>` strictly (RFC 5322 with obsolete syntax).
func ParseAddress(s string) (Address, error) {
	p := AddressParser{Mode: Strict}
	return p.Parse(s)
}

// ParseAddressList parses an address list (RFC 5322 section 3.4) strictly.
// Use [AddressParser] or [Header.AddressList] for lenient parsing.
func ParseAddressList(s string) ([]Address, error) {
	p := AddressParser{Mode: Strict}
	return p.ParseList(s)
}

// Parse parses a single mailbox (not a group).
func (ap *AddressParser) Parse(s string) (Address, error) {
	p := ap.newParser(s)
	p.skipCFWS()
	a, err := p.parseAddress(false)
	if err == nil {
		p.skipCFWS()
		if p.pos < len(p.s) {
			err = p.errorf("unexpected text after the address")
		}
	}
	if err != nil && p.err != nil {
		err = p.err // the comment error is the cause
	}
	if err != nil && !p.strict {
		if b, ok := p.repair(0, len(s)); ok {
			return b, nil
		}
	}
	if err != nil {
		return Address{}, err
	}
	return a, nil
}

// ParseList parses an address list, mailboxes and groups. An empty or blank
// list is an empty result, not an error.
func (ap *AddressParser) ParseList(s string) ([]Address, error) {
	p := ap.newParser(s)
	var list []Address
	for {
		if err := p.skipCFWS(); err != nil {
			if p.strict {
				return nil, err
			}
			break // lenient: an unterminated comment ends the list
		}
		if p.pos >= len(p.s) {
			break
		}
		if p.s[p.pos] == ',' { // obs-addr-list: empty entry
			p.pos++
			continue
		}
		start := p.pos
		p.err = nil
		a, err := p.parseAddress(true)
		if err == nil {
			p.skipCFWS()
			if p.pos < len(p.s) && p.s[p.pos] != ',' {
				err = p.errorf("expected \",\" between addresses")
			}
		}
		if err != nil {
			if p.strict {
				if p.err != nil {
					err = p.err
				}
				return nil, err
			}
			end := p.entryEnd(start)
			p.pos = end
			if bare := splitBareList(p.s[start:end]); bare != nil {
				if p.count += len(bare); p.count > p.max {
					return nil, &Error{Op: "parse address", Err: ErrTooLong, Offset: start, Msg: "too many addresses"}
				}
				list = append(list, bare...)
				continue
			}
			var ok bool
			if a, ok = p.repair(start, end); !ok {
				continue
			}
		}
		p.count += 1 + len(a.Members)
		if p.count > p.max {
			return nil, &Error{Op: "parse address", Err: ErrTooLong, Offset: start, Msg: "too many addresses"}
		}
		list = append(list, a)
	}
	return list, nil
}
