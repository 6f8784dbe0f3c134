package imap

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DefaultMaxNotifyMailboxes bounds, for one connection, the mailboxes that
// NOTIFY (RFC 5465) watches and the changes waiting to be told: beyond it,
// NOTIFY SET is refused with NO [LIMIT], and a connection whose pending
// changes exceed it gets NOTIFICATIONOVERFLOW.
const DefaultMaxNotifyMailboxes = 2000

// notifyFilter is a mailbox filter of NOTIFY SET (RFC 5465 section 6).
type notifyFilter uint8

const (
	filterSelected notifyFilter = iota + 1
	filterSelectedDelayed
	filterInboxes
	filterPersonal
	filterSubscribed
	filterSubtree
	filterMailboxes
)

var notifyFilters = map[string]notifyFilter{
	"SELECTED": filterSelected, "SELECTED-DELAYED": filterSelectedDelayed, "INBOXES": filterInboxes,
	"PERSONAL": filterPersonal, "SUBSCRIBED": filterSubscribed, "SUBTREE": filterSubtree, "MAILBOXES": filterMailboxes,
}

// notifyEvents is a set of the events of RFC 5465 section 5 this server
// supports.
type notifyEvents uint8

const (
	evMessageNew notifyEvents = 1 << iota
	evMessageExpunge
	evFlagChange
	evMailboxName
	evSubscriptionChange

	evMessages = evMessageNew | evMessageExpunge | evFlagChange
)

var notifyEventNames = []struct {
	name string
	ev   notifyEvents
}{{"MessageNew", evMessageNew}, {"MessageExpunge", evMessageExpunge}, {"FlagChange", evFlagChange},
	{"MailboxName", evMailboxName}, {"SubscriptionChange", evSubscriptionChange}}

// badEventCode is the BADEVENT response code, which lists the events
// supported (RFC 5465 section 6).
const badEventCode = "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)"

// notifyGroup is one event group of NOTIFY SET.
type notifyGroup struct {
	filter notifyFilter
	names  []string // SUBTREE and MAILBOXES, as on the wire until cmdNotify decodes them
	events notifyEvents
	fetch  []fetchItem // MessageNew's fetch attributes
}

// notifyArgs are the arguments of NOTIFY.
type notifyArgs struct {
	none   bool
	status bool
	groups []notifyGroup
	// unsupported holds events of the command that the server does not
	// support, for NO [BADEVENT].
	unsupported []string
}

// notifyArgs reads "SET [STATUS] event-groups" or "NONE" (RFC 5465
// section 8).
func (d *decoder) notifyArgs(cmd *command) error {
	n := &notifyArgs{}
	cmd.notify = n
	if err := d.sp(); err != nil {
		return err
	}
	a, err := d.atom()
	if err != nil {
		return err
	}
	switch strings.ToUpper(a) {
	case "NONE":
		n.none = true
		return nil
	case "SET":
	default:
		return syntaxErr("Expected SET or NONE")
	}
	if err := d.sp(); err != nil {
		return err
	}
	if c, _ := d.peek(); c != '(' {
		a, err := d.atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(a, "STATUS") {
			return syntaxErr("Expected STATUS or an event group")
		}
		n.status = true
		if err := d.sp(); err != nil {
			return err
		}
	}
	for {
		if err := d.countItem(); err != nil {
			return err
		}
		if err := d.notifyGroup(n); err != nil {
			return err
		}
		if c, _ := d.peek(); c != ' ' {
			return nil
		}
		d.readByte()
	}
}

// notifyGroup reads "(" filter-mailboxes SP events ")".
func (d *decoder) notifyGroup(n *notifyArgs) error {
	if err := d.expect('(', "'('"); err != nil {
		return err
	}
	a, err := d.atom()
	if err != nil {
		return err
	}
	g := notifyGroup{filter: notifyFilters[strings.ToUpper(a)]}
	if g.filter == 0 {
		return syntaxErr("Unknown mailbox filter")
	}
	if g.filter == filterSubtree || g.filter == filterMailboxes {
		if err := d.sp(); err != nil {
			return err
		}
		if c, _ := d.peek(); c == '(' {
			err = d.list(func() error {
				m, err := d.mailbox()
				g.names = append(g.names, m)
				return err
			})
			if err == nil && len(g.names) == 0 {
				err = syntaxErr("Expected a mailbox")
			}
		} else {
			var m string
			m, err = d.mailbox()
			g.names = append(g.names, m)
		}
		if err != nil {
			return err
		}
	}
	if err := d.sp(); err != nil {
		return err
	}
	if err := d.notifyEventList(n, &g); err != nil {
		return err
	}
	n.groups = append(n.groups, g)
	return d.expect(')', "')'")
}

