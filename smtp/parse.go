package smtp

import (
	"strconv"
	"strings"

	"github.com/heraldmail/herald/internal/xtext"
)

// Command is one command line split into its verb and argument.
type Command struct {
	// Verb is the command name in upper case ("MAIL", "EHLO").
	Verb string
	// Arg is everything after the verb and the space that follows it.
	Arg string
}

// MaxVerbLength bounds the verb of a command line; longer words are
// rejected as unrecognised without looking further.
const MaxVerbLength = 16

// ParseCommand splits a command line (without CRLF) into verb and argument
// (RFC 5321 section 4.1.1). The verb is made of ASCII letters, digits and
// "-", at most MaxVerbLength long. A line with NUL, CR, LF or other control
// characters other than tab fails with 500 5.5.2.
func ParseCommand(line string) (Command, error) {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return Command{}, &Error{Code: CodeSyntaxError, Enhanced: EnhancedSyntaxError, Message: "Control character in command"}
		}
	}
	verb, arg, _ := strings.Cut(line, " ")
	if verb == "" || len(verb) > MaxVerbLength {
		return Command{}, &Error{Code: CodeSyntaxError, Enhanced: EnhancedInvalidCommand, Message: "Command unrecognized"}
	}
	var up [MaxVerbLength]byte
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		default:
			return Command{}, &Error{Code: CodeSyntaxError, Enhanced: EnhancedInvalidCommand, Message: "Command unrecognized"}
		}
		up[i] = c
	}
	return Command{Verb: internVerb(up[:len(verb)]), Arg: arg}, nil
}

// internVerb returns a constant string for the known verbs, so that parsing
// a command allocates nothing for them.
func internVerb(b []byte) string {
	switch string(b) {
	case "MAIL":
		return "MAIL"
	case "RCPT":
		return "RCPT"
	case "DATA":
		return "DATA"
	case "BDAT":
		return "BDAT"
	case "RSET":
		return "RSET"
	case "NOOP":
		return "NOOP"
	case "QUIT":
		return "QUIT"
	case "EHLO":
		return "EHLO"
	case "HELO":
		return "HELO"
	case "LHLO":
		return "LHLO"
	}
	return string(b)
}

// BodyType is the value of the MAIL BODY parameter (RFC 6152, RFC 3030).
type BodyType string

// Body types.
const (
	Body7Bit       BodyType = "7BIT"
	Body8BitMIME   BodyType = "8BITMIME"
	BodyBinaryMIME BodyType = "BINARYMIME"
)

// DSNReturn is the value of the MAIL RET parameter (RFC 3461 section 4.3).
type DSNReturn string

// RET values.
const (
	ReturnFull    DSNReturn = "FULL"
	ReturnHeaders DSNReturn = "HDRS"
)

// DSNNotify is the set of conditions of the RCPT NOTIFY parameter
// (RFC 3461 section 4.1). Zero means the parameter was not given.
type DSNNotify uint8

// NOTIFY conditions. NotifyNever excludes the others.
const (
	NotifyNever DSNNotify = 1 << iota
	NotifySuccess
	NotifyFailure
	NotifyDelay
)

// String returns the parameter value, such as "SUCCESS,FAILURE".
func (n DSNNotify) String() string {
	if n&NotifyNever != 0 {
		return "NEVER"
	}
	var parts []string
	for _, x := range []struct {
		f DSNNotify
		s string
	}{{NotifySuccess, "SUCCESS"}, {NotifyFailure, "FAILURE"}, {NotifyDelay, "DELAY"}} {
		if n&x.f != 0 {
			parts = append(parts, x.s)
		}
	}
	return strings.Join(parts, ",")
}

// MailOptions holds the parameters of a MAIL command. Zero fields mean the
// parameter was absent.
type MailOptions struct {
	// Size is the declared message size (RFC 1870), 0 when absent.
	Size int64
	// Body is the BODY parameter (RFC 6152, RFC 3030), "" when absent.
	Body BodyType
	// UTF8 is set by the SMTPUTF8 parameter (RFC 6531).
	UTF8 bool
	// RequireTLS is set by the REQUIRETLS parameter (RFC 8689).
	RequireTLS bool
	// Return is the DSN RET parameter (RFC 3461).
	Return DSNReturn
	// EnvelopeID is the DSN ENVID parameter, xtext-decoded (RFC 3461).
	EnvelopeID string
	// Auth is the AUTH parameter, xtext-decoded (RFC 4954 section 5):
	// "<>" when the client does not know the submitter. The server only
	// passes it on when the session is authenticated.
	Auth string
}

