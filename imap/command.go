package imap

import (
	"io"
	"strings"
	"time"
)

// command is one parsed client command. Only the fields of its verb are
// set.
type command struct {
	tag  string
	name string // upper case verb; "UID FETCH" etc. for UID commands
	uid  bool

	// LOGIN, AUTHENTICATE
	user, pass string
	mech       string
	initial    *string // AUTHENTICATE initial response, nil without one

	// ENABLE
	caps []string

	// ID: field and value pairs, nil for ID NIL
	id []string

	// mailbox commands
	mailbox, mailbox2 string
	specialUse        []MailboxAttr // CREATE (USE (...))

	// LIST
	listSelect  []string
	listPattern []string
	listReturn  []string
	statusItems []string // STATUS, LIST RETURN (STATUS (...))

	// APPEND
	flags      []Flag
	date       time.Time
	literal    io.Reader // the message, to be read before the CRLF
	literalLen int64
	binary     bool

	// FETCH, STORE, COPY, MOVE, SEARCH, UID EXPUNGE
	set       SeqSet
	fetch     []fetchItem
	storeOp   StoreOp
	silent    bool
	search    *searchKey
	searchRet []string
	partial   *partialRange // RETURN (PARTIAL), FETCH (PARTIAL) (context.go)
	esearch   bool
	tags      []string  // CANCELUPDATE
	sort      *sortArgs // SORT, THREAD

	// CONDSTORE and QRESYNC parameters (condstore.go), nil without any
	cond *condArgs

	// NOTIFY (notify.go)
	notify *notifyArgs
}

// readCommand parses one command up to the start of an APPEND literal or to
// the CRLF that ends it. For APPEND, the caller reads cmd.literal and then
// calls finishAppend.
func (d *decoder) readCommand() (*command, error) {
	cmd := &command{}
	tag, err := d.atomExtra("")
	if err != nil {
		return nil, err
	}
	if strings.IndexByte(tag, '+') >= 0 {
		return nil, syntaxErr("Invalid tag")
	}
	cmd.tag = tag
	if err := d.sp(); err != nil {
		return cmd, err
	}
	verb, err := d.atom()
	if err != nil {
		return cmd, err
	}
	cmd.name = strings.ToUpper(verb)
	if cmd.name == "UID" {
		cmd.uid = true
		d.uidSet = true
		if err := d.sp(); err != nil {
			return cmd, err
		}
		verb, err := d.atom()
		if err != nil {
			return cmd, err
		}
		cmd.name = strings.ToUpper(verb)
		switch cmd.name {
		case "FETCH", "SEARCH", "STORE", "COPY", "MOVE", "EXPUNGE", "SORT", "THREAD":
		default:
			return cmd, syntaxErr("Unknown UID command")
		}
	}
	if err := d.args(cmd); err != nil {
		return cmd, err
	}
	if cmd.literal != nil {
		return cmd, nil
	}
	return cmd, d.crlf()
}

// finishAppend drains what the handler left of the APPEND literal and reads
// the end of the command.
func (d *decoder) finishAppend(cmd *command) error {
	if _, err := io.Copy(io.Discard, cmd.literal); err != nil {
		return err
	}
	d.n = 0
	return d.crlf()
}

