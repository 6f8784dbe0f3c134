package imapmaildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// Mod-sequences (RFC 7162) of a folder. Every change of a message's flags,
// every new message and every expunge takes a mod-sequence: a number above
// every one the folder handed out before, at least the current time in
// microseconds since 1970, so that even the loss of both files below
// cannot make the folder go backwards (unless the clock does). Changes
// made through the Backend and changes by other processes that the index
// notices (from its watcher or when it reads the folder again) are
// numbered alike.
//
// Two files in the folder's directory keep them:
//
//   - ModSeqFile, a snapshot: the UIDVALIDITY, the highest mod-sequence,
//     each message's UID, mod-sequence and flag letters, and the last
//     expunged UIDs, ending with a CRC-32C. It is written two seconds
//     after changes while a session has the folder selected and when the
//     last session of the folder ends, to a temporary file that is synced
//     and renamed over the old one.
//   - ModSeqMarkFile, a high-water mark: a mod-sequence no value handed
//     out exceeds. It is raised (written and synced, before the value is
//     given to anyone) when a change needs a value above it, and once
//     after every snapshot, so that a mark above the snapshot's says that
//     values were handed out after the snapshot was written.
//
// When the folder is first read, a snapshot whose mark is the current one
// gives each message whose flag letters are unchanged its mod-sequence
// back; a message changed, added or expunged meanwhile (by Dovecot or
// mutt) gets a new one. After a crash (the mark above the snapshot's), a
// damaged or missing file, every message gets a new mod-sequence above
// the mark and the clock: clients see every message as changed, never a
// change missed.
//
// Expunged UIDs: the folder remembers the last MaxExpunged (at least half
// as many after it forgets the older half), with the mod-sequence of
// their expunge, in memory and in the snapshot. A client that resyncs
// with SELECT (QRESYNC) or UID FETCH (VANISHED) from a mod-sequence older
// than what is remembered (or from before a crash) is told every UID of
// its known set, up to UIDNEXT, that no message has (RFC 7162 section
// 3.2.5.2 allows more than needed).

// ModSeqFile and ModSeqMarkFile are the names of the mod-sequence files in
// a folder's directory.
const (
	ModSeqFile     = "herald-modseq"
	ModSeqMarkFile = "herald-modseq.mark"
)

// MaxExpunged is how many expunged UIDs a folder remembers for QRESYNC.
const MaxExpunged = 10000

// markAhead is how far above the value it needs the high-water mark is
// raised, so that a busy folder writes the mark some once a minute.
const markAhead = uint64(time.Minute / time.Microsecond)

// modseqState is the mod-sequence state of an index; x.mu guards it.
type modseqState struct {
	loaded   bool
	highest  uint64 // the highest mod-sequence handed out
	mark     uint64 // the high-water mark on disk
	markSnap bool   // a snapshot was written with mark: raise it before the next value
	floor    uint64 // every expunge above floor is in expunges
	expunges []tombstone
	dirty    bool // differs from the snapshot on disk
	timer    *time.Timer
	batch    uint64 // the value of the change being applied, 0 when none
	now      func() time.Time
}

type tombstone struct {
	uid    uint32
	modseq uint64
}

func (x *index) modseqPath() string { return filepath.Join(x.md.Dir(), ModSeqFile) }
func (x *index) markPath() string   { return filepath.Join(x.md.Dir(), ModSeqMarkFile) }

func (s *modseqState) clock() uint64 {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	t := now().UnixMicro()
	if t < 1 {
		return 1
	}
	return uint64(t)
}

// allocLocked returns a new mod-sequence, having raised the high-water mark
// on disk first when the value is above it. x.mu is held.
func (x *index) allocLocked() uint64 {
	s := &x.ms
	v := max(s.highest+1, s.clock())
	if v > s.mark || s.markSnap {
		mark := max(v, s.mark+1) + markAhead
		if err := writeSynced(x.markPath(), encodeMark(mark)); err != nil {
			// The value is still handed out: the clock keeps the next
			// start above it.
			x.b.logger().Error("imapmaildir: writing the mod-sequence mark failed", "file", x.markPath(), "err", err)
		} else {
			s.mark, s.markSnap = mark, false
		}
	}
	s.highest = v
	x.modseqChangedLocked()
	return v
}

