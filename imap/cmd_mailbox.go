package imap

import (
	"slices"
	"strconv"
	"strings"
)

func (c *conn) cmdCreate(cmd *command) error {
	name, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	name = strings.TrimSuffix(name, "/")
	if name == "INBOX" {
		return &Error{Type: StatusNo, Code: CodeAlreadyExists, Text: "INBOX always exists"}
	}
	if err := validName(name); err != nil {
		return err
	}
	for _, a := range cmd.specialUse {
		if !isSpecialUse(a) {
			return &Error{Type: StatusNo, Code: CodeUseAttr, Text: "Unsupported special-use attribute"}
		}
	}
	return c.user.Create(c.ctx, name, cmd.specialUse)
}

// validName refuses empty names, empty hierarchy levels and control
// characters.
func validName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "//") {
		return &Error{Type: StatusNo, Code: CodeCannot, Text: "Invalid mailbox name"}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return &Error{Type: StatusNo, Code: CodeCannot, Text: "Invalid mailbox name"}
		}
	}
	return nil
}

func (c *conn) cmdDelete(cmd *command) error {
	name, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return &Error{Type: StatusNo, Code: CodeCannot, Text: "INBOX cannot be deleted"}
	}
	return c.user.Delete(c.ctx, name)
}

func (c *conn) cmdRename(cmd *command) error {
	from, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	to, err := c.mailboxIn(cmd.mailbox2)
	if err != nil {
		return err
	}
	to = strings.TrimSuffix(to, "/")
	if err := validName(to); err != nil {
		return err
	}
	if to == "INBOX" {
		return &Error{Type: StatusNo, Code: CodeAlreadyExists, Text: "INBOX always exists"}
	}
	return c.user.Rename(c.ctx, from, to)
}

func (c *conn) cmdSubscribe(cmd *command) error {
	name, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	return c.user.SetSubscribed(c.ctx, name, cmd.name == "SUBSCRIBE")
}

