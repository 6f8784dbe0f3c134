package managesieve

// Quota holds the limits a Store puts on one user's scripts; a zero field
// means no limit. The in-memory and directory stores enforce it with
// Fits.
type Quota struct {
	// MaxScripts bounds the number of scripts: QUOTA/MAXSCRIPTS.
	MaxScripts int
	// MaxScriptSize bounds one script in octets: QUOTA/MAXSIZE.
	MaxScriptSize int64
	// MaxBytes bounds the total size of the scripts: QUOTA.
	MaxBytes int64
}

// Usage is what a user's scripts take.
type Usage struct {
	// Scripts is the number of scripts.
	Scripts int
	// Bytes is their total size in octets.
	Bytes int64
}

// Fits reports whether a script of size octets fits a user with usage u,
// replacing a script of oldSize octets when replaces is set: nil, or
// ErrQuotaMaxSize, ErrQuotaMaxScripts or ErrQuota.
func (q Quota) Fits(u Usage, replaces bool, oldSize, size int64) error {
	if q.MaxScriptSize > 0 && size > q.MaxScriptSize {
		return ErrQuotaMaxSize
	}
	if !replaces {
		if q.MaxScripts > 0 && u.Scripts >= q.MaxScripts {
			return ErrQuotaMaxScripts
		}
		oldSize = 0
	}
	if q.MaxBytes > 0 && u.Bytes-oldSize+size > q.MaxBytes {
		return ErrQuota
	}
	return nil
}
