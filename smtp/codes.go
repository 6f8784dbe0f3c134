package smtp

import (
	"errors"
	"strconv"
)

// ReplyCode is a three-digit SMTP reply code (RFC 5321 section 4.2).
// The first digit is the class: 2 positive completion, 3 positive
// intermediate, 4 transient failure, 5 permanent failure.
type ReplyCode int

// Reply codes used by Herald's server and client. The names follow the
// meaning given in RFC 5321 section 4.2.2 and the extension RFCs.
const (
	CodeSystemStatus          ReplyCode = 211 // system status or help reply
	CodeHelp                  ReplyCode = 214 // help message
	CodeServiceReady          ReplyCode = 220 // <domain> service ready
	CodeServiceClosing        ReplyCode = 221 // service closing transmission channel
	CodeAuthSucceeded         ReplyCode = 235 // authentication succeeded (RFC 4954)
	CodeOK                    ReplyCode = 250 // requested mail action okay, completed
	CodeUserNotLocalForward   ReplyCode = 251 // user not local; will forward
	CodeCannotVerify          ReplyCode = 252 // cannot VRFY user, but will accept message
	CodeAuthContinue          ReplyCode = 334 // SASL challenge (RFC 4954)
	CodeStartMailInput        ReplyCode = 354 // start mail input; end with <CRLF>.<CRLF>
	CodeServiceUnavailable    ReplyCode = 421 // service not available, closing channel
	CodePasswordTransition    ReplyCode = 432 // password transition needed (RFC 4954)
	CodeMailboxBusy           ReplyCode = 450 // mailbox unavailable (busy, greylisted)
	CodeLocalError            ReplyCode = 451 // local error in processing
	CodeInsufficientStorage   ReplyCode = 452 // insufficient system storage, too many recipients
	CodeTempAuthFailure       ReplyCode = 454 // temporary authentication failure (RFC 4954)
	CodeParamsNotAccommodated ReplyCode = 455 // server unable to accommodate parameters
	CodeSyntaxError           ReplyCode = 500 // syntax error, command unrecognized
	CodeParamSyntaxError      ReplyCode = 501 // syntax error in parameters or arguments
	CodeNotImplemented        ReplyCode = 502 // command not implemented
	CodeBadSequence           ReplyCode = 503 // bad sequence of commands
	CodeParamNotImplemented   ReplyCode = 504 // command parameter not implemented
	CodeNoMailHere            ReplyCode = 521 // host does not accept mail (RFC 7504)
	CodeAuthRequired          ReplyCode = 530 // authentication required (RFC 4954)
	CodeAuthTooWeak           ReplyCode = 534 // authentication mechanism is too weak
	CodeAuthInvalid           ReplyCode = 535 // authentication credentials invalid
	CodeEncryptionRequired    ReplyCode = 538 // encryption required for mechanism
	CodeMailboxUnavailable    ReplyCode = 550 // mailbox unavailable, or policy refusal
	CodeUserNotLocal          ReplyCode = 551 // user not local
	CodeExceededStorage       ReplyCode = 552 // exceeded storage allocation, message too big
	CodeMailboxNameInvalid    ReplyCode = 553 // mailbox name not allowed (syntax)
	CodeTransactionFailed     ReplyCode = 554 // transaction failed, or no SMTP service here
	CodeParamsNotRecognized   ReplyCode = 555 // MAIL/RCPT parameters not recognized
)

// Class returns the first digit of the code: 2, 3, 4 or 5.
func (c ReplyCode) Class() int { return int(c) / 100 }

// Temporary reports whether the code is a transient failure (4yz).
func (c ReplyCode) Temporary() bool { return c.Class() == 4 }

// Permanent reports whether the code is a permanent failure (5yz).
func (c ReplyCode) Permanent() bool { return c.Class() == 5 }

// Positive reports whether the code is a positive completion or
// intermediate reply (2yz or 3yz).
func (c ReplyCode) Positive() bool { return c.Class() == 2 || c.Class() == 3 }

// Valid reports whether c is a syntactically valid reply code: three digits,
// the first 2 to 5, the second 0 to 5 (RFC 5321 section 4.2).
func (c ReplyCode) Valid() bool {
	return c >= 200 && c <= 559 && (int(c)/10)%10 <= 5
}

