package sieve

import (
	"strings"

	"github.com/heraldmail/herald/message"
)

// test is a compiled test.
type test interface {
	eval(st *state) (bool, error)
}

type constTest bool

func (t constTest) eval(*state) (bool, error) { return bool(t), nil }

type notTest struct{ t test }

func (t notTest) eval(st *state) (bool, error) {
	ok, err := t.t.eval(st)
	return !ok, err
}

type ofTest struct {
	all   bool
	tests []test
}

func (t ofTest) eval(st *state) (bool, error) {
	for _, x := range t.tests {
		ok, err := x.eval(st)
		if err != nil {
			return false, err
		}
		if ok != t.all {
			return ok, nil
		}
	}
	return t.all, nil
}

// index is the :index and :last of RFC 5260 section 6.
type index struct {
	n    int // 0: every field
	last bool
}

func (c *compiler) index(tags map[string]tagVal) (index, *Error) {
	var ix index
	if t, ok := tags["index"]; ok {
		if t.arg.num < 1 || t.arg.num > 1<<30 {
			return ix, errAt(t.arg.pos, ErrSyntax, ":index must be at least 1")
		}
		ix.n = int(t.arg.num)
	}
	if t, ok := tags["last"]; ok {
		if ix.n == 0 {
			return ix, errAt(t.pos, ErrSyntax, ":last needs :index")
		}
		ix.last = true
	}
	return ix, nil
}

func (ix index) pick(fields []message.Field) []message.Field {
	if ix.n == 0 {
		return fields
	}
	if ix.n > len(fields) {
		return nil
	}
	if ix.last {
		return fields[len(fields)-ix.n : len(fields)-ix.n+1]
	}
	return fields[ix.n-1 : ix.n]
}

// validFieldName reports whether s is a field-name (RFC 5322 section 3.6.8).
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 || s[i] == ':' {
			return false
		}
	}
	return true
}

// fieldNames reads the header names of a test. A name that is not a
// field-name is no error in a test (RFC 5228 section 2.4.2.2): it never
// matches.
func (c *compiler) fieldNames(a rawArg, what string) ([]str, *Error) {
	return c.strs(a), nil
}

// addressHeaders are the fields the address test reads (RFC 5228 section
// 5.1 requires at least From, To, Cc, Bcc, Sender, Resent-From and
// Resent-To).
var addressHeaders = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "to": true, "cc": true, "bcc": true,
	"resent-from": true, "resent-sender": true, "resent-reply-to": true, "resent-to": true,
	"resent-cc": true, "resent-bcc": true, "return-receipt-to": true, "errors-to": true,
	"disposition-notification-to": true, "delivered-to": true, "envelope-to": true,
	"x-original-to": true, "x-envelope-to": true, "original-recipient": true,
	"return-path": true, "mail-followup-to": true, "mail-reply-to": true, "apparently-to": true,
}

type addrPart uint8

const (
	partAll addrPart = iota
	partLocal
	partDomain
	partUser
	partDetail
)

func addressPart(tags map[string]tagVal) addrPart {
	for name, p := range map[string]addrPart{"localpart": partLocal, "domain": partDomain, "user": partUser, "detail": partDetail} {
		if _, ok := tags[name]; ok {
			return p
		}
	}
	return partAll
}

