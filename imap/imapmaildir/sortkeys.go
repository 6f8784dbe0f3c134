package imapmaildir

import (
	"sync"

	"github.com/heraldmail/herald/imap"
)

// keyCache holds the server's SORT and THREAD keys of a folder's
// messages (imap.MailboxKeyCache) in memory, shared by the sessions of
// the folder for as long as the Backend keeps its index. UIDs never name
// another file within one UIDVALIDITY, so an entry stays right until the
// message goes; entries of expunged messages and of an older UIDVALIDITY
// are dropped when the map has grown past twice the folder.
type keyCache struct {
	mu       sync.Mutex
	validity uint32
	m        map[uint32]any
}

// CachedKeys implements imap.MailboxKeyCache.
func (h *handle) CachedKeys(uid imap.UID) any {
	x := h.idx
	x.mu.Lock()
	validity := x.validity
	x.mu.Unlock()
	k := &x.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.validity != validity {
		return nil
	}
	return k.m[uint32(uid)]
}

// CacheKeys implements imap.MailboxKeyCache.
func (h *handle) CacheKeys(uid imap.UID, v any) {
	x := h.idx
	x.mu.Lock()
	validity, n := x.validity, len(x.msgs)
	var live map[uint32]bool
	k := &x.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.validity != validity || k.m == nil {
		k.validity, k.m = validity, map[uint32]any{}
	} else if len(k.m) > 2*n+1024 {
		live = make(map[uint32]bool, n)
		for _, e := range x.msgs {
			live[e.uid] = true
		}
	}
	x.mu.Unlock()
	if live != nil {
		for u := range k.m {
			if !live[u] {
				delete(k.m, u)
			}
		}
	}
	k.m[uint32(uid)] = v
}