// String returns the three digits of the code.
func (c ReplyCode) String() string { return strconv.Itoa(int(c)) }

// EnhancedCode is an RFC 3463 enhanced mail system status code
// class.subject.detail, packed in one integer so that codes can be typed
// constants: 5.1.1 is 5_001_001. The zero value means "not set"; a reply
// carrying it gets the default class.0.0 of its reply code (or no enhanced
// code at all for replies that RFC 2034 exempts, such as the greeting).
type EnhancedCode uint32

// NewEnhancedCode packs class.subject.detail. Subject and detail are at most
// three digits (RFC 3463 section 2); larger values are clamped to 999.
func NewEnhancedCode(class, subject, detail int) EnhancedCode {
	clamp := func(v int) uint32 { return uint32(min(max(v, 0), 999)) }
	return EnhancedCode(clamp(class)*1_000_000 + clamp(subject)*1_000 + clamp(detail))
}

// Enhanced status codes used by Herald (RFC 3463, RFC 3886, RFC 4954,
// RFC 5248, RFC 6531, RFC 8689). The name states the meaning; the comment
// gives the digits.
const (
	EnhancedOK                   EnhancedCode = 2_000_000 // 2.0.0 other or undefined status, success
	EnhancedSenderOK             EnhancedCode = 2_001_000 // 2.1.0 other address status (sender accepted)
	EnhancedRecipientOK          EnhancedCode = 2_001_005 // 2.1.5 destination address valid
	EnhancedMessageAccepted      EnhancedCode = 2_006_000 // 2.6.0 message accepted
	EnhancedVerifyUnavailable    EnhancedCode = 2_005_000 // 2.5.0 other protocol status (VRFY/HELP)
	EnhancedAuthOK               EnhancedCode = 2_007_000 // 2.7.0 authentication succeeded
	EnhancedTempFailure          EnhancedCode = 4_000_000 // 4.0.0 other or undefined status
	EnhancedTempMailbox          EnhancedCode = 4_002_000 // 4.2.0 other mailbox status (greylisting)
	EnhancedMailboxFullTemp      EnhancedCode = 4_002_002 // 4.2.2 mailbox full, for now
	EnhancedMailSystemTemp       EnhancedCode = 4_003_000 // 4.3.0 other or undefined mail system status
	EnhancedSystemFull           EnhancedCode = 4_003_001 // 4.3.1 mail system full
	EnhancedNotAccepting         EnhancedCode = 4_003_002 // 4.3.2 system not accepting network messages
	EnhancedConnectionTimeout    EnhancedCode = 4_004_002 // 4.4.2 bad connection (timeout)
	EnhancedCongestion           EnhancedCode = 4_004_005 // 4.4.5 system congestion
	EnhancedTooManyRecipients    EnhancedCode = 4_005_003 // 4.5.3 too many recipients
	EnhancedTempSecurity         EnhancedCode = 4_007_000 // 4.7.0 other security status, temporary
	EnhancedBadDestMailbox       EnhancedCode = 5_001_001 // 5.1.1 bad destination mailbox address
	EnhancedBadDestSyntax        EnhancedCode = 5_001_003 // 5.1.3 bad destination mailbox address syntax
	EnhancedBadSenderSyntax      EnhancedCode = 5_001_007 // 5.1.7 bad sender's mailbox address syntax
	EnhancedBadSender            EnhancedCode = 5_001_008 // 5.1.8 bad sender's system address
	EnhancedMailboxFull          EnhancedCode = 5_002_002 // 5.2.2 mailbox full
	EnhancedMessageTooBigAdmin   EnhancedCode = 5_002_003 // 5.2.3 message length exceeds administrative limit
	EnhancedMailSystemPerm       EnhancedCode = 5_003_000 // 5.3.0 other or undefined mail system status
	EnhancedMessageTooBig        EnhancedCode = 5_003_004 // 5.3.4 message too big for system
	EnhancedProtocol             EnhancedCode = 5_005_000 // 5.5.0 other or undefined protocol status
	EnhancedInvalidCommand       EnhancedCode = 5_005_001 // 5.5.1 invalid command
	EnhancedSyntaxError          EnhancedCode = 5_005_002 // 5.5.2 syntax error
	EnhancedInvalidArguments     EnhancedCode = 5_005_004 // 5.5.4 invalid command arguments
	EnhancedWrongProtocolVersion EnhancedCode = 5_005_005 // 5.5.5 wrong protocol version
	EnhancedAuthLineTooLong      EnhancedCode = 5_005_006 // 5.5.6 authentication exchange line too long
	EnhancedMediaError           EnhancedCode = 5_006_000 // 5.6.0 other or undefined media error
	EnhancedConversionRequired   EnhancedCode = 5_006_003 // 5.6.3 conversion required but not supported
	EnhancedNonASCIIAddress      EnhancedCode = 5_006_007 // 5.6.7 non-ASCII address without SMTPUTF8
	EnhancedSecurity             EnhancedCode = 5_007_000 // 5.7.0 other or undefined security status
	EnhancedNotAuthorized        EnhancedCode = 5_007_001 // 5.7.1 delivery not authorized, message refused
	EnhancedAuthInvalid          EnhancedCode = 5_007_008 // 5.7.8 authentication credentials invalid
	EnhancedAuthTooWeak          EnhancedCode = 5_007_009 // 5.7.9 authentication mechanism too weak
	EnhancedEncryptionRequired   EnhancedCode = 5_007_011 // 5.7.11 encryption required for requested authentication mechanism
	EnhancedRequireTLS           EnhancedCode = 5_007_030 // 5.7.30 REQUIRETLS support required
)

