package lifecycle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// PROXY protocol (HAProxy, versions 1 and 2): the header a load balancer
// sends before any byte of the protocol, carrying the real client's address.

// errProxy means the PROXY header was missing or malformed.
var errProxy = errors.New("bad PROXY protocol header")

// proxyV2Sig starts every version 2 header.
const proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// Limits of the PROXY protocol: 107 bytes for a v1 line including CRLF,
// and a cap on the v2 address block with its TLVs.
const (
	maxProxyV1Line = 105
	maxProxyV2Len  = 2048
)

// proxyHeader is what a PROXY header says. local means the proxy speaks
// for itself (v2 LOCAL, v1 UNKNOWN): keep the real peer addresses.
type proxyHeader struct {
	src, dst netip.AddrPort
	local    bool
}

// readProxyHeader reads the header at the start of br. It reads no byte
// past the header that br does not keep buffered.
func readProxyHeader(br *bufio.Reader) (proxyHeader, error) {
	b, err := br.Peek(12)
	if err != nil {
		return proxyHeader{}, fmt.Errorf("%w: %v", errProxy, err)
	}
	switch {
	case string(b) == proxyV2Sig:
		b, err = br.Peek(16)
		if err != nil {
			return proxyHeader{}, fmt.Errorf("%w: %v", errProxy, err)
		}
		n := int(binary.BigEndian.Uint16(b[14:16]))
		if n > maxProxyV2Len {
			return proxyHeader{}, errProxy
		}
		hdr := make([]byte, 16+n)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return proxyHeader{}, fmt.Errorf("%w: %v", errProxy, err)
		}
		return parseProxyV2(hdr)
	case bytes.HasPrefix(b, []byte("PROXY ")):
		var line []byte
		for len(line) <= maxProxyV1Line {
			c, err := br.ReadByte()
			if err != nil {
				return proxyHeader{}, fmt.Errorf("%w: %v", errProxy, err)
			}
			if c == '\n' {
				if len(line) == 0 || line[len(line)-1] != '\r' {
					return proxyHeader{}, errProxy
				}
				return parseProxyV1(string(line[:len(line)-1]))
			}
			line = append(line, c)
		}
		return proxyHeader{}, errProxy
	}
	return proxyHeader{}, errProxy
}

// parseProxyV1 parses a version 1 line without CRLF:
// "PROXY TCP4|TCP6 src dst sport dport" or "PROXY UNKNOWN ...".
func parseProxyV1(line string) (proxyHeader, error) {
	rest, ok := strings.CutPrefix(line, "PROXY ")
	if !ok {
		return proxyHeader{}, errProxy
	}
	if rest == "UNKNOWN" || strings.HasPrefix(rest, "UNKNOWN ") {
		return proxyHeader{local: true}, nil
	}
	f := strings.Split(rest, " ")
	if len(f) != 5 || f[0] != "TCP4" && f[0] != "TCP6" {
		return proxyHeader{}, errProxy
	}
	src, err1 := netip.ParseAddr(f[1])
	dst, err2 := netip.ParseAddr(f[2])
	sp, err3 := parsePort(f[3])
	dp, err4 := parsePort(f[4])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || src.Zone() != "" || dst.Zone() != "" {
		return proxyHeader{}, errProxy
	}
	want4 := f[0] == "TCP4"
	if src.Is4() != want4 || dst.Is4() != want4 {
		return proxyHeader{}, errProxy
	}
	return proxyHeader{src: netip.AddrPortFrom(src, sp), dst: netip.AddrPortFrom(dst, dp)}, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, errProxy
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, errProxy
	}
	return uint16(n), nil
}

// parseProxyV2 parses a complete version 2 header: the 16 fixed bytes and
// the address block that their length announces. TLVs are ignored.
func parseProxyV2(b []byte) (proxyHeader, error) {
	if len(b) < 16 || string(b[:12]) != proxyV2Sig || b[12]>>4 != 2 {
		return proxyHeader{}, errProxy
	}
	n := int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) != 16+n {
		return proxyHeader{}, errProxy
	}
	body := b[16:]
	switch b[12] & 0xf {
	case 0: // LOCAL: health check from the proxy itself
		return proxyHeader{local: true}, nil
	case 1: // PROXY
	default:
		return proxyHeader{}, errProxy
	}
	switch b[13] {
	case 0x11: // TCP over IPv4
		if len(body) < 12 {
			return proxyHeader{}, errProxy
		}
		src := netip.AddrFrom4([4]byte(body[0:4]))
		dst := netip.AddrFrom4([4]byte(body[4:8]))
		return proxyHeader{
			src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[8:10])),
			dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[10:12])),
		}, nil
	case 0x21: // TCP over IPv6
		if len(body) < 36 {
			return proxyHeader{}, errProxy
		}
		src := netip.AddrFrom16([16]byte(body[0:16]))
		dst := netip.AddrFrom16([16]byte(body[16:32]))
		return proxyHeader{
			src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[32:34])),
			dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[34:36])),
		}, nil
	case 0x00, 0x31, 0x32: // UNSPEC, UNIX: nothing usable
		return proxyHeader{local: true}, nil
	}
	return proxyHeader{}, errProxy
}