// notifyEventList reads "NONE" or "(" event *(SP event) ")", where
// MessageNew may have a parenthesised list of fetch attributes.
func (d *decoder) notifyEventList(n *notifyArgs, g *notifyGroup) error {
	if c, _ := d.peek(); c != '(' {
		a, err := d.atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(a, "NONE") {
			return syntaxErr("Expected NONE or a list of events")
		}
		return nil
	}
	d.readByte()
	for {
		if err := d.countItem(); err != nil {
			return err
		}
		name, err := d.atom()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(notifyEventNames, func(e struct {
			name string
			ev   notifyEvents
		}) bool {
			return strings.EqualFold(e.name, name)
		})
		if i < 0 {
			if len(n.unsupported) < 10 {
				n.unsupported = append(n.unsupported, name)
			}
		} else {
			g.events |= notifyEventNames[i].ev
		}
		c, err := d.readByte()
		if err != nil {
			return err
		}
		if c == ' ' && i >= 0 && notifyEventNames[i].ev == evMessageNew {
			if p, _ := d.peek(); p == '(' {
				if g.fetch, err = d.fetchAtts(); err != nil {
					return err
				}
				if c, err = d.readByte(); err != nil {
					return err
				}
			}
		}
		switch c {
		case ')':
			return nil
		case ' ':
		default:
			return syntaxErr("Expected SP or ')'")
		}
	}
}

// check applies the rules of RFC 5465 sections 3.1 and 5 that the
// grammar does not.
func (n *notifyArgs) check() error {
	if len(n.unsupported) > 0 {
		return &Error{Type: StatusNo, Code: badEventCode, Text: "Unsupported event: " + n.unsupported[0]}
	}
	sel := false
	for _, g := range n.groups {
		isSel := g.filter == filterSelected || g.filter == filterSelectedDelayed
		if isSel && sel {
			return &Error{Type: StatusBad, Text: "SELECTED or SELECTED-DELAYED may be given once"}
		}
		sel = sel || isSel
		if g.events&evMessageNew != 0 != (g.events&evMessageExpunge != 0) {
			return &Error{Type: StatusBad, Text: "MessageNew and MessageExpunge must be given together"}
		}
		if g.events&evFlagChange != 0 && g.events&evMessageNew == 0 {
			return &Error{Type: StatusBad, Text: "FlagChange needs MessageNew and MessageExpunge"}
		}
		if len(g.fetch) > 0 && !isSel {
			return &Error{Type: StatusBad, Text: "Fetch attributes are allowed for the selected mailbox only"}
		}
	}
	return nil
}

// notifier is the NOTIFY state of a connection. Its goroutine sends the
// notifications while the connection waits for a command; conn.wmu, held
// by the connection's goroutine at all other times, keeps the two apart.
type notifier struct {
	c      *conn
	groups []notifyGroup
	limit  int

	mu       sync.Mutex // guards pending, overflow and watching, used by the backend
	pending  map[string]MailboxChange
	overflow bool
	watching map[string]bool // watch as a set

	ready  chan struct{} // a change is pending, or the selection changed
	done   chan struct{} // closed to end the goroutine
	exited chan struct{} // closed by the goroutine

	// The rest is touched with conn.wmu held.
	stop    func() // the backend's
	watch   []string
	told    map[string]string // the last STATUS sent of each mailbox
	sel     *selected         // the selection lastUID belongs to
	lastUID UID               // the highest UID told with MessageNew's FETCH
}

// selGroup returns the event group of the selected mailbox, if any.
func (n *notifier) selGroup() *notifyGroup {
	for i := range n.groups {
		if f := n.groups[i].filter; f == filterSelected || f == filterSelectedDelayed {
			return &n.groups[i]
		}
	}
	return nil
}

// eventsFor returns the events of the first group that matches a
// mailbox other than the selected one.
func (n *notifier) eventsFor(name string, subscribed bool) notifyEvents {
	for _, g := range n.groups {
		ok := false
		switch g.filter {
		case filterInboxes:
			ok = name == "INBOX"
		case filterPersonal:
			ok = true
		case filterSubscribed:
			ok = subscribed
		case filterSubtree:
			ok = slices.ContainsFunc(g.names, func(s string) bool { return name == s || strings.HasPrefix(name, s+"/") })
		case filterMailboxes:
			ok = slices.Contains(g.names, name)
		}
		if ok {
			return g.events
		}
	}
	return 0
}

