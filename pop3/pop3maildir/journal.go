package pop3maildir

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/maildir"
)

// The commit journal makes a QUIT's deletions all or nothing across a
// crash. Commit writes the base names of the messages to remove into a
// file under tmp/, fsyncs it and renames it to JournalName at the
// maildrop's root: that rename is the commit point. Only then are the
// messages removed, and the journal after them. A session that finds a
// journal (the process died midway) finishes the removals before it lists
// the maildrop, under the maildrop lock. The file is
//
//	herald-pop3-commit 1
//	<base name>
//	...
const (
	// JournalName is the commit journal's file name at the maildrop root.
	JournalName = "herald-pop3-commit"
	// MaxJournalBytes bounds the journal read, 64 MiB: about a million
	// base names.
	MaxJournalBytes = 64 << 20

	journalHeader = "herald-pop3-commit 1\n"
)

// errMalformedJournal reports a journal that does not follow the format.
var errMalformedJournal = errors.New("pop3maildir: malformed commit journal")

// parseJournal returns the base names a journal lists.
func parseJournal(data []byte) ([]string, error) {
	rest, ok := bytes.CutPrefix(data, []byte(journalHeader))
	if !ok {
		return nil, errMalformedJournal
	}
	var keys []string
	for len(rest) > 0 {
		line, tail, found := bytes.Cut(rest, []byte{'\n'})
		if !found {
			return nil, errMalformedJournal // never written partially
		}
		if !validKey(string(line)) {
			return nil, errMalformedJournal
		}
		keys = append(keys, string(line))
		rest = tail
	}
	return keys, nil
}

// validKey reports whether s can be a message's base name.
func validKey(s string) bool {
	return s != "" && len(s) <= maildir.MaxNameLength && s[0] != '.' && !strings.ContainsAny(s, "/:\n\x00")
}

func formatJournal(keys []string) []byte {
	b := make([]byte, 0, len(journalHeader)+len(keys)*64)
	b = append(b, journalHeader...)
	for _, k := range keys {
		b = append(b, k...)
		b = append(b, '\n')
	}
	return b
}

// readJournal returns the keys of the journal at root; none when there is
// no journal. A malformed one is reported with errMalformedJournal.
func readJournal(root string) ([]string, error) {
	f, err := os.Open(filepath.Join(root, JournalName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxJournalBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxJournalBytes {
		return nil, errMalformedJournal
	}
	return parseJournal(data)
}

// writeJournal durably installs a journal listing keys at root. On error
// no journal is in place and its temporary file is removed.
func writeJournal(root string, keys []string) error {
	tmp := filepath.Join(root, "tmp", JournalName+"."+strconv.Itoa(os.Getpid())+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(formatJournal(keys))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(root, JournalName))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(root); err != nil {
		// Not durable, so not committed: take it back.
		os.Remove(filepath.Join(root, JournalName))
		return err
	}
	return nil
}

// removeJournal deletes the journal once its removals are done.
func removeJournal(root string) error {
	err := os.Remove(filepath.Join(root, JournalName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