// match reports whether name matches a LIST pattern: "*" matches any
// characters, "%" any but the delimiter. It runs in O(len(pattern) *
// len(name)).
func match(pattern, name string) bool {
	// prev[j]: pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		p := pattern[i]
		cur[0] = prev[0] && (p == '*' || p == '%')
		for j := 1; j <= len(name); j++ {
			switch p {
			case '*':
				cur[j] = prev[j] || cur[j-1]
			case '%':
				cur[j] = prev[j] || (cur[j-1] && name[j-1] != Delimiter)
			default:
				cur[j] = prev[j-1] && name[j-1] == p
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}

func (c *conn) cmdList(cmd *command) error {
	ref, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	lsub := cmd.name == "LSUB"
	if len(cmd.listPattern) == 1 && cmd.listPattern[0] == "" && !lsub {
		// The delimiter and root of the reference (RFC 9051 section
		// 6.3.9).
		c.untagged(`LIST (\Noselect) "/" ""`)
		return nil
	}
	recursive := slices.Contains(cmd.listSelect, "RECURSIVEMATCH")
	if recursive && !slices.ContainsFunc(cmd.listSelect, func(o string) bool { return o != "RECURSIVEMATCH" && o != "REMOTE" }) {
		// RFC 5258 section 3.
		return &Error{Type: StatusBad, Text: "RECURSIVEMATCH needs another selection option"}
	}
	var patterns []string
	for _, p := range cmd.listPattern {
		p, err := c.mailboxIn(p)
		if err != nil {
			continue // matches no name, as Dovecot answers
		}
		if p == "" {
			continue
		}
		full := ref + p
		if strings.HasPrefix(p, "/") || ref == "" {
			full = p
		}
		if len(full) >= 5 && strings.EqualFold(full[:5], "INBOX") && (len(full) == 5 || full[5] == '/') {
			full = "INBOX" + full[5:]
		}
		patterns = append(patterns, full)
	}
	matches := func(n string) bool {
		for _, p := range patterns {
			if match(p, n) {
				return true
			}
		}
		return false
	}
	subscribedOnly := lsub || slices.Contains(cmd.listSelect, "SUBSCRIBED")
	specialOnly := slices.Contains(cmd.listSelect, "SPECIAL-USE")
	extended := subscribedOnly || specialOnly // a selection applies
	showSub := subscribedOnly || slices.Contains(cmd.listReturn, "SUBSCRIBED")
	all, err := c.user.List(c.ctx)
	if err != nil {
		return err
	}
	// byName holds the mailboxes and, with AttrNonExistent, the
	// subscribed names that do not exist.
	byName := map[string]*MailboxInfo{}
	for i := range all {
		byName[all[i].Name] = &all[i]
	}
	exists := func(info *MailboxInfo) bool { return info != nil && !slices.Contains(info.Attributes, AttrNonExistent) }
	// Every existing name, with parents implied by deeper names; with a
	// selection, the subscribed names that do not exist and their
	// parents too.
	var names []string
	seen := map[string]bool{}
	real := map[string]bool{} // a mailbox or the parent of one
	for _, m := range all {
		ok := exists(&m)
		if !ok && !extended {
			continue
		}
		for n := m.Name; n != ""; {
			if ok {
				real[n] = true
			}
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
			i := strings.LastIndexByte(n, Delimiter)
			if i < 0 {
				break
			}
			n = n[:i]
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if a == "INBOX" {
			return -1
		}
		if b == "INBOX" {
			return 1
		}
		return strings.Compare(a, b)
	})
	hasChildren := func(n string) bool {
		for _, o := range names {
			if real[o] && len(o) > len(n) && strings.HasPrefix(o, n) && o[len(n)] == Delimiter {
				return true
			}
		}
		return false
	}
	// selected reports whether a name meets the selection options.
	selected := func(n string) bool {
		info := byName[n]
		if info == nil {
			return false
		}
		if subscribedOnly && !info.Subscribed {
			return false
		}
		if specialOnly && (!exists(info) || !slices.ContainsFunc(info.Attributes, isSpecialUse)) {
			return false
		}
		return true
	}
	// hiddenMatch reports whether a descendant of n meets the selection
	// but is not listed itself, as the pattern does not match it: the
	// parent is then listed with CHILDINFO (RFC 5258 section 3.5), or
	// for LSUB with \Noselect (RFC 3501 section 6.3.9).
	hiddenMatch := func(n string) bool {
		for _, o := range names {
			if len(o) > len(n) && strings.HasPrefix(o, n) && o[len(n)] == Delimiter && selected(o) && !matches(o) {
				return true
			}
		}
		return false
	}
	for _, n := range names {
		if !matches(n) {
			continue
		}
		info := byName[n]
		var attrs []MailboxAttr
		childInfo := false
		switch {
		case !extended:
			if info == nil {
				attrs = append(attrs, AttrNoSelect)
			} else {
				attrs = append(attrs, info.Attributes...)
			}
		case selected(n):
			attrs = append(attrs, info.Attributes...)
			if !exists(info) && !lsub {
				attrs = append(attrs[:0], AttrNonExistent)
			} else if !exists(info) {
				attrs = append(attrs[:0], AttrNoSelect)
			}
			childInfo = recursive && hiddenMatch(n)
		case lsub && hiddenMatch(n):
			attrs = append(attrs, AttrNoSelect)
		case recursive && hiddenMatch(n):
			childInfo = true
			if exists(info) {
				attrs = append(attrs, info.Attributes...)
			} else {
				attrs = append(attrs, AttrNonExistent)
			}
		default:
			continue
		}
		if showSub && info != nil && info.Subscribed {
			attrs = append(attrs, AttrSubscribed)
		}
		if !slices.Contains(attrs, AttrNoInferiors) {
			if hasChildren(n) {
				attrs = append(attrs, AttrHasChildren)
			} else if real[n] {
				attrs = append(attrs, AttrHasNoChildren)
			}
		}
		b := []byte(cmd.name)
		b = append(b, " ("...)
		for i, a := range attrs {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, a...)
		}
		b = append(b, `) "/" `...)
		b = appendString(b, c.mailboxOut(n), c.utf8)
		if childInfo {
			b = append(b, ` ("CHILDINFO" (`...)
			first := true
			for _, o := range cmd.listSelect {
				if o == "SUBSCRIBED" || o == "SPECIAL-USE" {
					if !first {
						b = append(b, ' ')
					}
					first = false
					b = append(b, '"')
					b = append(b, o...)
					b = append(b, '"')
				}
			}
			b = append(b, "))"...)
		}
		c.untagged(string(b))
		if exists(info) && slices.Contains(cmd.listReturn, "STATUS") && !slices.Contains(attrs, AttrNoSelect) {
			if err := c.writeStatus(n, cmd.statusItems); err != nil {
				c.srv.logger().Warn("imap: LIST STATUS failed", "mailbox", n, "err", err)
			}
		}
	}
	return nil
}

func (c *conn) cmdStatus(cmd *command) error {
	name, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	return c.writeStatus(name, cmd.statusItems)
}

func (c *conn) writeStatus(name string, items []string) error {
	for _, it := range items {
		switch it {
		case "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE", "DELETED", "RECENT":
		case "HIGHESTMODSEQ":
			c.enableCondstore()
		default:
			return &Error{Type: StatusBad, Text: "Unknown STATUS item"}
		}
	}
	st, err := c.user.Status(c.ctx, name)
	if err != nil {
		return err
	}
	b := []byte("STATUS ")
	b = appendString(b, c.mailboxOut(name), c.utf8)
	b = append(b, " ("...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, it...)
		b = append(b, ' ')
		switch it {
		case "MESSAGES":
			b = strconv.AppendUint(b, uint64(st.Messages), 10)
		case "UIDNEXT":
			b = strconv.AppendUint(b, uint64(st.UIDNext), 10)
		case "UIDVALIDITY":
			b = strconv.AppendUint(b, uint64(st.UIDValidity), 10)
		case "UNSEEN":
			b = strconv.AppendUint(b, uint64(st.Unseen), 10)
		case "SIZE":
			b = strconv.AppendInt(b, st.Size, 10)
		case "DELETED":
			b = strconv.AppendUint(b, uint64(st.Deleted), 10)
		case "RECENT":
			b = append(b, '0')
		case "HIGHESTMODSEQ":
			b = strconv.AppendUint(b, st.HighestModSeq, 10)
		}
	}
	b = append(b, ')')
	c.untagged(string(b))
	return nil
}

func (c *conn) cmdAppend(cmd *command) error {
	name, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	res, err := c.user.Append(c.ctx, name, cmd.literal, cmd.literalLen, AppendOptions{Flags: cmd.flags, InternalDate: cmd.date})
	if err != nil {
		return err
	}
	if res.UID != 0 {
		c.okCode = "APPENDUID " + strconv.FormatUint(uint64(res.UIDValidity), 10) + " " + strconv.FormatUint(uint64(res.UID), 10)
	}
	return c.appendRest(cmd, name, res)
}