// Class returns the class digit: 2, 4 or 5 for a valid code, 0 when unset.
func (e EnhancedCode) Class() int { return int(e / 1_000_000) }

// Subject returns the subject number.
func (e EnhancedCode) Subject() int { return int(e / 1_000 % 1_000) }

// Detail returns the detail number.
func (e EnhancedCode) Detail() int { return int(e % 1_000) }

// IsSet reports whether e carries a code.
func (e EnhancedCode) IsSet() bool { return e != 0 }

// Valid reports whether e is a well-formed RFC 3463 code: class 2, 4 or 5.
func (e EnhancedCode) Valid() bool {
	c := e.Class()
	return (c == 2 || c == 4 || c == 5) && e < 6_000_000
}

// WithClass returns e with its class replaced, so that a subject.detail
// pair can be reused for a temporary or a permanent failure.
func (e EnhancedCode) WithClass(class int) EnhancedCode {
	return NewEnhancedCode(class, e.Subject(), e.Detail())
}

// String formats e as "class.subject.detail", or "" when unset.
func (e EnhancedCode) String() string {
	if e == 0 {
		return ""
	}
	return string(e.appendTo(make([]byte, 0, 11)))
}

func (e EnhancedCode) appendTo(b []byte) []byte {
	b = strconv.AppendInt(b, int64(e.Class()), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(e.Subject()), 10)
	b = append(b, '.')
	return strconv.AppendInt(b, int64(e.Detail()), 10)
}

// errEnhancedSyntax is returned by ParseEnhancedCode for malformed input.
var errEnhancedSyntax = errors.New("smtp: malformed enhanced status code")

// ParseEnhancedCode parses "class.subject.detail" as defined by RFC 3463
// section 2: class is 2, 4 or 5; subject and detail have one to three digits
// without a sign.
func ParseEnhancedCode(s string) (EnhancedCode, error) {
	var parts [3]int
	p := 0
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
			if digits > 3 {
				return 0, errEnhancedSyntax
			}
			parts[p] = parts[p]*10 + int(c-'0')
		case c == '.' && digits > 0 && p < 2:
			p++
			digits = 0
		default:
			return 0, errEnhancedSyntax
		}
	}
	if p != 2 || digits == 0 {
		return 0, errEnhancedSyntax
	}
	if c := parts[0]; c != 2 && c != 4 && c != 5 || s[0] != byte('0'+c) || s[1] != '.' {
		return 0, errEnhancedSyntax
	}
	return NewEnhancedCode(parts[0], parts[1], parts[2]), nil
}
