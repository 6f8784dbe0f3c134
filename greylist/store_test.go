package greylist_test

import (
	"testing"

	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/greylist/greylisttest"
)

func TestMemoryStoreSuite(t *testing.T) {
	greylisttest.Run(t, func(t *testing.T) greylist.Store {
		s, err := greylist.NewMemoryStore(nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// A tiny store fills up and evicts, yet the suite's scenarios, which hold
// few records at a time, still pass.
func TestMemoryStoreSuiteSmall(t *testing.T) {
	greylisttest.Run(t, func(t *testing.T) greylist.Store {
		s, err := greylist.NewMemoryStore(&greylist.MemoryOptions{MaxEntries: 64 * 16})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
