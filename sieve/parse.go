package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Options configures [Parse]. The zero value (or nil) enables every
// extension of [Extensions] with the default [Limits].
type Options struct {
	// Extensions, if not nil, is the set of capability strings scripts
	// may require (a subset of [Extensions]); requiring another one is an
	// error, as RFC 5228 section 3.2 asks.
	Extensions []string
	// Limits bounds the script and its runs.
	Limits Limits
}

// Script is a parsed and checked script, ready to [Run]. It is immutable
// and safe for concurrent use.
type Script struct {
	cmds     []command
	required map[string]bool
	limits   Limits
}

// Requires reports whether the script requires capability ext.
func (s *Script) Requires(ext string) bool { return s.required[ext] }

// Parse parses a script and checks every command, test, tag and argument
// against the extensions it requires, so that a script that parses runs
// without syntax surprises. The error is an *Error with the line and column
// of the problem, such as
//
//	sieve: line 3, column 7: unknown test "hedaer"
//
// which a ManageSieve server returns for PUTSCRIPT and CHECKSCRIPT.
func Parse(script []byte, opts *Options) (*Script, error) {
	if opts == nil {
		opts = &Options{}
	}
	if len(script) > opts.Limits.maxScriptBytes() {
		return nil, &Error{Msg: "script larger than " + strconv.Itoa(opts.Limits.maxScriptBytes()) + " bytes", Err: ErrLimit}
	}
	p := &parser{lex: newLexer(string(script)), limit: opts.Limits}
	if err := p.advance(); err != nil {
		return nil, err
	}
	raw, err := p.commands(false)
	if err != nil {
		return nil, err
	}
	c := &compiler{enabled: map[string]bool{}, required: map[string]bool{}, limits: opts.Limits}
	if opts.Extensions == nil {
		for name := range extensions {
			c.enabled[name] = true
		}
	} else {
		for _, name := range opts.Extensions {
			if _, ok := extensions[name]; ok {
				c.enabled[name] = true
			}
		}
	}
	cmds, cerr := c.block(raw, true)
	if cerr == nil {
		cerr = c.err
	}
	if cerr != nil {
		return nil, cerr
	}
	return &Script{cmds: cmds, required: c.required, limits: opts.Limits}, nil
}

type compiler struct {
	enabled  map[string]bool
	required map[string]bool
	limits   Limits
	err      *Error // the first error found in a string, reported after the rest
}

// tagArg says what follows a tag.
type tagArg uint8

const (
	tagNone tagArg = iota
	tagString
	tagStrings
	tagNumber
)

type tagSpec struct {
	ext   string // required extension, "" for the base language
	arg   tagArg
	group string // tags of one group exclude each other
}

type tagVal struct {
	name string
	pos  position
	arg  rawArg
}

var (
	comparatorTags = map[string]tagSpec{"comparator": {arg: tagString, group: "comparator"}}
	matchTags      = map[string]tagSpec{
		"is":       {group: "match type"},
		"contains": {group: "match type"},
		"matches":  {group: "match type"},
		"count":    {ext: "relational", arg: tagString, group: "match type"},
		"value":    {ext: "relational", arg: tagString, group: "match type"},
	}
	addressPartTags = map[string]tagSpec{
		"all":       {group: "address part"},
		"localpart": {group: "address part"},
		"domain":    {group: "address part"},
		"user":      {ext: "subaddress", group: "address part"},
		"detail":    {ext: "subaddress", group: "address part"},
	}
	indexTags = map[string]tagSpec{
		"index": {ext: "index", arg: tagNumber, group: "index"},
		"last":  {ext: "index", group: "last"},
	}
)

func tagSet(sets ...map[string]tagSpec) map[string]tagSpec {
	m := map[string]tagSpec{}
	for _, s := range sets {
		for k, v := range s {
			m[k] = v
		}
	}
	return m
}