// report is the function the backend calls with each change.
func (n *notifier) report(ch MailboxChange) {
	n.mu.Lock()
	if ch.Kind == ChangeMessages && !n.watching[ch.Name] {
		n.mu.Unlock()
		return
	}
	if !n.overflow {
		if n.pending == nil {
			n.pending = map[string]MailboxChange{}
		}
		p, ok := n.pending[ch.Name]
		p.Name, p.Kind = ch.Name, p.Kind|ch.Kind
		if ch.OldName != "" {
			p.OldName = ch.OldName
		}
		n.pending[ch.Name] = p
		if !ok && len(n.pending) > n.limit {
			n.pending, n.overflow = nil, true
		}
	}
	n.mu.Unlock()
	n.kick()
}

func (n *notifier) kick() {
	select {
	case n.ready <- struct{}{}:
	default:
	}
}

// watched returns the mailboxes of list whose messages the groups watch,
// the selected one aside.
func (n *notifier) watched(list []MailboxInfo) []string {
	var out []string
	for _, mi := range list {
		if slices.Contains(mi.Attributes, AttrNonExistent) || slices.Contains(mi.Attributes, AttrNoSelect) {
			continue
		}
		if n.eventsFor(mi.Name, mi.Subscribed)&evMessages != 0 {
			out = append(out, mi.Name)
		}
	}
	return out
}

// cmdNotify runs NOTIFY (RFC 5465 section 3.1).
func (c *conn) cmdNotify(cmd *command) error {
	args := cmd.notify
	if args.none {
		c.notifyOff()
		return nil
	}
	if err := args.check(); err != nil {
		return err
	}
	groups := slices.Clone(args.groups)
	others := false
	for i := range groups {
		g := &groups[i]
		names := make([]string, 0, len(g.names))
		for _, s := range g.names {
			name, err := c.mailboxIn(s)
			if err != nil {
				return err
			}
			names = append(names, name)
		}
		g.names = names
		others = others || g.filter != filterSelected && g.filter != filterSelectedDelayed && g.events != 0
	}
	un, ok := c.user.(UserNotifier)
	if others && !ok {
		return &Error{Type: StatusNo, Code: CodeCannot, Text: "This store reports changes of the selected mailbox only"}
	}
	n := &notifier{c: c, groups: groups, limit: orInt(c.srv.MaxNotifyMailboxes, DefaultMaxNotifyMailboxes),
		ready: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{}), told: map[string]string{}}
	if others {
		list, err := c.user.List(c.ctx)
		if err != nil {
			return err
		}
		n.watch = n.watched(list)
		if len(n.watch) > n.limit {
			return &Error{Type: StatusNo, Code: CodeLimit, Text: "Too many mailboxes to watch"}
		}
		n.setWatching(n.watch)
		stop, err := un.Notify(c.ctx, n.watch, n.report)
		if err != nil {
			return err
		}
		n.stop = stop
	}
	// A NOTIFY SET that fails leaves the previous one in effect.
	c.notifyOff()
	c.ntf = n
	if c.sel != nil {
		n.sel, n.lastUID = c.sel, c.sel.maxUID()
	}
	if args.status {
		// RFC 5465 section 3.1: the STATUS of every mailbox watched,
		// the selected one aside.
		for _, name := range n.watch {
			if c.sel == nil || name != c.sel.name {
				n.tellStatus(name, true)
			}
		}
	}
	go n.run()
	n.kick() // to watch the selected mailbox
	return nil
}

// notifyOff ends NOTIFY (NOTIFY NONE, a new NOTIFY SET, overflow, the end
// of the connection). conn.wmu is held, and is released for a moment
// so that the goroutine can see that it must end.
func (c *conn) notifyOff() {
	n := c.ntf
	if n == nil {
		return
	}
	c.ntf = nil
	if n.stop != nil {
		n.stop()
	}
	close(n.done)
	c.wmu.Unlock()
	<-n.exited
	c.wmu.Lock()
}

// run sends notifications while the connection waits for a command.
func (n *notifier) run() {
	defer close(n.exited)
	c := n.c
	var updates <-chan struct{}
	for {
		select {
		case <-n.done:
			return
		case <-n.ready:
		case <-updates:
		}
		c.wmu.Lock()
		select {
		case <-n.done:
			c.wmu.Unlock()
			return
		default:
		}
		n.deliver(c.idling)
		if c.ntf == n {
			updates = nil
			if c.sel != nil && n.selGroup() != nil && n.selGroup().events&evMessages != 0 {
				updates = c.sel.mb.Updates()
			}
		}
		if c.bw.Flush() != nil {
			c.nc.Close() // the connection's goroutine sees the error
		}
		c.wmu.Unlock()
	}
}