func (c *compiler) test(rt *rawTest) (test, *Error) {
	noSub := func() *Error {
		if len(rt.tests) > 0 {
			return errAt(rt.tests[0].pos, ErrSyntax, "test %q takes no test", rt.name)
		}
		return nil
	}
	switch rt.name {
	case "true", "false":
		if len(rt.args) > 0 || len(rt.tests) > 0 {
			return nil, errAt(rt.pos, ErrSyntax, "test %q takes no arguments", rt.name)
		}
		return constTest(rt.name == "true"), nil
	case "not":
		if len(rt.args) > 0 || len(rt.tests) != 1 || rt.list {
			return nil, errAt(rt.pos, ErrSyntax, "not takes one test")
		}
		t, err := c.test(rt.tests[0])
		return notTest{t}, err
	case "allof", "anyof":
		if len(rt.args) > 0 || !rt.list {
			return nil, errAt(rt.pos, ErrSyntax, "%s takes a test list", rt.name)
		}
		ot := ofTest{all: rt.name == "allof"}
		for _, x := range rt.tests {
			t, err := c.test(x)
			if err != nil {
				return nil, err
			}
			ot.tests = append(ot.tests, t)
		}
		return ot, nil
	}
	if err := noSub(); err != nil {
		return nil, err
	}
	switch rt.name {
	case "address":
		tags, args, err := c.split("test", rt.name, rt.args, tagSet(comparatorTags, matchTags, addressPartTags, indexTags))
		if err != nil {
			return nil, err
		}
		if err := positional("test", rt.name, rt.pos, args, argStrings, argStrings); err != nil {
			return nil, err
		}
		t := &addressTest{part: addressPart(tags)}
		if t.m, err = c.matcher(tags); err != nil {
			return nil, err
		}
		if t.index, err = c.index(tags); err != nil {
			return nil, err
		}
		if t.headers, err = c.fieldNames(args[0], "address"); err != nil {
			return nil, err
		}
		for _, h := range t.headers {
			if !h.v && !addressHeaders[strings.ToLower(h.s)] {
				return nil, errAt(args[0].pos, ErrSyntax, "address test: header %q does not hold addresses", h.s)
			}
		}
		t.keys = c.strs(args[1])
		return t, nil
	case "envelope":
		if err := c.need("envelope", rt.pos, "test", rt.name); err != nil {
			return nil, err
		}
		tags, args, err := c.split("test", rt.name, rt.args, tagSet(comparatorTags, matchTags, addressPartTags))
		if err != nil {
			return nil, err
		}
		if err := positional("test", rt.name, rt.pos, args, argStrings, argStrings); err != nil {
			return nil, err
		}
		t := &envelopeTest{part: addressPart(tags), parts: c.strs(args[0]), keys: c.strs(args[1])}
		for _, p := range t.parts {
			if !p.v && !envelopeParts[strings.ToLower(p.s)] {
				return nil, errAt(args[0].pos, ErrSyntax, "unknown envelope part %q", p.s)
			}
		}
		t.m, err = c.matcher(tags)
		return t, err
	case "header":
		tags, args, err := c.split("test", rt.name, rt.args, tagSet(comparatorTags, matchTags, indexTags))
		if err != nil {
			return nil, err
		}
		if err := positional("test", rt.name, rt.pos, args, argStrings, argStrings); err != nil {
			return nil, err
		}
		t := &headerTest{keys: c.strs(args[1])}
		if t.m, err = c.matcher(tags); err != nil {
			return nil, err
		}
		if t.index, err = c.index(tags); err != nil {
			return nil, err
		}
		t.names, err = c.fieldNames(args[0], "header")
		return t, err
	case "exists":
		if err := positional("test", rt.name, rt.pos, rt.args, argStrings); err != nil {
			return nil, err
		}
		names, err := c.fieldNames(rt.args[0], "exists")
		return existsTest{names}, err
	case "size":
		tags, args, err := c.split("test", rt.name, rt.args, map[string]tagSpec{"over": {group: "size"}, "under": {group: "size"}})
		if err != nil {
			return nil, err
		}
		if len(tags) != 1 {
			return nil, errAt(rt.pos, ErrSyntax, "size needs :over or :under")
		}
		if err := positional("test", rt.name, rt.pos, args, argNumber); err != nil {
			return nil, err
		}
		_, over := tags["over"]
		return sizeTest{over: over, n: args[0].num}, nil
	case "string":
		if err := c.need("variables", rt.pos, "test", rt.name); err != nil {
			return nil, err
		}
		tags, args, err := c.split("test", rt.name, rt.args, tagSet(comparatorTags, matchTags))
		if err != nil {
			return nil, err
		}
		if err := positional("test", rt.name, rt.pos, args, argStrings, argStrings); err != nil {
			return nil, err
		}
		t := &stringTest{source: c.strs(args[0]), keys: c.strs(args[1])}
		t.m, err = c.matcher(tags)
		return t, err
	case "hasflag":
		if err := c.need("imap4flags", rt.pos, "test", rt.name); err != nil {
			return nil, err
		}
		tags, args, err := c.split("test", rt.name, rt.args, tagSet(comparatorTags, matchTags))
		if err != nil {
			return nil, err
		}
		t := &hasflagTest{}
		if len(args) == 2 {
			if err := c.need("variables", args[0].pos, "argument", "variable list"); err != nil {
				return nil, err
			}
			if err := positional("test", rt.name, rt.pos, args, argStrings, argStrings); err != nil {
				return nil, err
			}
			for _, v := range args[0].strs {
				if !validIdentifier(v) {
					return nil, errAt(args[0].pos, ErrSyntax, "invalid variable name %q", v)
				}
			}
			t.vars = args[0].strs
			args = args[1:]
		}
		if err := positional("test", rt.name, rt.pos, args, argStrings); err != nil {
			return nil, err
		}
		t.keys = c.strs(args[0])
		t.m, err = c.matcher(tags)
		return t, err
	case "body":
		return c.bodyTest(rt)
	case "date", "currentdate":
		return c.dateTest(rt)
	case "mailboxexists":
		if err := c.need("mailbox", rt.pos, "test", rt.name); err != nil {
			return nil, err
		}
		if err := positional("test", rt.name, rt.pos, rt.args, argStrings); err != nil {
			return nil, err
		}
		return mailboxExistsTest{c.strs(rt.args[0])}, nil
	case "spamtest":
		if err := c.need("spamtest", rt.pos, "test", rt.name); err != nil {
			return nil, err
		}
		spec := tagSet(comparatorTags, matchTags)
		if c.required["spamtestplus"] {
			spec["percent"] = tagSpec{}
		}
		tags, args, err := c.split("test", rt.name, rt.args, spec)
		if err != nil {
			return nil, err
		}
		if err := positional("test", rt.name, rt.pos, args, argTag); err != nil {
			return nil, err
		}
		_, percent := tags["percent"]
		t := &spamTest{percent: percent, keys: c.strs(args[0])}
		t.m, err = c.matcher(tags)
		return t, err
	}
	return nil, errAt(rt.pos, ErrSyntax, "unknown test %q", rt.name)
}

