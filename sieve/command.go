package sieve

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/heraldmail/herald/message"
)

// command is a compiled command.
type command interface {
	exec(st *state) error
}

type ifCmd struct {
	conds  []test // nil for else
	blocks [][]command
}

func (c *ifCmd) exec(st *state) error {
	for i, cond := range c.conds {
		ok := true
		if cond != nil {
			var err error
			if ok, err = cond.eval(st); err != nil {
				return err
			}
		}
		if ok {
			return st.run(c.blocks[i])
		}
	}
	return nil
}

type stopCmd struct{}

func (stopCmd) exec(*state) error { return errStop }

type keepCmd struct {
	pos      position
	flags    []str
	hasFlags bool
}

func (c *keepCmd) exec(st *state) error {
	flags, err := st.actionFlags(c.flags, c.hasFlags)
	if err != nil {
		return err
	}
	st.implicitKeep = false
	return st.add(c.pos, Keep{Flags: flags})
}

func (st *state) actionFlags(list []str, has bool) ([]string, error) {
	if !has {
		return splitFlags(st.flags), nil
	}
	flags, err := st.expandList(list)
	if err != nil {
		return nil, err
	}
	return splitFlags(strings.Join(flags, " ")), nil
}

type discardCmd struct{ pos position }

func (c discardCmd) exec(st *state) error {
	st.implicitKeep = false
	return st.add(c.pos, Discard{})
}

type fileintoCmd struct {
	pos      position
	mailbox  str
	flags    []str
	hasFlags bool
	create   bool
	copy     bool
}

func (c *fileintoCmd) exec(st *state) error {
	name, err := st.expand(c.mailbox)
	if err != nil {
		return err
	}
	if err := ValidMailbox(name); err != nil {
		return runErr(c.pos, "fileinto: %v", err)
	}
	flags, err := st.actionFlags(c.flags, c.hasFlags)
	if err != nil {
		return err
	}
	if !c.copy {
		st.implicitKeep = false
	}
	return st.add(c.pos, FileInto{Mailbox: name, Flags: flags, Create: c.create, Copy: c.copy})
}

// ValidMailbox checks a mailbox name from a script, so that no script can
// make the caller write outside the user's mail store: it must be valid
// UTF-8 of at most 255 bytes without control characters or backslashes,
// must not start with '/' or '.', and no hierarchy level (between '/') may
// be empty, "." or ".." ("a..b" is refused too, as Maildir++ would read it
// as an empty level).
func ValidMailbox(name string) error {
	switch {
	case name == "":
		return errors.New("empty mailbox name")
	case len(name) > 255:
		return errors.New("mailbox name longer than 255 bytes")
	case !utf8.ValidString(name):
		return errors.New("mailbox name is not valid UTF-8")
	case name[0] == '/' || name[0] == '.':
		return errors.New("mailbox name " + quote(name) + " starts with '/' or '.'")
	case strings.Contains(name, ".."):
		return errors.New("mailbox name " + quote(name) + " contains \"..\"")
	case strings.ContainsRune(name, '\\'):
		return errors.New("mailbox name " + quote(name) + " contains a backslash")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return errors.New("mailbox name " + quote(name) + " contains a control character")
		}
	}
	for _, level := range strings.Split(name, "/") {
		if level == "" || level == "." {
			return errors.New("mailbox name " + quote(name) + " has an empty level")
		}
	}
	return nil
}

type redirectCmd struct {
	pos  position
	addr str
	copy bool
}

func (c *redirectCmd) exec(st *state) error {
	addr, err := st.expand(c.addr)
	if err != nil {
		return err
	}
	spec, ok := redirectAddress(addr)
	if !ok {
		return runErr(c.pos, "redirect: invalid address %q", addr)
	}
	if st.redirects >= st.lim.maxRedirects() {
		return errAt(c.pos, ErrLimit, "more than %d redirects", st.lim.maxRedirects())
	}
	n := len(st.actions)
	if err := st.add(c.pos, Redirect{Address: spec, Copy: c.copy}); err != nil {
		return err
	}
	if len(st.actions) > n {
		st.redirects++
	}
	if !c.copy {
		st.implicitKeep = false
	}
	return nil
}

// redirectAddress checks a redirect address (RFC 5228 section 4.2) and
// returns its addr-spec.
func redirectAddress(s string) (string, bool) {
	a, err := message.ParseAddress(strings.TrimSpace(s))
	if err != nil || a.Group || !strings.Contains(a.Addr, "@") || a.Domain() == "" || a.LocalPart() == "" {
		return "", false
	}
	for _, r := range a.Addr {
		if r < 0x21 || r == 0x7f {
			return "", false
		}
	}
	return a.Addr, true
}

