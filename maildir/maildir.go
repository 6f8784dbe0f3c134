package maildir

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxMessageBytes bounds a delivered message, 64 MiB.
const DefaultMaxMessageBytes = 64 << 20

// StaleTmpAge is the age after which [Maildir.CleanTmp] removes a file left
// in tmp/: 36 hours, as the Maildir specification says.
const StaleTmpAge = 36 * time.Hour

// Options configures a [Maildir] or a [Store]. The zero value (or a nil
// pointer) means the documented defaults.
type Options struct {
	// MaxMessageBytes bounds a delivered message; 0 means
	// DefaultMaxMessageBytes. A longer message fails with ErrTooLarge.
	MaxMessageBytes int64
	// MaxUIDListBytes bounds the dovecot-uidlist file read; 0 means
	// DefaultMaxUIDListBytes.
	MaxUIDListBytes int64
	// LockTimeout bounds the wait for a dot-lock; 0 means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// StaleLockTimeout is the age after which a dot-lock is removed as
	// stale; 0 means DefaultStaleLockTimeout.
	StaleLockTimeout time.Duration
	// Hostname goes into new file names; "" means os.Hostname.
	Hostname string
	// Quota, when set, is the Maildir++ quota of a [Store], written to its
	// maildirsize file; when zero, a quota already defined in maildirsize
	// applies.
	Quota Quota
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// SyncEach makes every delivery fsync its own file, directory and
	// dovecot-uidlist, one after the other, instead of sharing the fsyncs
	// of concurrent deliveries and queue writes of the process (group
	// commit, the default). Deliveries are durable either way; group
	// commit makes more of them per second.
	SyncEach bool
	// Logger receives warnings (a corrupt dovecot-uidlist rebuilt, a UID
	// that could not be assigned); nil discards them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxUIDListBytes <= 0 {
		c.MaxUIDListBytes = DefaultMaxUIDListBytes
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	c.Hostname = safeHost(c.Hostname)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) lockTimeout() time.Duration {
	if o.LockTimeout > 0 {
		return o.LockTimeout
	}
	return DefaultLockTimeout
}

func (o *Options) staleLockTimeout() time.Duration {
	if o.StaleLockTimeout > 0 {
		return o.StaleLockTimeout
	}
	return DefaultStaleLockTimeout
}

// Maildir is one Maildir folder: the directories cur/, new/ and tmp/ with
// Dovecot's dovecot-uidlist and dovecot-keywords files beside them. Its
// methods are safe for concurrent use by many goroutines, and other
// processes (Dovecot, mutt, another Maildir) may work in the same folder at
// the same time; see the package documentation for the concurrency model.
type Maildir struct {
	dir   string
	opts  Options
	q     *atomic.Uint64 // the Q counter of unique names, shared by a Store
	quota *quotaFile     // nil outside a Store with a quota

	mu sync.Mutex
	ul *uidList // cached dovecot-uidlist, nil when there is none
	// ulInfo identifies the file ul was read from; ulOff is how many bytes
	// of it were parsed, so that records appended later are read alone.
	ulInfo  os.FileInfo
	ulOff   int64
	corrupt bool                 // the file on disk could not be parsed
	uids    map[string]uint32    // base name -> UID, for ul.records
	names   map[string]fileEntry // base name -> where the file was last seen
}

// fileEntry is where a message file was found: sub is "new" or "cur".
type fileEntry struct {
	sub  string
	name string
}

func (e fileEntry) rel() string { return e.sub + "/" + e.name }

// Open opens the Maildir in dir, which must hold cur/, new/ and tmp/; it
// fails with ErrNoFolder otherwise.
func Open(dir string, opts *Options) (*Maildir, error) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || !fi.IsDir() {
			if err == nil {
				err = fs.ErrNotExist
			}
			if errors.Is(err, fs.ErrNotExist) {
				err = &noFolderError{err}
			}
			return nil, wrap("open", dir, err)
		}
	}
	o := opts.withDefaults()
	return newMaildir(dir, o, new(atomic.Uint64)), nil
}

// Create makes the Maildir dir (and its parents) if it does not exist yet,
// durably, and opens it.
func Create(dir string, opts *Options) (*Maildir, error) {
	if err := makeMaildir(dir); err != nil {
		return nil, err
	}
	return Open(dir, opts)
}

func newMaildir(dir string, o Options, q *atomic.Uint64) *Maildir {
	return &Maildir{dir: dir, opts: o, q: q}
}

// makeMaildir creates dir with cur/, new/ and tmp/ and syncs the
// directories so that they survive a crash.
func makeMaildir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return wrap("create", dir, err)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return wrap("create", dir, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// Dir returns the folder's directory.
func (m *Maildir) Dir() string { return m.dir }

// syncDir fsyncs a directory, making the entries created or renamed in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return wrap("sync", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return wrap("sync", dir, err)
	}
	return nil
}

// CleanTmp removes the files in tmp/ that were last modified more than
// StaleTmpAge ago: leftovers of deliveries that crashed. It returns how many
// it removed.
func (m *Maildir) CleanTmp() (int, error) {
	tmp := filepath.Join(m.dir, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0, wrap("clean", tmp, err)
	}
	now := m.opts.now()
	n := 0
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) <= StaleTmpAge {
			continue
		}
		if err := os.Remove(filepath.Join(tmp, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}