func (d *decoder) args(cmd *command) error {
	var err error
	switch cmd.name {
	case "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "IDLE", "NAMESPACE":
		return nil
	case "EXPUNGE":
		if cmd.uid {
			if err = d.sp(); err == nil {
				cmd.set, err = d.seqSet()
			}
		}
		return err
	case "LOGIN":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.user, err = d.astring(); err != nil {
			return err
		}
		if err = d.sp(); err != nil {
			return err
		}
		cmd.pass, err = d.astring()
		return err
	case "AUTHENTICATE":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.mech, err = d.atom(); err != nil {
			return err
		}
		cmd.mech = strings.ToUpper(cmd.mech)
		if c, _ := d.peek(); c == ' ' {
			d.readByte()
			s, err := d.atomExtra("")
			if err != nil {
				return err
			}
			cmd.initial = &s
		}
		return nil
	case "ID":
		return d.idArgs(cmd)
	case "NOTIFY":
		return d.notifyArgs(cmd)
	case "GETQUOTA", "GETQUOTAROOT", "SETQUOTA":
		return d.quotaArgs(cmd)
	case "COMPRESS":
		if err = d.sp(); err == nil {
			cmd.mech, err = d.atom()
		}
		return err
	case "SORT":
		return d.sortArgs(cmd)
	case "CANCELUPDATE":
		return d.cancelUpdateArgs(cmd)
	case "THREAD":
		return d.threadArgs(cmd)
	case "ENABLE":
		for {
			if err = d.sp(); err != nil {
				return err
			}
			if err = d.countItem(); err != nil {
				return err
			}
			a, err := d.atom()
			if err != nil {
				return err
			}
			cmd.caps = append(cmd.caps, strings.ToUpper(a))
			if c, _ := d.peek(); c != ' ' {
				return nil
			}
		}
	case "SELECT", "EXAMINE":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.mailbox, err = d.mailbox(); err != nil {
			return err
		}
		if c, _ := d.peek(); c == ' ' {
			d.readByte()
			return d.selectParams(cmd)
		}
		return nil
	case "CREATE":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.mailbox, err = d.mailbox(); err != nil {
			return err
		}
		if c, _ := d.peek(); c == ' ' {
			d.readByte()
			return d.list(func() error {
				a, err := d.atom()
				if err != nil {
					return err
				}
				if !strings.EqualFold(a, "USE") {
					return syntaxErr("Unsupported CREATE parameter")
				}
				if err := d.sp(); err != nil {
					return err
				}
				return d.list(func() error {
					if err := d.expect('\\', "special-use attribute"); err != nil {
						return err
					}
					a, err := d.atom()
					if err != nil {
						return err
					}
					cmd.specialUse = append(cmd.specialUse, canonicalAttr(`\`+a))
					return nil
				})
			})
		}
		return nil
	case "DELETE", "SUBSCRIBE", "UNSUBSCRIBE":
		if err = d.sp(); err != nil {
			return err
		}
		cmd.mailbox, err = d.mailbox()
		return err
	case "RENAME":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.mailbox, err = d.mailbox(); err != nil {
			return err
		}
		if err = d.sp(); err != nil {
			return err
		}
		cmd.mailbox2, err = d.mailbox()
		return err
	case "LIST", "LSUB":
		return d.listArgs(cmd)
	case "STATUS":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.mailbox, err = d.mailbox(); err != nil {
			return err
		}
		if err = d.sp(); err != nil {
			return err
		}
		return d.list(func() error {
			a, err := d.atom()
			cmd.statusItems = append(cmd.statusItems, strings.ToUpper(a))
			return err
		})
	case "APPEND":
		return d.appendArgs(cmd)
	case "SEARCH":
		return d.searchArgs(cmd)
	case "FETCH":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.set, err = d.seqSet(); err != nil {
			return err
		}
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.fetch, err = d.fetchAtts(); err != nil {
			return err
		}
		return d.fetchModifiers(cmd)
	case "STORE":
		return d.storeArgs(cmd)
	case "COPY", "MOVE":
		if err = d.sp(); err != nil {
			return err
		}
		if cmd.set, err = d.seqSet(); err != nil {
			return err
		}
		if err = d.sp(); err != nil {
			return err
		}
		cmd.mailbox, err = d.mailbox()
		return err
	}
	return &SyntaxError{Msg: "Unknown command", Err: errUnknownCommand}
}

var errUnknownCommand = &Error{Type: StatusBad, Text: "Unknown command"}

func canonicalAttr(s string) MailboxAttr {
	for _, a := range []MailboxAttr{AttrAll, AttrArchive, AttrDrafts, AttrFlagged, AttrJunk, AttrSent, AttrTrash} {
		if strings.EqualFold(string(a), s) {
			return a
		}
	}
	return MailboxAttr(s)
}

// ID limits of RFC 2971 section 3.3.
const (
	maxIDPairs = 30
	maxIDField = 30
	maxIDValue = 1024
)

// idArgs reads the parameter list of ID (RFC 2971): NIL or a list of
// field strings and nstring values.
func (d *decoder) idArgs(cmd *command) error {
	if err := d.sp(); err != nil {
		return err
	}
	if c, _ := d.peek(); c != '(' {
		a, err := d.atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(a, "NIL") {
			return syntaxErr("Expected NIL or a list")
		}
		return nil
	}
	cmd.id = []string{}
	field := true
	err := d.list(func() error {
		if !field {
			if c, _ := d.peek(); c == 'N' || c == 'n' {
				a, err := d.atom()
				if err == nil && !strings.EqualFold(a, "NIL") {
					err = syntaxErr("Expected a string or NIL")
				}
				cmd.id = append(cmd.id, "")
				field = true
				return err
			}
		}
		s, err := d.string()
		if err != nil {
			return err
		}
		if field && len(s) > maxIDField || !field && len(s) > maxIDValue {
			return syntaxErr("ID field or value too long")
		}
		cmd.id = append(cmd.id, s)
		field = !field
		if len(cmd.id) > 2*maxIDPairs {
			return syntaxErr("Too many ID fields")
		}
		return nil
	})
	if err == nil && !field {
		// A field without value: dropped, as Dovecot does, rather
		// than failing a client's login sequence over its ID.
		cmd.id = cmd.id[:len(cmd.id)-1]
	}
	return err
}

func (d *decoder) listArgs(cmd *command) error {
	if err := d.sp(); err != nil {
		return err
	}
	if c, _ := d.peek(); c == '(' && cmd.name == "LIST" {
		err := d.list(func() error {
			a, err := d.atom()
			a = strings.ToUpper(a)
			switch a {
			case "SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE":
			default:
				if err == nil {
					err = syntaxErr("Unknown LIST selection option")
				}
			}
			cmd.listSelect = append(cmd.listSelect, a)
			return err
		})
		if err != nil {
			return err
		}
		if err := d.sp(); err != nil {
			return err
		}
	}
	var err error
	if cmd.mailbox, err = d.astring(); err != nil {
		return err
	}
	if err := d.sp(); err != nil {
		return err
	}
	if c, _ := d.peek(); c == '(' && cmd.name == "LIST" {
		err = d.list(func() error {
			p, err := d.listMailbox()
			cmd.listPattern = append(cmd.listPattern, p)
			return err
		})
	} else {
		var p string
		p, err = d.listMailbox()
		cmd.listPattern = []string{p}
	}
	if err != nil {
		return err
	}
	if c, _ := d.peek(); c != ' ' || cmd.name != "LIST" {
		return nil
	}
	d.readByte()
	a, err := d.atom()
	if err != nil {
		return err
	}
	if !strings.EqualFold(a, "RETURN") {
		return syntaxErr("Expected RETURN")
	}
	if err := d.sp(); err != nil {
		return err
	}
	return d.list(func() error {
		a, err := d.atom()
		if err != nil {
			return err
		}
		a = strings.ToUpper(a)
		switch a {
		case "SUBSCRIBED", "CHILDREN", "SPECIAL-USE":
		case "STATUS":
			if err := d.sp(); err != nil {
				return err
			}
			err = d.list(func() error {
				a, err := d.atom()
				cmd.statusItems = append(cmd.statusItems, strings.ToUpper(a))
				return err
			})
			if err != nil {
				return err
			}
		default:
			return syntaxErr("Unknown LIST return option")
		}
		cmd.listReturn = append(cmd.listReturn, a)
		return nil
	})
}

func (d *decoder) appendArgs(cmd *command) error {
	var err error
	if err = d.sp(); err != nil {
		return err
	}
	if cmd.mailbox, err = d.mailbox(); err != nil {
		return err
	}
	if err = d.sp(); err != nil {
		return err
	}
	return d.appendMessage(cmd)
}

// appendMessage reads the flags, date and literal header of one message of
// APPEND; MULTIAPPEND (RFC 3502) calls it for each further message.
func (d *decoder) appendMessage(cmd *command) error {
	cmd.flags, cmd.date, cmd.binary = nil, time.Time{}, false
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == '(' {
		if cmd.flags, err = d.flagList(); err != nil {
			return err
		}
		if err = d.sp(); err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
	}
	if c == '"' {
		s, err := d.quoted()
		if err != nil {
			return err
		}
		t, ok := parseDateTime(s)
		if !ok {
			return syntaxErr("Invalid date-time")
		}
		cmd.date = t
		if err = d.sp(); err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
	}
	if c == '~' {
		cmd.binary = true
	} else if c != '{' {
		// RFC 4469 CATENATE and other extensions are not offered.
		return syntaxErr("Expected message literal")
	}
	n, err := d.literalHeader(d.lim.literal, true)
	if err != nil {
		return err
	}
	cmd.literalLen = n
	cmd.literal = io.LimitReader(d.r, n)
	return nil
}

func (d *decoder) storeArgs(cmd *command) error {
	var err error
	if err = d.sp(); err != nil {
		return err
	}
	if cmd.set, err = d.seqSet(); err != nil {
		return err
	}
	if err = d.sp(); err != nil {
		return err
	}
	if err = d.storeModifiers(cmd); err != nil {
		return err
	}
	a, err := d.atomExtra("")
	if err != nil {
		return err
	}
	a = strings.ToUpper(a)
	switch {
	case strings.HasPrefix(a, "+"):
		cmd.storeOp = StoreAdd
		a = a[1:]
	case strings.HasPrefix(a, "-"):
		cmd.storeOp = StoreRemove
		a = a[1:]
	default:
		cmd.storeOp = StoreReplace
	}
	switch a {
	case "FLAGS":
	case "FLAGS.SILENT":
		cmd.silent = true
	default:
		return syntaxErr("Expected FLAGS, +FLAGS or -FLAGS")
	}
	if err = d.sp(); err != nil {
		return err
	}
	if c, _ := d.peek(); c == '(' {
		cmd.flags, err = d.flagList()
		return err
	}
	for {
		if err := d.countItem(); err != nil {
			return err
		}
		f, err := d.flag(false)
		if err != nil {
			return err
		}
		if !hasFlag(cmd.flags, f) {
			cmd.flags = append(cmd.flags, f)
		}
		if c, _ := d.peek(); c != ' ' {
			return nil
		}
		d.readByte()
	}
}
