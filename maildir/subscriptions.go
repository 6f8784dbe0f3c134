package maildir

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/heraldmail/herald/internal/imaputf7"
)

// The subscriptions file at the root of the tree, in Dovecot's version 2
// format: a "V\t2" line, an empty line, then one folder per line, its
// hierarchy levels in modified UTF-7 separated by a tab, each level
// tab-escaped (\x01 followed by "1", "t", "r" or "n" for \x01, tab, CR and
// LF). Version 1 files, one name per line with "." between levels, are read
// too. Dovecot changes the file under the dot-lock subscriptions.lock.

const subscriptionsName = "subscriptions"

// maxSubscriptionsBytes bounds the subscriptions file read, 4 MiB.
const maxSubscriptionsBytes = 4 << 20

func parseSubscriptions(data []byte) ([]string, error) {
	s := string(data)
	v2 := strings.HasPrefix(s, "V\t2\n")
	if v2 {
		s = strings.TrimPrefix(s[len("V\t2\n"):], "\n")
	}
	var out []string
	for i, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		var levels []string
		if v2 {
			levels = strings.Split(line, "\t")
		} else {
			levels = []string{line}
		}
		for j, l := range levels {
			u, ok := tabUnescape(l)
			if !ok {
				return nil, malformed("read", subscriptionsName, i+1, "bad escape")
			}
			d, err := imaputf7.Decode(u)
			if err != nil {
				// Dovecot may hold UTF-8 names (mailbox_list_utf8).
				d = u
			}
			levels[j] = d
		}
		out = append(out, strings.Join(levels, "."))
	}
	return out, nil
}

func tabUnescape(s string) (string, bool) {
	if !strings.Contains(s, "\x01") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 1 {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", false
		}
		i++
		switch s[i] {
		case '1':
			b.WriteByte(1)
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", false
		}
	}
	return b.String(), true
}

func formatSubscriptions(names []string) ([]byte, error) {
	b := []byte("V\t2\n\n")
	for _, n := range names {
		for i, l := range strings.Split(n, ".") {
			e, err := imaputf7.Encode(l)
			if err != nil {
				return nil, ErrInvalidName
			}
			if i > 0 {
				b = append(b, '\t')
			}
			b = append(b, e...)
		}
		b = append(b, '\n')
	}
	return b, nil
}

// Subscriptions returns the subscribed folder names, sorted. They need not
// exist.
func (s *Store) Subscriptions() ([]string, error) {
	p := filepath.Join(s.root, subscriptionsName)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("read", p, err)
	}
	defer f.Close()
	// As much as the file holds, not the bound: a LIST reads it.
	data, err := io.ReadAll(io.LimitReader(f, maxSubscriptionsBytes+1))
	if err != nil {
		// Never a part of the file: a SUBSCRIBE would write the
		// rest away.
		return nil, wrap("read", p, err)
	}
	if len(data) > maxSubscriptionsBytes {
		return nil, malformed("read", p, 0, "file too large")
	}
	names, err := parseSubscriptions(data)
	if err != nil {
		return nil, wrap("read", p, err)
	}
	sort.Strings(names)
	return names, nil
}

// Subscribe adds name to the subscriptions (IMAP SUBSCRIBE).
func (s *Store) Subscribe(ctx context.Context, name string) error {
	return s.changeSubscription(ctx, name, true)
}

// Unsubscribe removes name from the subscriptions (IMAP UNSUBSCRIBE).
func (s *Store) Unsubscribe(ctx context.Context, name string) error {
	return s.changeSubscription(ctx, name, false)
}

func (s *Store) changeSubscription(ctx context.Context, name string, add bool) error {
	name, _, err := s.canonical(name)
	if err != nil {
		return err
	}
	p := filepath.Join(s.root, subscriptionsName)
	lk, err := lockFile(ctx, p, s.opts.lockTimeout(), s.opts.staleLockTimeout(), s.opts.now)
	if err != nil {
		return err
	}
	defer lk.unlock()
	names, err := s.Subscriptions()
	if err != nil {
		return err
	}
	out := names[:0]
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	if add {
		out = append(out, name)
	}
	sort.Strings(out)
	data, err := formatSubscriptions(out)
	if err != nil {
		return err
	}
	return lk.replace(p, data)
}
