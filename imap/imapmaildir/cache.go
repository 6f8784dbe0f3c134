package imapmaildir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/heraldmail/herald/imap"
)

// The metadata cache of a folder keeps what FETCH derives from parsing a
// message (ENVELOPE, BODY, BODYSTRUCTURE and the size with CRLF, as an
// imap.Summary) so that it is parsed once. It lives in memory in the
// folder's index, shared by the sessions of the Backend, and in the file
// CacheFile next to the folder's dovecot-uidlist, which the Backend alone
// writes: a new version goes to a temporary file renamed over the old one,
// so a reader sees the old file or the new one. Each record names the
// message's UID, base name, file size, size with CRLF and modification
// time; a record that does not match the message as the index sees it is
// not used, so a message replaced or expunged by another process is
// parsed again. A file that does not read back (a bad checksum, a
// truncated file, a different UIDVALIDITY, a record that does not decode)
// is ignored as a whole and rebuilt.

// CacheFile is the name of the metadata cache file in a folder's
// directory.
const CacheFile = "herald-imap.cache"

// DefaultMaxCacheBytes bounds the summaries one folder keeps in memory and
// in its cache file: 64 MiB, some 40,000 typical messages. Messages beyond
// it are parsed on every FETCH that needs them.
const DefaultMaxCacheBytes = 64 << 20

// cacheMagic starts a cache file; its last byte is the format version.
var cacheMagic = []byte("HRLDIMC1")

// flushDelay is how long after a new summary the cache file is written,
// so that one FETCH of many messages writes it once.
const flushDelay = 2 * time.Second

// cached is the summary of one message, with what identifies the message
// file it was made from.
type cached struct {
	base      string
	raw, size int64
	mtime     int64 // UnixNano
	sum       *imap.Summary
	n         int64 // bytes counted against Backend.MaxCacheBytes
}

// matches reports whether c was made from the message e.
func (c *cached) matches(e *entry) bool {
	return c.base == e.base && c.raw == e.raw && c.size == e.size && c.mtime == e.date.UnixNano()
}

func (b *Backend) maxCacheBytes() int64 {
	if b.MaxCacheBytes > 0 {
		return b.MaxCacheBytes
	}
	return DefaultMaxCacheBytes
}

