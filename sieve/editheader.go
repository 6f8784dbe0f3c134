package sieve

import (
	"bytes"
	"strings"

	"github.com/heraldmail/herald/message"
)

// protectedFields may not be deleted (RFC 5293 section 6: Received and
// Auto-Submitted carry the trace and loop information of the message).
var protectedFields = map[string]bool{"received": true, "auto-submitted": true}

type addheaderCmd struct {
	pos   position
	name  str
	value str
	last  bool
}

type deleteheaderCmd struct {
	pos      position
	m        matcher
	index    index
	name     str
	patterns []str // nil: every field of that name
}

func (c *compiler) editheader(rc *rawCmd) (command, *Error) {
	if err := c.need("editheader", rc.pos, "command", rc.name); err != nil {
		return nil, err
	}
	if rc.name == "addheader" {
		tags, args, err := c.split("command", rc.name, rc.args, map[string]tagSpec{"last": {}})
		if err != nil {
			return nil, err
		}
		if err := positional("command", rc.name, rc.pos, args, argTag, argTag); err != nil {
			return nil, err
		}
		a := &addheaderCmd{pos: rc.pos, name: c.str(args[0], 0), value: c.str(args[1], 0)}
		if !a.name.v && !validFieldName(a.name.s) {
			return nil, errAt(args[0].pos, ErrSyntax, "addheader: invalid header field name %q", a.name.s)
		}
		_, a.last = tags["last"]
		return a, nil
	}
	spec := tagSet(comparatorTags, matchTags, map[string]tagSpec{
		"index": {arg: tagNumber, group: "index"},
		"last":  {group: "last"},
	})
	tags, args, err := c.split("command", rc.name, rc.args, spec)
	if err != nil {
		return nil, err
	}
	d := &deleteheaderCmd{pos: rc.pos}
	if len(args) == 2 {
		if err := positional("command", rc.name, rc.pos, args, argTag, argStrings); err != nil {
			return nil, err
		}
		d.patterns = c.strs(args[1])
	} else if err := positional("command", rc.name, rc.pos, args, argTag); err != nil {
		return nil, err
	}
	d.name = c.str(args[0], 0)
	if !d.name.v && !validFieldName(d.name.s) {
		return nil, errAt(args[0].pos, ErrSyntax, "deleteheader: invalid header field name %q", d.name.s)
	}
	if d.m, err = c.matcher(tags); err != nil {
		return nil, err
	}
	if d.index, err = c.index(tags); err != nil {
		return nil, err
	}
	return d, nil
}

// editable returns the header to change, copied from the message's on the
// first edit.
func (st *state) editable() *message.Header {
	if !st.edited {
		st.header = st.header.Clone()
		st.edited = true
	}
	return st.header
}

func (c *addheaderCmd) exec(st *state) error {
	name, err := st.expand(c.name)
	if err != nil {
		return err
	}
	value, err := st.expand(c.value)
	if err != nil {
		return err
	}
	if !validFieldName(name) {
		return runErr(c.pos, "addheader: invalid header field name %q", name)
	}
	// RFC 5293 section 4: non-ASCII text goes in as RFC 2047 words.
	value = message.EncodeWord(value)
	h := st.editable()
	if c.last {
		h.Add(name, value)
	} else {
		h.Prepend(name, value)
	}
	return nil
}

func (c *deleteheaderCmd) exec(st *state) error {
	name, err := st.expand(c.name)
	if err != nil {
		return err
	}
	patterns, err := st.expandList(c.patterns)
	if err != nil {
		return err
	}
	if !validFieldName(name) {
		return runErr(c.pos, "deleteheader: invalid header field name %q", name)
	}
	if protectedFields[strings.ToLower(name)] {
		return nil // refused silently, as RFC 5293 section 6 allows
	}
	// Choose the fields to drop by their position among those named name.
	var positions []int
	for i, f := range st.header.All() {
		if strings.EqualFold(f.Name(), name) {
			positions = append(positions, i)
		}
	}
	if len(positions) == 0 {
		return nil
	}
	if c.index.n > 0 {
		if c.index.n > len(positions) {
			return nil
		}
		k := c.index.n - 1
		if c.index.last {
			k = len(positions) - c.index.n
		}
		positions = positions[k : k+1]
	}
	drop := map[int]bool{}
	for _, i := range positions {
		if c.patterns != nil {
			v, _ := st.header.Field(i).Text()
			ok, err := st.matchValues(c.m, []string{v}, patterns)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		drop[i] = true
	}
	if len(drop) == 0 {
		return nil
	}
	// Rebuild the header from the raw bytes of the fields kept, so that
	// they stay byte for byte what they were (a DKIM signature over them
	// stays valid).
	var b bytes.Buffer
	var added []message.Field
	for i, f := range st.header.All() {
		if drop[i] {
			continue
		}
		raw := f.Raw()
		if !strings.HasSuffix(raw, "\n") {
			raw += "\r\n"
		}
		b.WriteString(raw)
		added = append(added, f)
	}
	b.WriteString("\r\n")
	h, _, err := message.ReadHeader(&b, &message.ReadOptions{MaxHeaderBytes: 1 << 30, MaxFields: 1 << 30, MaxLineLength: 1 << 30})
	if err != nil || h.Len() != len(added) {
		// Should not happen: fall back to fields added anew.
		h = &message.Header{}
		for _, f := range added {
			h.Add(f.Name(), f.Value())
		}
	}
	st.header = h
	st.edited = true
	return nil
}
