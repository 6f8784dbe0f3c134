package dnsmx_test

import (
	"fmt"
	"net"
	"strings"
)

// format prints lookup results compactly for comparisons.
func format(v any) string {
	switch v := v.(type) {
	case []*net.MX:
		var s []string
		for _, mx := range v {
			s = append(s, fmt.Sprintf("%d %s", mx.Pref, mx.Host))
		}
		return "[" + strings.Join(s, " ") + "]"
	case []string:
		for _, s := range v {
			if strings.ContainsAny(s, "\"\\\x00\xff") {
				return fmt.Sprintf("%q", v)
			}
		}
	}
	return fmt.Sprint(v)
}
