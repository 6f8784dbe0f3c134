package imap

import (
	"slices"
	"strings"
	"time"
)

// searchKey is a node of a search criteria tree (RFC 9051 section 6.4.4).
// An "AND" node holds the keys of a parenthesised list or of the whole
// command; "OR" holds two, "NOT" one.
type searchKey struct {
	op    string // upper-case key name, or "AND", "SEQ"
	str   string // string argument; header field name for HEADER in field
	field string
	date  time.Time
	n     int64
	set   SeqSet
	sub   []*searchKey
}

func (d *decoder) searchArgs(cmd *command) error {
	if err := d.sp(); err != nil {
		return err
	}
	root := &searchKey{op: "AND"}
	opts := true // RETURN and CHARSET may open the criteria
	for {
		var pre string
		if c, err := d.peek(); err != nil {
			return err
		} else if c != '(' && c != '*' && c != '$' && (c < '0' || c > '9') {
			a, err := d.atom()
			if err != nil {
				return err
			}
			pre = strings.ToUpper(a)
		}
		if opts && pre == "RETURN" && !cmd.esearch && len(root.sub) == 0 {
			if err := d.searchReturn(cmd); err != nil {
				return err
			}
			if err := d.sp(); err != nil {
				return err
			}
			continue
		}
		if opts && pre == "CHARSET" && len(root.sub) == 0 {
			opts = false
			if err := d.sp(); err != nil {
				return err
			}
			cs, err := d.astring()
			if err != nil {
				return err
			}
			switch strings.ToUpper(cs) {
			case "UTF-8", "US-ASCII":
			default:
				return &Error{Type: StatusNo, Code: CodeBadCharset, Text: "Only UTF-8 and US-ASCII are supported"}
			}
			if err := d.sp(); err != nil {
				return err
			}
			continue
		}
		opts = false
		k, err := d.searchKey(0, pre)
		if err != nil {
			return err
		}
		root.sub = append(root.sub, k)
		if c, _ := d.peek(); c != ' ' {
			break
		}
		d.readByte()
	}
	cmd.search = root
	return nil
}

// searchReturn reads the list after RETURN (RFC 4731, RFC 9051 section
// 6.4.4) with the options of CONTEXT=SEARCH (RFC 5267 section 4: UPDATE,
// CONTEXT, PARTIAL) and PARTIAL's negative ranges (RFC 9394). Like
// Dovecot, it refuses an option given twice among UPDATE and PARTIAL,
// and PARTIAL with ALL.
func (d *decoder) searchReturn(cmd *command) error {
	cmd.esearch = true
	if err := d.sp(); err != nil {
		return err
	}
	err := d.list(func() error {
		a, err := d.atom()
		a = strings.ToUpper(a)
		switch a {
		case "MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT":
		case "UPDATE":
			if err == nil && slices.Contains(cmd.searchRet, a) {
				err = syntaxErr("UPDATE given twice")
			}
		case "PARTIAL":
			if err == nil && cmd.partial != nil {
				err = syntaxErr("PARTIAL given twice")
			}
			if err == nil {
				err = d.sp()
			}
			var s string
			if err == nil {
				s, err = d.atom()
			}
			if err == nil {
				var r partialRange
				r, err = parsePartialRange(s)
				cmd.partial = &r
			}
		default:
			if err == nil {
				err = syntaxErr("Unknown SEARCH return option")
			}
		}
		cmd.searchRet = append(cmd.searchRet, a)
		return err
	})
	if err == nil && cmd.partial != nil && slices.Contains(cmd.searchRet, "ALL") {
		err = syntaxErr("PARTIAL conflicts with ALL")
	}
	return err
}

// searchKey reads one search key; pre is its name when the caller has
// read it already.
func (d *decoder) searchKey(depth int, pre string) (*searchKey, error) {
	if depth > d.lim.depth {
		return nil, limitErr("Search criteria nested too deep")
	}
	if err := d.countItem(); err != nil {
		return nil, err
	}
	var c byte
	if pre == "" {
		var err error
		if c, err = d.peek(); err != nil {
			return nil, err
		}
	}
	switch {
	case pre != "":
	case c == '(':
		k := &searchKey{op: "AND"}
		err := d.list(func() error {
			s, err := d.searchKey(depth+1, "")
			if s != nil {
				k.sub = append(k.sub, s)
			}
			return err
		})
		if err == nil && len(k.sub) == 0 {
			err = syntaxErr("Empty search list")
		}
		return k, err
	case c == '*' || c == '$' || ('0' <= c && c <= '9'):
		uid := d.uidSet
		d.uidSet = false
		set, err := d.seqSet()
		d.uidSet = uid
		return &searchKey{op: "SEQ", set: set}, err
	}
	if pre == "" {
		a, err := d.atom()
		if err != nil {
			return nil, err
		}
		pre = strings.ToUpper(a)
	}
	k := &searchKey{op: pre}
	var err error
	switch k.op {
	case "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN", "SAVEDATESUPPORTED",
		"UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		return k, nil
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		if err := d.sp(); err != nil {
			return nil, err
		}
		k.str, err = d.astring()
		return k, err
	case "KEYWORD", "UNKEYWORD":
		if err := d.sp(); err != nil {
			return nil, err
		}
		f, err := d.flag(false)
		k.str = string(f)
		return k, err
	case "HEADER":
		if err := d.sp(); err != nil {
			return nil, err
		}
		if k.field, err = d.astring(); err != nil {
			return nil, err
		}
		if err := d.sp(); err != nil {
			return nil, err
		}
		k.str, err = d.astring()
		return k, err
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		if err := d.sp(); err != nil {
			return nil, err
		}
		k.date, err = d.date()
		return k, err
	case "LARGER", "SMALLER":
		if err := d.sp(); err != nil {
			return nil, err
		}
		k.n, err = d.number64()
		return k, err
	case "OLDER", "YOUNGER":
		// WITHIN (RFC 5032): an interval in seconds.
		if err := d.sp(); err != nil {
			return nil, err
		}
		n, err := d.nzNumber()
		k.n = int64(n)
		return k, err
	case "MODSEQ":
		return k, d.searchModSeq(k)
	case "UID":
		if err := d.sp(); err != nil {
			return nil, err
		}
		uid := d.uidSet
		d.uidSet = true
		k.set, err = d.seqSet()
		d.uidSet = uid
		return k, err
	case "NOT":
		if err := d.sp(); err != nil {
			return nil, err
		}
		s, err := d.searchKey(depth+1, "")
		k.sub = []*searchKey{s}
		return k, err
	case "OR":
		for range 2 {
			if err := d.sp(); err != nil {
				return nil, err
			}
			s, err := d.searchKey(depth+1, "")
			if err != nil {
				return nil, err
			}
			k.sub = append(k.sub, s)
		}
		return k, nil
	}
	return nil, syntaxErr("Unknown search key")
}
