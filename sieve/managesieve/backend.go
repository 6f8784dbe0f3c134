package managesieve

import (
	"context"
	"crypto/tls"
	"net/netip"
)

// ConnInfo describes a connection. The server fills it in; Backend methods
// must not change it.
type ConnInfo struct {
	// RemoteAddr and LocalAddr are the two ends of the connection, or
	// the addresses of a trusted PROXY header (Server.ProxyProtocol).
	RemoteAddr, LocalAddr netip.AddrPort
	// ProxyAddr is the proxy that sent the PROXY header, or the zero
	// value when the client connected directly.
	ProxyAddr netip.AddrPort
	// TLS is the TLS state after STARTTLS or on an implicit-TLS port; nil
	// without TLS.
	TLS *tls.ConnectionState
	// Identity is the authenticated user once a login succeeded.
	Identity string
	// Mechanism is the SASL mechanism the user logged in with.
	Mechanism string
}

// Backend opens the script stores of users; credentials are checked by
// Server.Auth. Its methods may be called from many connections at once.
type Backend interface {
	// Open returns the scripts of identity. The server calls it once per
	// successful login and closes the Store at UNAUTHENTICATE, LOGOUT or
	// the end of the connection.
	Open(ctx context.Context, info *ConnInfo, identity string) (Store, error)
}

// BackendFunc adapts a function to a Backend.
type BackendFunc func(ctx context.Context, info *ConnInfo, identity string) (Store, error)

// Open calls f.
func (f BackendFunc) Open(ctx context.Context, info *ConnInfo, identity string) (Store, error) {
	return f(ctx, info, identity)
}

// Script is one entry of a listing.
type Script struct {
	// Name is the script name.
	Name string
	// Active is set for the one script the mail server runs.
	Active bool
}

// Store holds the scripts of one user. The server calls its methods from
// one connection's goroutine; a store shared by several connections of the
// same user must be safe for concurrent use. Names reaching it are valid
// by ValidName and within Server.MaxNameLength; a store may refuse more
// with ErrInvalidName. Scripts are held in memory, bounded by
// Server.MaxScriptSize, as the checker needs them whole.
//
// Methods return the category sentinels (ErrNonexistent, ErrQuota, ...)
// or an *Error; any other error is logged and answered NO (TRYLATER).
type Store interface {
	// List returns the scripts, at most one of them active.
	List(ctx context.Context) ([]Script, error)
	// Get returns the content of the script name, or ErrNonexistent.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put creates or replaces the script name, which stays active if it
	// was. It returns ErrQuotaMaxScripts, ErrQuotaMaxSize or ErrQuota
	// when the script does not fit, and then changes nothing.
	Put(ctx context.Context, name string, content []byte) error
	// HaveSpace reports whether a script name of size octets would fit,
	// replacing any script of that name: nil or a quota error as Put.
	HaveSpace(ctx context.Context, name string, size int64) error
	// SetActive makes name the active script, or, with name "", leaves
	// no script active. A missing script is ErrNonexistent.
	SetActive(ctx context.Context, name string) error
	// Delete removes the script name: ErrNonexistent if it does not
	// exist, ErrActive if it is the active script.
	Delete(ctx context.Context, name string) error
	// Rename renames oldName to newName, keeping it active if it was:
	// ErrNonexistent if oldName does not exist, ErrAlreadyExists if
	// newName does.
	Rename(ctx context.Context, oldName, newName string) error
	// Close releases the store; the server calls it exactly once.
	Close() error
}
