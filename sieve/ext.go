package sieve

import "slices"

// extensions maps each capability string this package implements to the
// RFC that defines it.
var extensions = map[string]string{
	"fileinto":                   "RFC 5228 section 4.1",
	"envelope":                   "RFC 5228 section 5.4",
	"encoded-character":          "RFC 5228 section 2.4.2.4",
	"comparator-i;ascii-numeric": "RFC 4790 section 9.1, RFC 5231",
	"imap4flags":                 "RFC 5232",
	"variables":                  "RFC 5229",
	"subaddress":                 "RFC 5233",
	"copy":                       "RFC 3894",
	"body":                       "RFC 5173",
	"relational":                 "RFC 5231",
	"reject":                     "RFC 5429",
	"ereject":                    "RFC 5429",
	"vacation":                   "RFC 5230",
	"vacation-seconds":           "RFC 6131",
	"mailbox":                    "RFC 5490 section 3",
	"date":                       "RFC 5260 section 4",
	"index":                      "RFC 5260 section 6",
	"editheader":                 "RFC 5293",
	"spamtest":                   "RFC 5235",
	"spamtestplus":               "RFC 5235",
}

// alwaysAvailable are the capabilities a script may require although they
// need no extension: the two comparators RFC 5228 section 2.7.3 makes
// mandatory.
var alwaysAvailable = map[string]bool{
	"comparator-i;octet":         true,
	"comparator-i;ascii-casemap": true,
}

// Extensions returns the capability strings of every extension this
// package implements, sorted, as a ManageSieve server lists them in its
// SIEVE capability (RFC 5804 section 1.7). The two mandatory comparators,
// which every implementation has, are not listed.
func Extensions() []string {
	var list []string
	for name := range extensions {
		list = append(list, name)
	}
	slices.Sort(list)
	return list
}