// batchLocked returns the mod-sequence of the change being applied: one
// value for all the messages one command or one burst of events changes.
func (x *index) batchLocked() uint64 {
	if x.ms.batch == 0 {
		x.ms.batch = x.allocLocked()
	}
	return x.ms.batch
}

// endBatchLocked ends the change being applied.
func (x *index) endBatchLocked() { x.ms.batch = 0 }

// expungedLocked records the expunge of uids.
func (x *index) expungedLocked(uids []uint32) {
	if len(uids) == 0 || !x.ms.loaded {
		return
	}
	v := x.batchLocked()
	s := &x.ms
	for _, u := range uids {
		s.expunges = append(s.expunges, tombstone{u, v})
	}
	if len(s.expunges) > MaxExpunged {
		drop := len(s.expunges) - MaxExpunged/2
		s.floor = s.expunges[drop-1].modseq
		s.expunges = slices.Delete(s.expunges, 0, drop)
	}
}

// modseqChangedLocked schedules the snapshot while a session has the
// folder selected; the last one to close it writes it. A change made
// while none has (APPEND, STATUS noticing another process's change)
// waits for the next session: the mark it raised tells a restart that
// the snapshot is stale.
func (x *index) modseqChangedLocked() {
	s := &x.ms
	s.dirty = true
	if s.timer == nil && len(x.handles) > 0 {
		s.timer = time.AfterFunc(2*time.Second, x.flushModSeqs)
	}
}

// stopModSeqTimerLocked cancels the scheduled snapshot.
func (x *index) stopModSeqTimerLocked() {
	if x.ms.timer != nil {
		x.ms.timer.Stop()
		x.ms.timer = nil
	}
}

// modseqsRefreshed gives mod-sequences to msgs, the folder as just read
// (validity its UIDVALIDITY), from old, the entries before (by base
// name), or on the first read from the files. x.mu is held.
func (x *index) modseqsRefreshed(old map[string]*entry, msgs []entry, validity uint32, kwChanged bool) {
	defer x.endBatchLocked()
	s := &x.ms
	if !s.loaded || validity != x.validity && x.loaded {
		x.loadModSeqs(msgs, validity)
		return
	}
	for i := range msgs {
		e := &msgs[i]
		o, ok := old[e.base]
		if ok && o.uid == e.uid && o.letters == e.letters && !(kwChanged && keywordLettersOf(e.letters) != "") && o.modseq != 0 {
			e.modseq = o.modseq
			continue
		}
		e.modseq = x.batchLocked()
	}
	var gone []uint32
	seen := make(map[uint32]bool, len(msgs))
	for i := range msgs {
		seen[msgs[i].uid] = true
	}
	for _, o := range old {
		if !seen[o.uid] {
			gone = append(gone, o.uid)
		}
	}
	slices.Sort(gone)
	x.expungedLocked(gone)
}

// loadModSeqs reads the files on the first read of the folder and numbers
// msgs from them.
func (x *index) loadModSeqs(msgs []entry, validity uint32) {
	s := &x.ms
	s.loaded = true
	snap, serr := readModSeqFile(x.modseqPath())
	mark, merr := readMark(x.markPath())
	if serr != nil && !errors.Is(serr, os.ErrNotExist) {
		x.b.logger().Warn("imapmaildir: mod-sequence file ignored", "file", x.modseqPath(), "err", serr)
	}
	if merr != nil && !errors.Is(merr, os.ErrNotExist) {
		x.b.logger().Warn("imapmaildir: mod-sequence mark ignored", "file", x.markPath(), "err", merr)
	}
	s.mark = mark
	current := snap != nil && merr == nil && snap.mark == mark && snap.validity == validity
	// Above every value handed out: the snapshot's when it is current,
	// else the mark (which no value exceeds) and the clock.
	s.highest = mark
	if snap != nil {
		s.highest = max(s.highest, snap.highest, snap.mark)
	}
	if current {
		s.highest = snap.highest
	}
	s.expunges, s.floor = nil, 0
	if current {
		s.expunges, s.floor = snap.expunges, snap.floor
	}
	// The mark is raised before any value above the snapshot's is
	// handed out, so that a crash from now on is seen.
	s.markSnap = true
	if !current {
		// Every expunge before now is forgotten.
		s.floor = x.batchLocked() - 1
		for i := range msgs {
			msgs[i].modseq = x.batchLocked()
		}
		return
	}
	known := make(map[uint32]snapEntry, len(snap.msgs))
	for _, m := range snap.msgs {
		known[m.uid] = m
	}
	for i := range msgs {
		e := &msgs[i]
		if m, ok := known[e.uid]; ok && m.letters == e.letters {
			e.modseq = m.modseq
			delete(known, e.uid)
			continue
		}
		delete(known, e.uid)
		e.modseq = x.batchLocked()
	}
	var gone []uint32
	for u := range known {
		gone = append(gone, u)
	}
	slices.Sort(gone)
	x.expungedLocked(gone)
}

