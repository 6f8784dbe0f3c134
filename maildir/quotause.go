package maildir

// QuotaUsage returns the quota of the Store (Options.Quota, or the one its
// maildirsize defines) and what its folders use against it, in bytes of
// the message files and in messages, reading maildirsize (recalculated
// from the folders when it is missing or stale, as a delivery does). A
// Store without a quota returns a zero Quota and zero use.
func (s *Store) QuotaUsage() (q Quota, bytes, messages int64, err error) {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	return s.quota.load()
}