// RcptOptions holds the parameters of a RCPT command.
type RcptOptions struct {
	// Notify is the DSN NOTIFY parameter (RFC 3461), 0 when absent.
	Notify DSNNotify
	// OriginalRecipientType is the address type of ORCPT, such as
	// "rfc822" or "utf-8" (RFC 6533), "" when absent.
	OriginalRecipientType string
	// OriginalRecipient is the ORCPT address, xtext-decoded.
	OriginalRecipient string
}

// Param is one ESMTP parameter of MAIL or RCPT: KEYWORD[=value].
type Param struct {
	Keyword string // upper case
	Value   string
	HasEq   bool
}

// maxParams bounds the number of parameters on one command.
const maxParams = 16

func paramSyntax(msg string) *Error {
	return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: msg}
}

func paramUnknown(kw string) *Error {
	return &Error{Code: CodeParamsNotRecognized, Enhanced: EnhancedInvalidArguments, Message: "Unsupported parameter " + kw}
}

// ParseParams splits the parameters after a path (RFC 5321 section 4.1.2,
// esmtp-param). Keywords are upper-cased; values are kept as sent. Values
// may hold UTF-8 (RFC 6531) but no space, "=" or control character.
func ParseParams(s string) ([]Param, error) {
	var params []Param
	for f := range strings.FieldsSeq(s) {
		if len(params) == maxParams {
			return nil, paramSyntax("Too many parameters")
		}
		kw, val, eq := strings.Cut(f, "=")
		if kw == "" || !isKeyword(kw) {
			return nil, paramSyntax("Bad parameter keyword")
		}
		if eq {
			if val == "" {
				return nil, paramSyntax("Empty parameter value")
			}
			for i := 0; i < len(val); i++ {
				if c := val[i]; c < 33 || c == '=' || c == 0x7f {
					return nil, paramSyntax("Bad parameter value")
				}
			}
		}
		params = append(params, Param{Keyword: strings.ToUpper(kw), Value: val, HasEq: eq})
	}
	return params, nil
}

func isKeyword(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || (c == '-' && i > 0)) {
			return false
		}
	}
	return true
}

// cutPrefixFold removes prefix (ASCII, any case) from s.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// splitPathArg takes "FROM:<path> params" apart. Whitespace after the colon
// is tolerated, as many clients send it.
func splitPathArg(arg, prefix string) (path, params string, err error) {
	rest, ok := cutPrefixFold(arg, prefix)
	if !ok {
		return "", "", paramSyntax("Syntax: " + prefix + "<address>")
	}
	for rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	if rest == "" || rest[0] != '<' {
		return "", "", paramSyntax("Syntax: " + prefix + "<address>")
	}
	end, perr := pathEnd(rest)
	if perr != nil {
		return "", "", paramSyntax("Syntax: " + prefix + "<address>")
	}
	path, params = rest[:end+1], rest[end+1:]
	if params != "" && params[0] != ' ' {
		return "", "", paramSyntax("Syntax: " + prefix + "<address>")
	}
	return path, params, nil
}

// pathParams splits the argument of MAIL or RCPT after prefix into the
// path text and its parameters, refusing a keyword given twice. At most
// maxParams parameters make the pairwise check cheaper than a map.
func pathParams(arg, prefix string) (string, []Param, error) {
	pathStr, paramStr, err := splitPathArg(arg, prefix)
	if err != nil {
		return "", nil, err
	}
	params, err := ParseParams(paramStr)
	if err != nil {
		return "", nil, err
	}
	for i := range params {
		for _, q := range params[:i] {
			if q.Keyword == params[i].Keyword {
				return "", nil, paramSyntax("Duplicate parameter " + q.Keyword)
			}
		}
	}
	return pathStr, params, nil
}

