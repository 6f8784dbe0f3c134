package maildir

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quota is a Maildir++ quota: the most bytes and messages a [Store] may
// hold, over all its folders. Zero fields mean no limit.
type Quota struct {
	Bytes    int64
	Messages int64
}

func (q Quota) isZero() bool { return q.Bytes <= 0 && q.Messages <= 0 }

// The maildirsize file of the Maildir++ specification sits at the root of
// the tree. Its first line defines the quota ("<bytes>S,<count>C"); each
// following line is "<bytes> <count>", the change made by one delivery or
// removal, and the sum of all of them is the current use. The file is
// recalculated from the folders when it grows beyond
// maildirsizeMaxBytes or is older than maildirsizeMaxAge, as the
// specification says.
const (
	maildirsizeName     = "maildirsize"
	maildirsizeMaxBytes = 5120
	maildirsizeMaxAge   = 15 * time.Minute
)

// quotaFile is the maildirsize of a Store, shared by its folders.
type quotaFile struct {
	s  *Store
	mu sync.Mutex
}

// parseMaildirsize returns the quota definition and the current use.
func parseMaildirsize(data []byte) (q Quota, bytesUsed, count int64, err error) {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return q, 0, 0, malformed("read", maildirsizeName, 1, "no quota definition")
	}
	for _, f := range strings.Split(lines[0], ",") {
		if len(f) < 2 {
			return q, 0, 0, malformed("read", maildirsizeName, 1, "bad quota definition")
		}
		v, err := strconv.ParseInt(f[:len(f)-1], 10, 64)
		if err != nil || v < 0 {
			return q, 0, 0, malformed("read", maildirsizeName, 1, "bad quota definition")
		}
		switch f[len(f)-1] {
		case 'S':
			q.Bytes = v
		case 'C':
			q.Messages = v
		default:
			return q, 0, 0, malformed("read", maildirsizeName, 1, "bad quota definition")
		}
	}
	for i, l := range lines[1:] {
		fs := strings.Fields(l)
		if len(fs) != 2 {
			return q, 0, 0, malformed("read", maildirsizeName, i+2, "bad line")
		}
		b, err1 := strconv.ParseInt(fs[0], 10, 64)
		c, err2 := strconv.ParseInt(fs[1], 10, 64)
		if err1 != nil || err2 != nil {
			return q, 0, 0, malformed("read", maildirsizeName, i+2, "bad number")
		}
		bytesUsed += b
		count += c
	}
	return q, bytesUsed, count, nil
}

func formatQuota(q Quota) string {
	var parts []string
	if q.Bytes > 0 {
		parts = append(parts, strconv.FormatInt(q.Bytes, 10)+"S")
	}
	if q.Messages > 0 {
		parts = append(parts, strconv.FormatInt(q.Messages, 10)+"C")
	}
	return strings.Join(parts, ",")
}

// load reads maildirsize, recalculating it when it is missing, malformed,
// too large, too old, or defines another quota than Options.Quota.
func (qf *quotaFile) load() (Quota, int64, int64, error) {
	path := filepath.Join(qf.s.root, maildirsizeName)
	data, fi, err := readBounded(path, maildirsizeMaxBytes+1)
	want := qf.s.opts.Quota
	if err == nil {
		q, b, c, perr := parseMaildirsize(data)
		fresh := len(data) <= maildirsizeMaxBytes && qf.s.opts.now().Sub(fi.ModTime()) < maildirsizeMaxAge
		if perr == nil && fresh && (want.isZero() || q == want) {
			return q, b, c, nil
		}
		if perr == nil && want.isZero() {
			want = q
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Quota{}, 0, 0, wrap("read", path, err)
	}
	if want.isZero() {
		return Quota{}, 0, 0, nil
	}
	b, c, err := qf.s.usage()
	if err != nil {
		return Quota{}, 0, 0, err
	}
	content := formatQuota(want) + "\n" + strconv.FormatInt(b, 10) + " " + strconv.FormatInt(c, 10) + "\n"
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return Quota{}, 0, 0, wrap("write", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return Quota{}, 0, 0, wrap("write", path, err)
	}
	return want, b, c, nil
}

// check fails with ErrQuotaExceeded if adding one message of size bytes
// goes beyond the quota.
func (qf *quotaFile) check(size int64) error {
	qf.mu.Lock()
	defer qf.mu.Unlock()
	q, b, c, err := qf.load()
	if err != nil {
		return err
	}
	if q.Bytes > 0 && b+size > q.Bytes || q.Messages > 0 && c+1 > q.Messages {
		return ErrQuotaExceeded
	}
	return nil
}

// add appends a change line, "<bytes> <count>", in one write.
func (qf *quotaFile) add(size, count int64) {
	qf.mu.Lock()
	defer qf.mu.Unlock()
	path := filepath.Join(qf.s.root, maildirsizeName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return // no quota file: nothing to account
	}
	defer f.Close()
	var b bytes.Buffer
	b.WriteString(strconv.FormatInt(size, 10) + " " + strconv.FormatInt(count, 10) + "\n")
	f.Write(b.Bytes())
}

// readBounded reads at most limit bytes of the file at path, with its
// FileInfo; a longer file is cut, which callers detect by the length.
func readBounded(path string, limit int64) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	return data, fi, err
}