// encodeCache writes the cache file's bytes: magic, UIDVALIDITY, records,
// and the CRC-32C of all that.
func encodeCache(validity uint32, uids []uint32, recs []*cached) []byte {
	n := len(cacheMagic) + 8
	for _, r := range recs {
		n += int(r.n) + 6*binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, cacheMagic...)
	b = binary.AppendUvarint(b, uint64(validity))
	for i, r := range recs {
		b = binary.AppendUvarint(b, uint64(uids[i]))
		b = binary.AppendUvarint(b, uint64(len(r.base)))
		b = append(b, r.base...)
		b = binary.AppendUvarint(b, uint64(r.raw))
		b = binary.AppendUvarint(b, uint64(r.size))
		b = binary.AppendVarint(b, r.mtime)
		enc, _ := r.sum.MarshalBinary()
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var errBadCache = errors.New("imapmaildir: invalid cache file")

// decodeCache reads what encodeCache wrote, for the folder's UIDVALIDITY
// validity, keeping at most maxBytes of summaries.
func decodeCache(data []byte, validity uint32, maxBytes int64) (map[uint32]*cached, error) {
	if len(data) < len(cacheMagic)+4 || !bytes.Equal(data[:len(cacheMagic)], cacheMagic) {
		return nil, errBadCache
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(data[len(data)-4:]) {
		return nil, errBadCache
	}
	return parseCache(body[len(cacheMagic):], validity, maxBytes)
}

// parseCache reads the records after the magic, the checksum checked.
func parseCache(b []byte, validity uint32, maxBytes int64) (map[uint32]*cached, error) {
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	bytesOf := func(max uint64) ([]byte, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(b)) || n > max {
			return nil, false
		}
		s := b[:n:n]
		b = b[n:]
		return s, true
	}
	v, ok := uv()
	if !ok || v != uint64(validity) {
		return nil, errBadCache
	}
	out := map[uint32]*cached{}
	var total int64
	for len(b) > 0 {
		uid, ok1 := uv()
		base, ok2 := bytesOf(1024)
		raw, ok3 := uv()
		size, ok4 := uv()
		if !ok1 || !ok2 || !ok3 || !ok4 || uid == 0 || uid > 1<<32-1 || raw > 1<<62 || size > 1<<62 {
			return nil, errBadCache
		}
		mtime, k := binary.Varint(b)
		if k <= 0 {
			return nil, errBadCache
		}
		b = b[k:]
		enc, ok := bytesOf(uint64(maxBytes))
		if !ok {
			return nil, errBadCache
		}
		if _, dup := out[uint32(uid)]; dup {
			return nil, errBadCache
		}
		total += int64(len(enc) + len(base))
		if total > maxBytes {
			continue // beyond the budget: parsed again when needed
		}
		s := new(imap.Summary)
		if err := s.UnmarshalBinary(enc); err != nil || s.Size() != int64(size) {
			return nil, errBadCache
		}
		out[uint32(uid)] = &cached{base: string(base), raw: int64(raw), size: int64(size), mtime: mtime, sum: s, n: int64(len(enc) + len(base))}
	}
	return out, nil
}

// cachePath is the cache file of the index's folder.
func (x *index) cachePath() string { return filepath.Join(x.md.Dir(), CacheFile) }

// loadCacheLocked reads the cache file once per index, after the index was
// loaded; a file that does not read back is ignored. x.mu is held.
func (x *index) loadCacheLocked() {
	if x.cacheRead || !x.loaded {
		return
	}
	x.cacheRead = true
	f, err := os.Open(x.cachePath())
	if err != nil {
		return
	}
	defer f.Close()
	max := x.b.maxCacheBytes()
	fi, err := f.Stat()
	if err != nil || fi.Size() > 2*max+1<<20 {
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, fi.Size()))
	if err != nil {
		return
	}
	recs, err := decodeCache(data, x.validity, max)
	if err != nil {
		x.b.logger().Warn("imapmaildir: cache file ignored, rebuilding it", "file", x.cachePath(), "err", err)
		x.cacheDirty = true
		return
	}
	for uid, r := range recs {
		if _, ok := x.sums[uid]; !ok {
			x.sums[uid] = r
			x.sumBytes += r.n
		}
	}
}

// keepLocked records the summary of the message e; x.mu is held.
func (x *index) keepLocked(e *entry, s *imap.Summary) {
	if old, ok := x.sums[e.uid]; ok {
		x.sumBytes -= old.n
		delete(x.sums, e.uid)
	}
	n := s.EncodedLen() + int64(len(e.base))
	if x.sumBytes+n > x.b.maxCacheBytes() {
		return
	}
	x.sums[e.uid] = &cached{base: e.base, raw: e.raw, size: e.size, mtime: e.date.UnixNano(), sum: s, n: n}
	x.sumBytes += n
	x.cacheDirty = true
	if x.flushTimer == nil {
		x.flushTimer = time.AfterFunc(flushDelay, x.flush)
	}
}

// dropSumsLocked forgets every summary, after UIDVALIDITY changed.
func (x *index) dropSumsLocked() {
	x.sums = map[uint32]*cached{}
	x.sumBytes = 0
	x.cacheDirty = true
}

// flush writes the cache file when summaries changed since it was read or
// written. Records of messages the index no longer holds are left out.
func (x *index) flush() {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.mu.Lock()
	x.flushTimer = nil
	if !x.cacheDirty || !x.loaded || x.gone {
		x.mu.Unlock()
		return
	}
	x.cacheDirty = false
	validity := x.validity
	var uids []uint32
	var recs []*cached
	for i := range x.msgs {
		e := &x.msgs[i]
		if c, ok := x.sums[e.uid]; ok {
			if !c.matches(e) {
				continue
			}
			uids = append(uids, e.uid)
			recs = append(recs, c)
		}
	}
	// Summaries of messages gone from the index go from memory too.
	if len(recs) < len(x.sums) {
		keep := make(map[uint32]*cached, len(recs))
		x.sumBytes = 0
		for i, c := range recs {
			keep[uids[i]] = c
			x.sumBytes += c.n
		}
		x.sums = keep
	}
	x.mu.Unlock()
	if err := x.writeCache(encodeCache(validity, uids, recs)); err != nil {
		x.b.logger().Warn("imapmaildir: writing the cache file failed", "file", x.cachePath(), "err", err)
	}
}

// writeCache replaces the cache file with data: written to a temporary
// file in the same directory, then renamed over it.
func (x *index) writeCache(data []byte) error {
	tmp := x.cachePath() + ".tmp." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, x.cachePath())
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// verified reports whether the size with CRLF of the message uid is known
// from a summary made from its file as the index sees it now.
func (x *index) verified(uid uint32) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	j, ok := x.find(uid)
	if !ok {
		return false
	}
	c, ok := x.sums[uid]
	return ok && c.matches(&x.msgs[j])
}
