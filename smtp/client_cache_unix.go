//go:build unix

package smtp

import (
	"net"
	"syscall"
)

// connIdle reports whether nc is open with nothing to read, peeking at
// the socket without blocking and without consuming anything.
func connIdle(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return connIdleByDeadline(nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	idle := false
	cerr := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: open and quiet. n == 0: the server closed it. n > 0:
		// something arrived that nobody asked for.
		idle = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true // never wait for readiness
	})
	return cerr == nil && idle
}
