package sieve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxFileVacationEntries bounds a FileVacationStore whose Max is 0:
// the replies one user's vacation remembers.
const DefaultMaxFileVacationEntries = 10_000

// maxVacationLine bounds one line of a vacation file: a handle and a
// sender of a few hundred bytes each, hex-encoded, with two times and a
// checksum. A longer line is damage.
const maxVacationLine = 4096

// vacationMagic is the first line of a vacation file.
const vacationMagic = "herald-vacation 1"

// FileVacationStore is a VacationStore kept in one file, for one user, so
// that the memory of replies survives a restart of the mail server (as
// Pigeonhole keeps its duplicate database in the user's home).
//
// The file is an append log: a first line naming the format, then one
// line per recorded reply with its key, when it was sent, when it
// expires and a CRC-32 of the line. Record appends a line; when the file
// holds more than twice as many lines as live entries, it is rewritten
// with the live ones to a temporary file that is synced and renamed over
// the old one, so a crash at any point leaves either the old or the new
// file, at worst with a torn last line. Reading skips lines whose
// checksum or syntax is wrong and entries that have expired, and a file
// that does not start with the format line is ignored: the store starts
// empty and the Logger says so. The cost of a damaged file is an early
// second reply, never a failed delivery.
//
// It holds at most Max entries (DefaultMaxFileVacationEntries when 0):
// when full it drops the expired ones and, if that is not enough, the
// older half. Entries recorded with RecordPeriod expire after their
// period; Record keeps them for MaxVacationDays.
//
// A FileVacationStore is safe for concurrent use by the goroutines of one
// process; two processes must not share a file. The file is read on
// first use.
type FileVacationStore struct {
	Path   string
	Max    int
	Logger *slog.Logger
	// Now returns the current time, for expiry; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	loaded bool
	m      map[VacationKey]vacationEntry
	lines  int // entry lines in the file
}

type vacationEntry struct {
	last, expires time.Time
}

func (s *FileVacationStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *FileVacationStore) max() int {
	if s.Max > 0 {
		return s.Max
	}
	return DefaultMaxFileVacationEntries
}

func (s *FileVacationStore) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// load reads the file once; s.mu is held.
func (s *FileVacationStore) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	s.m = map[VacationKey]vacationEntry{}
	f, err := os.Open(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		s.log().Warn("vacation memory unreadable, starting empty", "path", s.Path, "err", err)
		return
	}
	defer f.Close()
	m, st, err := readVacationLog(f, s.now(), s.max())
	if err != nil {
		s.log().Warn("vacation memory damaged, starting empty", "path", s.Path, "err", err)
		s.lines = -1 // rewrite the file at the next Record
		return
	}
	if st.bad > 0 {
		s.log().Warn("vacation memory had damaged lines, skipped", "path", s.Path, "lines", st.bad)
	}
	s.m, s.lines = m, st.lines
	if st.bad > 0 {
		s.lines = -1 // a torn last line must not swallow the next append
	}
}

// LastReply implements VacationStore.
func (s *FileVacationStore) LastReply(ctx context.Context, key VacationKey) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	e, ok := s.m[key]
	if !ok || !e.expires.After(s.now()) {
		return time.Time{}, false, nil
	}
	return e.last, true, nil
}

// Record implements VacationStore: the reply is remembered for
// MaxVacationDays.
func (s *FileVacationStore) Record(ctx context.Context, key VacationKey, t time.Time) error {
	return s.RecordPeriod(ctx, key, t, MaxVacationDays*24*time.Hour)
}

// RecordPeriod remembers that a reply with key was sent at t, until
// t+period (the [Vacation] action's Period).
func (s *FileVacationStore) RecordPeriod(ctx context.Context, key VacationKey, t time.Time, period time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	now := s.now()
	e := vacationEntry{last: t, expires: t.Add(period)}
	if _, ok := s.m[key]; !ok && len(s.m) >= s.max() {
		s.shrink(now)
	}
	s.m[key] = e
	if s.lines < 0 || s.lines+1 > 2*len(s.m)+64 {
		return s.rewrite(now)
	}
	if err := s.append(key, e); err != nil {
		return err
	}
	s.lines++
	return nil
}

// shrink makes room: the expired entries go, then the older half.
func (s *FileVacationStore) shrink(now time.Time) {
	for k, e := range s.m {
		if !e.expires.After(now) {
			delete(s.m, k)
		}
	}
	if len(s.m) < s.max() {
		return
	}
	keys := make([]VacationKey, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b VacationKey) int { return s.m[a].last.Compare(s.m[b].last) })
	for _, k := range keys[:len(keys)-s.max()/2] {
		delete(s.m, k)
	}
	s.lines = -1
}

