package dmarc

import (
	"github.com/heraldmail/herald/internal/authres"
	"strings"
)

// AuthenticationResults returns the DMARC part (resinfo) of an
// Authentication-Results header field (RFC 8601 section 2.7 and RFC 7489
// section 11.2), such as
//
//	dmarc=fail (p=reject dis=reject) header.from=example.com
//	dmarc=pass (p=none dis=none) header.from=example.com
//	dmarc=none header.from=example.org
//
// The comment gives the requested policy and the disposition when a record
// applied. The caller writes the field name, the authserv-id and the other
// methods around it. A From domain that is not a dot-atom is quoted, with
// control characters and invalid UTF-8 replaced by '?'.
func AuthenticationResults(res Result) string {
	var b strings.Builder
	b.WriteString("dmarc=")
	b.WriteString(res.Status.String())
	if res.Policy.Record != nil && (res.Status == Pass || res.Status == Fail) {
		b.WriteString(" (p=")
		b.WriteString(res.Requested.String())
		b.WriteString(" dis=")
		b.WriteString(res.Disposition.String())
		b.WriteByte(')')
	}
	if d := res.Policy.FromDomain; d != "" {
		b.WriteString(" header.from=")
		authres.Value(&b, d)
	}
	return b.String()
}