type flagOp uint8

const (
	flagSet flagOp = iota
	flagAdd
	flagRemove
)

type flagCmd struct {
	op    flagOp
	pos   position
	name  string // a variable, "" for the internal one
	flags []str
}

func (c *flagCmd) exec(st *state) error {
	list, err := st.expandList(c.flags)
	if err != nil {
		return err
	}
	arg := splitFlags(strings.Join(list, " "))
	cur := st.flags
	if c.name != "" {
		cur = st.vars[strings.ToLower(c.name)]
	}
	var out []string
	switch c.op {
	case flagSet:
		out = arg
	case flagAdd:
		out = splitFlags(cur + " " + strings.Join(arg, " "))
	case flagRemove:
		for _, f := range splitFlags(cur) {
			drop := false
			for _, r := range arg {
				if strings.EqualFold(f, r) {
					drop = true
				}
			}
			if !drop {
				out = append(out, f)
			}
		}
	}
	v := strings.Join(out, " ")
	if c.name == "" {
		st.flags = truncate(v, st.lim.maxVariableBytes())
		return nil
	}
	return st.setVar(c.pos, c.name, v)
}

// splitFlags splits a flag list at white space and drops duplicates,
// which compare without case (RFC 5232 section 3).
func splitFlags(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, f) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

type setCmd struct {
	pos   position
	name  string
	value str
	mods  []string // in the order they apply
}

func (c *setCmd) exec(st *state) error {
	v, err := st.expand(c.value)
	if err != nil {
		return err
	}
	for _, m := range c.mods {
		v = applyModifier(m, v)
	}
	return st.setVar(c.pos, c.name, v)
}

// modifierPrecedence orders the modifiers of set (RFC 5229 section 4.1):
// higher values apply first.
var modifierPrecedence = map[string]int{
	"lower": 40, "upper": 40,
	"lowerfirst": 30, "upperfirst": 30,
	"quotewildcard": 20,
	"length":        10,
}

func applyModifier(m, v string) string {
	switch m {
	case "lower":
		return strings.ToLower(v)
	case "upper":
		return strings.ToUpper(v)
	case "lowerfirst", "upperfirst":
		r, n := utf8.DecodeRuneInString(v)
		if n == 0 {
			return v
		}
		if m == "lowerfirst" {
			return string(unicode.ToLower(r)) + v[n:]
		}
		return string(unicode.ToUpper(r)) + v[n:]
	case "quotewildcard":
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '*' || v[i] == '?' || v[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		}
		return b.String()
	case "length":
		return itoa(utf8.RuneCountInString(v))
	}
	return v
}

type rejectCmd struct {
	pos      position
	reason   str
	extended bool
}

func (c *rejectCmd) exec(st *state) error {
	r, err := st.expand(c.reason)
	if err != nil {
		return err
	}
	st.implicitKeep = false
	return st.add(c.pos, Reject{Reason: r, Extended: c.extended})
}

