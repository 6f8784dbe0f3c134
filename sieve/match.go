package sieve

import (
	"fmt"
	"strings"
)

type comparator uint8

const (
	cmpCasemap comparator = iota // i;ascii-casemap, the default
	cmpOctet                     // i;octet
	cmpNumeric                   // i;ascii-numeric
)

type matchKind uint8

const (
	mIs matchKind = iota
	mContains
	mMatches
	mCount
	mValue
)

type relation uint8

const (
	relGT relation = iota
	relGE
	relLT
	relLE
	relEQ
	relNE
)

var relations = map[string]relation{"gt": relGT, "ge": relGE, "lt": relLT, "le": relLE, "eq": relEQ, "ne": relNE}

func (r relation) holds(c int) bool {
	switch r {
	case relGT:
		return c > 0
	case relGE:
		return c >= 0
	case relLT:
		return c < 0
	case relLE:
		return c <= 0
	case relEQ:
		return c == 0
	}
	return c != 0
}

// matcher is the match type, relation and comparator of a test.
type matcher struct {
	kind matchKind
	rel  relation
	cmp  comparator
}

// compile reads the comparator and match type tags.
func (c *compiler) matcher(tags map[string]tagVal) (matcher, *Error) {
	m := matcher{}
	if t, ok := tags["comparator"]; ok {
		switch name := t.arg.strs[0]; name {
		case "i;ascii-casemap":
			m.cmp = cmpCasemap
		case "i;octet":
			m.cmp = cmpOctet
		case "i;ascii-numeric":
			if !c.required["comparator-i;ascii-numeric"] {
				return m, errAt(t.arg.pos, ErrUnsupported, "comparator %q requires \"comparator-i;ascii-numeric\"", name)
			}
			m.cmp = cmpNumeric
		default:
			return m, errAt(t.arg.pos, ErrUnsupported, "unknown comparator %q", name)
		}
	}
	for _, name := range []string{"is", "contains", "matches", "count", "value"} {
		t, ok := tags[name]
		if !ok {
			continue
		}
		m.kind = map[string]matchKind{"is": mIs, "contains": mContains, "matches": mMatches, "count": mCount, "value": mValue}[name]
		if m.kind == mCount || m.kind == mValue {
			r, ok := relations[strings.ToLower(t.arg.strs[0])]
			if !ok {
				return m, errAt(t.arg.pos, ErrSyntax, "unknown relational operator %q", t.arg.strs[0])
			}
			m.rel = r
		}
		if m.cmp == cmpNumeric && (m.kind == mContains || m.kind == mMatches) {
			return m, errAt(t.pos, ErrSyntax, "comparator \"i;ascii-numeric\" does not support :%s", name)
		}
	}
	return m, nil
}

// match reports whether any value matches any key. A successful :matches
// sets the match variables (RFC 5229 section 3.2).
func (st *state) matchValues(m matcher, values []string, keys []string) (bool, error) {
	if st != nil {
		st.comparisons += len(values) * len(keys)
		if st.comparisons > st.lim.maxComparisons() {
			return false, &Error{Msg: fmt.Sprintf("more than %d comparisons", st.lim.maxComparisons()), Err: ErrLimit}
		}
	}
	ok := st.match1(m, values, keys)
	return ok, nil
}

