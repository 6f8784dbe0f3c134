package greylist

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Snapshot format, version 1. All integers are varints
// (encoding/binary); times are milliseconds since the Unix epoch.
//
//	magic    "herald-greylist-snapshot 1\n"
//	record*  'T' key first expires passed(0|1)   a triplet
//	         'C' key passes expires              a client network
//
// Keys are the stores' 16-byte digests, so a snapshot holds no address.
//
//	end      'E' crc32                                  IEEE CRC of every byte before it, big-endian
const snapshotMagic = "herald-greylist-snapshot 1\n"

// maxSnapshotTime bounds the times of a snapshot record: about 73 million
// years either side of 1970, within what the store can represent.
const maxSnapshotTime = 1 << 61

// ErrBadSnapshot is returned (wrapped) when a snapshot is not one this
// package wrote, is truncated, or fails its checksum.
var ErrBadSnapshot = errors.New("greylist: bad snapshot")

// WriteTo writes a snapshot of the store to w. Each of the store's parts is
// copied under its lock, so Check is held up only briefly; records that
// change while the snapshot is written may be caught before or after the
// change.
func (m *MemoryStore) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	crc := crc32.NewIEEE()
	out := io.MultiWriter(bw, crc)
	var buf []byte
	write := func() error {
		_, err := out.Write(buf)
		buf = buf[:0]
		return err
	}
	buf = append(buf, snapshotMagic...)
	if err := write(); err != nil {
		return cw.n, err
	}
	type trip struct {
		k memKey
		r TripletRecord
	}
	type cli struct {
		k memKey
		r ClientRecord
	}
	var ts []trip
	var cs []cli
	for i := range m.shards {
		s := &m.shards[i]
		ts, cs = ts[:0], cs[:0]
		s.mu.Lock()
		for k, r := range s.triplets {
			ts = append(ts, trip{k, r.record()})
		}
		for k, r := range s.clients {
			cs = append(cs, cli{k, r})
		}
		s.mu.Unlock()
		for _, t := range ts {
			buf = append(buf, 'T')
			buf = append(buf, t.k[:]...)
			buf = binary.AppendVarint(buf, t.r.FirstSeen)
			buf = binary.AppendVarint(buf, t.r.Expires)
			if t.r.Passed {
				buf = append(buf, 1)
			} else {
				buf = append(buf, 0)
			}
			if err := write(); err != nil {
				return cw.n, err
			}
		}
		for _, c := range cs {
			buf = append(buf, 'C')
			buf = append(buf, c.k[:]...)
			buf = binary.AppendUvarint(buf, uint64(c.r.Passes))
			buf = binary.AppendVarint(buf, c.r.Expires)
			if err := write(); err != nil {
				return cw.n, err
			}
		}
	}
	buf = append(buf, 'E')
	if err := write(); err != nil {
		return cw.n, err
	}
	buf = binary.BigEndian.AppendUint32(buf, crc.Sum32())
	if _, err := bw.Write(buf); err != nil {
		return cw.n, err
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// snapshotReader reads a snapshot and keeps a running CRC of what it read.
type snapshotReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	n   int64
}

func (s *snapshotReader) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, err
	}
	s.crc.Write([]byte{b})
	s.n++
	return b, nil
}

func (s *snapshotReader) full(p []byte) error {
	n, err := io.ReadFull(s.r, p)
	s.crc.Write(p[:n])
	s.n += int64(n)
	return err
}

func (s *snapshotReader) key() (memKey, error) {
	var k memKey
	err := s.full(k[:])
	return k, err
}