func (c *compiler) command(rc *rawCmd) (command, *Error) {
	if err := noTests(rc); err != nil {
		return nil, err
	}
	switch rc.name {
	case "stop":
		if err := positional("command", rc.name, rc.pos, rc.args); err != nil {
			return nil, err
		}
		return stopCmd{}, nil
	case "discard":
		if err := positional("command", rc.name, rc.pos, rc.args); err != nil {
			return nil, err
		}
		return discardCmd{rc.pos}, nil
	case "keep":
		spec := map[string]tagSpec{"flags": {ext: "imap4flags", arg: tagStrings}}
		tags, args, err := c.split("command", rc.name, rc.args, spec)
		if err != nil {
			return nil, err
		}
		if err := positional("command", rc.name, rc.pos, args); err != nil {
			return nil, err
		}
		k := &keepCmd{pos: rc.pos}
		if t, ok := tags["flags"]; ok {
			k.flags, k.hasFlags = c.strs(t.arg), true
		}
		return k, nil
	case "fileinto":
		if err := c.need("fileinto", rc.pos, "command", rc.name); err != nil {
			return nil, err
		}
		spec := map[string]tagSpec{
			"flags":  {ext: "imap4flags", arg: tagStrings},
			"copy":   {ext: "copy"},
			"create": {ext: "mailbox"},
		}
		tags, args, err := c.split("command", rc.name, rc.args, spec)
		if err != nil {
			return nil, err
		}
		if err := positional("command", rc.name, rc.pos, args, argTag); err != nil {
			return nil, err
		}
		f := &fileintoCmd{pos: rc.pos, mailbox: c.str(args[0], 0)}
		if !f.mailbox.v {
			if err := ValidMailbox(f.mailbox.s); err != nil {
				return nil, errAt(args[0].pos, ErrSyntax, "fileinto: %v", err)
			}
		}
		if t, ok := tags["flags"]; ok {
			f.flags, f.hasFlags = c.strs(t.arg), true
		}
		_, f.copy = tags["copy"]
		_, f.create = tags["create"]
		return f, nil
	case "redirect":
		tags, args, err := c.split("command", rc.name, rc.args, map[string]tagSpec{"copy": {ext: "copy"}})
		if err != nil {
			return nil, err
		}
		if err := positional("command", rc.name, rc.pos, args, argTag); err != nil {
			return nil, err
		}
		r := &redirectCmd{pos: rc.pos, addr: c.str(args[0], 0)}
		if !r.addr.v {
			if _, ok := redirectAddress(r.addr.s); !ok {
				return nil, errAt(args[0].pos, ErrSyntax, "redirect: invalid address %q", r.addr.s)
			}
		}
		_, r.copy = tags["copy"]
		return r, nil
	case "setflag", "addflag", "removeflag":
		if err := c.need("imap4flags", rc.pos, "command", rc.name); err != nil {
			return nil, err
		}
		f := &flagCmd{pos: rc.pos, op: map[string]flagOp{"setflag": flagSet, "addflag": flagAdd, "removeflag": flagRemove}[rc.name]}
		args := rc.args
		if len(args) == 2 {
			if err := c.need("variables", args[0].pos, "argument", "variable name"); err != nil {
				return nil, err
			}
			if err := positional("command", rc.name, rc.pos, args, argTag, argStrings); err != nil {
				return nil, err
			}
			if !validIdentifier(args[0].strs[0]) {
				return nil, errAt(args[0].pos, ErrSyntax, "invalid variable name %q", args[0].strs[0])
			}
			f.name = args[0].strs[0]
			args = args[1:]
		}
		if err := positional("command", rc.name, rc.pos, args, argStrings); err != nil {
			return nil, err
		}
		f.flags = c.strs(args[0])
		return f, nil
	case "set":
		if err := c.need("variables", rc.pos, "command", rc.name); err != nil {
			return nil, err
		}
		spec := map[string]tagSpec{}
		for m := range modifierPrecedence {
			spec[m] = tagSpec{}
		}
		tags, args, err := c.split("command", rc.name, rc.args, spec)
		if err != nil {
			return nil, err
		}
		if err := positional("command", rc.name, rc.pos, args, argTag, argTag); err != nil {
			return nil, err
		}
		s := &setCmd{pos: rc.pos, name: args[0].strs[0], value: c.str(args[1], 0)}
		if !validIdentifier(s.name) {
			return nil, errAt(args[0].pos, ErrSyntax, "invalid variable name %q", s.name)
		}
		seen := map[int]string{}
		for _, m := range rc.args {
			if m.kind != argTag {
				continue
			}
			p := modifierPrecedence[m.tag]
			if prev, dup := seen[p]; dup {
				return nil, errAt(m.pos, ErrSyntax, "modifiers :%s and :%s have the same precedence", prev, m.tag)
			}
			seen[p] = m.tag
		}
		for _, p := range []int{40, 30, 20, 10} {
			if m, ok := seen[p]; ok {
				if _, ok := tags[m]; ok {
					s.mods = append(s.mods, m)
				}
			}
		}
		return s, nil
	case "reject", "ereject":
		if err := c.need(rc.name, rc.pos, "command", rc.name); err != nil {
			return nil, err
		}
		if err := positional("command", rc.name, rc.pos, rc.args, argTag); err != nil {
			return nil, err
		}
		return &rejectCmd{pos: rc.pos, reason: c.str(rc.args[0], 0), extended: rc.name == "ereject"}, nil
	case "vacation":
		return c.vacation(rc)
	case "addheader", "deleteheader":
		return c.editheader(rc)
	case "if", "elsif", "else", "require":
		return nil, errAt(rc.pos, ErrSyntax, "misplaced %s", rc.name)
	}
	return nil, errAt(rc.pos, ErrSyntax, "unknown command %q", rc.name)
}
