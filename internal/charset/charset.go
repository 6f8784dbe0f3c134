// Package charset maps the charset names found in mail (MIME charset
// parameters, RFC 2047 encoded words) to golang.org/x/text encodings.
//
// Names are matched without regard to case, surrounding white space or
// quotes, using the WHATWG Encoding Standard labels (what browsers and
// Thunderbird use: "latin1" and "us-ascii" decode as windows-1252, a
// superset), then the IANA charset registry, then a few aliases that
// mail software writes but neither list knows (such as "cp932" or
// "iso8859_1"). UTF-7 (RFC 2152), which x/text lacks, is implemented
// here ([UTF7]). Text whose charset was not declared is read by one rule,
// written down once at [DecodeUndeclared]: valid UTF-8 stays, every other
// byte is windows-1252. The package has no state: nothing to register, nothing for
// callers to mutate.
package charset

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// ErrUnknown is returned for a charset name that Lookup does not know.
var ErrUnknown = errors.New("charset: unknown charset")

// maxNameLen bounds names worth looking up; registered names are short.
const maxNameLen = 64

// Lookup returns the encoding for a charset name or alias. UTF-8 and its
// aliases return unicode.UTF8, whose decoder replaces invalid bytes with
// U+FFFD. Unknown names return ErrUnknown.
func Lookup(name string) (encoding.Encoding, error) {
	n := normalize(name)
	if n == "" || len(n) > maxNameLen {
		return nil, ErrUnknown
	}
	if a := alias(n); a != "" {
		n = a
	}
	switch n {
	case "utf-8", "utf8":
		return unicode.UTF8, nil
	case "utf-7", "utf7", "unicode-1-1-utf-7", "csunicode11utf7", "x-utf-7":
		// x/text does not implement UTF-7; RFC 2152 is in utf7.go.
		return UTF7, nil
	}
	if e, err := htmlindex.Get(n); err == nil && e != nil {
		return e, nil
	}
	if e, err := ianaindex.MIME.Encoding(n); err == nil && e != nil {
		return e, nil
	}
	if strings.ContainsRune(n, '_') {
		return Lookup(strings.ReplaceAll(n, "_", "-"))
	}
	return nil, ErrUnknown
}

// IsUTF8 reports whether name is UTF-8 or US-ASCII, whose bytes need no
// conversion when valid.
func IsUTF8(name string) bool {
	switch normalize(name) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// Decode converts b from the named charset to UTF-8. Bytes that the charset
// cannot map become U+FFFD.
func Decode(name string, b []byte) (string, error) {
	e, err := Lookup(name)
	if err != nil {
		return "", err
	}
	out, err := e.NewDecoder().Bytes(b)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// NewReader returns a reader that converts r from the named charset to
// UTF-8 as it is read.
func NewReader(name string, r io.Reader) (io.Reader, error) {
	e, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return transform.NewReader(r, e.NewDecoder()), nil
}

func normalize(name string) string {
	n := strings.TrimSpace(name)
	n = strings.Trim(n, "\"'")
	return strings.ToLower(strings.TrimSpace(n))
}

// alias maps names seen in mail that the WHATWG and IANA lists lack.
func alias(n string) string {
	switch n {
	case "cp932", "ms932", "ms_kanji", "windows-31j", "x-ms-cp932", "shift-jis", "sjis":
		return "shift_jis"
	case "cp936", "ms936", "windows-936", "gb_2312", "x-gbk":
		return "gbk"
	case "cp949", "ms949", "windows-949", "ks_c_5601", "ksc5601", "ksc_5601", "x-windows-949":
		return "euc-kr"
	case "cp950", "ms950", "windows-950", "big5hkscs", "x-x-big5":
		return "big5"
	case "ascii", "us_ascii", "usascii", "ansi_x3.4-1968", "iso646-us", "646", "x-unknown", "unknown-8bit", "unknown":
		return "us-ascii"
	case "latin-1", "iso8859_1", "iso_8859_1":
		return "iso-8859-1"
	case "utf-16-le":
		return "utf-16le"
	case "utf-16-be":
		return "utf-16be"
	case "cp-850":
		return "ibm850"
	case "koi8r":
		return "koi8-r"
	case "koi8u":
		return "koi8-u"
	}
	return ""
}