func (s *FileVacationStore) append(key VacationKey, e vacationEntry) error {
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_APPEND, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return s.rewrite(s.now())
	}
	if err != nil {
		return err
	}
	_, err = f.Write(vacationLine(key, e))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rewrite writes the live entries to a new file and renames it over the
// old one.
func (s *FileVacationStore) rewrite(now time.Time) error {
	for k, e := range s.m {
		if !e.expires.After(now) {
			delete(s.m, k)
		}
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".vacation-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := writeVacationLog(f, s.m); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), s.Path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	s.lines = len(s.m)
	return nil
}

// vacationLine is one entry: "CRC LAST EXPIRES HANDLE SENDER\n", the
// times in Unix seconds, the strings hex-encoded (so that no byte of them
// can break the line), the CRC-32 over the rest of the line.
func vacationLine(key VacationKey, e vacationEntry) []byte {
	rest := fmt.Sprintf("%d %d %s %s", e.last.Unix(), e.expires.Unix(), hex.EncodeToString([]byte(key.Handle)), hex.EncodeToString([]byte(key.Sender)))
	return fmt.Appendf(nil, "%08x %s\n", crc32.ChecksumIEEE([]byte(rest)), rest)
}

func writeVacationLog(w io.Writer, m map[VacationKey]vacationEntry) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(vacationMagic + "\n")
	for k, e := range m {
		bw.Write(vacationLine(k, e))
	}
	return bw.Flush()
}

type vacationLogStats struct {
	lines int // entry lines read, good or bad
	bad   int // lines skipped for their checksum or syntax
}

// errVacationFormat is a file that is not a vacation file.
var errVacationFormat = errors.New("not a vacation file")

// readVacationLog reads a vacation file: the entries not expired at now,
// at most max of them (the most recent), a later line for a key winning.
// Damaged lines are counted and skipped; a file without the format line
// is an error. Memory is bounded by max entries and maxVacationLine.
func readVacationLog(r io.Reader, now time.Time, max int) (map[VacationKey]vacationEntry, vacationLogStats, error) {
	var st vacationLogStats
	br := bufio.NewReaderSize(r, maxVacationLine)
	first, err := readVacationLine(br)
	if err != nil || string(first) != vacationMagic {
		return nil, st, errVacationFormat
	}
	m := map[VacationKey]vacationEntry{}
	for {
		line, err := readVacationLine(br)
		if err == io.EOF {
			break
		}
		st.lines++
		if err != nil {
			st.bad++
			continue
		}
		k, e, ok := parseVacationLine(line)
		if !ok {
			st.bad++
			continue
		}
		if !e.expires.After(now) {
			delete(m, k)
			continue
		}
		m[k] = e
		if len(m) > max {
			// Keep the bound while reading: drop the oldest half.
			keys := make([]VacationKey, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b VacationKey) int { return m[a].last.Compare(m[b].last) })
			for _, k := range keys[:len(keys)-max/2] {
				delete(m, k)
			}
		}
	}
	return m, st, nil
}

// errLongLine is a line longer than maxVacationLine.
var errLongLine = errors.New("line too long")

// readVacationLine returns the next line without its "\n"; a line that
// is too long is skipped whole and reported, a last line without "\n" (a
// torn write) too.
func readVacationLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		return nil, errLongLine
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, io.EOF
		}
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	return line[:len(line)-1], nil
}

func parseVacationLine(line []byte) (VacationKey, vacationEntry, bool) {
	var k VacationKey
	var e vacationEntry
	sum, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(sum) != 8 {
		return k, e, false
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || uint32(want) != crc32.ChecksumIEEE(rest) {
		return k, e, false
	}
	f := bytes.Split(rest, []byte(" "))
	if len(f) != 4 {
		return k, e, false
	}
	last, err1 := strconv.ParseInt(string(f[0]), 10, 64)
	exp, err2 := strconv.ParseInt(string(f[1]), 10, 64)
	handle, err3 := hex.DecodeString(string(f[2]))
	sender, err4 := hex.DecodeString(string(f[3]))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return k, e, false
	}
	return VacationKey{Handle: string(handle), Sender: string(sender)}, vacationEntry{last: time.Unix(last, 0), expires: time.Unix(exp, 0)}, true
}
