package sieve

// Default limits of [Limits]. Each applies when the matching field is
// zero; a negative field means no limit (not recommended for scripts users
// upload).
const (
	// DefaultMaxScriptBytes bounds the size of a script, as Pigeonhole's
	// sieve_max_script_size does.
	DefaultMaxScriptBytes = 1 << 20
	// DefaultMaxNesting bounds the nesting of blocks and tests.
	DefaultMaxNesting = 32
	// DefaultMaxActions bounds the actions one run may take (keep,
	// fileinto, redirect, reject, vacation, discard).
	DefaultMaxActions = 32
	// DefaultMaxRedirects bounds the redirects of one run, so that a
	// script cannot turn the server into a mail multiplier.
	DefaultMaxRedirects = 4
	// DefaultMaxVariableBytes bounds the value of a variable; longer values
	// are cut at a character boundary (RFC 5229 section 3 requires at least
	// 4000 octets).
	DefaultMaxVariableBytes = 4096
	// DefaultMaxVariables bounds the number of distinct variables a run
	// may set.
	DefaultMaxVariables = 256
	// DefaultMaxStringBytes bounds a string after variable expansion.
	DefaultMaxStringBytes = 64 << 10
	// DefaultMaxHeaderFields bounds the header fields a test inspects; the
	// fields beyond it are not looked at.
	DefaultMaxHeaderFields = 1000
	// DefaultMaxBodyBytes bounds the part of the body the body test reads;
	// the rest is not looked at.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxComparisons bounds the comparisons of values with keys in
	// one run, so that long key lists against many header fields cannot
	// hold a delivery up.
	DefaultMaxComparisons = 1 << 20
)

// Limits bounds what a script may be and do. The zero value means the
// defaults above.
type Limits struct {
	MaxScriptBytes   int // DefaultMaxScriptBytes
	MaxNesting       int // DefaultMaxNesting
	MaxActions       int // DefaultMaxActions
	MaxRedirects     int // DefaultMaxRedirects
	MaxVariableBytes int // DefaultMaxVariableBytes
	MaxVariables     int // DefaultMaxVariables
	MaxStringBytes   int // DefaultMaxStringBytes
	MaxHeaderFields  int // DefaultMaxHeaderFields
	MaxBodyBytes     int // DefaultMaxBodyBytes
	MaxComparisons   int // DefaultMaxComparisons
}

func lim(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return int(^uint(0) >> 1)
	}
	return v
}

func (l Limits) maxScriptBytes() int   { return lim(l.MaxScriptBytes, DefaultMaxScriptBytes) }
func (l Limits) maxNesting() int       { return lim(l.MaxNesting, DefaultMaxNesting) }
func (l Limits) maxActions() int       { return lim(l.MaxActions, DefaultMaxActions) }
func (l Limits) maxRedirects() int     { return lim(l.MaxRedirects, DefaultMaxRedirects) }
func (l Limits) maxVariableBytes() int { return lim(l.MaxVariableBytes, DefaultMaxVariableBytes) }
func (l Limits) maxVariables() int     { return lim(l.MaxVariables, DefaultMaxVariables) }
func (l Limits) maxStringBytes() int   { return lim(l.MaxStringBytes, DefaultMaxStringBytes) }
func (l Limits) maxHeaderFields() int  { return lim(l.MaxHeaderFields, DefaultMaxHeaderFields) }
func (l Limits) maxBodyBytes() int     { return lim(l.MaxBodyBytes, DefaultMaxBodyBytes) }
func (l Limits) maxComparisons() int   { return lim(l.MaxComparisons, DefaultMaxComparisons) }
