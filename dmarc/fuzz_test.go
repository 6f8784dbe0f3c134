package dmarc

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldmail/herald/message"
)

// FuzzParseRecord checks that parsing never panics, that errors carry a
// category and a tag, that parsed records keep their invariants, and that
// the canonical form parses back to the same record.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=none",
		"v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; pct=20; t=y; rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:f@example.com; fo=1:d:s; rf=afrf; ri=3600",
		"v=DMARC1; p=bogus; rua=mailto:d@example.com",
		"v=DMARC1; rua=mailto:a@b%C3%BCcher.example?subject=x!1t",
		"v = DMARC1 ;; P = Reject ; pct=0050",
		"v=DMARC1; p=none; rua=https://r.example/x!5k, mailto:%zz@x.example",
		"v=DMARC1; p=none; pct=99999999999999999999",
		"v=DMARC1; p=none; rua=mailto:a@x!99999999999999999999t",
		"V=DMARC1;p=quarantine;p=reject;sp=;np=x",
		"v=DMARC1\tp=none",
		"v=spf1 -all",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s, nil)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (!errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLong)) || e.Tag == "" {
				t.Fatalf("ParseRecord(%q): error %v without category or tag", s, err)
			}
			if r != nil {
				t.Fatalf("ParseRecord(%q): record with error", s)
			}
			return
		}
		if r.Percent < 0 || r.Percent > 100 {
			t.Fatalf("ParseRecord(%q): pct %d", s, r.Percent)
		}
		if len(r.AggregateURIs) > DefaultMaxURIs || len(r.FailureURIs) > DefaultMaxURIs || len(r.Ignored) > maxIgnored {
			t.Fatalf("ParseRecord(%q): limits exceeded", s)
		}
		for _, d := range []Disposition{r.Policy, r.SubdomainPolicy, r.NonexistentPolicy} {
			if d > Reject {
				t.Fatalf("ParseRecord(%q): disposition %d", s, d)
			}
		}
		if r.NoValidPolicy && len(r.AggregateURIs) == 0 {
			t.Fatalf("ParseRecord(%q): p=none fallback without rua", s)
		}
		for _, u := range r.AggregateURIs {
			if u.Scheme == "mailto" && strings.Count(u.Address, "@") != 1 {
				t.Fatalf("ParseRecord(%q): mailto address %q", s, u.Address)
			}
		}
		canon := r.String()
		r2, err := ParseRecord(canon, nil)
		if err != nil {
			t.Fatalf("ParseRecord(%q) canonical %q: %v", s, canon, err)
		}
		if r2.String() != canon {
			t.Fatalf("canonical form not stable: %q then %q", canon, r2.String())
		}
		r.Ignored, r2.Ignored = nil, nil
		if !r.NoValidPolicy && !reflect.DeepEqual(r, r2) {
			t.Fatalf("ParseRecord(%q): round trip through %q differs:\n%#v\n%#v", s, canon, r, r2)
		}
	})
}

// FuzzFromDomain checks that extracting the From domain never panics, that
// errors carry one of the documented categories, and that a returned
// domain is normalised and has at least two labels.
func FuzzFromDomain(f *testing.F) {
	for _, s := range []string{
		"From: alice@example.com\r\n\r\n",
		"From: \"Alice Q.\" <alice@Mail.Example.COM>\r\n\r\n",
		"From: =?utf-8?q?J=C3=B6rg?= <j@bücher.example>\r\n\r\n",
		"From: a@example.com, b@example.org\r\n\r\n",
		"From: a@example.com, b@EXAMPLE.com\r\n\r\n",
		"From: undisclosed-recipients:;\r\n\r\n",
		"From: a@example.com\r\nFrom: b@example.com\r\n\r\n",
		"From: alice@[192.0.2.1]\r\n\r\n",
		"From: alice\r\n\r\n",
		"From: (comment (nested)) a@example.com\r\n\r\n",
		"From: a@example.com (unterminated\r\n\r\n",
		"To: x@y.example\r\n\r\n",
		"From: a@xn--bcher-kva.example\r\n\r\n",
	} {
		f.Add(s)
	}
	categories := []error{ErrNoFrom, ErrMultipleFrom, ErrFromSyntax, ErrNoAuthor, ErrMultipleAuthors, ErrGroup, ErrNoDomain}
	f.Fuzz(func(t *testing.T, s string) {
		h, _, err := message.ReadHeader(strings.NewReader(s), nil)
		if err != nil {
			return
		}
		d, err := FromDomain(h)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("FromDomain: %v is not an *Error", err)
			}
			n := 0
			for _, c := range categories {
				if errors.Is(err, c) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("FromDomain: %v matches %d categories", err, n)
			}
			if d != "" {
				t.Fatalf("FromDomain: domain %q with error", d)
			}
			return
		}
		if n, err := NormalizeDomain(d); err != nil || n != d || !strings.Contains(d, ".") {
			t.Fatalf("FromDomain gave %q, not a normalised multi-label domain (%q, %v)", d, n, err)
		}
		// The evaluation of any extracted domain works too.
		p := Policy{FromDomain: d, OrgDomain: OrganizationalDomain(d), Domain: d, Record: &Record{Percent: 100}}
		res := EvaluatePolicy(p, Args{From: d, DKIM: []DKIMResult{{Domain: d, Status: DKIMPass}}})
		if res.Status != Pass {
			t.Fatalf("aligned DKIM for %q gave %v", d, res.Status)
		}
	})
}
