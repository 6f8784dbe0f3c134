package mime

import (
	"errors"
	"strconv"
)

// Category sentinels. Every error this package returns for bad input or an
// exceeded limit is an *[Error] (or a *[CharsetError]) that unwraps to one of
// these, so callers test with errors.Is.
var (
	// ErrSyntax reports input that breaks RFC 2045/2046/2231 syntax in a way
	// strict mode refuses (lenient mode repairs it and records a [Defect]).
	ErrSyntax = errors.New("mime: syntax error")
	// ErrTooDeep reports nesting beyond Limits.MaxDepth.
	ErrTooDeep = errors.New("mime: nesting too deep")
	// ErrTooManyParts reports more entities than Limits.MaxParts.
	ErrTooManyParts = errors.New("mime: too many parts")
	// ErrHeaderTooLarge reports a part header beyond Limits.MaxHeaderBytes.
	ErrHeaderTooLarge = errors.New("mime: part header too large")
	// ErrLineTooLong reports a line beyond Limits.MaxLineLength while
	// composing or downgrading.
	ErrLineTooLong = errors.New("mime: line too long")
	// ErrUnknownCharset reports a charset the configured lookup does not
	// know. The raw bytes stay available through Part.Body.
	ErrUnknownCharset = errors.New("mime: unknown charset")
	// ErrUnknownEncoding reports a Content-Transfer-Encoding this package
	// cannot decode.
	ErrUnknownEncoding = errors.New("mime: unknown content-transfer-encoding")
	// ErrClosed reports use of a part after the reader moved past it, or
	// of a multipart writer after Close.
	ErrClosed = errors.New("mime: part already passed")
	// ErrBoundaryInContent reports content that contains the boundary of
	// the multipart it is written into.
	ErrBoundaryInContent = errors.New("mime: boundary occurs in part content")
)

// Error is the typed error of this package. Part is the IMAP-style path of
// the entity the error concerns ("" for the top-level entity, "1.2" for the
// second child of the first child); Op names the step that failed.
type Error struct {
	Part string // entity path, "" for the whole message
	Op   string // "media type", "multipart", "header", "base64", ...
	Err  error  // a category sentinel, possibly wrapping detail
}

func (e *Error) Error() string {
	s := "mime: " + e.Op
	if e.Part != "" {
		s += " (part " + e.Part + ")"
	}
	if e.Err != nil {
		s += ": " + trimPrefix(e.Err.Error())
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func trimPrefix(s string) string {
	if len(s) > 6 && s[:6] == "mime: " {
		return s[6:]
	}
	return s
}

// detail wraps a sentinel with a more precise message while keeping
// errors.Is working.
type detail struct {
	kind error
	msg  string
}

func (d *detail) Error() string { return trimPrefix(d.kind.Error()) + ": " + d.msg }
func (d *detail) Unwrap() error { return d.kind }

func errDetail(kind error, msg string) error { return &detail{kind: kind, msg: msg} }

// CharsetError reports a charset that could not be decoded. It unwraps to
// [ErrUnknownCharset].
type CharsetError struct {
	Charset string
}

func (e *CharsetError) Error() string {
	return "mime: unknown charset " + strconv.Quote(e.Charset)
}

func (e *CharsetError) Unwrap() error { return ErrUnknownCharset }

// Defect records something malformed that lenient reading repaired. The
// names follow the defects CPython's email package reports where one exists.
type Defect string

// Defects recorded while reading.
const (
	DefectCloseBoundaryNotFound  Defect = "CloseBoundaryNotFound"  // multipart ended without its close delimiter
	DefectStartBoundaryNotFound  Defect = "StartBoundaryNotFound"  // no delimiter at all in a multipart body
	DefectNoBoundary             Defect = "NoBoundaryInMultipart"  // multipart without a boundary parameter
	DefectInvalidMediaType       Defect = "InvalidMediaType"       // Content-Type unusable, default applied
	DefectMissingHeaderSeparator Defect = "MissingHeaderSeparator" // header not ended by an empty line
	DefectInvalidHeader          Defect = "InvalidHeader"          // a header line that is not a field
	DefectInvalidBase64          Defect = "InvalidBase64"          // characters outside the alphabet skipped
	DefectInvalidQuotedPrintable Defect = "InvalidQuotedPrintable" // bad escape kept literally
	DefectUnknownEncoding        Defect = "UnknownEncoding"        // CTE unknown, body passed through
	DefectUnknownCharset         Defect = "UnknownCharset"         // charset unknown, raw bytes available
)
