package maildir

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Flag letters of the info part "2," (the Maildir specification and
// Dovecot), and the IMAP system flags they stand for. They combine with
// [Flags.Union]: FlagSeen.Union(FlagFlagged) is "FS".
const (
	FlagDraft   Flags = "D" // \Draft
	FlagFlagged Flags = "F" // \Flagged
	FlagPassed  Flags = "P" // $Forwarded (resent, bounced)
	FlagReplied Flags = "R" // \Answered
	FlagSeen    Flags = "S" // \Seen
	FlagTrashed Flags = "T" // \Deleted
)

// Flags is a set of flag letters as the info part of a file name holds
// them: printable US-ASCII other than "/" and ":", each once, in ASCII order.
// Letters a-z are keywords (see [Message.Keywords]); [Message.Flags] holds
// the others, including letters this package does not know, which it keeps
// as they are.
type Flags string

// MakeFlags returns the set of the letters in s, sorted and without
// duplicates; characters that cannot be flags are dropped.
func MakeFlags(s string) Flags {
	var seen [128]bool
	for i := 0; i < len(s); i++ {
		if c := s[i]; validFlag(c) {
			seen[c] = true
		}
	}
	b := make([]byte, 0, len(s))
	for c := range seen {
		if seen[c] {
			b = append(b, byte(c))
		}
	}
	return Flags(b)
}

func validFlag(c byte) bool { return 0x21 <= c && c <= 0x7e && c != '/' && c != ':' && c != ',' }

// Has reports whether the set holds every letter of g.
func (f Flags) Has(g Flags) bool {
	for i := 0; i < len(g); i++ {
		if !f.hasLetter(g[i]) {
			return false
		}
	}
	return true
}

func (f Flags) hasLetter(c byte) bool { return strings.IndexByte(string(f), c) >= 0 }

// Union returns the letters in f or g.
func (f Flags) Union(g Flags) Flags { return MakeFlags(string(f) + string(g)) }

// Minus returns the letters of f that are not in g.
func (f Flags) Minus(g Flags) Flags {
	b := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		if !g.hasLetter(f[i]) {
			b = append(b, f[i])
		}
	}
	return MakeFlags(string(b))
}

// system returns the letters other than a-z; keywords the letters a-z.
func (f Flags) split() (system, keywords Flags) {
	var s, k []byte
	for i := 0; i < len(f); i++ {
		if 'a' <= f[i] && f[i] <= 'z' {
			k = append(k, f[i])
		} else {
			s = append(s, f[i])
		}
	}
	return Flags(s), Flags(k)
}

// Name is a Maildir file name split into its parts:
//
//	<base>[:<info>]      base = <unique>[,S=<size>][,W=<vsize>][,...]
//
// Base is the part before the first ":" and never changes while the
// message lives: Dovecot's dovecot-uidlist and Herald's UIDs key on it.
// Info is what follows the colon, "2,<flags>" for the flags of the
// Maildir specification. Size is the ",S=" field, the file's size in bytes,
// and VSize the ",W=" field, its size with CRLF line endings; either is -1
// when the name does not hold it.
type Name struct {
	Base  string
	Info  string
	Size  int64
	VSize int64

	colon bool // the name ends with ":" (an empty info part)
}

// MaxNameLength bounds a file name ParseName accepts, the NAME_MAX of
// common file systems.
const MaxNameLength = 255

// ParseName parses a file name found in new/ or cur/. It fails with
// ErrInvalidName for a name that cannot be a message: empty, longer than
// MaxNameLength, starting with ".", holding "/" or NUL, or with an empty
// base.
func ParseName(name string) (Name, error) {
	if name == "" || len(name) > MaxNameLength || name[0] == '.' || strings.ContainsAny(name, "/\x00") {
		return Name{}, ErrInvalidName
	}
	n := Name{Base: name, Size: -1, VSize: -1}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		n.Base, n.Info = name[:i], name[i+1:]
		n.colon = n.Info == ""
	}
	if n.Base == "" {
		return Name{}, ErrInvalidName
	}
	fields := n.Base
	if i := strings.IndexByte(fields, ','); i >= 0 {
		fields = fields[i+1:]
		for fields != "" {
			f := fields
			if i := strings.IndexByte(fields, ','); i >= 0 {
				f, fields = fields[:i], fields[i+1:]
			} else {
				fields = ""
			}
			if len(f) > 2 && f[1] == '=' && (f[0] == 'S' || f[0] == 'W') {
				v, err := strconv.ParseInt(f[2:], 10, 64)
				if err != nil || v < 0 || f[2] == '+' {
					continue // not ours to judge: leave it unknown
				}
				if f[0] == 'S' {
					n.Size = v
				} else {
					n.VSize = v
				}
			}
		}
	}
	return n, nil
}

// Flags returns the letters of an info part "2,<letters>", sorted, or ""
// when Info is of another kind.
func (n Name) Flags() Flags {
	if !strings.HasPrefix(n.Info, "2,") {
		return ""
	}
	return MakeFlags(n.Info[2:])
}

// String returns the file name.
func (n Name) String() string {
	if n.Info == "" && !n.colon {
		return n.Base
	}
	return n.Base + ":" + n.Info
}

// withFlags returns the file name for base with flags, keeping an info part
// of another kind than "2," when flags are unchanged.
func withFlags(base string, f Flags) string { return base + ":2," + string(f) }

// arrival returns the delivery time encoded in a base name of the usual
// "<sec>.M<usec>P<pid>..." or "<sec>.<anything>" shape, for ordering new
// messages; ok is false when the name does not start with a number.
func arrival(base string) (sec, usec int64, ok bool) {
	dot := strings.IndexByte(base, '.')
	if dot <= 0 {
		return 0, 0, false
	}
	sec, err := strconv.ParseInt(base[:dot], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	rest := base[dot+1:]
	if i := strings.IndexByte(rest, 'M'); i >= 0 {
		j := i + 1
		for j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
			j++
		}
		usec, _ = strconv.ParseInt(rest[i+1:j], 10, 64)
	}
	return sec, usec, true
}

// sortByArrival sorts base names by their delivery time, then by name.
func sortByArrival(bases []string) {
	sort.Slice(bases, func(i, j int) bool {
		si, ui, _ := arrival(bases[i])
		sj, uj, _ := arrival(bases[j])
		if si != sj {
			return si < sj
		}
		if ui != uj {
			return ui < uj
		}
		return bases[i] < bases[j]
	})
}

// uniqueBase returns a new base name: <sec>.M<usec>P<pid>Q<n>.<host>.
func uniqueBase(now time.Time, q uint64, host string) string {
	var b []byte
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(now.Nanosecond()/1000), 10)
	b = append(b, 'P')
	b = strconv.AppendInt(b, int64(os.Getpid()), 10)
	b = append(b, 'Q')
	b = strconv.AppendUint(b, q, 10)
	b = append(b, '.')
	b = append(b, host...)
	return string(b)
}

// safeHost returns the host name as the Maildir specification wants it in a
// file name: "/" as "\057", ":" as "\072", and "," as "\054" (Dovecot's
// field separator).
func safeHost(h string) string {
	if h == "" {
		h = "localhost"
	}
	r := strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`, "\x00", "")
	return r.Replace(h)
}
