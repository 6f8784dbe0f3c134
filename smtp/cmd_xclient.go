package smtp

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/heraldmail/herald/internal/lifecycle"
	"github.com/heraldmail/herald/internal/xtext"
)

// xclientAllowed reports whether the connection's original peer may use
// XCLIENT.
func (c *conn) xclientAllowed() bool {
	if len(c.srv.XClientTrusted) == 0 {
		return false
	}
	return lifecycle.Allowed(c.srv.XClientTrusted, c.peer)
}

// cmdXClient handles XCLIENT, the Postfix extension with which a trusted
// front end passes on what it knows about the real client
// (https://www.postfix.org/XCLIENT_README.html). The attributes replace
// those of the connection, the session is replaced by a new one, and a new
// greeting is sent.
func (c *conn) cmdXClient(arg string) error {
	if !c.xclientAllowed() {
		return &Error{Code: CodeMailboxUnavailable, Enhanced: EnhancedSecurity, Message: "Insufficient authorization"}
	}
	if c.mail {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "XCLIENT not allowed during a mail transaction"}
	}
	info := c.info
	bad := func(what string) error {
		return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: "Bad XCLIENT attribute " + what}
	}
	fields := strings.Fields(arg)
	if len(fields) == 0 || len(fields) > 16 {
		return bad("list")
	}
	for _, f := range fields {
		k, raw, ok := strings.Cut(f, "=")
		if !ok {
			return bad(k)
		}
		v, err := xtext.Decode(raw)
		if err != nil {
			return bad(k)
		}
		unknown := v == "[UNAVAILABLE]" || v == "[TEMPUNAVAIL]"
		if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(v) > MaxDomainLength {
			return bad(k)
		}
		switch strings.ToUpper(k) {
		case "ADDR", "DESTADDR":
			a := netip.Addr{}
			if !unknown {
				if len(v) > 5 && strings.EqualFold(v[:5], "IPV6:") {
					v = v[5:]
				}
				if a, err = netip.ParseAddr(v); err != nil || a.Zone() != "" {
					return bad(k)
				}
			}
			if strings.EqualFold(k, "ADDR") {
				info.RemoteAddr = netip.AddrPortFrom(a, info.RemoteAddr.Port())
			} else {
				info.LocalAddr = netip.AddrPortFrom(a, info.LocalAddr.Port())
			}
		case "PORT", "DESTPORT":
			var p uint64
			if !unknown {
				if p, err = strconv.ParseUint(v, 10, 16); err != nil {
					return bad(k)
				}
			}
			if strings.EqualFold(k, "PORT") {
				info.RemoteAddr = netip.AddrPortFrom(info.RemoteAddr.Addr(), uint16(p))
			} else {
				info.LocalAddr = netip.AddrPortFrom(info.LocalAddr.Addr(), uint16(p))
			}
		case "NAME":
			info.RemoteName = ""
			if !unknown {
				info.RemoteName = v
			}
		case "HELO":
			info.HeloName = ""
			if !unknown {
				info.HeloName = v
			}
		case "PROTO":
			switch strings.ToUpper(v) {
			case "SMTP":
				info.ESMTP = false
			case "ESMTP":
				info.ESMTP = true
			default:
				if !unknown {
					return bad(k)
				}
			}
		case "LOGIN":
			info.AuthIdentity = ""
			if !unknown {
				info.AuthIdentity = v
			}
		default:
			return bad(k)
		}
	}
	if !c.info.ProxyAddr.IsValid() {
		info.ProxyAddr = c.info.RemoteAddr
	}
	c.safeClose()
	c.sess = nil
	c.info = info
	c.helo = info.HeloName != ""
	c.info.ESMTP = info.ESMTP && c.helo
	if !c.start() {
		c.closing = true
	}
	return nil
}
