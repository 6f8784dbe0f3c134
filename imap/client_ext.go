package imap

import (
	"context"
	"strings"
)

// Sort runs SORT (UID SORT with uid, RFC 5256) with criteria such as
// "REVERSE DATE SUBJECT" (without parentheses), charset "UTF-8" or
// "US-ASCII" (empty means UTF-8) and search in IMAP syntax (empty means
// ALL), and returns the numbers in the sort order. A server without SORT
// answers with an [*Error].
func (c *Client) Sort(ctx context.Context, criteria, charset, search string, uid bool) ([]uint32, error) {
	if charset == "" {
		charset = "UTF-8"
	}
	if search == "" {
		search = "ALL"
	}
	if strings.ContainsAny(criteria+charset+search, "\r\n") {
		return nil, &Error{Type: StatusBad, Text: "SORT argument with a line break"}
	}
	out := []uint32{}
	_, err := c.do(ctx, uidPrefix(uid, "SORT"), []arg{rawArg("(" + criteria + ")"), strArg(charset), rawArg(search)}, func(r *response) error {
		if r.name != "SORT" {
			return nil
		}
		for _, f := range r.fields {
			if n, ok := f.Number(); ok {
				out = append(out, uint32(n))
			}
		}
		return nil
	})
	return out, err
}

// ID sends the client's identification (RFC 2971; nil sends NIL) and
// returns the server's, nil when it answers NIL. Field names are
// returned as the server wrote them.
func (c *Client) ID(ctx context.Context, fields map[string]string) (map[string]string, error) {
	var list string
	if fields == nil {
		list = "NIL"
	} else {
		var b []byte
		b = append(b, '(')
		first := true
		for k, v := range fields {
			if !first {
				b = append(b, ' ')
			}
			first = false
			b = appendString(b, k, false)
			b = append(b, ' ')
			b = appendString(b, v, false)
		}
		list = string(append(b, ')'))
	}
	if strings.ContainsAny(list, "\r\n") {
		return nil, &Error{Type: StatusBad, Text: "ID field that cannot be quoted"}
	}
	var out map[string]string
	_, err := c.do(ctx, "ID", []arg{rawArg(list)}, func(r *response) error {
		if r.name != "ID" || len(r.fields) == 0 || !r.fields[0].IsList {
			return nil
		}
		out = map[string]string{}
		l := r.fields[0].List
		for i := 0; i+1 < len(l); i += 2 {
			out[l[i].String()] = l[i+1].String()
		}
		return nil
	})
	return out, err
}