// notifyAfterCommand runs at the end of each command while NOTIFY is set:
// it sends MessageNew's FETCH for the messages the command's sync
// announced, and wakes the goroutine when the selection changed.
func (c *conn) notifyAfterCommand() {
	n := c.ntf
	if n.sel != c.sel {
		n.sel, n.lastUID = c.sel, 0
		if c.sel != nil {
			n.lastUID = c.sel.maxUID()
		}
		n.kick()
		return
	}
	n.fetchNew()
}

// deliver sends what is pending: the selected mailbox's changes, then the
// STATUS and LIST responses of the others. inIdle is set during IDLE,
// which may carry expunges even with SELECTED-DELAYED.
func (n *notifier) deliver(inIdle bool) {
	c := n.c
	n.mu.Lock()
	pend, over := n.pending, n.overflow
	n.pending = nil
	n.mu.Unlock()
	if over {
		c.untagged("OK [NOTIFICATIONOVERFLOW] Too many changes; NOTIFY NONE is in effect")
		n.off()
		return
	}
	if g := n.selGroup(); c.sel != nil && n.sel == c.sel && g != nil && g.events&evMessages != 0 {
		expungeOK := inIdle || g.filter == filterSelected
		if err := c.sync(expungeOK); err != nil {
			c.srv.logger().Warn("imap: NOTIFY update of the selected mailbox failed", "err", err)
		}
		c.cond.vanished = false
		n.fetchNew()
	}
	if len(pend) == 0 {
		return
	}
	names := make([]string, 0, len(pend))
	for name := range pend {
		names = append(names, name)
	}
	slices.Sort(names)
	var list []MailboxInfo
	needList := slices.ContainsFunc(n.groups, func(g notifyGroup) bool { return g.filter == filterSubscribed })
	for _, ch := range pend {
		needList = needList || ch.Kind&(ChangeMailboxName|ChangeSubscription) != 0
	}
	if needList {
		var err error
		if list, err = c.user.List(c.ctx); err != nil {
			c.srv.logger().Warn("imap: NOTIFY list failed", "err", err)
			return
		}
	}
	info := func(name string) *MailboxInfo {
		i := slices.IndexFunc(list, func(mi MailboxInfo) bool { return mi.Name == name })
		if i < 0 {
			return nil
		}
		return &list[i]
	}
	renamed := false
	for _, name := range names {
		ch := pend[name]
		mi := info(name)
		subscribed := mi != nil && mi.Subscribed
		ev := n.eventsFor(name, subscribed)
		if ch.OldName != "" {
			ev |= n.eventsFor(ch.OldName, subscribed)
		}
		if ch.Kind&ChangeMailboxName != 0 && ev&evMailboxName != 0 ||
			ch.Kind&ChangeSubscription != 0 && ev&evSubscriptionChange != 0 {
			n.tellList(name, ch.OldName, mi)
		}
		if ch.Kind&ChangeMailboxName != 0 {
			renamed = true
			delete(n.told, name)
			if ch.OldName != "" {
				delete(n.told, ch.OldName)
			}
		}
		if ch.Kind&ChangeMessages != 0 && ev&evMessages != 0 && (c.sel == nil || name != c.sel.name) {
			n.tellStatus(name, false)
		}
	}
	if renamed || anyKind(pend, ChangeSubscription) {
		n.rewatch(list)
	}
}

func anyKind(pend map[string]MailboxChange, k ChangeKind) bool {
	for _, c := range pend {
		if c.Kind&k != 0 {
			return true
		}
	}
	return false
}

// off ends NOTIFY from the goroutine or the command path, conn.wmu held.
func (n *notifier) off() {
	c := n.c
	if c.ntf != n {
		return
	}
	c.ntf = nil
	if n.stop != nil {
		n.stop()
		n.stop = nil
	}
	select {
	case <-n.done:
	default:
		close(n.done)
	}
}