// flushModSeqs writes the snapshot if it changed.
func (x *index) flushModSeqs() {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.mu.Lock()
	s := &x.ms
	s.timer = nil
	if !s.dirty || !x.loaded || x.gone || !s.loaded {
		x.mu.Unlock()
		return
	}
	snap := &modseqSnap{validity: x.validity, highest: s.highest, mark: s.mark, floor: s.floor, expunges: slices.Clone(s.expunges)}
	snap.msgs = make([]snapEntry, len(x.msgs))
	for i := range x.msgs {
		e := &x.msgs[i]
		snap.msgs[i] = snapEntry{uid: e.uid, modseq: e.modseq, letters: e.letters}
	}
	s.dirty = false
	// Any value handed out from now on raises the mark first.
	s.markSnap = true
	x.mu.Unlock()
	if err := writeSynced(x.modseqPath(), encodeModSeqs(snap)); err != nil {
		x.b.logger().Warn("imapmaildir: writing the mod-sequence file failed", "file", x.modseqPath(), "err", err)
		x.mu.Lock()
		s.dirty = true
		x.mu.Unlock()
	}
}

// HighestModSeq implements [imap.MailboxModSeqs].
func (h *handle) HighestModSeq(ctx context.Context) (uint64, error) {
	x := h.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.ms.highest, nil
}