type addressTest struct {
	m       matcher
	part    addrPart
	index   index
	headers []str
	keys    []str
}

func (t *addressTest) eval(st *state) (bool, error) {
	names, keys, err := st.expandLists(t.headers, t.keys)
	if err != nil {
		return false, err
	}
	var values []string
	for _, name := range names {
		for _, f := range t.index.pick(st.fields(name)) {
			list, err := st.addresses(f.Value())
			if err != nil || len(list) == 0 {
				// RFC 5228 section 2.7.4: what does not parse is
				// compared whole by :all and not at all otherwise.
				if t.part == partAll && strings.TrimSpace(f.Value()) != "" {
					values = append(values, f.Value())
				}
				continue
			}
			for _, a := range list {
				if v, ok := st.addressPart(a.Addr, t.part); ok {
					values = append(values, v)
				}
			}
		}
	}
	return st.matchValues(t.m, values, keys)
}

// addresses parses an address field's value into its mailboxes, once a
// run for each value.
func (st *state) addresses(v string) ([]message.Address, error) {
	if c, ok := st.addrCache[v]; ok {
		return c.list, c.err
	}
	var ap message.AddressParser
	list, err := ap.ParseList(v)
	list = message.Mailboxes(list)
	if st.addrCache == nil {
		st.addrCache = map[string]addrList{}
	}
	st.addrCache[v] = addrList{list, err}
	return list, err
}

type addrList struct {
	list []message.Address
	err  error
}

// addressPart returns the part of an addr-spec a test compares.
func (st *state) addressPart(addr string, part addrPart) (string, bool) {
	local, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], addr[i+1:]
	}
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		if a, err := message.ParseAddress(addr); err == nil {
			local = a.LocalPart()
		}
	}
	switch part {
	case partLocal:
		return local, true
	case partDomain:
		return domain, true
	case partUser, partDetail:
		sep := st.env.Separator
		if sep == "" {
			sep = "+"
		}
		i := strings.Index(local, sep)
		if part == partUser {
			if i < 0 {
				return local, true
			}
			return local[:i], true
		}
		if i < 0 {
			return "", false // RFC 5233 section 4: no detail to compare
		}
		return local[i+len(sep):], true
	}
	return addr, true
}

var envelopeParts = map[string]bool{"from": true, "to": true, "auth": true}