// split separates the tagged arguments, checked against spec, from the
// positional ones.
func (c *compiler) split(what, name string, args []rawArg, spec map[string]tagSpec) (map[string]tagVal, []rawArg, *Error) {
	tags := map[string]tagVal{}
	groups := map[string]string{}
	i := 0
	for ; i < len(args) && args[i].kind == argTag; i++ {
		a := args[i]
		ts, ok := spec[a.tag]
		if !ok || (ts.ext != "" && !c.required[ts.ext]) {
			if ok {
				return nil, nil, errAt(a.pos, ErrUnsupported, "tag :%s of %s %q requires %q", a.tag, what, name, ts.ext)
			}
			return nil, nil, errAt(a.pos, ErrSyntax, "unknown tag :%s for %s %q", a.tag, what, name)
		}
		if _, dup := tags[a.tag]; dup {
			return nil, nil, errAt(a.pos, ErrSyntax, "tag :%s given twice", a.tag)
		}
		if ts.group != "" {
			if prev, dup := groups[ts.group]; dup {
				return nil, nil, errAt(a.pos, ErrSyntax, "%s %q: :%s after :%s, only one %s allowed", what, name, a.tag, prev, ts.group)
			}
			groups[ts.group] = a.tag
		}
		v := tagVal{name: a.tag, pos: a.pos}
		if ts.arg != tagNone {
			if i+1 >= len(args) {
				return nil, nil, errAt(a.pos, ErrSyntax, "tag :%s needs an argument", a.tag)
			}
			i++
			v.arg = args[i]
			switch ts.arg {
			case tagNumber:
				if v.arg.kind != argNumber {
					return nil, nil, errAt(v.arg.pos, ErrSyntax, "tag :%s needs a number", a.tag)
				}
			case tagString:
				if v.arg.kind != argStrings || v.arg.list {
					return nil, nil, errAt(v.arg.pos, ErrSyntax, "tag :%s needs a string", a.tag)
				}
			case tagStrings:
				if v.arg.kind != argStrings {
					return nil, nil, errAt(v.arg.pos, ErrSyntax, "tag :%s needs a string list", a.tag)
				}
			}
		}
		tags[a.tag] = v
	}
	for _, a := range args[i:] {
		if a.kind == argTag {
			return nil, nil, errAt(a.pos, ErrSyntax, "tag :%s after the positional arguments of %s %q", a.tag, what, name)
		}
	}
	return tags, args[i:], nil
}

// positional checks n positional arguments: kinds lists argStrings (a
// string list), argNumber, or argTag standing for a single string.
func positional(what, name string, pos position, args []rawArg, kinds ...argKind) *Error {
	if len(args) != len(kinds) {
		return errAt(pos, ErrSyntax, "%s %q takes %d positional argument%s, found %d", what, name, len(kinds), plural(len(kinds)), len(args))
	}
	for i, k := range kinds {
		a := args[i]
		switch k {
		case argNumber:
			if a.kind != argNumber {
				return errAt(a.pos, ErrSyntax, "%s %q: argument %d must be a number", what, name, i+1)
			}
		case argStrings:
			if a.kind != argStrings {
				return errAt(a.pos, ErrSyntax, "%s %q: argument %d must be a string list", what, name, i+1)
			}
		case argTag: // a single string
			if a.kind != argStrings || a.list && len(a.strs) != 1 {
				return errAt(a.pos, ErrSyntax, "%s %q: argument %d must be a string", what, name, i+1)
			}
		}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// str is a string of the script; v is set when it may hold variable
// references to expand at run time.
type str struct {
	s string
	v bool
}

func (c *compiler) str(a rawArg, i int) str {
	s := a.strs[i]
	if c.required["encoded-character"] {
		var bad string
		s, bad = decodeEncodedCharacters(s)
		if bad != "" && c.err == nil {
			c.err = errAt(a.pos, ErrSyntax, "invalid unicode character %s in encoded character", bad)
		}
	}
	return str{s: s, v: c.required["variables"] && strings.Contains(s, "${")}
}

func (c *compiler) strs(a rawArg) []str {
	out := make([]str, len(a.strs))
	for i := range a.strs {
		out[i] = c.str(a, i)
	}
	return out
}

// decodeEncodedCharacters replaces "${hex:...}" and "${unicode:...}"
// (RFC 5228 section 2.4.2.4); malformed sequences stay as written. A
// well-formed ${unicode:...} with a value outside the Unicode scalar
// values is an error: bad returns the value.
func decodeEncodedCharacters(s string) (out string, bad string) {
	if !strings.Contains(s, "${") {
		return s, ""
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), bad
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		colon := strings.IndexByte(rest, ':')
		if end < 0 || colon < 0 || colon > end {
			b.WriteString("${")
			s = rest
			continue
		}
		kind := strings.ToLower(rest[:colon])
		fields := strings.Fields(rest[colon+1 : end])
		var out strings.Builder
		ok := kind == "hex" || kind == "unicode"
		for _, f := range fields {
			if !ok {
				break
			}
			switch kind {
			case "hex":
				v, err := strconv.ParseUint(f, 16, 8)
				if err != nil || len(f) > 2 {
					ok = false
					break
				}
				out.WriteByte(byte(v))
			case "unicode":
				v, err := strconv.ParseUint(f, 16, 64)
				if err != nil {
					ok = false
					break
				}
				if v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
					if bad == "" {
						bad = "0x" + strings.ToUpper(strconv.FormatUint(v, 16))
					}
					ok = false
					break
				}
				out.WriteRune(rune(v))
			}
		}
		if ok && strings.TrimSpace(rest[colon+1:end]) == "" && rest[colon+1:end] != "" {
			ok = false
		}
		if !ok {
			b.WriteString("${")
			s = rest
			continue
		}
		b.WriteString(out.String())
		s = rest[end+1:]
	}
}

