package charset

import (
	"github.com/heraldmail/herald/internal/imaputf7"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// UTF7 is the UTF-7 of RFC 2152, the charset "UTF-7" of the IANA registry,
// which some mailers still write in encoded words and bodies. It is not
// IMAP's modified UTF-7 (package internal/imaputf7), which shifts with "&",
// uses "," for "/" in its base64 alphabet and must always close a run with
// "-"; the two share the idea of a run of UTF-16BE code units written in
// base64 without padding.
//
// The decoder reads what RFC 2152 allows and is lenient where it is not
// strict: characters outside the base64 alphabet end a run (a "-" right
// after a run is absorbed), "+-" is "+", a "+" that no base64 character
// follows stands for itself, and bits left over at the end of a run that
// are too few for a code unit are dropped. An unpaired surrogate, a code
// unit cut short (six or more bits left over) and a byte above 0x7F become
// U+FFFD.
//
// The encoder writes the characters of RFC 2152 sets D and O other than
// "+", with space, tab, CR and LF, as themselves; everything else goes in
// base64 runs that it always closes with "-", and "+" is written "+-".
// Invalid UTF-8 is encoded as U+FFFD.
var UTF7 encoding.Encoding = utf7Encoding{}

type utf7Encoding struct{}

func (utf7Encoding) NewDecoder() *encoding.Decoder {
	return &encoding.Decoder{Transformer: &utf7Decoder{}}
}

func (utf7Encoding) NewEncoder() *encoding.Encoder {
	return &encoding.Encoder{Transformer: &utf7Encoder{}}
}

func (utf7Encoding) String() string { return "UTF-7" }

const base64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// utf7Direct reports whether the encoder writes r as itself: set D, set O
// but for "\" and "~" which RFC 2152 leaves out, and space, tab, CR, LF.
func utf7Direct(r rune) bool {
	switch {
	case 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z', '0' <= r && r <= '9':
		return true
	case r == ' ' || r == '\t' || r == '\r' || r == '\n':
		return true
	}
	return r < 0x80 && r > ' ' && r != '+' && r != '\\' && r != '~' && r != 0x7f
}

// utf7Decoder is the state of a decoder between calls.
type utf7Decoder struct {
	inRun   bool   // inside a base64 run
	shifted bool   // "+" just read, no base64 character yet
	acc     uint32 // bits not yet making a code unit
	bits    uint
	high    uint16 // a high surrogate waiting for its pair, or 0
}

func (d *utf7Decoder) Reset() { *d = utf7Decoder{} }

// maxDecodeOut bounds what decoding one input byte writes: U+FFFD for a
// dangling surrogate plus a 3-byte character, or a "+" plus a character.
const maxDecodeOut = 8

func (d *utf7Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if len(dst)-nDst < maxDecodeOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		c := src[nSrc]
		if !d.inRun {
			switch {
			case c == '+':
				d.inRun, d.shifted = true, true
			case c >= 0x80:
				nDst += utf8.EncodeRune(dst[nDst:], utf8.RuneError)
			default:
				dst[nDst] = c
				nDst++
			}
			nSrc++
			continue
		}
		v := imaputf7.SextetValue(c, '/')
		if v == 0xff {
			// The run ends here.
			if d.shifted {
				d.inRun, d.shifted = false, false
				dst[nDst] = '+'
				nDst++
				if c == '-' {
					nSrc++ // "+-" is "+"
				}
				continue
			}
			nDst = d.endRun(dst, nDst)
			if c == '-' {
				nSrc++
			}
			continue
		}
		d.shifted = false
		d.acc = d.acc<<6 | uint32(v)
		d.bits += 6
		nSrc++
		if d.bits < 16 {
			continue
		}
		d.bits -= 16
		u := uint16(d.acc >> d.bits)
		d.acc &= 1<<d.bits - 1
		nDst = d.unit(dst, nDst, u)
	}
	if atEOF && d.inRun {
		if len(dst)-nDst < maxDecodeOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		if d.shifted {
			dst[nDst] = '+'
			nDst++
			d.inRun, d.shifted = false, false
		} else {
			nDst = d.endRun(dst, nDst)
		}
	}
	return nDst, nSrc, nil
}

// unit writes the character of one UTF-16 code unit, pairing surrogates.
func (d *utf7Decoder) unit(dst []byte, n int, u uint16) int {
	r := rune(u)
	switch {
	case d.high != 0 && 0xdc00 <= r && r <= 0xdfff:
		r = utf16.DecodeRune(rune(d.high), r)
		d.high = 0
		return n + utf8.EncodeRune(dst[n:], r)
	case d.high != 0:
		n += utf8.EncodeRune(dst[n:], utf8.RuneError)
		d.high = 0
	}
	switch {
	case 0xd800 <= r && r < 0xdc00:
		d.high = u
		return n
	case 0xdc00 <= r && r <= 0xdfff:
		r = utf8.RuneError
	}
	return n + utf8.EncodeRune(dst[n:], r)
}

// endRun closes a run: a dangling high surrogate or a cut code unit
// becomes U+FFFD.
func (d *utf7Decoder) endRun(dst []byte, n int) int {
	if d.high != 0 || d.bits >= 6 {
		n += utf8.EncodeRune(dst[n:], utf8.RuneError)
	}
	*d = utf7Decoder{}
	return n
}

// utf7Encoder is the state of an encoder between calls.
type utf7Encoder struct {
	inRun bool
	acc   uint32
	bits  uint
}

func (e *utf7Encoder) Reset() { *e = utf7Encoder{} }

// maxEncodeOut bounds what encoding one character writes: closing a run
// (2 bytes), "+-", or "+" and the base64 of a surrogate pair (at most 6).
const maxEncodeOut = 12

func (e *utf7Encoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if len(dst)-nDst < maxEncodeOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		r, size := rune(src[nSrc]), 1
		if r >= utf8.RuneSelf {
			if !atEOF && !utf8.FullRune(src[nSrc:]) {
				return nDst, nSrc, transform.ErrShortSrc
			}
			r, size = utf8.DecodeRune(src[nSrc:])
		}
		nSrc += size
		if utf7Direct(r) || r == '+' {
			if e.inRun {
				nDst = e.close(dst, nDst)
			}
			dst[nDst] = byte(r)
			nDst++
			if r == '+' {
				dst[nDst] = '-'
				nDst++
			}
			continue
		}
		if !e.inRun {
			dst[nDst] = '+'
			nDst++
			e.inRun = true
		}
		var units [2]uint16
		us := utf16.AppendRune(units[:0], r)
		for _, u := range us {
			e.acc = e.acc<<16 | uint32(u)
			e.bits += 16
			for e.bits >= 6 {
				e.bits -= 6
				dst[nDst] = base64Std[(e.acc>>e.bits)&0x3f]
				nDst++
			}
			e.acc &= 1<<e.bits - 1
		}
	}
	if atEOF && e.inRun {
		if len(dst)-nDst < maxEncodeOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst = e.close(dst, nDst)
	}
	return nDst, nSrc, nil
}

// close writes the last bits of a run, padded with zero bits, and "-".
func (e *utf7Encoder) close(dst []byte, n int) int {
	if e.bits > 0 {
		dst[n] = base64Std[(e.acc<<(6-e.bits))&0x3f]
		n++
	}
	dst[n] = '-'
	n++
	*e = utf7Encoder{}
	return n
}
