package sieve

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		s, p string
		fold bool
		ok   bool
		caps []string
	}{
		{"www.example.com", "*.*", false, true, []string{"www", "example.com"}},
		{"coyote@ACME.Example.COM", "coyote@**.com", true, true, []string{"", "ACME.Example"}},
		{"[acme-users] [fwd] version 1.0 is out", "[*] *", false, true, []string{"acme-users", "[fwd] version 1.0 is out"}},
		{"abc", "a?c", false, true, []string{"b"}},
		// ? is one octet for both comparators (RFC 5228 section 2.7.1).
		{"aéc", "a?c", true, false, nil},
		{"aéc", "a?c", false, false, nil},
		{"aéc", "a??c", false, true, []string{"\xc3", "\xa9"}},
		{"aéc", "a??c", true, true, []string{"\xc3", "\xa9"}},
		{"a*c", "a\\*c", false, true, nil},
		{"abc", "a\\*c", false, false, nil},
		{"a?c", "a\\?c", false, true, nil},
		{"a\\c", "a\\\\c", false, true, nil},
		{"", "*", false, true, []string{""}},
		{"", "?", false, false, nil},
		{"abc", "", false, false, nil},
		{"", "", false, true, nil},
		{"HELLO", "hello", true, true, nil},
		{"HELLO", "hello", false, false, nil},
		{"abab", "*ab", false, true, []string{"ab"}},
		{"ab", "*ab*ab", false, false, nil},
		{"xaybz", "*a*b*", false, true, []string{"x", "y", "z"}},
	}
	for _, c := range cases {
		var caps []string
		got := glob(c.s, c.p, c.fold, &caps)
		assert.Equal(t, c.ok, got, "glob(%q, %q)", c.s, c.p)
		if c.ok && c.caps != nil {
			assert.Equal(t, c.caps, caps, "glob(%q, %q)", c.s, c.p)
		}
	}
}

// pathological returns a value and a pattern that make a backtracking
// matcher take time exponential in the number of stars: a run of a's
// ending in "c", and a pattern that matches the start and the end but
// needs a "b" that is not there, after twenty stars that a backtracking
// matcher would each try at every position.
func pathological(n int) (string, string) {
	return strings.Repeat("a", n) + "c", strings.Repeat("*a", 20) + "*?b*c"
}

// TestGlobLinear checks that the pathological pattern costs time
// proportional to the value: 16 times the value may take at most about 16
// times as long (checked with a wide margin), and no run takes long.
func TestGlobLinear(t *testing.T) {
	t.Parallel()
	measure := func(n int) time.Duration {
		s, p := pathological(n)
		start := time.Now()
		for i := 0; i < 20; i++ {
			if glob(s, p, true, nil) {
				t.Fatal("matched")
			}
		}
		return time.Since(start)
	}
	small, large := measure(4<<10), measure(64<<10)
	assert.Less(t, large, 2*time.Second)
	assert.Less(t, large, 80*small+50*time.Millisecond, "4 KiB: %v, 64 KiB: %v", small, large)
}

func BenchmarkGlobPathological(b *testing.B) {
	for _, n := range []int{1 << 10, 16 << 10, 256 << 10} {
		s, p := pathological(n)
		b.Run(itoa(n>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				glob(s, p, true, nil)
			}
		})
	}
}

func TestComparators(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 0, cmpNumeric.compare("007", "7"))
	assert.Equal(t, -1, cmpNumeric.compare("7", "10"))
	assert.Equal(t, 1, cmpNumeric.compare("x", "99999999999999999999999"))
	assert.Equal(t, 0, cmpNumeric.compare("x", "y"))
	assert.Equal(t, 1, cmpNumeric.compare("123456789012345678901234567890", "99"))
	assert.Equal(t, 0, cmpCasemap.compare("HeLLo", "hello"))
	assert.NotEqual(t, 0, cmpOctet.compare("HeLLo", "hello"))
	assert.True(t, cmpCasemap.contains("Make MONEY fast", "money"))
	assert.False(t, cmpOctet.contains("Make MONEY fast", "money"))
}