// block compiles a list of commands; top is true for the script's top level.
func (c *compiler) block(raw []*rawCmd, top bool) ([]command, *Error) {
	var out []command
	var chain *ifCmd
	seenOther := false
	for _, rc := range raw {
		if rc.name == "require" {
			if !top || seenOther {
				return nil, errAt(rc.pos, ErrSyntax, "require must come before every other command")
			}
			if err := c.require(rc); err != nil {
				return nil, err
			}
			continue
		}
		seenOther = true
		switch rc.name {
		case "if", "elsif", "else":
			if rc.name != "if" && chain == nil {
				return nil, errAt(rc.pos, ErrSyntax, "%s without a preceding if", rc.name)
			}
			if !rc.hasBlock {
				return nil, errAt(rc.end, ErrSyntax, "%s needs a block", rc.name)
			}
			if len(rc.args) > 0 {
				return nil, errAt(rc.args[0].pos, ErrSyntax, "%s takes no arguments besides its test", rc.name)
			}
			var cond test
			if rc.name == "else" {
				if len(rc.tests) != 0 {
					return nil, errAt(rc.tests[0].pos, ErrSyntax, "else takes no test")
				}
			} else {
				if len(rc.tests) != 1 || rc.list {
					return nil, errAt(rc.pos, ErrSyntax, "%s needs exactly one test", rc.name)
				}
				var err *Error
				if cond, err = c.test(rc.tests[0]); err != nil {
					return nil, err
				}
			}
			body, err := c.block(rc.block, false)
			if err != nil {
				return nil, err
			}
			if rc.name == "if" {
				chain = &ifCmd{}
				out = append(out, chain)
			}
			chain.conds = append(chain.conds, cond)
			chain.blocks = append(chain.blocks, body)
			if rc.name == "else" {
				chain = nil
			}
			continue
		}
		chain = nil
		cmd, err := c.command(rc)
		if err != nil {
			return nil, err
		}
		out = append(out, cmd)
	}
	return out, nil
}

func (c *compiler) require(rc *rawCmd) *Error {
	if len(rc.tests) > 0 || rc.hasBlock {
		return errAt(rc.pos, ErrSyntax, "require takes a string list")
	}
	if err := positional("command", "require", rc.pos, rc.args, argStrings); err != nil {
		return err
	}
	for _, name := range rc.args[0].strs {
		if alwaysAvailable[name] {
			c.required[name] = true
			continue
		}
		if !c.enabled[name] {
			return errAt(rc.args[0].pos, ErrUnsupported, "unsupported extension %q", name)
		}
		c.required[name] = true
	}
	// RFC 5235 section 3.1: spamtestplus implies spamtest; RFC 5429
	// keeps reject and ereject apart; RFC 6131 extends vacation.
	if c.required["spamtestplus"] {
		c.required["spamtest"] = true
	}
	if c.required["vacation-seconds"] {
		c.required["vacation"] = true
	}
	return nil
}

func (c *compiler) need(ext string, pos position, what, name string) *Error {
	if c.required[ext] {
		return nil
	}
	if _, ok := extensions[ext]; ok && c.enabled[ext] {
		return errAt(pos, ErrUnsupported, "%s %q requires %q: add require %q", what, name, ext, ext)
	}
	return errAt(pos, ErrUnsupported, "unknown %s %q", what, name)
}

// noTests refuses tests and blocks after an action command.
func noTests(rc *rawCmd) *Error {
	if len(rc.tests) > 0 {
		return errAt(rc.tests[0].pos, ErrSyntax, "command %q takes no test", rc.name)
	}
	if rc.hasBlock {
		return errAt(rc.end, ErrSyntax, "command %q takes no block", rc.name)
	}
	return nil
}
