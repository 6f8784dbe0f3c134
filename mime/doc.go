// Package mime reads and writes MIME entities: media types with RFC 2231
// parameters, a streamed multipart reader and writer, the
// Content-Transfer-Encodings, charsets to UTF-8, a walk over the entity tree
// of a whole message, a composer for messages with text and HTML
// alternatives, inline images and attachments, and the downgrade of an 8-bit
// message for a peer without 8BITMIME.
//
// # Importing
//
// The package name equals the standard library's mime. A file that needs
// both imports one under an alias:
//
//	import (
//		"mime"
//
//		hmime "github.com/heraldmail/herald/mime"
//	)
//
// # Reading
//
// [NewReader] walks a message depth first, one [Part] at a time, without
// buffering bodies: each Part gives its header, media type, disposition,
// filename, and its body raw, decoded from its transfer encoding, or as
// UTF-8 text. Multipart bodies are split by a single scanner that knows
// every enclosing boundary, as RFC 2046 section 5.1.2 asks, so an inner
// multipart that lacks its close delimiter ends at the outer one.
// message/rfc822 and message/global parts are entered as messages.
//
// Reading is lenient by default: what real mail gets wrong (missing close
// delimiters, bad base64, broken quoted-printable escapes, unquoted
// parameter values, a missing subtype) is repaired the way mail clients do
// and recorded as a [Defect] on the part. [ReaderOptions].Strict turns those
// repairs into errors.
//
// # Limits
//
// Nesting depth, the number of parts, the size and field count of each
// part header and the kept preamble and epilogue are bounded by [Limits],
// whose zero value means [DefaultMaxDepth], [DefaultMaxParts],
// [DefaultMaxHeaderBytes], [DefaultMaxHeaderFields] and
// [DefaultMaxPreambleBytes]. Exceeding one returns an *[Error] wrapping
// [ErrTooDeep], [ErrTooManyParts] or [ErrHeaderTooLarge]. The reader is
// iterative: no input makes it recurse, and memory stays bounded by one
// buffer, one part header and the decoders' small buffers.
//
// # Charsets
//
// There is no global charset registry. [ReaderOptions].CharsetReader is
// the lookup (the hook net/mail's WordDecoder has); nil uses
// golang.org/x/text through the module's internal charset table, which adds
// UTF-7 (RFC 2152). [Part.Text] always gives valid UTF-8.
//
// Text whose charset nobody declared is read by one rule, the one mail
// clients apply, written once in the internal charset package and used for
// bodies ([Part.Text]), file names ([Part.Filename]) and, in package
// message, raw 8-bit header values: bytes that form valid UTF-8 stay as
// they are, every other byte is read as windows-1252. It applies to a body
// without a charset parameter, to one labelled US-ASCII (the RFC 2045
// default, which 8-bit bytes contradict) and to one in an unknown charset,
// which also gives a *[CharsetError]; the raw bytes stay readable through
// [Part.Body]. A body labelled UTF-8 is trusted: invalid bytes in it
// become U+FFFD.
//
// # Writing
//
// [MultipartWriter] writes multipart bodies. [Message] composes a whole
// message: plain text and HTML as multipart/alternative, inline images as
// multipart/related, attachments in multipart/mixed, non-ASCII header text as
// RFC 2047 encoded words, RFC 2231 filenames, and for each body the transfer
// encoding its content needs (7bit, quoted-printable or base64) with lines
// within 998 octets and a boundary that never occurs in the content.
// [Downgrade] rewrites an 8-bit message as 7-bit.
//
// # Standards
//
//   - RFC 2045, 2046, 2047, 2049: MIME
//   - RFC 2183: Content-Disposition
//   - RFC 2231: parameter continuations, charsets and languages
//   - RFC 6532 section 3.7: message/global
//   - RFC 6152: 8BITMIME (the downgrade)
package mime
