package imap

import (
	"cmp"
	"slices"
	"strconv"
)

// THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 sections 4.1 and
// 4.2).

// threadNode is a container of the threading algorithms: a message (i >=
// 0, its index among the matches) or a dummy (i < 0).
type threadNode struct {
	i        int
	parent   *threadNode
	children []*threadNode
}

// threadMerged marks a dummy merged into another one.
const threadMerged = -2

// threadMsg is a matching message as threading sees it.
type threadMsg struct {
	info *sortInfo
	seq  int // index in the session's view, the final tie-breaker
	num  uint32
}

func (c *conn) cmdThread(cmd *command) error {
	idx, infos, err := c.sortMatches(cmd, true)
	if err != nil {
		return err
	}
	msgs := make([]threadMsg, len(idx))
	for k, i := range idx {
		num := uint32(i + 1)
		if cmd.uid {
			num = uint32(c.sel.msgs[i].UID)
		}
		msgs[k] = threadMsg{info: infos[k], seq: i, num: num}
	}
	var roots []*threadNode
	if cmd.sort.algorithm == "ORDEREDSUBJECT" {
		roots = threadOrderedSubject(msgs)
	} else {
		roots = threadReferences(msgs)
	}
	b := []byte("THREAD ")
	for _, r := range roots {
		b = appendThread(b, r, msgs)
	}
	c.untagged(string(b[:len(b)-boolInt(len(roots) == 0)]))
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// bySent orders messages by sent date, then by sequence number (RFC 5256
// section 2.2).
func bySent(msgs []threadMsg, a, b int) int {
	if r := msgs[a].info.sent.Compare(msgs[b].info.sent); r != 0 {
		return r
	}
	return cmp.Compare(msgs[a].seq, msgs[b].seq)
}

// threadOrderedSubject groups the messages by base subject; each group is
// a thread whose first message (by sent date) is the parent of the
// others, and the threads are ordered by the sent date of their first
// message.
func threadOrderedSubject(msgs []threadMsg) []*threadNode {
	order := make([]int, len(msgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if r := cmp.Compare(msgs[a].info.subject, msgs[b].info.subject); r != 0 {
			return r
		}
		return bySent(msgs, a, b)
	})
	var roots []*threadNode
	for k := 0; k < len(order); {
		root := &threadNode{i: order[k]}
		j := k + 1
		for ; j < len(order) && msgs[order[j]].info.subject == msgs[order[k]].info.subject; j++ {
			root.children = append(root.children, &threadNode{i: order[j], parent: root})
		}
		roots = append(roots, root)
		k = j
	}
	slices.SortStableFunc(roots, func(a, b *threadNode) int { return bySent(msgs, a.i, b.i) })
	return roots
}

// threadReferences is the REFERENCES algorithm of RFC 5256 section 4.2.
func threadReferences(msgs []threadMsg) []*threadNode {
	// (1) Containers by message-id, linked by References.
	byID := map[string]*threadNode{}
	var all []*threadNode
	container := func(id string) *threadNode {
		if n := byID[id]; n != nil {
			return n
		}
		n := &threadNode{i: -1}
		byID[id] = n
		all = append(all, n)
		return n
	}
	// isAncestor reports whether a is b or one of b's ancestors.
	isAncestor := func(a, b *threadNode) bool {
		for n := b; n != nil; n = n.parent {
			if n == a {
				return true
			}
		}
		return false
	}
	link := func(parent, child *threadNode) {
		if child.parent != nil {
			unlink(child)
		}
		child.parent = parent
		parent.children = append(parent.children, child)
	}
	for k := range msgs {
		si := msgs[k].info
		var self *threadNode
		if id := si.msgID; id != "" && byID[id] != nil && byID[id].i < 0 {
			self = byID[id]
		} else if id != "" && byID[id] == nil {
			self = container(id)
		} else {
			// No Message-ID, or a duplicate: a unique container.
			self = &threadNode{i: -1}
			all = append(all, self)
		}
		self.i = k
		// (1A) Link the references in order, never changing a link
		// that exists or making a loop.
		var prev *threadNode
		for _, ref := range si.refs {
			n := container(ref)
			if prev != nil && n.parent == nil && !isAncestor(n, prev) {
				link(prev, n)
			}
			prev = n
		}
		// (1B) The last reference is the message's parent, replacing
		// any parent it had, unless that would make a loop.
		if prev != nil && !isAncestor(self, prev) {
			link(prev, self)
		} else if prev == nil && self.parent != nil {
			unlink(self)
		}
	}
	// (2) The root set.
	var roots []*threadNode
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	// (4) Prune dummies.
	roots = pruneDummies(roots, true)
	// (5) Sort the root set by sent date; a dummy by its first child,
	// after sorting its children.
	first := func(n *threadNode) int {
		for n.i < 0 && len(n.children) > 0 {
			n = n.children[0]
		}
		return n.i
	}
	sortSiblings := func(ns []*threadNode) {
		slices.SortStableFunc(ns, func(a, b *threadNode) int {
			x, y := first(a), first(b)
			if x < 0 || y < 0 {
				return cmp.Compare(x, y)
			}
			return bySent(msgs, x, y)
		})
	}
	for _, r := range roots {
		if r.i < 0 {
			sortSiblings(r.children)
		}
	}
	sortSiblings(roots)
	// (6) Group the root set by base subject.
	subjectOf := func(n *threadNode) *sortInfo {
		if i := first(n); i >= 0 {
			return msgs[i].info
		}
		return nil
	}
	table := map[string]*threadNode{}
	for _, r := range roots {
		si := subjectOf(r)
		if si == nil || si.subject == "" {
			continue
		}
		old := table[si.subject]
		switch {
		case old == nil:
		case r.i < 0 && old.i >= 0:
		case old.i >= 0 && msgs[old.i].info.reply && r.i >= 0 && !si.reply:
		default:
			continue
		}
		table[si.subject] = r
	}
	// cands holds the root set in order, with the dummies made here in
	// the place of the node they took in; what got a parent or was
	// merged away is dropped at the end.
	cands := slices.Clone(roots)
	for _, r := range roots {
		si := subjectOf(r)
		if si == nil || si.subject == "" {
			continue
		}
		t := table[si.subject]
		if t == r || r.parent != nil {
			continue
		}
		switch {
		case t.i < 0 && r.i < 0:
			// Both dummies: one takes the children of the other.
			for _, ch := range r.children {
				ch.parent = t
			}
			t.children = append(t.children, r.children...)
			r.children = nil
			r.i = threadMerged
		case t.i < 0:
			link(t, r)
		case r.i < 0:
			// The message in the table becomes a child of this dummy,
			// which stands for the subject from now on.
			link(r, t)
			table[si.subject] = r
		case !msgs[t.i].info.reply && msgs[r.i].info.reply:
			link(t, r)
		default:
			d := &threadNode{i: -1}
			replaceNode(cands, t, d)
			link(d, t)
			link(d, r)
			table[si.subject] = d
		}
	}
	roots = roots[:0]
	for _, n := range cands {
		if n.parent == nil && n.i != threadMerged {
			roots = append(roots, n)
		}
	}
	// (7) Sort every set of siblings by sent date, the deepest first.
	var walk func(ns []*threadNode)
	walk = func(ns []*threadNode) {
		for _, n := range ns {
			walk(n.children)
		}
		sortSiblings(ns)
	}
	walk(roots)
	return roots
}

// unlink removes n from its parent's children.
func unlink(n *threadNode) {
	p := n.parent
	if p == nil {
		return
	}
	if k := slices.Index(p.children, n); k >= 0 {
		p.children = slices.Delete(p.children, k, k+1)
	}
	n.parent = nil
}

// replaceNode puts repl in old's place in ns, if old is there.
func replaceNode(ns []*threadNode, old, repl *threadNode) {
	if k := slices.Index(ns, old); k >= 0 {
		ns[k] = repl
	}
}

// pruneDummies removes the dummies without children and puts the
// children of the others in their place, at the root only when there is
// a single child (RFC 5256 section 4.2 step 4).
func pruneDummies(ns []*threadNode, root bool) []*threadNode {
	var out []*threadNode
	for _, n := range ns {
		n.children = pruneDummies(n.children, false)
		for _, ch := range n.children {
			ch.parent = n
		}
		if n.i >= 0 {
			out = append(out, n)
			continue
		}
		switch {
		case len(n.children) == 0:
		case !root || len(n.children) == 1:
			for _, ch := range n.children {
				ch.parent = n.parent
				out = append(out, ch)
			}
		default:
			out = append(out, n)
		}
	}
	return out
}

// appendThread appends one thread: "(" the chain of single children, then
// the subthreads of a node with several children each in parentheses ")".
func appendThread(b []byte, n *threadNode, msgs []threadMsg) []byte {
	b = append(b, '(')
	b = appendThreadMembers(b, n, msgs)
	return append(b, ')')
}

func appendThreadMembers(b []byte, n *threadNode, msgs []threadMsg) []byte {
	for {
		if n.i >= 0 {
			if b[len(b)-1] != '(' {
				b = append(b, ' ')
			}
			b = strconv.AppendUint(b, uint64(msgs[n.i].num), 10)
		}
		if len(n.children) != 1 {
			break
		}
		n = n.children[0]
	}
	if len(n.children) > 1 {
		if b[len(b)-1] != '(' {
			b = append(b, ' ')
		}
		for _, ch := range n.children {
			b = appendThread(b, ch, msgs)
		}
	}
	return b
}
