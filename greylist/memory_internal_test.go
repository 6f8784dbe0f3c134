package greylist

import (
	"encoding/binary"
	"testing"
)

// shardWith returns a shard holding live records that expire at 1000 and
// expired ones that expired at 10, with its last query at 100.
func shardWith(live, expired int) *memShard {
	s := &memShard{triplets: make(map[memKey]memTriplet), clients: make(map[memKey]ClientRecord), lastNow: 100}
	var k memKey
	for i := range live + expired {
		binary.LittleEndian.PutUint64(k[:], uint64(i))
		exp := int64(1000)
		if i >= live {
			exp = 10
		}
		s.triplets[k] = packTriplet(TripletRecord{FirstSeen: 1, Expires: exp})
	}
	return s
}

func countLive(s *memShard) int {
	n := 0
	for _, t := range s.triplets {
		if t.expires() > s.lastNow {
			n++
		}
	}
	return n
}

func TestMakeRoomDropsExpiredBeforeLive(t *testing.T) {
	// 60 live and 4 expired records fill a shard of 64; a sample of 8
	// misses all four expired ones more often than not, so eviction
	// alone would drop live records. The sweep on the first insertion
	// into the full shard drops the expired ones instead.
	s := shardWith(60, 4)
	var k memKey
	for i := range 4 {
		s.makeRoom(64)
		binary.LittleEndian.PutUint64(k[:], uint64(1000+i))
		s.triplets[k] = packTriplet(TripletRecord{FirstSeen: 100, Expires: 2000})
	}
	if n := countLive(s); n != 64 {
		t.Errorf("%d live records after 4 insertions, want 64 (no live record evicted)", n)
	}
}

func TestMakeRoomCompactsAfterManyDeletes(t *testing.T) {
	// Every insertion into a full shard evicts one record; after two
	// shards' worth of deletions the maps are rebuilt with every record
	// still in them.
	s := shardWith(64, 0)
	var k memKey
	for i := range 2*64 - 1 {
		s.makeRoom(64)
		binary.LittleEndian.PutUint64(k[:], uint64(1000+i))
		s.triplets[k] = packTriplet(TripletRecord{FirstSeen: 100, Expires: int64(2000 + i)})
	}
	if s.deletes != 2*64-1 {
		t.Fatalf("deletes = %d, want %d", s.deletes, 2*64-1)
	}
	before := make(map[memKey]memTriplet, len(s.triplets))
	for k, v := range s.triplets {
		before[k] = v
	}
	s.makeRoom(64)
	if s.deletes != 0 || len(s.triplets) != 63 {
		t.Fatalf("after the 128th deletion: deletes = %d, %d records", s.deletes, len(s.triplets))
	}
	for k, v := range s.triplets {
		if before[k] != v {
			t.Fatalf("record %x changed in the rebuild", k)
		}
	}
}