type envelopeTest struct {
	m     matcher
	part  addrPart
	parts []str
	keys  []str
}

func (t *envelopeTest) eval(st *state) (bool, error) {
	parts, keys, err := st.expandLists(t.parts, t.keys)
	if err != nil {
		return false, err
	}
	var values []string
	for _, p := range parts {
		var addr string
		switch strings.ToLower(p) {
		case "from":
			addr = st.msg.Envelope.From
		case "to":
			addr = st.msg.Envelope.To
		case "auth":
			addr = st.msg.Envelope.Auth
			if addr == "" {
				continue
			}
		default:
			continue
		}
		if addr == "" {
			// RFC 5228 section 5.4: the null reverse-path is the
			// empty string whatever the address part.
			values = append(values, "")
			continue
		}
		if v, ok := st.addressPart(addr, t.part); ok {
			values = append(values, v)
		}
	}
	return st.matchValues(t.m, values, keys)
}

type headerTest struct {
	m     matcher
	index index
	names []str
	keys  []str
}

// headerValues returns the values of the named fields with RFC 2047
// encoded words decoded (RFC 5228 section 2.7.2).
func (st *state) headerValues(names []string, ix index) []string {
	var values []string
	for _, name := range names {
		for _, f := range ix.pick(st.fields(name)) {
			v, _ := f.Text()
			values = append(values, v)
		}
	}
	return values
}

func (t *headerTest) eval(st *state) (bool, error) {
	names, keys, err := st.expandLists(t.names, t.keys)
	if err != nil {
		return false, err
	}
	return st.matchValues(t.m, st.headerValues(names, t.index), keys)
}

type existsTest struct{ names []str }

func (t existsTest) eval(st *state) (bool, error) {
	names, err := st.expandList(t.names)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if len(st.fields(n)) == 0 {
			return false, nil
		}
	}
	return true, nil
}

type sizeTest struct {
	over bool
	n    int64
}

func (t sizeTest) eval(st *state) (bool, error) {
	if t.over {
		return st.msg.Size > t.n, nil
	}
	return st.msg.Size < t.n, nil
}

type stringTest struct {
	m      matcher
	source []str
	keys   []str
}

func (t *stringTest) eval(st *state) (bool, error) {
	src, keys, err := st.expandLists(t.source, t.keys)
	if err != nil {
		return false, err
	}
	if t.m.kind == mCount {
		// RFC 5229 section 5: :count counts the strings that are not empty.
		var ne []string
		for _, s := range src {
			if s != "" {
				ne = append(ne, s)
			}
		}
		src = ne
	}
	return st.matchValues(t.m, src, keys)
}

type hasflagTest struct {
	m    matcher
	vars []string
	keys []str
}

func (t *hasflagTest) eval(st *state) (bool, error) {
	keys, err := st.expandList(t.keys)
	if err != nil {
		return false, err
	}
	var have []string
	if t.vars == nil {
		have = splitFlags(st.flags)
	} else {
		for _, v := range t.vars {
			have = append(have, splitFlags(st.vars[strings.ToLower(v)])...)
		}
	}
	if t.m.kind != mCount {
		// RFC 5232 section 4: each key names one or more flags.
		keys = splitFlags(strings.Join(keys, " "))
	}
	return st.matchValues(t.m, have, keys)
}

type mailboxExistsTest struct{ names []str }

func (t mailboxExistsTest) eval(st *state) (bool, error) {
	names, err := st.expandList(t.names)
	if err != nil {
		return false, err
	}
	if st.env.Mailboxes == nil {
		return false, nil
	}
	for _, n := range names {
		ok, err := st.env.Mailboxes.MailboxExists(st.ctx, n)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

type spamTest struct {
	m       matcher
	percent bool
	keys    []str
}

func (t *spamTest) eval(st *state) (bool, error) {
	keys, err := st.expandList(t.keys)
	if err != nil {
		return false, err
	}
	v := "0" // RFC 5235 section 3.2: 0 means not tested
	if s := st.env.Spam; s != nil {
		if t.percent {
			v = itoa(min(max(s.Percent, 0), 100))
		} else {
			v = itoa(min(max(s.Value, 1), 10))
		}
	}
	return st.matchValues(t.m, []string{v}, keys)
}