// rewatch gives the backend the mailboxes to watch after a mailbox
// appeared, went or changed its subscription.
func (n *notifier) rewatch(list []MailboxInfo) {
	c := n.c
	w := n.watched(list)
	if slices.Equal(w, n.watch) || n.stop == nil {
		return
	}
	if len(w) > n.limit {
		c.untagged("OK [NOTIFICATIONOVERFLOW] Too many mailboxes to watch; NOTIFY NONE is in effect")
		n.off()
		return
	}
	stop, err := c.user.(UserNotifier).Notify(c.ctx, w, n.report)
	if err != nil {
		c.srv.logger().Warn("imap: NOTIFY watch failed", "err", err)
		return
	}
	n.setWatching(w)
	n.stop()
	n.stop, n.watch = stop, w
}

func (n *notifier) setWatching(w []string) {
	set := make(map[string]bool, len(w))
	for _, name := range w {
		set[name] = true
	}
	n.mu.Lock()
	n.watching = set
	n.mu.Unlock()
}

// tellStatus sends the STATUS of a mailbox other than the selected one
// when it differs from what was told (RFC 5465 sections 5.2 and 5.3):
// MESSAGES, UIDNEXT and UIDVALIDITY, and HIGHESTMODSEQ once CONDSTORE is
// enabled.
func (n *notifier) tellStatus(name string, always bool) {
	c := n.c
	st, err := c.user.Status(c.ctx, name)
	if err != nil {
		return // gone meanwhile: MailboxName tells
	}
	b := []byte("STATUS ")
	b = appendString(b, c.mailboxOut(name), c.utf8)
	b = append(b, " (MESSAGES "...)
	b = strconv.AppendUint(b, uint64(st.Messages), 10)
	b = append(b, " UIDNEXT "...)
	b = strconv.AppendUint(b, uint64(st.UIDNext), 10)
	b = append(b, " UIDVALIDITY "...)
	b = strconv.AppendUint(b, uint64(st.UIDValidity), 10)
	key := string(b)
	if c.cond.condstore && st.HighestModSeq != 0 {
		b = append(b, " HIGHESTMODSEQ "...)
		b = strconv.AppendUint(b, st.HighestModSeq, 10)
		if n.eventsFor(name, true)&evFlagChange != 0 || n.eventsFor(name, false)&evFlagChange != 0 {
			key = string(b)
		}
	}
	b = append(b, ')')
	if !always && n.told[name] == key {
		return
	}
	if len(n.told) >= n.limit {
		clear(n.told)
	}
	n.told[name] = key
	c.untagged(string(b))
}

// tellList sends the LIST response of a mailbox that was created, deleted,
// renamed (with OLDNAME, RFC 5465 section 5.4) or (un)subscribed (section
// 5.5); mi is nil when the name is no mailbox any more.
func (n *notifier) tellList(name, oldName string, mi *MailboxInfo) {
	c := n.c
	// The attributes of the mailbox and \Subscribed, without the
	// children attributes, as Dovecot sends them.
	var attrs []MailboxAttr
	if mi == nil {
		attrs = append(attrs, AttrNonExistent)
	} else {
		attrs = append(attrs, mi.Attributes...)
		if mi.Subscribed {
			attrs = append(attrs, AttrSubscribed)
		}
	}
	b := []byte("LIST (")
	for i, a := range attrs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a...)
	}
	b = append(b, `) "/" `...)
	b = appendString(b, c.mailboxOut(name), c.utf8)
	if oldName != "" && mi != nil {
		b = append(b, ` ("OLDNAME" (`...)
		b = appendString(b, c.mailboxOut(oldName), c.utf8)
		b = append(b, "))"...)
	}
	c.untagged(string(b))
}

// fetchNew sends MessageNew's FETCH for the messages of the selected
// mailbox announced since the last call (RFC 5465 section 5.2).
func (n *notifier) fetchNew() {
	c := n.c
	g := n.selGroup()
	sel := c.sel
	if sel == nil || n.sel != sel {
		return
	}
	last := n.lastUID
	n.lastUID = sel.maxUID()
	if g == nil || len(g.fetch) == 0 {
		return
	}
	for i, m := range sel.msgs {
		if m.UID <= last || sel.gone[i] {
			continue
		}
		fm := &fetchMsg{c: c, info: m}
		err := c.fetchOne(uint32(i+1), fm, g.fetch, false)
		fm.close()
		if err != nil && fm.streamed {
			c.nc.Close() // half a response on the wire
			return
		}
	}
}

// notifyWatchesSelected reports whether NOTIFY's goroutine follows the
// selected mailbox's updates, so that IDLE leaves them to it.
func (c *conn) notifyWatchesSelected() bool {
	if c.ntf == nil {
		return false
	}
	g := c.ntf.selGroup()
	return g != nil && g.events&evMessages != 0
}
