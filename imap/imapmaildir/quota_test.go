package imapmaildir_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldmail/herald/maildir"
)

// TestGetQuota checks GETQUOTAROOT and GETQUOTA (RFC 9208) over a tree with a
// Maildir++ quota: the root "" for every folder, STORAGE in KiB and
// MESSAGE counts that follow an APPEND, an over-quota APPEND answered NO
// [OVERQUOTA], SETQUOTA refused, and the errors.
func TestGetQuota(t *testing.T) {
	f := newFixture(t, &maildir.Options{Quota: maildir.Quota{Bytes: 10 << 10, Messages: 3}})
	f.deliver(t, "alice", "INBOX", "one", "")
	c := f.dial(t, "alice")
	caps := c.ok("CAPABILITY")[0]
	for _, w := range []string{" QUOTA ", " QUOTA=RES-STORAGE ", " QUOTA=RES-MESSAGE"} {
		if !strings.Contains(caps, w) {
			t.Errorf("CAPABILITY lacks%s", w)
		}
	}
	quota := func() (storage, messages int) {
		t.Helper()
		lines := c.ok("GETQUOTAROOT INBOX")
		if len(lines) != 3 || lines[0] != `* QUOTAROOT "INBOX" ""` {
			t.Fatalf("GETQUOTAROOT: %q", lines)
		}
		f := strings.Fields(strings.Trim(strings.TrimPrefix(lines[1], `* QUOTA "" `), "()"))
		if len(f) != 6 || f[0] != "STORAGE" || f[2] != "10" || f[3] != "MESSAGE" || f[5] != "3" {
			t.Fatalf("QUOTA: %q", lines[1])
		}
		s, _ := strconv.Atoi(f[1])
		m, _ := strconv.Atoi(f[4])
		if again := c.ok(`GETQUOTA ""`); !slices.Equal(again[:1], lines[1:2]) {
			t.Fatalf("GETQUOTA %q, GETQUOTAROOT %q", again, lines)
		}
		return s, m
	}
	s1, m1 := quota()
	if m1 != 1 || s1 != 1 {
		t.Fatalf("after one small message: STORAGE %d MESSAGE %d", s1, m1)
	}
	c.append("Archive", "", "", "Subject: two\r\n\r\n"+strings.Repeat("x", 3000)+"\r\n")
	if s2, m2 := quota(); m2 != 2 || s2 != 4 {
		t.Fatalf("after APPEND: STORAGE %d MESSAGE %d", s2, m2)
	}
	if lines := c.ok("GETQUOTAROOT Archive"); lines[0] != `* QUOTAROOT "Archive" ""` {
		t.Fatalf("GETQUOTAROOT Archive: %q", lines)
	}
	// Over the STORAGE limit.
	_, st := c.do("APPEND INBOX {9000+}\r\n" + strings.Repeat("y", 8998) + "\r\n")
	if !strings.HasPrefix(st, "NO [OVERQUOTA]") {
		t.Fatalf("APPEND over quota: %s", st)
	}
	c.no(`SETQUOTA "" (STORAGE 100)`, "NOPERM")
	c.no(`GETQUOTA "other"`, "NONEXISTENT")
	c.no("GETQUOTAROOT Nowhere", "NONEXISTENT")
	for _, bad := range []string{"GETQUOTA", `SETQUOTA "" STORAGE 1`, `SETQUOTA "" (STORAGE)`, `SETQUOTA "" (STORAGE x)`, "GETQUOTAROOT"} {
		if _, st := c.do(bad); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s: %s", bad, st)
		}
	}
}

// TestNoQuota checks that a tree without a quota has no quota root.
func TestNoQuota(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	if lines := c.ok("GETQUOTAROOT INBOX"); len(lines) != 2 || lines[0] != `* QUOTAROOT "INBOX"` {
		t.Fatalf("GETQUOTAROOT: %q", lines)
	}
	c.no(`GETQUOTA ""`, "NONEXISTENT")
}
