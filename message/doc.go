// Package message reads and writes the header of an Internet message
// (RFC 5322), streamed: the body is never buffered.
//
// # Reading
//
// [ReadMessage] and [ReadHeader] read the header section from an io.Reader
// and hand the body back as an io.Reader. CRLF and bare LF line endings are
// both read, folded lines are kept as they are and unfolded on demand, a
// leading mbox "From " line is tolerated, and the obsolete syntax of RFC 5322
// section 4 is accepted. [ReadOptions] selects [Lenient] mode (the default,
// which repairs broken real-world headers) or [Strict] mode (which reports
// them as an [*Error] wrapping [ErrMalformedHeader]), and bounds the header
// size, the number of fields and the line length with named defaults such as
// [DefaultMaxHeaderBytes].
//
//	m, err := message.ReadMessage(r, nil)
//	if err != nil { ... }
//	subject, _ := m.Header.Text("Subject")
//	from, _ := m.Header.AddressList("From")
//	io.Copy(dst, m.Body)
//
// # Header
//
// [Header] is an ordered list of fields with duplicates kept and
// case-insensitive lookup ([Header.Get], [Header.Values], [Header.Add],
// [Header.Set], [Header.Del], [Header.All]). Every field read keeps its exact
// bytes ([Field.Raw]) so a DKIM signature over them stays valid, and
// [Header.WriteTo] writes read fields back byte for byte. Fields the caller
// adds are folded at 78 characters where possible and never beyond 998, with
// CRLF endings.
//
// The whole header is held in one buffer and each field refers to it, so
// reading a header costs a handful of allocations whatever its size.
//
// # Structured fields
//
//   - Addresses: [ParseAddress], [ParseAddressList] and [AddressParser]
//     read mailboxes, groups, quoted local parts, domain literals, RFC 2047
//     display names and RFC 6532 UTF-8; [Address.String] and
//     [FormatAddressList] write them back.
//   - Dates: [ParseDate] reads RFC 5322 date-time, obsolete zones and common
//     real-world variants; [FormatDate] writes RFC 5322 dates.
//   - Message-IDs: [ParseMessageID], [ParseMessageIDList] (References,
//     In-Reply-To) and [GenerateMessageID].
//   - Encoded words: [WordDecoder] decodes RFC 2047 in any charset that
//     golang.org/x/text knows; [EncodeWord] encodes.
//
// # Raw 8-bit text
//
// A header value may hold raw 8-bit bytes that no encoded word labels: UTF-8
// under RFC 6532, or a legacy charset that the sender never declared.
// [Field.Text], [Header.Text] and the display names of [Header.AddressList]
// read such bytes by one rule, the one of mail clients (written once in the
// module's internal charset package and used by package mime for bodies and
// file names too): bytes that form valid UTF-8 stay as they are, every other
// byte is read as windows-1252. "Andr\xe9" is "André"; valid UTF-8 is never
// changed. Strict address parsing rejects such bytes instead.
//
// # Errors
//
// Every error for bad input is an [*Error]; its category is a sentinel such
// as [ErrHeaderTooLarge] or [ErrSyntax], tested with errors.Is. Hostile input
// never panics and never allocates beyond the configured limits.
//
// # Standards
//
//   - RFC 5322, Internet Message Format, including the obsolete syntax of
//     section 4.
//   - RFC 6532, Internationalized Email Headers (UTF-8 in header values).
//   - RFC 2047, MIME Part Three: Message Header Extensions for Non-ASCII Text,
//     with the RFC 2231 section 5 language suffix.
//   - RFC 4155, the application/mbox "From " line, tolerated at the start.
package message
