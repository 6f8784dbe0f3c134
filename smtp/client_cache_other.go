//go:build !unix

package smtp

import "net"

func connIdle(nc net.Conn) bool { return connIdleByDeadline(nc) }
