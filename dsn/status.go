package dsn

import "github.com/heraldmail/herald/smtp"

// statusTexts holds the subject.detail codes of the IANA "Enumerated Status
// Codes" registry (RFC 3463 and its updates: RFC 3886, 4468, 4954, 5248,
// 6531, 6710, 7293, 7372, 7505, 8098, 8617, 8689) with their registered
// meaning. Index: subject*100 + detail.
var statusTexts = map[int]string{
	0:   "other undefined status",
	100: "other address status",
	101: "bad destination mailbox address",
	102: "bad destination system address",
	103: "bad destination mailbox address syntax",
	104: "destination mailbox address ambiguous",
	105: "destination address valid",
	106: "destination mailbox has moved, no forwarding address",
	107: "bad sender's mailbox address syntax",
	108: "bad sender's system address",
	109: "message relayed to non-compliant mailer",
	110: "recipient address has null MX",
	200: "other or undefined mailbox status",
	201: "mailbox disabled, not accepting messages",
	202: "mailbox full",
	203: "message length exceeds administrative limit",
	204: "mailing list expansion problem",
	300: "other or undefined mail system status",
	301: "mail system full",
	302: "system not accepting network messages",
	303: "system not capable of selected features",
	304: "message too big for system",
	305: "system incorrectly configured",
	306: "requested priority was changed",
	400: "other or undefined network or routing status",
	401: "no answer from host",
	402: "bad connection",
	403: "directory server failure",
	404: "unable to route",
	405: "mail system congestion",
	406: "routing loop detected",
	407: "delivery time expired",
	500: "other or undefined protocol status",
	501: "invalid command",
	502: "syntax error",
	503: "too many recipients",
	504: "invalid command arguments",
	505: "wrong protocol version",
	506: "authentication exchange line is too long",
	600: "other or undefined media error",
	601: "media not supported",
	602: "conversion required and prohibited",
	603: "conversion required but not supported",
	604: "conversion with loss performed",
	605: "conversion failed",
	606: "message content not available",
	607: "non-ASCII addresses not permitted for that sender or recipient",
	608: "UTF-8 string reply is required, but not permitted by the SMTP client",
	609: "UTF-8 header message cannot be transferred to one or more recipients",
	700: "other or undefined security status",
	701: "delivery not authorized, message refused",
	702: "mailing list expansion prohibited",
	703: "security conversion required but not possible",
	704: "security features not supported",
	705: "cryptographic failure",
	706: "cryptographic algorithm not supported",
	707: "message integrity failure",
	708: "authentication credentials invalid",
	709: "authentication mechanism is too weak",
	710: "encryption needed",
	711: "encryption required for requested authentication mechanism",
	712: "a password transition is needed",
	713: "user account disabled",
	714: "trust relationship required",
	715: "priority level is too low",
	716: "message is too big for the specified priority",
	717: "mailbox owner has changed",
	718: "domain owner has changed",
	719: "RRVS test cannot be completed",
	720: "no passing DKIM signature found",
	721: "no acceptable DKIM signature found",
	722: "no valid author-matched DKIM signature found",
	723: "SPF validation failed",
	724: "SPF validation error",
	725: "reverse DNS validation failed",
	726: "multiple authentication checks failed",
	727: "sender address has null MX",
	728: "mail flood detected",
	729: "ARC validation failure",
	730: "REQUIRETLS support required",
}

// StatusText returns the registered meaning of the subject and detail of an
// RFC 3463 enhanced status code, such as "bad destination mailbox address"
// for 5.1.1, or "" for a code that is not in the IANA registry (vendor codes
// such as Microsoft's 5.7.509). The class is not part of the meaning: 4.2.2
// and 5.2.2 both mean "mailbox full", once temporarily and once for good.
func StatusText(c smtp.EnhancedCode) string {
	if !c.Valid() || c.Subject() > 9 || c.Detail() > 99 {
		return ""
	}
	return statusTexts[c.Subject()*100+c.Detail()]
}

// Registered reports whether c is a well-formed RFC 3463 code whose
// subject.detail is in the IANA registry of enumerated status codes.
func Registered(c smtp.EnhancedCode) bool { return StatusText(c) != "" }

// ClassText returns the meaning of the class of c: "success", "persistent
// transient failure" or "permanent failure" (RFC 3463 section 3.1), or ""
// for an invalid code.
func ClassText(c smtp.EnhancedCode) string {
	switch c.Class() {
	case 2:
		return "success"
	case 4:
		return "persistent transient failure"
	case 5:
		return "permanent failure"
	}
	return ""
}
