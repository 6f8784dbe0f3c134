package pop3maildir

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
)

// FuzzLockOwner checks that any lock content parses without panic, and
// that what parses prints back to an equivalent content.
func FuzzLockOwner(f *testing.F) {
	for _, s := range []string{"123:host", "123:host\n", "", ":", "0:h", "-1:h", "99999999999:h", "12:", "12:a:b", "x:y"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pid, host, ok := lockOwner(data)
		if !ok {
			return
		}
		if pid <= 0 {
			t.Fatalf("lockOwner(%q) = pid %d", data, pid)
		}
		again := strconv.Itoa(pid) + ":" + host
		if p2, h2, ok := lockOwner([]byte(again)); !ok || p2 != pid || h2 != host {
			t.Fatalf("round trip of %q: %d %q %v", data, p2, h2, ok)
		}
	})
}

// FuzzJournal checks that parseJournal never panics and that a journal
// it accepts formats back to the same bytes.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(journalHeader))
	f.Add([]byte(journalHeader + "1700000000.M1P2Q3.host,S=10,W=11\n"))
	f.Add([]byte(journalHeader + "a\nb"))
	f.Add([]byte(journalHeader + ".x\n"))
	f.Add([]byte("herald-pop3-commit 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJournal(data)
		if err != nil {
			return
		}
		for _, k := range keys {
			if !validKey(k) {
				t.Fatalf("accepted key %q", k)
			}
		}
		if out := formatJournal(keys); !bytes.Equal(out, data) {
			t.Fatalf("round trip: %q -> %q", data, out)
		}
	})
}

// FuzzSizeFromName checks the sizes read from file names.
func FuzzSizeFromName(f *testing.F) {
	for _, s := range []string{
		"1700000000.M1P2Q3.host,S=10,W=11:2,S", "1.M1P1.h,S=10", "1.M1P1.h,W=5", "1.M1P1.h,S=10,W=9",
		"1.h,W=+5", "1.h,W=-5", "1.h,W=99999999999999999999", ":2,", "", ".x,W=1", "a,W=1,W=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		size, ok := sizeFromName(name)
		if !ok {
			return
		}
		n, err := maildir.ParseName(name)
		if err != nil || size < 0 || size != n.VSize || size < n.Size || !strings.Contains(name, ",W=") {
			t.Fatalf("sizeFromName(%q) = %d; ParseName = %+v, %v", name, size, n, err)
		}
	})
}

// FuzzCRLFSize compares crlfSize with the line-ending repair done the
// simple way.
func FuzzCRLFSize(f *testing.F) {
	for _, s := range []string{"", "a", "\n", "\r", "\r\n", "\n\r", "a\nb\r\nc\rd", "\r\r\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := crlfSize(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for i := 0; i < len(data); i++ {
			switch {
			case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
				want += 2
				i++
			case data[i] == '\r' || data[i] == '\n':
				want += 2
			default:
				want++
			}
		}
		if got != want {
			t.Fatalf("crlfSize(%q) = %d, want %d", data, got, want)
		}
	})
}

// FuzzUIDL checks that every unique-id is valid and matches Dovecot's
// %08Xu%08Xv.
func FuzzUIDL(f *testing.F) {
	f.Add(uint32(1), uint32(1700000000))
	f.Add(uint32(0xffffffff), uint32(0))
	f.Fuzz(func(t *testing.T, uid, validity uint32) {
		got := UIDL(uid, validity)
		if want := fmt.Sprintf("%08x%08x", uid, validity); got != want || !pop3.ValidUID(got) {
			t.Fatalf("UIDL(%d, %d) = %q, want %q", uid, validity, got, want)
		}
	})
}

// TestValidKey pins the base names a journal may hold.
func TestValidKey(t *testing.T) {
	t.Parallel()
	good := []string{"1700000000.M1P2Q3.host,S=10,W=11", "x"}
	bad := []string{"", ".x", "a/b", "a:2,S", "a\nb", "a\x00", strings.Repeat("x", 256)}
	for _, k := range good {
		if !validKey(k) {
			t.Errorf("validKey(%q) = false", k)
		}
	}
	for _, k := range bad {
		if validKey(k) {
			t.Errorf("validKey(%q) = true", k)
		}
	}
	if !slices.Equal(mustParse(t, formatJournal(good)), good) {
		t.Error("journal round trip")
	}
}

func mustParse(t *testing.T, data []byte) []string {
	keys, err := parseJournal(data)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