// ReadFrom loads a snapshot written by WriteTo into the store. The whole
// snapshot is read and its checksum verified before any record is added,
// so a damaged file changes nothing. Where the store already holds a
// record, the one that expires later is kept. The store's size bound
// applies, and no more records than it can hold are kept in memory while
// reading.
func (m *MemoryStore) ReadFrom(r io.Reader) (int64, error) {
	sr := &snapshotReader{r: bufio.NewReaderSize(r, 64<<10), crc: crc32.NewIEEE()}
	bad := func(err error) (int64, error) {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: truncated", ErrBadSnapshot)
		} else if !errors.Is(err, ErrBadSnapshot) {
			err = fmt.Errorf("%w: %w", ErrBadSnapshot, err)
		}
		return sr.n, err
	}
	magic := make([]byte, len(snapshotMagic))
	if err := sr.full(magic); err != nil {
		return bad(err)
	}
	if string(magic) != snapshotMagic {
		return bad(errors.New("not a snapshot"))
	}
	limit := m.perShard * memShards
	type trip struct {
		k memKey
		r TripletRecord
	}
	type cli struct {
		k memKey
		r ClientRecord
	}
	var ts []trip
	var cs []cli
	for {
		kind, err := sr.ReadByte()
		if err != nil {
			return bad(err)
		}
		if kind == 'E' {
			break
		}
		if len(ts)+len(cs) >= limit {
			return bad(fmt.Errorf("more than %d records", limit))
		}
		switch kind {
		case 'T':
			k, err := sr.key()
			if err != nil {
				return bad(err)
			}
			first, err := binary.ReadVarint(sr)
			if err != nil {
				return bad(err)
			}
			exp, err := binary.ReadVarint(sr)
			if err != nil {
				return bad(err)
			}
			p, err := sr.ReadByte()
			if err != nil {
				return bad(err)
			}
			if p > 1 {
				return bad(fmt.Errorf("passed flag %d", p))
			}
			if exp < -maxSnapshotTime || exp > maxSnapshotTime {
				return bad(fmt.Errorf("expiry %d out of range", exp))
			}
			rec := TripletRecord{FirstSeen: first, Expires: exp, Passed: p == 1}
			if rec.IsZero() {
				return bad(errors.New("empty triplet record"))
			}
			ts = append(ts, trip{k, rec})
		case 'C':
			k, err := sr.key()
			if err != nil {
				return bad(err)
			}
			passes, err := binary.ReadUvarint(sr)
			if err != nil {
				return bad(err)
			}
			exp, err := binary.ReadVarint(sr)
			if err != nil {
				return bad(err)
			}
			if passes == 0 || passes > 1<<31 {
				return bad(fmt.Errorf("client pass count %d", passes))
			}
			cs = append(cs, cli{k, ClientRecord{Passes: int(passes), Expires: exp}})
		default:
			return bad(fmt.Errorf("unknown record type %q", kind))
		}
	}
	want := sr.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(sr.r, sum[:]); err != nil {
		return bad(err)
	}
	sr.n += 4
	if binary.BigEndian.Uint32(sum[:]) != want {
		return bad(errors.New("checksum mismatch"))
	}

	for _, t := range ts {
		s := &m.shards[t.k.shard()]
		s.mu.Lock()
		old, ok := s.triplets[t.k]
		if !ok {
			s.makeRoom(m.perShard)
		}
		if !ok || t.r.Expires > old.expires() {
			s.triplets[t.k] = packTriplet(t.r)
		}
		s.mu.Unlock()
	}
	for _, c := range cs {
		s := &m.shards[c.k.shard()]
		s.mu.Lock()
		old, ok := s.clients[c.k]
		if !ok {
			s.makeRoom(m.perShard)
		}
		if !ok || c.r.Expires > old.Expires {
			s.clients[c.k] = c.r
		}
		s.mu.Unlock()
	}
	return sr.n, nil
}

// Save writes a snapshot to MemoryOptions.SnapshotPath atomically: to a
// temporary file in the same directory, synced, then renamed over the old
// snapshot. It does nothing when no path is set.
func (m *MemoryStore) Save() error {
	if m.path == "" {
		return nil
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	dir := filepath.Dir(m.path)
	f, err := os.CreateTemp(dir, filepath.Base(m.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("greylist: save snapshot: %w", err)
	}
	tmp := f.Name()
	_, err = m.WriteTo(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, m.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("greylist: save snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// SaveEvery saves the snapshot every interval until ctx is done, then saves
// once more and returns the first error of the final save (earlier errors
// are retried at the next interval). Run it in a goroutine of its own; with
// it, a crash loses at most one interval of greylisting state. It returns
// at once when no path is set.
func (m *MemoryStore) SaveEvery(ctx context.Context, interval time.Duration) error {
	if m.path == "" {
		return nil
	}
	if interval <= 0 {
		return errors.New("greylist: snapshot interval must be positive")
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return m.Save()
		case <-tick.C:
			m.Save()
		}
	}
}

// Close saves the snapshot when a path is set. The store stays usable.
func (m *MemoryStore) Close() error {
	return m.Save()
}
