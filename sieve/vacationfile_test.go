package sieve

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFileVacationStoreSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "u", "vacation")
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s := &FileVacationStore{Path: path, Now: clock}
	k := VacationKey{Handle: "h \n\x00", Sender: "bob@example.test"}
	_, ok, err := s.LastReply(ctx, k)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.RecordPeriod(ctx, k, now, 7*24*time.Hour))
	require.NoError(t, s.RecordPeriod(ctx, VacationKey{Handle: "x", Sender: "carol@example.test"}, now, time.Hour))

	// A new store on the same file, as after a restart.
	s2 := &FileVacationStore{Path: path, Now: clock}
	last, ok, err := s2.LastReply(ctx, k)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, last.Equal(now))

	// Two hours later the one-hour entry has expired, the other not.
	now = now.Add(2 * time.Hour)
	s3 := &FileVacationStore{Path: path, Now: clock}
	_, ok, _ = s3.LastReply(ctx, VacationKey{Handle: "x", Sender: "carol@example.test"})
	require.False(t, ok)
	_, ok, _ = s3.LastReply(ctx, k)
	require.True(t, ok)
	// Past its period the entry is gone too.
	now = now.Add(7 * 24 * time.Hour)
	_, ok, _ = s3.LastReply(ctx, k)
	require.False(t, ok)
}

func TestFileVacationStoreBounded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vacation")
	now := time.Unix(1_800_000_000, 0)
	s := &FileVacationStore{Path: path, Max: 100, Now: func() time.Time { return now }}
	for i := range 1000 {
		now = now.Add(time.Second)
		require.NoError(t, s.RecordPeriod(ctx, VacationKey{Handle: "h", Sender: fmt.Sprintf("s%d@example.test", i)}, now, 24*time.Hour))
	}
	s.mu.Lock()
	n := len(s.m)
	s.mu.Unlock()
	require.LessOrEqual(t, n, 100)
	// The newest is remembered, and the file does not grow with the
	// number of replies: it is compacted.
	_, ok, _ := s.LastReply(ctx, VacationKey{Handle: "h", Sender: "s999@example.test"})
	require.True(t, ok)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Less(t, fi.Size(), int64(300*len(vacationLine(VacationKey{Handle: "h", Sender: "s999@example.test"}, vacationEntry{last: now, expires: now}))))
	// Reopened, still bounded and still there.
	s2 := &FileVacationStore{Path: path, Max: 100, Now: func() time.Time { return now }}
	_, ok, _ = s2.LastReply(ctx, VacationKey{Handle: "h", Sender: "s999@example.test"})
	require.True(t, ok)
	require.LessOrEqual(t, len(s2.m), 100)
}

func TestFileVacationStoreDamage(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	k := VacationKey{Handle: "h", Sender: "bob@example.test"}
	good := vacationLine(k, vacationEntry{last: now, expires: now.Add(time.Hour)})
	for name, content := range map[string][]byte{
		"garbage":   []byte("\x00\xff not a vacation file\n"),
		"empty":     {},
		"long line": append([]byte(vacationMagic+"\n"), bytes.Repeat([]byte("a"), 3*maxVacationLine)...),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vacation")
			require.NoError(t, os.WriteFile(path, content, 0o600))
			var logs bytes.Buffer
			s := &FileVacationStore{Path: path, Now: clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			_, ok, err := s.LastReply(ctx, k)
			require.NoError(t, err)
			require.False(t, ok)
			require.Contains(t, logs.String(), "vacation memory")
			// The next Record leaves a good file.
			require.NoError(t, s.RecordPeriod(ctx, k, now, time.Hour))
			s2 := &FileVacationStore{Path: path, Now: clock}
			_, ok, _ = s2.LastReply(ctx, k)
			require.True(t, ok)
		})
	}
	// A torn last line (a crash during an append) and a flipped byte
	// lose only their own entries.
	path := filepath.Join(t.TempDir(), "vacation")
	other := vacationLine(VacationKey{Handle: "h", Sender: "carol@example.test"}, vacationEntry{last: now, expires: now.Add(time.Hour)})
	flipped := bytes.Clone(other)
	flipped[20] ^= 1
	content := append([]byte(vacationMagic+"\n"), good...)
	content = append(content, flipped...)
	content = append(content, other[:len(other)/2]...)
	require.NoError(t, os.WriteFile(path, content, 0o600))
	var logs bytes.Buffer
	s := &FileVacationStore{Path: path, Now: clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	_, ok, _ := s.LastReply(ctx, k)
	require.True(t, ok)
	_, ok, _ = s.LastReply(ctx, VacationKey{Handle: "h", Sender: "carol@example.test"})
	require.False(t, ok)
	require.Contains(t, logs.String(), "lines=2")
}

func TestFileVacationStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vacation")
	s := &FileVacationStore{Path: path, Max: 1000}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				k := VacationKey{Handle: "h", Sender: fmt.Sprintf("g%d-%d@example.test", g, i)}
				require.NoError(t, s.RecordPeriod(ctx, k, time.Now(), time.Hour))
				_, ok, err := s.LastReply(ctx, k)
				require.NoError(t, err)
				require.True(t, ok)
			}
		}()
	}
	wg.Wait()
	// After a restart every reply is remembered, and every line of the
	// file is whole.
	s2 := &FileVacationStore{Path: path, Max: 1000}
	for g := range 8 {
		for i := range 100 {
			_, ok, _ := s2.LastReply(ctx, VacationKey{Handle: "h", Sender: fmt.Sprintf("g%d-%d@example.test", g, i)})
			require.True(t, ok)
		}
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")[1:] {
		_, _, ok := parseVacationLine([]byte(l))
		require.True(t, ok, "%q", l)
	}
}

// FuzzReadVacationLog: any file reads without panic, within the bound,
// and what it holds writes back to a file that reads the same.
func FuzzReadVacationLog(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	var b bytes.Buffer
	writeVacationLog(&b, map[VacationKey]vacationEntry{
		{Handle: "h", Sender: "a@b.c"}: {last: now, expires: now.Add(time.Hour)},
		{Handle: "", Sender: ""}:       {last: now.Add(-time.Hour), expires: now.Add(time.Minute)},
	})
	f.Add(b.Bytes())
	f.Add([]byte(vacationMagic + "\n00000000 1 2 zz 00\n"))
	f.Add([]byte(vacationMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 8
		m, st, err := readVacationLog(bytes.NewReader(data), now, max)
		if err != nil {
			require.Nil(t, m)
			return
		}
		require.LessOrEqual(t, len(m), max)
		require.LessOrEqual(t, st.bad, st.lines)
		var out bytes.Buffer
		require.NoError(t, writeVacationLog(&out, m))
		m2, st2, err := readVacationLog(&out, now, max)
		require.NoError(t, err)
		require.Zero(t, st2.bad)
		require.Equal(t, len(m), len(m2))
		for k, e := range m {
			e2, ok := m2[k]
			require.True(t, ok)
			require.Equal(t, e.last.Unix(), e2.last.Unix())
			require.Equal(t, e.expires.Unix(), e2.expires.Unix())
		}
	})
}