// ParseMail parses the argument of MAIL ("FROM:<path> [params]") into the
// reverse-path and its options. Every parameter Herald implements is
// recognised; the server refuses those of disabled extensions. UTF-8 in the
// path is allowed only with the SMTPUTF8 parameter. Errors are *Error values
// ready to be sent.
func ParseMail(arg string) (Path, MailOptions, error) {
	var opts MailOptions
	pathStr, params, err := pathParams(arg, "FROM:")
	if err != nil {
		return Path{}, opts, err
	}
	for _, p := range params {
		switch p.Keyword {
		case "SIZE":
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil || n < 0 || len(p.Value) > 20 || p.Value[0] == '+' {
				return Path{}, opts, paramSyntax("Bad SIZE value")
			}
			opts.Size = n
		case "BODY":
			switch BodyType(strings.ToUpper(p.Value)) {
			case Body7Bit:
				opts.Body = Body7Bit
			case Body8BitMIME:
				opts.Body = Body8BitMIME
			case BodyBinaryMIME:
				opts.Body = BodyBinaryMIME
			default:
				return Path{}, opts, paramSyntax("Bad BODY value")
			}
		case "SMTPUTF8":
			if p.HasEq {
				return Path{}, opts, paramSyntax("SMTPUTF8 takes no value")
			}
			opts.UTF8 = true
		case "REQUIRETLS":
			if p.HasEq {
				return Path{}, opts, paramSyntax("REQUIRETLS takes no value")
			}
			opts.RequireTLS = true
		case "RET":
			switch DSNReturn(strings.ToUpper(p.Value)) {
			case ReturnFull:
				opts.Return = ReturnFull
			case ReturnHeaders:
				opts.Return = ReturnHeaders
			default:
				return Path{}, opts, paramSyntax("Bad RET value")
			}
		case "ENVID":
			v, err := xtext.Decode(p.Value)
			if err != nil || len(p.Value) > 100 {
				return Path{}, opts, paramSyntax("Bad ENVID value")
			}
			opts.EnvelopeID = v
		case "AUTH":
			v, err := xtext.Decode(p.Value)
			if err != nil {
				return Path{}, opts, paramSyntax("Bad AUTH value")
			}
			opts.Auth = v
		default:
			return Path{}, opts, paramUnknown(p.Keyword)
		}
	}
	from, _, err := parsePath(pathStr, opts.UTF8, false)
	if err != nil {
		return Path{}, opts, err
	}
	if from.Domain == "" && !from.IsNull() {
		return Path{}, opts, pathError(false, "Sender address has no domain")
	}
	return from, opts, nil
}

// ParseRcpt parses the argument of RCPT ("TO:<path> [params]"). utf8 says
// whether the transaction uses SMTPUTF8. The null path is refused;
// "<Postmaster>" without a domain is accepted.
func ParseRcpt(arg string, utf8 bool) (Path, RcptOptions, error) {
	var opts RcptOptions
	pathStr, params, err := pathParams(arg, "TO:")
	if err != nil {
		return Path{}, opts, err
	}
	for _, p := range params {
		switch p.Keyword {
		case "NOTIFY":
			n, err := parseNotify(p.Value)
			if err != nil {
				return Path{}, opts, err
			}
			opts.Notify = n
		case "ORCPT":
			typ, addr, ok := strings.Cut(p.Value, ";")
			if !ok || typ == "" || !isKeyword(typ) || addr == "" {
				return Path{}, opts, paramSyntax("Bad ORCPT value")
			}
			v, err := xtext.Decode(addr)
			if err != nil && !(utf8 && strings.EqualFold(typ, "utf-8")) {
				return Path{}, opts, paramSyntax("Bad ORCPT value")
			}
			if err != nil {
				// utf-8-addr-xtext of RFC 6533 carries UTF-8 as is.
				v = addr
			}
			if len(v) > 500 {
				return Path{}, opts, paramSyntax("ORCPT too long")
			}
			opts.OriginalRecipientType = strings.ToLower(typ)
			opts.OriginalRecipient = v
		default:
			return Path{}, opts, paramUnknown(p.Keyword)
		}
	}
	to, _, err := parsePath(pathStr, utf8, true)
	if err != nil {
		return Path{}, opts, err
	}
	if to.IsNull() {
		return Path{}, opts, pathError(true, "Null recipient")
	}
	return to, opts, nil
}

func parseNotify(v string) (DSNNotify, error) {
	var n DSNNotify
	for f := range strings.SplitSeq(strings.ToUpper(v), ",") {
		var bit DSNNotify
		switch f {
		case "NEVER":
			bit = NotifyNever
		case "SUCCESS":
			bit = NotifySuccess
		case "FAILURE":
			bit = NotifyFailure
		case "DELAY":
			bit = NotifyDelay
		default:
			return 0, paramSyntax("Bad NOTIFY value")
		}
		if n&bit != 0 {
			return 0, paramSyntax("Bad NOTIFY value")
		}
		n |= bit
	}
	if n&NotifyNever != 0 && n != NotifyNever {
		return 0, paramSyntax("NOTIFY=NEVER excludes other values")
	}
	return n, nil
}