// ExpungedSince implements [imap.MailboxModSeqs].
func (h *handle) ExpungedSince(ctx context.Context, modseq uint64) ([]imap.UID, bool, error) {
	x := h.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []imap.UID
	for _, t := range x.ms.expunges {
		if t.modseq > modseq {
			out = append(out, imap.UID(t.uid))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), x.ms.loaded && modseq >= x.ms.floor, nil
}

// The snapshot file, in text:
//
//	herald-modseq 1
//	V <uidvalidity> H <highest> M <mark> F <floor>
//	<uid> <modseq> <letters or ->      one line a message
//	- <uid> <modseq>                   one line an expunged UID
//	C <CRC-32C of the bytes before this line, hex>
const modseqMagic = "herald-modseq 1\n"

type modseqSnap struct {
	validity uint32
	highest  uint64
	mark     uint64
	floor    uint64
	msgs     []snapEntry
	expunges []tombstone
}

type snapEntry struct {
	uid     uint32
	modseq  uint64
	letters maildir.Flags
}

func encodeModSeqs(s *modseqSnap) []byte {
	b := []byte(modseqMagic)
	b = fmt.Appendf(b, "V %d H %d M %d F %d\n", s.validity, s.highest, s.mark, s.floor)
	for _, m := range s.msgs {
		b = strconv.AppendUint(b, uint64(m.uid), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, m.modseq, 10)
		b = append(b, ' ')
		if m.letters == "" {
			b = append(b, '-')
		} else {
			b = append(b, m.letters...)
		}
		b = append(b, '\n')
	}
	for _, t := range s.expunges {
		b = fmt.Appendf(b, "- %d %d\n", t.uid, t.modseq)
	}
	return fmt.Appendf(b, "C %08x\n", crc32.Checksum(b, crcTable))
}

// maxModSeqFile bounds the snapshot read: some 40 bytes a message.
const maxModSeqFile = 256 << 20

func readModSeqFile(path string) (*modseqSnap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxModSeqFile {
		return nil, errors.New("file too large")
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	return decodeModSeqs(data)
}

var errBadModSeqFile = errors.New("damaged mod-sequence file")

// decodeModSeqs parses a snapshot, checking its checksum and that
// mod-sequences are in range, UIDs ascending and letters sane.
func decodeModSeqs(data []byte) (*modseqSnap, error) {
	if !bytes.HasPrefix(data, []byte(modseqMagic)) {
		return nil, errBadModSeqFile
	}
	body := bytes.TrimSuffix(data, []byte("\n"))
	i := bytes.LastIndexByte(body, '\n')
	if i < 0 || len(data) < len(modseqMagic) {
		return nil, errBadModSeqFile
	}
	last := string(body[i+1:])
	sum, ok := strings.CutPrefix(last, "C ")
	if !ok || len(sum) != 8 {
		return nil, errBadModSeqFile
	}
	want, err := strconv.ParseUint(sum, 16, 32)
	if err != nil || uint32(want) != crc32.Checksum(data[:i+1], crcTable) {
		return nil, errBadModSeqFile
	}
	return parseModSeqs(data[len(modseqMagic) : i+1])
}

// parseModSeqs parses the lines of a snapshot between the magic and the
// checksum.
func parseModSeqs(body []byte) (*modseqSnap, error) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 4096)
	s := &modseqSnap{}
	if !sc.Scan() {
		return nil, errBadModSeqFile
	}
	var v uint32
	if n, err := fmt.Sscanf(sc.Text(), "V %d H %d M %d F %d", &v, &s.highest, &s.mark, &s.floor); n != 4 || err != nil {
		return nil, errBadModSeqFile
	}
	s.validity = v
	if s.highest > maxModSeq || s.mark > maxModSeq || s.floor > s.highest {
		return nil, errBadModSeqFile
	}
	var lastUID uint32
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			return nil, errBadModSeqFile
		}
		if f[0] == "-" {
			u, err1 := strconv.ParseUint(f[1], 10, 32)
			m, err2 := strconv.ParseUint(f[2], 10, 63)
			if err1 != nil || err2 != nil || u == 0 || m > s.highest {
				return nil, errBadModSeqFile
			}
			s.expunges = append(s.expunges, tombstone{uint32(u), m})
			continue
		}
		if len(s.expunges) > 0 {
			return nil, errBadModSeqFile
		}
		u, err1 := strconv.ParseUint(f[0], 10, 32)
		m, err2 := strconv.ParseUint(f[1], 10, 63)
		if err1 != nil || err2 != nil || u == 0 || uint32(u) <= lastUID || m == 0 || m > s.highest {
			return nil, errBadModSeqFile
		}
		lastUID = uint32(u)
		letters := f[2]
		if letters == "-" {
			letters = ""
		}
		for j := 0; j < len(letters); j++ {
			if c := letters[j]; c < 'A' || c > 'Z' && c < 'a' || c > 'z' {
				return nil, errBadModSeqFile
			}
		}
		s.msgs = append(s.msgs, snapEntry{uint32(u), m, maildir.Flags(letters)})
	}
	if sc.Err() != nil {
		return nil, errBadModSeqFile
	}
	if len(s.expunges) > MaxExpunged {
		return nil, errBadModSeqFile
	}
	return s, nil
}

const maxModSeq = 1<<63 - 1

// The mark file is one line: "herald-modseq-mark <n> <CRC-32C of n, hex>".
func encodeMark(n uint64) []byte {
	v := strconv.FormatUint(n, 10)
	return fmt.Appendf(nil, "herald-modseq-mark %s %08x\n", v, crc32.Checksum([]byte(v), crcTable))
}

func readMark(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return decodeMark(data)
}

func decodeMark(data []byte) (uint64, error) {
	f := strings.Fields(string(data))
	if len(data) > 100 || len(f) != 3 || f[0] != "herald-modseq-mark" || !bytes.HasSuffix(data, []byte("\n")) {
		return 0, errBadModSeqFile
	}
	n, err := strconv.ParseUint(f[1], 10, 63)
	if err != nil {
		return 0, errBadModSeqFile
	}
	sum, err := strconv.ParseUint(f[2], 16, 32)
	if err != nil || uint32(sum) != crc32.Checksum([]byte(f[1]), crcTable) {
		return 0, errBadModSeqFile
	}
	return n, nil
}

// writeSynced replaces path with data durably: a temporary file in the
// same directory, synced, renamed over path, and the directory synced.
func writeSynced(path string, data []byte) error {
	tmp := path + ".tmp." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	return err
}
