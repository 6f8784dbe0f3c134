package imapmaildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// SpecialFolders are the folders every user has from the first login, with
// their RFC 6154 special-use attributes. A client that makes its own ("Sent
// Items") gets a plain folder; the attribute stays here.
var SpecialFolders = [...]struct {
	Name string
	Attr imap.MailboxAttr
}{
	{"Archive", imap.AttrArchive},
	{"Drafts", imap.AttrDrafts},
	{"Junk", imap.AttrJunk},
	{"Sent", imap.AttrSent},
	{"Trash", imap.AttrTrash},
}

// specialUseName is the file at the root of a Store that records the
// special-use attributes given with CREATE (RFC 6154 section 3), one
// "<attribute> <folder>" line each, the folder name as the Store spells
// it. Dovecot does not read it.
const specialUseName = "herald-special-use"

// maxSpecialUseBytes bounds the file read.
const maxSpecialUseBytes = 64 << 10

// ensureSpecialFolders creates the special-use folders that do not exist,
// subscribed, as Dovecot's auto = subscribe does.
func ensureSpecialFolders(ctx context.Context, st *maildir.Store) error {
	for _, sf := range SpecialFolders {
		if _, err := st.Folder(sf.Name); err == nil {
			continue
		} else if !errors.Is(err, maildir.ErrNoFolder) {
			return err
		}
		if err := st.CreateFolder(sf.Name); err != nil && !errors.Is(err, maildir.ErrFolderExists) {
			return err
		}
		if err := st.Subscribe(ctx, sf.Name); err != nil {
			return err
		}
	}
	return nil
}

// specialUse maps folder names to the attributes CREATE gave them.
type specialUse map[string][]imap.MailboxAttr

// of returns the special-use attributes of the folder name.
func (s specialUse) of(name string) []imap.MailboxAttr {
	var out []imap.MailboxAttr
	for _, sf := range SpecialFolders {
		if sf.Name == name {
			out = append(out, sf.Attr)
		}
	}
	for _, a := range s[name] {
		if !contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(list []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, b := range list {
		if strings.EqualFold(string(a), string(b)) {
			return true
		}
	}
	return false
}

// checkSpecialUse refuses the attributes a Maildir cannot honour: \All and
// \Flagged name virtual mailboxes (NO [USEATTR], RFC 6154 section 3).
func checkSpecialUse(attrs []imap.MailboxAttr) error {
	for _, a := range attrs {
		ok := false
		for _, sf := range SpecialFolders {
			ok = ok || strings.EqualFold(string(a), string(sf.Attr))
		}
		if !ok {
			return &imap.Error{Type: imap.StatusNo, Code: imap.CodeUseAttr, Text: "Unsupported special-use attribute " + strconv.Quote(string(a)), Err: imap.ErrCannot}
		}
	}
	return nil
}

func readSpecialUse(st *maildir.Store) (specialUse, error) {
	f, err := os.Open(filepath.Join(st.Root(), specialUseName))
	if errors.Is(err, fs.ErrNotExist) {
		return specialUse{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSpecialUseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSpecialUseBytes {
		return nil, &maildir.Error{Op: "read", Path: f.Name(), Err: maildir.ErrMalformed}
	}
	s := specialUse{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		attr, name, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(attr, `\`) || name == "" {
			continue // a line we did not write: ignore it
		}
		s[name] = append(s[name], imap.MailboxAttr(attr))
	}
	return s, nil
}

func writeSpecialUse(st *maildir.Store, s specialUse) error {
	var b bytes.Buffer
	for name, attrs := range s {
		for _, a := range attrs {
			b.WriteString(string(a) + " " + name + "\n")
		}
	}
	path := filepath.Join(st.Root(), specialUseName)
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// setSpecialUse records the attributes of a folder made by CREATE.
func setSpecialUse(ctx context.Context, st *maildir.Store, name string, attrs []imap.MailboxAttr) error {
	s, err := readSpecialUse(st)
	if err != nil {
		return err
	}
	for _, a := range attrs {
		for _, sf := range SpecialFolders {
			if strings.EqualFold(string(a), string(sf.Attr)) && !contains(s[name], sf.Attr) {
				s[name] = append(s[name], sf.Attr)
			}
		}
	}
	return writeSpecialUse(st, s)
}

// renameSpecialUse moves the recorded attributes of from and its children
// to to, or drops them when to is "".
func renameSpecialUse(ctx context.Context, st *maildir.Store, from, to string) error {
	s, err := readSpecialUse(st)
	if err != nil || len(s) == 0 {
		return err
	}
	changed := false
	for name, attrs := range s {
		if name != from && (to == "" || !strings.HasPrefix(name, from+string(maildir.Separator))) {
			continue
		}
		delete(s, name)
		changed = true
		if to != "" {
			s[to+name[len(from):]] = attrs
		}
	}
	if !changed {
		return nil
	}
	return writeSpecialUse(st, s)
}
