package imap

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// TestStreamContains checks the search of a body read in pieces: a match
// across two reads is found, also when a read ends inside a character
// that lower-casing changes, and the case of the text does not matter.
func TestStreamContains(t *testing.T) {
	long := strings.Repeat("x", 40<<10)
	for _, tc := range []struct {
		text, needle string
		want         bool
	}{
		{"Hello World", "world", true},
		{"Grüße aus Zürich", "zürich", true},
		{"GRÜSSE AUS ZÜRICH", "zürich", true},
		{"ÉTÉ", "été", true},
		{long + "Ünïcödé" + long, "ünïcödé", true},
		{long + "Ünïcöde" + long, "ünïcödé", false},
		{"Привет, МИР", "мир", true},
		{"abc", "abcd", false},
		{"", "a", false},
	} {
		needle := []byte(strings.ToLower(tc.needle))
		for name, r := range map[string]func(string) bool{
			"whole":    func(s string) bool { return streamContains(strings.NewReader(s), needle) },
			"one byte": func(s string) bool { return streamContains(iotest.OneByteReader(strings.NewReader(s)), needle) },
			"halves":   func(s string) bool { return streamContains(iotest.HalfReader(strings.NewReader(s)), needle) },
			"data+EOF": func(s string) bool { return streamContains(iotest.DataErrReader(strings.NewReader(s)), needle) },
		} {
			if got := r(tc.text); got != tc.want {
				t.Errorf("%s: %q in %.40q... = %v, want %v", name, tc.needle, tc.text, got, tc.want)
			}
		}
	}
}

// TestStreamContainsAllocs checks that searching a body reuses its
// buffers instead of allocating some per read.
func TestStreamContainsAllocs(t *testing.T) {
	text := bytes.Repeat([]byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"), 4000)
	needle := []byte("not there")
	streamContains(bytes.NewReader(text), needle)
	allocs := testing.AllocsPerRun(20, func() {
		if streamContains(bytes.NewReader(text), needle) {
			t.Fatal("found what is not there")
		}
	})
	if allocs > 1 {
		t.Errorf("a search of %d bytes made %v allocations", len(text), allocs)
	}
}

// chunkReader returns at most n bytes a read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// FuzzStreamContains checks streamContains, read in chunks of any size,
// against strings.Contains of the whole text lowered.
func FuzzStreamContains(f *testing.F) {
	f.Add("Grüße aus Zürich", "ZÜRICH", 1)
	f.Add("ÉTÉ Ⱥ ǅ İstanbul", "ⱥ ǆ i̇s", 3)
	f.Add(strings.Repeat("ab", 20000)+"Ωmega", "bΩm", 32<<10)
	f.Fuzz(func(t *testing.T, text, needle string, n int) {
		if !utf8.ValidString(text) || !utf8.ValidString(needle) || needle == "" {
			return
		}
		n = 1 + int(uint(n)%(40<<10))
		low := strings.ToLower(needle)
		want := strings.Contains(strings.ToLower(text), low)
		if got := streamContains(&chunkReader{[]byte(text), n}, []byte(low)); got != want {
			t.Fatalf("%q in %q, %d bytes a read: %v, want %v", needle, text, n, got, want)
		}
	})
}
