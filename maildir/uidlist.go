package maildir

import (
	"bytes"
	"strconv"
	"strings"
)

// The dovecot-uidlist file maps the base name of every message to its IMAP
// UID, Dovecot's format version 3:
//
//	3 V<uidvalidity> N<nextuid> G<mailbox guid, 32 hex digits>
//	<uid>[ <ext>]... :<base name>
//
// Records are sorted by UID; ext fields (S<size>, W<vsize>, G<guid>...) are
// a letter and a value. Dovecot appends records to the file under its lock
// and rewrites the whole file from time to time, so the N header may lag:
// the next UID is the larger of N and the last record's UID plus one.
// Version 1 files ("1 <uidvalidity> <nextuid>", records "<uid> <name>")
// are read too.

const uidListName = "dovecot-uidlist"

// DefaultMaxUIDListBytes bounds the dovecot-uidlist file read, 256 MiB:
// some three million messages.
const DefaultMaxUIDListBytes = 256 << 20

type uidRecord struct {
	uid  uint32
	ext  string // raw extension fields between the UID and " :", or ""
	base string
}

type uidList struct {
	version     int
	uidValidity uint32
	nextUID     uint32 // as read or to write; see next()
	guid        string
	headerExt   []string // unknown header fields, kept on rewrite
	records     []uidRecord
	uids        map[string]uint32 // base name -> UID of records, as parsed
}

// next returns the UID the next new message gets.
func (l *uidList) next() uint32 {
	n := l.nextUID
	if len(l.records) > 0 && l.records[len(l.records)-1].uid >= n {
		n = l.records[len(l.records)-1].uid + 1
	}
	if n == 0 {
		n = 1
	}
	return n
}

// parseUIDList parses a whole dovecot-uidlist file. It returns the number
// of bytes consumed: a last line without its newline is a record still being
// appended and is left for a later read.
func parseUIDList(data []byte) (*uidList, int, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return nil, 0, malformed("read", uidListName, 1, "no header line")
	}
	l := new(uidList)
	if err := l.parseHeader(string(data[:nl])); err != nil {
		return nil, 0, err
	}
	l.uids = make(map[string]uint32, len(data)/48)
	n, err := l.parseRecords(data[nl+1:], 2, l.uids)
	return l, nl + 1 + n, err
}

func (l *uidList) parseHeader(h string) error {
	bad := func(msg string) error { return malformed("read", uidListName, 1, msg) }
	fields := strings.Split(h, " ")
	switch fields[0] {
	case "1":
		if len(fields) != 3 {
			return bad("version 1 header needs 3 fields")
		}
		v, err1 := parseUID(fields[1])
		n, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil {
			return bad("bad number")
		}
		l.version, l.uidValidity, l.nextUID = 1, v, uint32(n)
		return nil
	case "3":
		l.version = 3
	default:
		return bad("unsupported version")
	}
	for _, f := range fields[1:] {
		if f == "" {
			return bad("empty header field")
		}
		switch f[0] {
		case 'V':
			v, err := parseUID(f[1:])
			if err != nil {
				return bad("bad UIDVALIDITY")
			}
			l.uidValidity = v
		case 'N':
			n, err := strconv.ParseUint(f[1:], 10, 32)
			if err != nil {
				return bad("bad next UID")
			}
			l.nextUID = uint32(n)
		case 'G':
			if !isHex(f[1:]) {
				return bad("bad mailbox GUID")
			}
			l.guid = f[1:]
		default:
			l.headerExt = append(l.headerExt, f)
		}
	}
	if l.uidValidity == 0 {
		return bad("no UIDVALIDITY")
	}
	return nil
}

// parseRecords parses records and appends them; line is the number of the
// first line, for errors. uids maps the base names of l.records to their
// UIDs and gets the new ones. It returns the bytes consumed (complete
// lines).
func (l *uidList) parseRecords(data []byte, line int, uids map[string]uint32) (int, error) {
	consumed := 0
	last := uint32(0)
	if len(l.records) > 0 {
		last = l.records[len(l.records)-1].uid
	}
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			break
		}
		rec, err := l.parseRecord(string(data[:nl]))
		if err != nil {
			return consumed, malformed("read", uidListName, line, err.Error())
		}
		if rec.uid <= last {
			return consumed, malformed("read", uidListName, line, "UIDs out of order")
		}
		if _, dup := uids[rec.base]; dup {
			return consumed, malformed("read", uidListName, line, "duplicate file name")
		}
		uids[rec.base] = rec.uid
		last = rec.uid
		l.records = append(l.records, rec)
		data = data[nl+1:]
		consumed += nl + 1
		line++
	}
	return consumed, nil
}

type parseError string

func (e parseError) Error() string { return string(e) }

func (l *uidList) parseRecord(s string) (uidRecord, error) {
	sp := strings.IndexByte(s, ' ')
	if sp < 0 {
		return uidRecord{}, parseError("record without file name")
	}
	uid, err := parseUID(s[:sp])
	if err != nil {
		return uidRecord{}, parseError("bad UID")
	}
	rest := s[sp+1:]
	var rec uidRecord
	rec.uid = uid
	if l.version == 1 {
		rec.base = rest
	} else {
		i := strings.Index(" "+rest, " :")
		if i < 0 {
			return uidRecord{}, parseError("record without \" :\"")
		}
		if i > 0 {
			rec.ext = rest[:i-1]
			for _, f := range strings.Split(rec.ext, " ") {
				if len(f) < 1 || f[0] < 'A' || f[0] > 'Z' {
					return uidRecord{}, parseError("bad extension field")
				}
			}
		}
		rec.base = rest[i+1:]
	}
	// A name with flags is accepted; the UID belongs to its base.
	if j := strings.IndexByte(rec.base, ':'); j >= 0 {
		rec.base = rec.base[:j]
	}
	if rec.base == "" || rec.base[0] == '.' || len(rec.base) > MaxNameLength || strings.ContainsAny(rec.base, "/\x00") {
		return uidRecord{}, parseError("bad file name")
	}
	return rec, nil
}

// parseUID parses a non-zero 32-bit decimal number without sign.
func parseUID(s string) (uint32, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, ErrMalformed
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, ErrMalformed
	}
	return uint32(n), nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// format returns the file in version 3.
func (l *uidList) format() []byte {
	b := make([]byte, 0, 64+len(l.records)*56)
	b = append(b, "3 V"...)
	b = strconv.AppendUint(b, uint64(l.uidValidity), 10)
	b = append(b, " N"...)
	b = strconv.AppendUint(b, uint64(l.next()), 10)
	if l.guid != "" {
		b = append(b, " G"...)
		b = append(b, l.guid...)
	}
	for _, f := range l.headerExt {
		b = append(b, ' ')
		b = append(b, f...)
	}
	b = append(b, '\n')
	for _, r := range l.records {
		b = appendRecord(b, r)
	}
	return b
}

func appendRecord(b []byte, r uidRecord) []byte {
	b = strconv.AppendUint(b, uint64(r.uid), 10)
	if r.ext != "" {
		b = append(b, ' ')
		b = append(b, r.ext...)
	}
	b = append(b, " :"...)
	b = append(b, r.base...)
	return append(b, '\n')
}
