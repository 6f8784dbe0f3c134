package imap

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/message"
)

// SelectData is what SELECT and EXAMINE report.
type SelectData struct {
	Exists         uint32
	UIDValidity    uint32
	UIDNext        UID
	Flags          []Flag
	PermanentFlags []Flag
	ReadOnly       bool
	// CONDSTORE and QRESYNC (RFC 7162, see SelectWith): HIGHESTMODSEQ,
	// or NoModSeq for a mailbox without mod-sequences; the UIDs of
	// VANISHED (EARLIER) and the FETCH responses of a QRESYNC SELECT.
	HighestModSeq uint64
	NoModSeq      bool
	Vanished      []UID
	Changed       []FetchMessage
}

func flagsOf(v Value) []Flag {
	var fs []Flag
	for _, e := range v.List {
		fs = append(fs, Flag(e.String()))
	}
	return fs
}

// Select opens a mailbox, read-only with readOnly (EXAMINE).
func (c *Client) Select(ctx context.Context, name string, readOnly bool) (*SelectData, error) {
	return c.selectMailbox(ctx, name, readOnly, nil)
}

func (c *Client) selectMailbox(ctx context.Context, name string, readOnly bool, params []arg) (*SelectData, error) {
	cmd := "SELECT"
	if readOnly {
		cmd = "EXAMINE"
	}
	d := &SelectData{}
	resp, err := c.do(ctx, cmd, append([]arg{c.mbox(name)}, params...), func(r *response) error {
		c.selectCond(d, r)
		switch {
		case r.name == "EXISTS":
			d.Exists = r.num
		case r.name == "FLAGS" && len(r.fields) > 0:
			d.Flags = flagsOf(r.fields[0])
		case r.name == "OK":
			f := strings.Fields(r.code)
			if len(f) < 2 {
				break
			}
			switch strings.ToUpper(f[0]) {
			case "UIDVALIDITY":
				n, _ := strconv.ParseUint(f[1], 10, 32)
				d.UIDValidity = uint32(n)
			case "UIDNEXT":
				n, _ := strconv.ParseUint(f[1], 10, 32)
				d.UIDNext = UID(n)
			case "PERMANENTFLAGS":
				s := strings.Trim(strings.TrimPrefix(r.code[len(f[0]):], " "), "()")
				for _, x := range strings.Fields(s) {
					d.PermanentFlags = append(d.PermanentFlags, Flag(x))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.ReadOnly = strings.EqualFold(resp.code, "READ-ONLY")
	return d, nil
}

// Unselect closes the mailbox without expunging (RFC 3691).
func (c *Client) Unselect(ctx context.Context) error {
	_, err := c.do(ctx, "UNSELECT", nil, nil)
	return err
}

// CloseMailbox closes the mailbox with CLOSE, expunging messages flagged
// \Deleted.
func (c *Client) CloseMailbox(ctx context.Context) error {
	_, err := c.do(ctx, "CLOSE", nil, nil)
	return err
}

// Create creates a mailbox.
func (c *Client) Create(ctx context.Context, name string) error {
	_, err := c.do(ctx, "CREATE", []arg{c.mbox(name)}, nil)
	return err
}

// Delete deletes a mailbox.
func (c *Client) Delete(ctx context.Context, name string) error {
	_, err := c.do(ctx, "DELETE", []arg{c.mbox(name)}, nil)
	return err
}

// Rename renames a mailbox.
func (c *Client) Rename(ctx context.Context, from, to string) error {
	_, err := c.do(ctx, "RENAME", []arg{c.mbox(from), c.mbox(to)}, nil)
	return err
}

// Subscribe subscribes to a mailbox, or unsubscribes with on false.
func (c *Client) Subscribe(ctx context.Context, name string, on bool) error {
	cmd := "SUBSCRIBE"
	if !on {
		cmd = "UNSUBSCRIBE"
	}
	_, err := c.do(ctx, cmd, []arg{c.mbox(name)}, nil)
	return err
}

func (c *Client) mailboxName(v Value) string {
	s := v.String()
	if c.utf8On() {
		return s
	}
	if d, err := decodeUTF7(s); err == nil {
		return d
	}
	return s
}

// List lists the mailboxes matching pattern ("*" for all) under ref.
func (c *Client) List(ctx context.Context, ref, pattern string) ([]MailboxInfo, error) {
	var out []MailboxInfo
	_, err := c.do(ctx, "LIST", []arg{c.mbox(ref), c.mbox(pattern)}, func(r *response) error {
		if r.name != "LIST" || len(r.fields) < 3 {
			return nil
		}
		info := MailboxInfo{Name: c.mailboxName(r.fields[2])}
		if strings.EqualFold(info.Name, "INBOX") {
			info.Name = "INBOX"
		}
		for _, a := range r.fields[0].List {
			attr := MailboxAttr(a.String())
			if strings.EqualFold(string(attr), string(AttrSubscribed)) {
				info.Subscribed = true
			}
			info.Attributes = append(info.Attributes, attr)
		}
		out = append(out, info)
		return nil
	})
	return out, err
}

// Status asks for MESSAGES, UIDNEXT, UIDVALIDITY and UNSEEN of a mailbox,
// and SIZE when the server offers STATUS=SIZE.
func (c *Client) Status(ctx context.Context, name string) (MailboxStatus, error) {
	items := "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN"
	if c.Has("STATUS=SIZE") {
		items += " SIZE"
	}
	if c.Has("CONDSTORE") {
		items += " HIGHESTMODSEQ"
	}
	items += ")"
	var st MailboxStatus
	_, err := c.do(ctx, "STATUS", []arg{c.mbox(name), rawArg(items)}, func(r *response) error {
		if r.name != "STATUS" || len(r.fields) < 2 {
			return nil
		}
		l := r.fields[1].List
		for i := 0; i+1 < len(l); i += 2 {
			n, _ := l[i+1].Number()
			switch strings.ToUpper(l[i].String()) {
			case "MESSAGES":
				st.Messages = uint32(n)
			case "UIDNEXT":
				st.UIDNext = UID(n)
			case "UIDVALIDITY":
				st.UIDValidity = uint32(n)
			case "UNSEEN":
				st.Unseen = uint32(n)
			case "SIZE":
				st.Size = n
			case "HIGHESTMODSEQ":
				st.HighestModSeq = uint64(n)
			}
		}
		return nil
	})
	return st, err
}

// Append adds a message of size bytes read from r to a mailbox.
func (c *Client) Append(ctx context.Context, name string, r io.Reader, size int64, opts *AppendOptions) (AppendResult, error) {
	args := []arg{c.mbox(name)}
	if opts != nil && len(opts.Flags) > 0 {
		args = append(args, rawArg(string(appendFlags(nil, opts.Flags))))
	}
	if opts != nil && !opts.InternalDate.IsZero() {
		args = append(args, rawArg(`"`+imapDate(opts.InternalDate)+`"`))
	}
	args = append(args, arg{reader: r, n: size})
	resp, err := c.do(ctx, "APPEND", args, nil)
	if err != nil {
		return AppendResult{}, err
	}
	var res AppendResult
	if f := strings.Fields(resp.code); len(f) == 3 && strings.EqualFold(f[0], "APPENDUID") {
		v, _ := strconv.ParseUint(f[1], 10, 32)
		u, _ := strconv.ParseUint(f[2], 10, 32)
		res = AppendResult{UIDValidity: uint32(v), UID: UID(u)}
	}
	return res, nil
}

func uidPrefix(uid bool, cmd string) string {
	if uid {
		return "UID " + cmd
	}
	return cmd
}

// Expunge removes the messages flagged \Deleted and returns the sequence
// numbers the server reported, in order.
func (c *Client) Expunge(ctx context.Context) ([]uint32, error) {
	var out []uint32
	_, err := c.do(ctx, "EXPUNGE", nil, func(r *response) error {
		if r.name == "EXPUNGE" {
			out = append(out, r.num)
		}
		return nil
	})
	return out, err
}

// Search runs SEARCH (UID SEARCH with uid) with criteria in IMAP syntax,
// such as `UNSEEN FROM "bob"`, and returns the matching numbers.
func (c *Client) Search(ctx context.Context, criteria string, uid bool) ([]uint32, error) {
	var out []uint32
	_, err := c.do(ctx, uidPrefix(uid, "SEARCH"), []arg{rawArg(criteria)}, func(r *response) error {
		switch r.name {
		case "SEARCH":
			for _, f := range r.fields {
				if n, ok := f.Number(); ok {
					out = append(out, uint32(n))
				}
			}
		case "ESEARCH":
			for i, f := range r.fields {
				if strings.EqualFold(f.Atom, "ALL") && i+1 < len(r.fields) {
					out = append(out, expandSet(r.fields[i+1].String())...)
				}
			}
		}
		return nil
	})
	return out, err
}

// expandSet expands a set of explicit numbers such as "1:3,7".
func expandSet(s string) []uint32 {
	var out []uint32
	for _, r := range strings.Split(s, ",") {
		a, b, _ := strings.Cut(r, ":")
		x, err1 := strconv.ParseUint(a, 10, 32)
		y, err2 := strconv.ParseUint(b, 10, 32)
		if err2 != nil {
			y = x
		}
		if err1 != nil || y < x || y-x > 1<<20 {
			continue
		}
		for n := x; n <= y; n++ {
			out = append(out, uint32(n))
		}
	}
	return out
}

// FetchMessage is one message of a FETCH response.
type FetchMessage struct {
	SeqNum       uint32
	UID          UID
	Flags        []Flag
	Size         int64
	InternalDate time.Time
	Envelope     *Envelope
	// ModSeq is the MODSEQ item (RFC 7162), 0 without it.
	ModSeq uint64
	// Sections holds body sections by the name the server gave them,
	// such as "BODY[]", "BODY[1.MIME]" or "BINARY[2]".
	Sections map[string][]byte
	// Items holds every item as received, for BODYSTRUCTURE and others.
	Items map[string]Value
}

// Envelope is the ENVELOPE of a message (RFC 9051 section 7.5.2).
type Envelope struct {
	Date, Subject                      string
	From, Sender, ReplyTo, To, Cc, Bcc []message.Address
	InReplyTo, MessageID               string
}

// Fetch runs FETCH (UID FETCH with uid) for set with items in IMAP syntax,
// such as "(FLAGS UID BODY.PEEK[])", and returns the messages in the
// order the server sent them.
func (c *Client) Fetch(ctx context.Context, set SeqSet, items string, uid bool) ([]FetchMessage, error) {
	var out []FetchMessage
	_, err := c.do(ctx, uidPrefix(uid, "FETCH"), []arg{rawArg(set.String()), rawArg(items)}, func(r *response) error {
		if r.name != "FETCH" || len(r.fields) == 0 {
			return nil
		}
		out = append(out, fetchMessageOf(r))
		return nil
	})
	return out, err
}

// fetchMessageOf decodes a FETCH response.
func fetchMessageOf(r *response) FetchMessage {
	m := FetchMessage{SeqNum: r.num, Sections: map[string][]byte{}, Items: map[string]Value{}}
	l := r.fields[0].List
	for i := 0; i+1 < len(l); i += 2 {
		name, v := strings.ToUpper(l[i].Atom), l[i+1]
		m.Items[name] = v
		switch {
		case name == "UID":
			n, _ := v.Number()
			m.UID = UID(n)
		case name == "FLAGS":
			m.Flags = flagsOf(v)
		case name == "RFC822.SIZE":
			m.Size, _ = v.Number()
		case name == "INTERNALDATE":
			m.InternalDate, _ = parseDateTime(v.String())
		case name == "ENVELOPE":
			m.Envelope = parseEnvelope(v)
		case name == "MODSEQ" && len(v.List) == 1:
			n, _ := v.List[0].Number()
			m.ModSeq = uint64(n)
		case strings.Contains(name, "[") || strings.HasPrefix(name, "RFC822"):
			if v.IsStr {
				m.Sections[name] = []byte(v.Str)
			}
		}
	}
	return m
}

func parseEnvelope(v Value) *Envelope {
	l := v.List
	if len(l) < 10 {
		return nil
	}
	return &Envelope{
		Date: l[0].String(), Subject: l[1].String(),
		From: addressesFrom(l[2]), Sender: addressesFrom(l[3]), ReplyTo: addressesFrom(l[4]),
		To: addressesFrom(l[5]), Cc: addressesFrom(l[6]), Bcc: addressesFrom(l[7]),
		InReplyTo: l[8].String(), MessageID: l[9].String(),
	}
}

// addressesFrom converts an address list, groups included (RFC 9051
// section 7.5.2: a NIL host starts or ends a group).
func addressesFrom(v Value) []message.Address {
	var out []message.Address
	var group *message.Address
	for _, a := range v.List {
		if len(a.List) < 4 {
			continue
		}
		name, mbox, host := a.List[0].String(), a.List[2], a.List[3]
		if host.IsNil() {
			if mbox.IsNil() {
				if group != nil {
					out = append(out, *group)
					group = nil
				}
				continue
			}
			group = &message.Address{Name: mbox.String(), Group: true}
			continue
		}
		addr := message.Address{Name: name, Addr: mbox.String() + "@" + host.String()}
		if group != nil {
			group.Members = append(group.Members, addr)
		} else {
			out = append(out, addr)
		}
	}
	if group != nil {
		out = append(out, *group)
	}
	return out
}

// Store changes the flags of messages silently.
func (c *Client) Store(ctx context.Context, set SeqSet, op StoreOp, flags []Flag, uid bool) error {
	item := "FLAGS.SILENT"
	switch op {
	case StoreAdd:
		item = "+" + item
	case StoreRemove:
		item = "-" + item
	}
	_, err := c.do(ctx, uidPrefix(uid, "STORE"), []arg{rawArg(set.String()), rawArg(item), rawArg(string(appendFlags(nil, flags)))}, nil)
	return err
}

// Copy copies messages to another mailbox; the result holds COPYUID when
// the server sent it.
func (c *Client) Copy(ctx context.Context, set SeqSet, dest string, uid bool) (CopyResult, error) {
	return c.copyMove(ctx, "COPY", set, dest, uid)
}

// Move moves messages to another mailbox (RFC 6851).
func (c *Client) Move(ctx context.Context, set SeqSet, dest string, uid bool) (CopyResult, error) {
	return c.copyMove(ctx, "MOVE", set, dest, uid)
}

func (c *Client) copyMove(ctx context.Context, cmd string, set SeqSet, dest string, uid bool) (CopyResult, error) {
	var res CopyResult
	parse := func(code string) {
		f := strings.Fields(code)
		if len(f) != 4 || !strings.EqualFold(f[0], "COPYUID") {
			return
		}
		v, _ := strconv.ParseUint(f[1], 10, 32)
		res.UIDValidity = uint32(v)
		for _, n := range expandSet(f[2]) {
			res.Source = append(res.Source, UID(n))
		}
		for _, n := range expandSet(f[3]) {
			res.Dest = append(res.Dest, UID(n))
		}
	}
	resp, err := c.do(ctx, uidPrefix(uid, cmd), []arg{rawArg(set.String()), c.mbox(dest)}, func(r *response) error {
		if r.name == "OK" {
			parse(r.code)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	parse(resp.code)
	return res, nil
}

// Idle waits in IDLE (RFC 2177) until ctx ends, calling update for each
// "* n EXISTS", "* n EXPUNGE" or "* n FETCH" the server sends, and with
// "VANISHED" and the UID for each UID of a VANISHED response (QRESYNC);
// then it sends DONE and waits for the end of the command.
func (c *Client) Idle(ctx context.Context, update func(name string, num uint32)) error {
	c.excl.Lock()
	defer c.excl.Unlock()
	tag := c.nextTag()
	if _, err := io.WriteString(c.conn, tag+" IDLE\r\n"); err != nil {
		return err
	}
	for {
		resp, err := c.p.readResponse()
		if err != nil {
			return err
		}
		if resp.tag == "+" {
			break
		}
		if resp.tag == tag {
			return statusError(resp)
		}
	}
	stop := context.AfterFunc(ctx, func() { io.WriteString(c.conn, "DONE\r\n") })
	defer stop()
	for {
		resp, err := c.p.readResponse()
		if err != nil {
			return err
		}
		switch resp.tag {
		case tag:
			if resp.name != "OK" {
				return statusError(resp)
			}
			return nil
		case "*":
			if resp.name == "BYE" {
				return &Error{Type: StatusBye, Text: resp.text}
			}
			if update != nil && resp.num > 0 {
				update(resp.name, resp.num)
			}
			if update != nil && resp.name == "VANISHED" {
				// QRESYNC: one call a UID.
				for _, u := range vanishedUIDs(resp) {
					update("VANISHED", uint32(u))
				}
			}
		default:
			return errors.New("imap: unexpected response during IDLE")
		}
	}
}
