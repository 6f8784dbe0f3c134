package sasl

import (
	"crypto/tls"
	"errors"
	"strings"
	"unicode/utf8"
)

// ChannelBindingTLSExporter is the channel binding type SCRAM-SHA-256-PLUS
// uses here (RFC 9266), as it appears in the gs2 header "p=tls-exporter".
const ChannelBindingTLSExporter = "tls-exporter"

// TLSExporter returns the tls-exporter channel binding data of a TLS
// connection (RFC 9266 section 2): 32 bytes exported with the label
// "EXPORTER-Channel-Binding" and an empty context. Both sides compute it
// from their own tls.ConnectionState and pass it in ScramServerOptions or
// ScramClientOptions.
//
// It refuses connections below TLS 1.3: RFC 9266 allows TLS 1.2 only with
// the extended master secret, which crypto/tls does not report, and
// implementations disagree on the TLS 1.2 context encoding.
func TLSExporter(cs *tls.ConnectionState) ([]byte, error) {
	if cs == nil || !cs.HandshakeComplete {
		return nil, errors.New("sasl: tls-exporter needs a completed TLS handshake")
	}
	if cs.Version < tls.VersionTLS13 {
		return nil, errors.New("sasl: tls-exporter channel binding needs TLS 1.3")
	}
	return cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", []byte{}, 32)
}

// gs2Header is the parsed GS2 header of RFC 5802 section 7, shared with
// OAUTHBEARER (RFC 7628 section 3.1):
//
//	gs2-header     = gs2-cbind-flag "," [ authzid ] ","
//	gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
//	authzid        = "a=" saslname
type gs2Header struct {
	flag    byte   // 'n', 'y' or 'p'
	cbName  string // with flag 'p'
	authzid string // decoded
	raw     string // the header as sent, both commas included
}

// parseGS2Header parses the GS2 header at the start of s and returns it and
// the rest of s.
func parseGS2Header(mech, s string) (gs2Header, string, error) {
	var h gs2Header
	rest := s
	switch {
	case strings.HasPrefix(rest, "n,"), strings.HasPrefix(rest, "y,"):
		h.flag = rest[0]
		rest = rest[2:]
	case strings.HasPrefix(rest, "p="):
		name, after, ok := strings.Cut(rest[2:], ",")
		if !ok || name == "" {
			return h, "", malformed(mech, "bad channel binding flag")
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !isAlpha(c) && !('0' <= c && c <= '9') && c != '.' && c != '-' {
				return h, "", malformed(mech, "bad channel binding name")
			}
		}
		h.flag, h.cbName, rest = 'p', name, after
	default:
		return h, "", malformed(mech, "bad channel binding flag")
	}
	if strings.HasPrefix(rest, "a=") {
		enc, after, ok := strings.Cut(rest[2:], ",")
		if !ok {
			return h, "", malformed(mech, "unterminated authzid")
		}
		id, err := decodeSaslname(enc)
		if err != nil || id == "" {
			return h, "", malformed(mech, "bad authzid")
		}
		h.authzid, rest = id, after
	} else if strings.HasPrefix(rest, ",") {
		rest = rest[1:]
	} else {
		return h, "", malformed(mech, "bad GS2 header")
	}
	h.raw = s[:len(s)-len(rest)]
	return h, rest, nil
}

// formatGS2Header builds a GS2 header.
func formatGS2Header(flag byte, cbName, authzid string) string {
	var b strings.Builder
	if flag == 'p' {
		b.WriteString("p=")
		b.WriteString(cbName)
	} else {
		b.WriteByte(flag)
	}
	b.WriteByte(',')
	if authzid != "" {
		b.WriteString("a=")
		b.WriteString(encodeSaslname(authzid))
	}
	b.WriteByte(',')
	return b.String()
}

// decodeSaslname decodes saslname (RFC 5802 section 7): UTF-8 without NUL,
// "," or "=", where "=2C" stands for "," and "=3D" for "=".
func decodeSaslname(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("saslname is not UTF-8")
	}
	if !strings.ContainsAny(s, "=,\x00") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0, ',':
			return "", errors.New("bad character in saslname")
		case '=':
			switch {
			case strings.HasPrefix(s[i:], "=2C"):
				b.WriteByte(',')
			case strings.HasPrefix(s[i:], "=3D"):
				b.WriteByte('=')
			default:
				return "", errors.New("bad escape in saslname")
			}
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// encodeSaslname escapes "," and "=" for a saslname.
func encodeSaslname(s string) string {
	if !strings.ContainsAny(s, ",=") {
		return s
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// validNonce reports whether s is a SCRAM nonce: one or more printable ASCII
// characters other than "," (RFC 5802 section 7).
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}

// scramAttrs splits a SCRAM message into its attribute-value pairs. Each
// attribute is one ASCII letter followed by "="; values run to the next ",".
func scramAttrs(mech, s string) ([]scramAttr, error) {
	if strings.Count(s, ",") >= maxScramAttrs {
		return nil, malformed(mech, "too many attributes")
	}
	fields := strings.Split(s, ",")
	attrs := make([]scramAttr, len(fields))
	for i, f := range fields {
		if len(f) < 2 || !isAlpha(f[0]) || f[1] != '=' {
			return nil, malformed(mech, "bad attribute")
		}
		attrs[i] = scramAttr{f[0], f[2:]}
	}
	return attrs, nil
}

// maxScramAttrs bounds the attributes of one SCRAM message; the protocol
// needs at most four plus a few extensions.
const maxScramAttrs = 16

type scramAttr struct {
	name  byte
	value string
}
