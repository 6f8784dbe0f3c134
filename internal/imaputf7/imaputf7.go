// Package imaputf7 converts mailbox names between UTF-8 and the modified
// UTF-7 of IMAP (RFC 3501 section 5.1.3), which IMAP4rev1 clients use on the
// wire and Dovecot's Maildir++ layout uses for folder names on disk.
//
// Printable US-ASCII other than "&" stands for itself, "&" is written "&-",
// and every other character is written as UTF-16BE in modified base64
// (the alphabet of RFC 2045 with "," instead of "/", no padding) between
// "&" and "-". [Decode] is strict: it accepts only the one encoding [Encode]
// produces for a name, so that a name and its encoding map one to one.
package imaputf7

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors returned by [Encode] and [Decode]; test them with errors.Is.
var (
	// ErrInvalidUTF8 reports input to Encode that is not valid UTF-8, or a
	// NUL character, which no mailbox name may hold.
	ErrInvalidUTF8 = errors.New("imaputf7: invalid UTF-8")
	// ErrSyntax reports input to Decode that is not modified UTF-7 in its
	// one canonical form.
	ErrSyntax = errors.New("imaputf7: invalid modified UTF-7")
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// SextetValue returns the 6-bit value of c in the base64 alphabet whose
// last character is last: '/' in RFC 2045's base64, which UTF-7 (RFC 2152)
// uses, and ',' in IMAP's modified UTF-7 (RFC 3501 section 5.1.3); 0xff
// for a character outside it. Both UTF-7 codecs share it.
func SextetValue(c, last byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '+':
		return 62
	case c == last:
		return 63
	}
	return 0xff
}

// direct reports whether c is written as itself (printable US-ASCII).
func direct(c rune) bool { return 0x20 <= c && c <= 0x7e }

// Encode returns the modified UTF-7 form of the UTF-8 string s. It fails
// with ErrInvalidUTF8 if s is not valid UTF-8 or holds NUL.
func Encode(s string) (string, error) {
	// Fast path: plain ASCII without "&".
	plain := true
	for i := 0; i < len(s); i++ {
		if !direct(rune(s[i])) || s[i] == '&' {
			plain = false
			break
		}
	}
	if plain {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	var units []uint16
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || r == 0 {
			return "", ErrInvalidUTF8
		}
		if direct(r) {
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteByte(byte(r))
			}
			i += n
			continue
		}
		// Collect the run of characters that need encoding.
		units = units[:0]
		for i < len(s) {
			r, n = utf8.DecodeRuneInString(s[i:])
			if direct(r) {
				break
			}
			if r == utf8.RuneError && n <= 1 || r == 0 {
				return "", ErrInvalidUTF8
			}
			units = utf16.AppendRune(units, r)
			i += n
		}
		b.WriteByte('&')
		writeBase64(&b, units)
		b.WriteByte('-')
	}
	return b.String(), nil
}

// writeBase64 writes the UTF-16BE bytes of units in modified base64 without
// padding.
func writeBase64(b *strings.Builder, units []uint16) {
	var acc uint32
	bits := 0
	for _, u := range units {
		acc = acc<<16 | uint32(u)
		bits += 16
		for bits >= 6 {
			bits -= 6
			b.WriteByte(alphabet[(acc>>bits)&0x3f])
		}
		acc &= 1<<bits - 1
	}
	if bits > 0 {
		b.WriteByte(alphabet[(acc<<(6-bits))&0x3f])
	}
}

// Decode returns the UTF-8 form of the modified UTF-7 string s. It fails
// with ErrSyntax on a byte outside printable US-ASCII, a bare "&", an
// unterminated or empty base64 run other than "&-", a character outside the
// modified base64 alphabet, non-zero padding bits, a partial UTF-16 unit,
// an unpaired surrogate, NUL, a printable US-ASCII character that was
// base64-encoded, or two base64 runs in a row (which Encode would have
// merged).
func Decode(s string) (string, error) {
	if strings.IndexByte(s, '&') < 0 {
		for i := 0; i < len(s); i++ {
			if !direct(rune(s[i])) {
				return "", ErrSyntax
			}
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	prevEncoded := false
	for i := 0; i < len(s); {
		c := s[i]
		if !direct(rune(c)) {
			return "", ErrSyntax
		}
		if c != '&' {
			b.WriteByte(c)
			prevEncoded = false
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", ErrSyntax
		}
		run := s[i+1 : i+1+end]
		i += end + 2
		if run == "" {
			b.WriteByte('&')
			prevEncoded = false
			continue
		}
		if prevEncoded {
			return "", ErrSyntax
		}
		if err := decodeRun(&b, run); err != nil {
			return "", err
		}
		prevEncoded = true
	}
	return b.String(), nil
}

// decodeRun decodes one base64 run (without "&" and "-") into b.
func decodeRun(b *strings.Builder, run string) error {
	var acc uint32
	bits := 0
	var high uint16 // pending high surrogate, or 0
	for i := 0; i < len(run); i++ {
		v := SextetValue(run[i], ',')
		if v == 0xff {
			return ErrSyntax
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits < 16 {
			continue
		}
		bits -= 16
		u := uint16(acc >> bits)
		acc &= 1<<bits - 1
		switch {
		case high != 0:
			if !utf16.IsSurrogate(rune(u)) || u < 0xdc00 {
				return ErrSyntax
			}
			b.WriteRune(utf16.DecodeRune(rune(high), rune(u)))
			high = 0
		case 0xd800 <= u && u < 0xdc00:
			high = u
		case 0xdc00 <= u && u <= 0xdfff:
			return ErrSyntax
		case u == 0 || direct(rune(u)):
			return ErrSyntax
		default:
			b.WriteRune(rune(u))
		}
	}
	// What is left must be fewer than 6 zero bits: a whole number of units
	// was encoded and padded with zero bits only.
	if high != 0 || bits >= 6 || acc != 0 {
		return ErrSyntax
	}
	return nil
}
