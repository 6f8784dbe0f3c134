package lifecycle

import (
	"strings"
	"testing"
)

func TestParseProxy(t *testing.T) {
	t.Parallel()
	v1 := []struct {
		in  string
		ok  bool
		src string
		loc bool
	}{
		{in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 65535", ok: true, src: "192.0.2.1:1"},
		{in: "PROXY TCP6 ::1 ::2 10 20", ok: true, src: "[::1]:10"},
		{in: "PROXY UNKNOWN", ok: true, loc: true},
		{in: "PROXY UNKNOWN ffff::1 ffff::2 1 2", ok: true, loc: true},
		{in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 65536"},
		{in: "PROXY TCP4 192.0.2.1 192.0.2.2 01 2"},
		{in: "PROXY TCP4 192.0.2.1 192.0.2.2 1"},
		{in: "PROXY UDP4 192.0.2.1 192.0.2.2 1 2"},
		{in: "PROXY TCP6 fe80::1%eth0 ::2 1 2"},
		{in: "PROXY  TCP4 192.0.2.1 192.0.2.2 1 2"},
	}
	for _, tt := range v1 {
		h, err := parseProxyV1(tt.in)
		if (err == nil) != tt.ok || tt.ok && (h.local != tt.loc || !tt.loc && h.src.String() != tt.src) {
			t.Errorf("parseProxyV1(%q) = %+v, %v", tt.in, h, err)
		}
	}
	sig := proxyV2Sig
	v2 := []struct {
		name string
		in   string
		ok   bool
		loc  bool
	}{
		{name: "local", in: sig + "\x20\x00\x00\x00", ok: true, loc: true},
		{name: "tcp4", in: sig + "\x21\x11\x00\x0c" + "\xc0\x00\x02\x01\xc0\x00\x02\x02\x00\x01\x00\x19", ok: true},
		{name: "tcp4 with tlv", in: sig + "\x21\x11\x00\x10" + "\xc0\x00\x02\x01\xc0\x00\x02\x02\x00\x01\x00\x19\x01\x00\x01x", ok: true},
		{name: "unix", in: sig + "\x21\x31\x00\x00", ok: true, loc: true},
		{name: "short tcp4", in: sig + "\x21\x11\x00\x04" + "\xc0\x00\x02\x01"},
		{name: "version 1", in: sig + "\x11\x11\x00\x00"},
		{name: "bad command", in: sig + "\x22\x11\x00\x00"},
		{name: "length mismatch", in: sig + "\x21\x11\x00\x0c"},
	}
	for _, tt := range v2 {
		h, err := parseProxyV2([]byte(tt.in))
		if (err == nil) != tt.ok || tt.ok && h.local != tt.loc {
			t.Errorf("%s: %+v, %v", tt.name, h, err)
		}
	}
}

func FuzzParseProxy(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 192.0.2.2 1 2"))
	f.Add([]byte(proxyV2Sig + "\x21\x11\x00\x0c" + "\xc0\x00\x02\x01\xc0\x00\x02\x02\x00\x01\x00\x19"))
	f.Add([]byte(proxyV2Sig + "\x21\x21\x00\x24" + strings.Repeat("\x01", 36)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := parseProxyV1(string(b)); err == nil && !h.local && (!h.src.IsValid() || !h.dst.IsValid()) {
			t.Fatalf("v1 %q gave invalid addresses %+v", b, h)
		}
		if h, err := parseProxyV2(b); err == nil && !h.local && (!h.src.IsValid() || !h.dst.IsValid()) {
			t.Fatalf("v2 %q gave invalid addresses %+v", b, h)
		}
	})
}