func (st *state) match1(m matcher, values []string, keys []string) bool {
	if m.kind == mCount {
		count := itoa(len(values))
		for _, k := range keys {
			if m.rel.holds(compareNumeric(count, k)) {
				return true
			}
		}
		return false
	}
	for _, v := range values {
		for _, k := range keys {
			switch m.kind {
			case mIs:
				if m.cmp.compare(v, k) == 0 {
					return true
				}
			case mContains:
				if m.cmp.contains(v, k) {
					return true
				}
			case mValue:
				if m.rel.holds(m.cmp.compare(v, k)) {
					return true
				}
			case mMatches:
				var caps []string
				var capsp *[]string
				if st != nil && st.s.required["variables"] {
					capsp = &caps
				}
				if globElems(v, st.pattern(k), m.cmp == cmpCasemap, capsp) {
					if capsp != nil {
						st.match = append([]string{v}, caps...)
					}
					return true
				}
			}
		}
	}
	return false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// compare orders a and b: i;octet by bytes, i;ascii-casemap by bytes with
// ASCII letters folded, i;ascii-numeric by the number each starts with
// (a string that starts with no digit is greater than every number, RFC
// 4790 section 9.1.1).
func (c comparator) compare(a, b string) int {
	switch c {
	case cmpOctet:
		return strings.Compare(a, b)
	case cmpNumeric:
		return compareNumeric(a, b)
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := lower(a[i]), lower(b[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func compareNumeric(a, b string) int {
	da, db := leadingDigits(a), leadingDigits(b)
	switch {
	case da == "" && db == "":
		return 0
	case da == "":
		return 1
	case db == "":
		return -1
	}
	da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
	if len(da) != len(db) {
		if len(da) < len(db) {
			return -1
		}
		return 1
	}
	return strings.Compare(da, db)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func (c comparator) contains(s, sub string) bool {
	if c == cmpOctet {
		return strings.Contains(s, sub)
	}
	return indexFold(s, sub, 0) >= 0
}

// indexFold returns the index of the first occurrence of sub in s at or
// after from, with ASCII letters folded, or -1.
func indexFold(s, sub string, from int) int {
	if sub == "" {
		return from
	}
	first := lower(sub[0])
	for i := from; i+len(sub) <= len(s); i++ {
		if lower(s[i]) != first {
			continue
		}
		j := 1
		for j < len(sub) && lower(s[i+j]) == lower(sub[j]) {
			j++
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}

// A globElem is one element of a :matches pattern.
type globElem struct {
	lit  string // a literal run; "" for a wildcard
	one  bool   // '?'
	star bool   // '*'
}

// parseGlob splits a pattern into literal runs and wildcards; a backslash
// makes the next character literal (RFC 5228 section 2.7.1).
func parseGlob(p string) []globElem {
	var out []globElem
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, globElem{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 < len(p) {
				i++
			}
			lit.WriteByte(p[i])
		case '*':
			flush()
			// Adjacent stars match what one star matches; each still
			// gets its match variable, the later ones empty.
			out = append(out, globElem{star: true})
		case '?':
			flush()
			out = append(out, globElem{one: true})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// glob reports whether s matches pattern. With fold (i;ascii-casemap),
// ASCII letters match either case; '?' matches one octet either way. If caps is not nil it receives the text each wildcard
// matched, in order.
//
// The pattern is split at its stars into segments. The first segment is
// matched at the start of s and the last at its end; every segment in
// between is matched at its leftmost position after the previous one,
// which is always right for a glob (a later match leaves the rest of s a
// suffix of what an earlier match leaves). No position of s is ever
// revisited for a segment, so a run costs O(len(s) × len(pattern)) at
// worst and there is no backtracking: "*a*a*a*a*b" against a long run of
// a's is as quick as any other pattern.
func glob(s, pattern string, fold bool, caps *[]string) bool {
	return globElems(s, parseGlob(pattern), fold, caps)
}

// pattern returns the parsed :matches pattern k, parsed once a run.
func (st *state) pattern(k string) []globElem {
	if st == nil {
		return parseGlob(k)
	}
	if e, ok := st.globCache[k]; ok {
		return e
	}
	e := parseGlob(k)
	if st.globCache == nil {
		st.globCache = map[string][]globElem{}
	}
	if len(st.globCache) < 1000 {
		st.globCache[k] = e
	}
	return e
}

func globElems(s string, elems []globElem, fold bool, caps *[]string) bool {
	nwild := 0
	firstStar, lastStar := -1, -1
	for i, e := range elems {
		if e.star || e.one {
			nwild++
		}
		if e.star {
			if firstStar < 0 {
				firstStar = i
			}
			lastStar = i
		}
	}
	var spans [][2]int // the span of s each wildcard matched, in order
	if caps != nil {
		spans = make([][2]int, 0, nwild)
	}
	if firstStar < 0 {
		end, ok := matchAt(s, 0, elems, fold, &spans, caps != nil)
		if !ok || end != len(s) {
			return false
		}
		fill(s, spans, caps)
		return true
	}
	// Prefix, anchored at the start.
	lo, ok := matchAt(s, 0, elems[:firstStar], fold, &spans, caps != nil)
	if !ok {
		return false
	}
	// Suffix, anchored at the end.
	var tail [][2]int
	hi, ok := matchBack(s, len(s), elems[lastStar+1:], fold, &tail, caps != nil)
	if !ok || hi < lo {
		return false
	}
	// Segments between the stars, leftmost first.
	pos := lo
	segStart := firstStar + 1
	for i := firstStar + 1; i <= lastStar; i++ {
		if !elems[i].star {
			continue
		}
		seg := elems[segStart:i]
		starIdx := len(spans)
		if caps != nil {
			spans = append(spans, [2]int{pos, pos}) // the star before seg
		}
		start, end, ok := find(s[:hi], pos, seg, fold, &spans, caps != nil)
		if !ok {
			return false
		}
		if caps != nil {
			spans[starIdx][1] = start
		}
		pos = end
		segStart = i + 1
	}
	if caps != nil {
		spans = append(spans, [2]int{pos, hi}) // the last star
		for i := len(tail) - 1; i >= 0; i-- {
			spans = append(spans, tail[i])
		}
	}
	fill(s, spans, caps)
	return true
}

func fill(s string, spans [][2]int, caps *[]string) {
	if caps == nil {
		return
	}
	for _, sp := range spans {
		*caps = append(*caps, s[sp[0]:sp[1]])
	}
}

// step returns the length of the character at s[i:]. For i;octet and
// i;ascii-casemap a character is one octet (RFC 5228 section 2.7.1), so
// '?' matches exactly one octet of a UTF-8 sequence, as Pigeonhole does.
func step(s string, i int, fold bool) int { return 1 }

func hasPrefixFold(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if !fold {
		return s[:len(prefix)] == prefix
	}
	for i := 0; i < len(prefix); i++ {
		if lower(s[i]) != lower(prefix[i]) {
			return false
		}
	}
	return true
}

// matchAt matches a segment without stars at s[i:] and returns where it
// ends.
func matchAt(s string, i int, seg []globElem, fold bool, spans *[][2]int, record bool) (int, bool) {
	mark := len(*spans)
	for _, e := range seg {
		if e.one {
			if i >= len(s) {
				*spans = (*spans)[:mark]
				return 0, false
			}
			n := step(s, i, fold)
			if record {
				*spans = append(*spans, [2]int{i, i + n})
			}
			i += n
			continue
		}
		if !hasPrefixFold(s[i:], e.lit, fold) {
			*spans = (*spans)[:mark]
			return 0, false
		}
		i += len(e.lit)
	}
	return i, true
}

// matchBack matches a segment without stars so that it ends at s[:j] and
// returns where it starts; spans are appended last element first.
func matchBack(s string, j int, seg []globElem, fold bool, spans *[][2]int, record bool) (int, bool) {
	for k := len(seg) - 1; k >= 0; k-- {
		e := seg[k]
		if e.one {
			if j <= 0 {
				return 0, false
			}
			n := 1
			if record {
				*spans = append(*spans, [2]int{j - n, j})
			}
			j -= n
			continue
		}
		if j < len(e.lit) || !hasPrefixFold(s[j-len(e.lit):j], e.lit, fold) {
			return 0, false
		}
		j -= len(e.lit)
	}
	return j, true
}

// find returns the leftmost match of a segment without stars in s at or
// after from. A segment that starts with a literal jumps from one
// occurrence of that literal to the next.
func find(s string, from int, seg []globElem, fold bool, spans *[][2]int, record bool) (int, int, bool) {
	for i := from; i <= len(s); {
		if len(seg) > 0 && !seg[0].one {
			var j int
			if fold {
				j = indexFold(s, seg[0].lit, i)
			} else if k := strings.Index(s[i:], seg[0].lit); k >= 0 {
				j = i + k
			} else {
				j = -1
			}
			if j < 0 {
				return 0, 0, false
			}
			i = j
		}
		if end, ok := matchAt(s, i, seg, fold, spans, record); ok {
			return i, end, true
		}
		if i >= len(s) {
			break
		}
		i += step(s, i, fold)
	}
	return 0, 0, false
}
