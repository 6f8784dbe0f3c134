package maildir

// Lookups for a caller that keeps its own index of a folder up to date
// from file system events (an IMAP server watching new/ and cur/ with
// inotify), so that a file name seen in an event can be turned into a
// message without listing the folder again.

// KeywordTable returns the keyword of each letter a-z as dovecot-keywords
// maps them: index 0 is "a", and a free letter is "". A missing file is an
// empty table.
func (m *Maildir) KeywordTable() ([]string, error) {
	kw, err := m.readKeywords()
	if err != nil {
		return nil, err
	}
	return kw[:], nil
}

// UIDOf returns the UID that dovecot-uidlist gives the message with the
// base name base, reading only the records appended since the last read
// when the file grew in place. ok is false when the list has no record of
// it yet; [Maildir.Sync] then assigns one.
func (m *Maildir) UIDOf(base string) (uid uint32, ok bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refresh(); err != nil {
		return 0, false, err
	}
	if m.ul == nil || m.corrupt {
		return 0, false, nil
	}
	uid, ok = m.uids[base]
	return uid, ok, nil
}

// UIDValidity returns the folder's UIDVALIDITY and the UID the next new
// message gets, from dovecot-uidlist as it is now; both are 0 when the
// folder has no list yet.
func (m *Maildir) UIDValidity() (validity, next uint32, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refresh(); err != nil {
		return 0, 0, err
	}
	if m.ul == nil || m.corrupt {
		return 0, 0, nil
	}
	return m.ul.uidValidity, m.ul.next(), nil
}

// Split returns the letters a-z of f, which stand for keywords, apart
// from the others (the standard flags and unknown letters).
func (f Flags) Split() (system, keywords Flags) { return f.split() }
