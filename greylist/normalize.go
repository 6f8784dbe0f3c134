package greylist

import (
	"net/netip"
	"strings"
)

// NormalizeSender returns the form of an envelope sender that greylisting
// keys on, so that the parts that change with every message of one sender
// do not make every message a new triplet. It works the way postgrey does:
//
//   - the address is lower-cased;
//   - a BATV tag is removed: "prvs=TAG=user@d" and "msprvs1=TAG=user@d"
//     become "user@d", Barracuda's "btv1==TAG==user@d" too;
//   - an SRS0 address keeps its original domain and local part but loses
//     its hash and timestamp: "SRS0=HHHH=TT=orig.example=user@fwd" becomes
//     "srs0=#=#=orig.example=user@fwd";
//   - an address extension is removed: "user+list-123@d" becomes "user@d";
//   - every run of digits that stands alone as a word (between characters
//     other than letters, digits and underscore) becomes "#", so that
//     "bounce-4711-22@d" becomes "bounce-#-#@d" while "user2@d" stays.
//
// The domain is only lower-cased, and a trailing dot removed. The null
// sender "" stays "". An address without "@" is lower-cased only.
func NormalizeSender(addr string) string {
	addr = strings.ToLower(addr)
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], strings.TrimSuffix(addr[at+1:], ".")

	for {
		stripped := stripBATV(local)
		if stripped == local {
			break
		}
		local = stripped
	}
	if rest, ok := strings.CutPrefix(local, "srs0="); ok {
		// SRS0=hash=tt=domain=local: keep what identifies the sender.
		parts := strings.SplitN(rest, "=", 4)
		if len(parts) == 4 {
			return "srs0=#=#=" + parts[2] + "=" + parts[3] + "@" + domain
		}
	}
	if plus := strings.IndexByte(local, '+'); plus >= 0 {
		local = local[:plus]
	}
	return replaceNumberWords(local) + "@" + domain
}

// stripBATV removes a BATV tag from a lower-cased local part.
func stripBATV(local string) string {
	for _, prefix := range [...]string{"prvs=", "msprvs1="} {
		if rest, ok := strings.CutPrefix(local, prefix); ok {
			if _, user, ok := strings.Cut(rest, "="); ok && user != "" {
				return user
			}
			return local
		}
	}
	if rest, ok := strings.CutPrefix(local, "btv1=="); ok {
		if _, user, ok := strings.Cut(rest, "=="); ok && user != "" {
			return user
		}
	}
	return local
}

// isWordByte reports whether b is a word character in the sense of Perl's
// \w for ASCII: a letter, a digit or an underscore. Bytes of UTF-8
// sequences count as word characters, so digits inside non-ASCII words are
// left alone.
func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// replaceNumberWords replaces each run of ASCII digits that forms a whole
// word with "#".
func replaceNumberWords(s string) string {
	var b strings.Builder
	last := 0 // s[last:] is not yet copied to b
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' || (i > 0 && isWordByte(s[i-1])) {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == len(s) || !isWordByte(s[j]) {
			b.WriteString(s[last:i])
			b.WriteByte('#')
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// NormalizeRecipient returns the form of an envelope recipient that
// greylisting keys on: lower-cased, with a trailing dot of the domain
// removed. Extensions are kept, since they may route to different
// mailboxes.
func NormalizeRecipient(addr string) string {
	return strings.TrimSuffix(strings.ToLower(addr), ".")
}

// ClientNetwork returns the network a client address is greylisted as: the
// address masked to bits4 bits for IPv4 (and IPv4-mapped IPv6) or bits6 bits
// for IPv6. Out-of-range prefix lengths are clamped. The zone of a scoped
// IPv6 address is dropped.
func ClientNetwork(addr netip.Addr, bits4, bits6 int) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	bits := bits6
	if addr.Is4() {
		bits = bits4
	}
	bits = max(0, min(bits, addr.BitLen()))
	p, _ := addr.Prefix(bits)
	return p
}
