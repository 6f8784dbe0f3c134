package maildir

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The dovecot-keywords file maps the letters a-z of the info part to IMAP
// keywords, one "<index> <keyword>" line each, index 0 for "a":
//
//	0 $Forwarded
//	1 Junk
//
// Dovecot adds keywords under the dot-lock dovecot-keywords.lock and
// replaces the file by renaming the lock over it; Herald does the same.

const keywordsName = "dovecot-keywords"

// maxKeywords is the number of letters a-z.
const maxKeywords = 26

// MaxKeywordLength bounds a keyword, as Dovecot does.
const MaxKeywordLength = 255

// parseKeywords parses a dovecot-keywords file into the keyword of each
// letter ("" for a free letter).
func parseKeywords(data []byte) ([maxKeywords]string, error) {
	var kw [maxKeywords]string
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
			l, data = data[:nl], data[nl+1:]
		} else {
			l, data = data, nil
		}
		if len(l) == 0 {
			continue
		}
		sp := bytes.IndexByte(l, ' ')
		if sp < 0 {
			return kw, malformed("read", keywordsName, line, "no space")
		}
		idx, err := strconv.Atoi(string(l[:sp]))
		if err != nil || idx < 0 || idx >= maxKeywords || l[0] == '+' || l[0] == '-' {
			return kw, malformed("read", keywordsName, line, "bad index")
		}
		name := string(l[sp+1:])
		if !validKeyword(name) {
			return kw, malformed("read", keywordsName, line, "bad keyword")
		}
		kw[idx] = name
	}
	return kw, nil
}

func formatKeywords(kw [maxKeywords]string) []byte {
	var b []byte
	for i, k := range kw {
		if k != "" {
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, ' ')
			b = append(b, k...)
			b = append(b, '\n')
		}
	}
	return b
}

// validKeyword reports whether k is an IMAP flag-keyword (an atom: no
// space, control, "(){%*\"\\]") that is not a system flag.
func validKeyword(k string) bool {
	if k == "" || len(k) > MaxKeywordLength || k[0] == '\\' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("(){%*\"\\]", c) >= 0 {
			return false
		}
	}
	return true
}

// readKeywords reads the folder's keyword table; a missing file is empty.
func (m *Maildir) readKeywords() ([maxKeywords]string, error) {
	data, err := os.ReadFile(filepath.Join(m.dir, keywordsName))
	if errors.Is(err, fs.ErrNotExist) {
		return [maxKeywords]string{}, nil
	}
	if err != nil {
		return [maxKeywords]string{}, wrap("read", keywordsName, err)
	}
	if len(data) > 64<<10 {
		return [maxKeywords]string{}, malformed("read", keywordsName, 0, "file too large")
	}
	kw, err := parseKeywords(data)
	if err != nil {
		return kw, wrap("read", filepath.Join(m.dir, keywordsName), err)
	}
	return kw, nil
}

// keywordLetters returns the letters of keywords, adding the unknown ones
// to dovecot-keywords when add is true (and skipping them otherwise).
// Keywords compare case-insensitively, as IMAP wants.
func (m *Maildir) keywordLetters(ctx context.Context, keywords []string, add bool) (Flags, error) {
	if len(keywords) == 0 {
		return "", nil
	}
	for _, k := range keywords {
		if !validKeyword(k) {
			return "", &Error{Op: "keyword", Path: k, Err: ErrInvalidName}
		}
	}
	kw, err := m.readKeywords()
	if err != nil {
		return "", err
	}
	letters, missing := lookupKeywords(kw, keywords)
	if len(missing) == 0 || !add {
		return letters, nil
	}
	path := filepath.Join(m.dir, keywordsName)
	lk, err := lockFile(ctx, path, m.opts.lockTimeout(), m.opts.staleLockTimeout(), m.opts.now)
	if err != nil {
		return "", err
	}
	defer lk.unlock()
	if kw, err = m.readKeywords(); err != nil {
		return "", err
	}
	_, missing = lookupKeywords(kw, keywords)
	for _, k := range missing {
		free := -1
		for i := range kw {
			if kw[i] == "" {
				free = i
				break
			}
		}
		if free < 0 {
			return "", &Error{Op: "keyword", Path: k, Err: ErrTooManyKeywords}
		}
		kw[free] = k
	}
	if err := lk.replace(path, formatKeywords(kw)); err != nil {
		return "", err
	}
	letters, _ = lookupKeywords(kw, keywords)
	return letters, nil
}

func lookupKeywords(kw [maxKeywords]string, keywords []string) (Flags, []string) {
	var b []byte
	var missing []string
next:
	for _, k := range keywords {
		for i, have := range kw {
			if have != "" && strings.EqualFold(have, k) {
				b = append(b, byte('a'+i))
				continue next
			}
		}
		for _, m := range missing {
			if strings.EqualFold(m, k) {
				continue next
			}
		}
		missing = append(missing, k)
	}
	return MakeFlags(string(b)), missing
}

// keywordNames returns the keywords of the letters a-z in f; a letter
// without a keyword in the table is left out.
func keywordNames(kw [maxKeywords]string, f Flags) []string {
	var out []string
	for i := 0; i < len(f); i++ {
		if c := f[i]; 'a' <= c && c <= 'z' && kw[c-'a'] != "" {
			out = append(out, kw[c-'a'])
		}
	}
	return out
}
