package dmarc

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // canonical form
	}{
		{"minimal", "v=DMARC1; p=none", "v=DMARC1; p=none"},
		{"trailing semicolon", "v=DMARC1; p=reject;", "v=DMARC1; p=reject"},
		{"no spaces", "v=DMARC1;p=quarantine;pct=50", "v=DMARC1; p=quarantine; pct=50"},
		{"spaces around equals", "v = DMARC1 ; p = reject ; sp = none", "v=DMARC1; p=reject; sp=none"},
		{"upper-case tags and values", "V=DMARC1; P=Reject; ADKIM=S; ASPF=s", "v=DMARC1; p=reject; adkim=s; aspf=s"},
		{"p not second", "v=DMARC1; rua=mailto:d@example.com; p=reject", "v=DMARC1; p=reject; rua=mailto:d@example.com"},
		{"every tag", "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; pct=20; t=y; rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:f@example.com; fo=1:d:s; rf=afrf; ri=3600",
			"v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; pct=20; t=y; rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:f@example.com; fo=1:d:s; rf=afrf; ri=3600"},
		{"unknown tags ignored", "v=DMARC1; p=none; psd=n; foo=bar; x_y=1", "v=DMARC1; p=none"},
		{"size units", "v=DMARC1; p=none; rua=mailto:a@example.com!1024,mailto:b@example.com!3k,mailto:c@example.com!2G",
			"v=DMARC1; p=none; rua=mailto:a@example.com!1k,mailto:b@example.com!3k,mailto:c@example.com!2g"},
		{"tab and folding", "v=DMARC1;\tp=none;\r\n rua=mailto:a@example.com", "v=DMARC1; p=none; rua=mailto:a@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord(tt.in, nil)
			if err != nil {
				t.Fatalf("ParseRecord(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			r2, err := ParseRecord(r.String(), nil)
			if err != nil {
				t.Fatalf("reparse %q: %v", r.String(), err)
			}
			r.Ignored = nil
			if !reflect.DeepEqual(r, r2) {
				t.Errorf("round trip differs:\n%#v\n%#v", r, r2)
			}
		})
	}
}

func TestParseRecordDefaults(t *testing.T) {
	r, err := ParseRecord("v=DMARC1; p=quarantine", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Record{
		Policy:            Quarantine,
		SubdomainPolicy:   Quarantine,
		NonexistentPolicy: Quarantine,
		Percent:           100,
		FailureOptions:    []string{"0"},
		ReportFormats:     []string{"afrf"},
		ReportInterval:    86400,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %#v\nwant %#v", r, want)
	}
	// np= defaults to sp=, not to p=.
	r, err = ParseRecord("v=DMARC1; p=reject; sp=none", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.SubdomainPolicy != DispositionNone || r.NonexistentPolicy != DispositionNone {
		t.Errorf("sp=%v np=%v, want none none", r.SubdomainPolicy, r.NonexistentPolicy)
	}
}

func TestParseRecordURIs(t *testing.T) {
	r, err := ParseRecord("v=DMARC1; p=none; rua=mailto:DMARC+rua@Example.COM!50m, mailto:rua@b%C3%BCcher.example?subject=hi, mailto:x%40y@example.com, https://r.example/dmarc, bogus, mailto:noat, mailto:a@-bad-.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []URI{
		{Raw: "mailto:DMARC+rua@Example.COM", Scheme: "mailto", Address: "DMARC+rua@example.com", MaxSize: 50 << 20},
		{Raw: "mailto:rua@b%C3%BCcher.example?subject=hi", Scheme: "mailto", Address: "rua@xn--bcher-kva.example"},
		{Raw: "https://r.example/dmarc", Scheme: "https"},
	}
	if !reflect.DeepEqual(r.AggregateURIs, want) {
		t.Errorf("rua = %#v\nwant %#v", r.AggregateURIs, want)
	}
	if len(r.Ignored) != 4 {
		t.Fatalf("Ignored = %v, want 4 entries", r.Ignored)
	}
	for _, e := range r.Ignored {
		if e.Tag != "rua" || !errors.Is(e, ErrSyntax) {
			t.Errorf("ignored %v: want a syntax error in tag rua", e)
		}
	}
	if got := r.AggregateURIs[0].Domain(); got != "example.com" {
		t.Errorf("Domain() = %q", got)
	}

	// More URIs than the limit: the first ones are kept.
	r, err = ParseRecord("v=DMARC1; p=none; rua=mailto:a@x.example,mailto:b@x.example,mailto:c@x.example", &Limits{URIs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.AggregateURIs) != 2 || r.AggregateURIs[1].Address != "b@x.example" {
		t.Errorf("rua = %v", r.AggregateURIs)
	}
	if len(r.Ignored) != 1 || !errors.Is(r.Ignored[0], ErrTooLong) {
		t.Errorf("Ignored = %v, want one ErrTooLong", r.Ignored)
	}

	// Sizes that overflow or have a bad unit make the URI keep the "!"
	// as part of it, which is still a valid URI; an overflowing number
	// of terabytes too.
	for _, s := range []string{"mailto:a@x.example!99999999999999t", "mailto:a@x.example!10x"} {
		r, err := ParseRecord("v=DMARC1; p=none; rua="+s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.AggregateURIs) == 1 && r.AggregateURIs[0].MaxSize != 0 {
			t.Errorf("%s: MaxSize = %d, want 0", s, r.AggregateURIs[0].MaxSize)
		}
	}
}

// TestParseRecordInvalidValues checks RFC 7489 section 6.3: an invalid
// value is discarded in favour of the default, and the tag is named.
func TestParseRecordInvalidValues(t *testing.T) {
	tests := []struct {
		in    string
		tag   string
		check func(*Record) bool
	}{
		{"v=DMARC1; p=reject; pct=101", "pct", func(r *Record) bool { return r.Percent == 100 }},
		{"v=DMARC1; p=reject; pct=-1", "pct", func(r *Record) bool { return r.Percent == 100 }},
		{"v=DMARC1; p=reject; pct=5x", "pct", func(r *Record) bool { return r.Percent == 100 }},
		{"v=DMARC1; p=reject; pct=99999999999999999999999", "pct", func(r *Record) bool { return r.Percent == 100 }},
		{"v=DMARC1; p=reject; adkim=x", "adkim", func(r *Record) bool { return r.DKIMAlignment == Relaxed }},
		{"v=DMARC1; p=reject; aspf=strict", "aspf", func(r *Record) bool { return r.SPFAlignment == Relaxed }},
		{"v=DMARC1; p=reject; np=block", "np", func(r *Record) bool { return r.NonexistentPolicy == Reject }},
		{"v=DMARC1; p=reject; fo=2", "fo", func(r *Record) bool { return reflect.DeepEqual(r.FailureOptions, []string{"0"}) }},
		{"v=DMARC1; p=reject; rf=iodef:", "rf", func(r *Record) bool { return reflect.DeepEqual(r.ReportFormats, []string{"afrf"}) }},
		{"v=DMARC1; p=reject; ri=4294967296", "ri", func(r *Record) bool { return r.ReportInterval == 86400 }},
		{"v=DMARC1; p=reject; t=maybe", "t", func(r *Record) bool { return !r.Testing }},
		{"v=DMARC1; p=reject; p=none", "p", func(r *Record) bool { return r.Policy == Reject }},
		{"v=DMARC1; p=reject; pct", "pct", func(r *Record) bool { return r.Percent == 100 }},
		{"v=DMARC1; p=reject; 9x=1", "9x", func(r *Record) bool { return r.Policy == Reject }},
		{"v=DMARC1; p=reject; v=DMARC2", "v", func(r *Record) bool { return r.Policy == Reject }},
		{"v=DMARC1; p=reject; PCT=5; pct=7", "pct", func(r *Record) bool { return r.Percent == 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRecord(tt.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(r) {
				t.Errorf("default not applied: %s", r)
			}
			if len(r.Ignored) != 1 || r.Ignored[0].Tag != tt.tag {
				t.Fatalf("Ignored = %v, want one for tag %q", r.Ignored, tt.tag)
			}
			if msg := r.Ignored[0].Error(); !strings.Contains(msg, "tag "+tt.tag) {
				t.Errorf("error %q does not name the tag", msg)
			}
		})
	}
}

// TestParseRecordPolicyRules checks RFC 7489 section 6.6.3 step 6: no valid
// p= (or an invalid sp=) makes the record unusable, unless rua= has a
// valid URI, in which case it reads as p=none.
func TestParseRecordPolicyRules(t *testing.T) {
	bad := []struct{ in, tag string }{
		{"v=DMARC1", "p"},
		{"v=DMARC1;", "p"},
		{"v=DMARC1; p=bogus", "p"},
		{"v=DMARC1; p=", "p"},
		{"v=DMARC1; p=reject; sp=bogus", "sp"},
		{"v=DMARC1; p=bogus; rua=not-a-uri", "p"},
		{"v=DMARC1; sp=reject; adkim=s", "p"},
	}
	for _, tt := range bad {
		_, err := ParseRecord(tt.in, nil)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrSyntax) || e.Tag != tt.tag {
			t.Errorf("ParseRecord(%q) = %v, want ErrSyntax for tag %q", tt.in, err, tt.tag)
		}
	}
	good := []string{
		"v=DMARC1; rua=mailto:d@example.com",
		"v=DMARC1; p=bogus; rua=mailto:d@example.com",
		"v=DMARC1; p=reject; sp=bogus; np=reject; rua=mailto:d@example.com",
	}
	for _, in := range good {
		r, err := ParseRecord(in, nil)
		if err != nil {
			t.Errorf("ParseRecord(%q): %v", in, err)
			continue
		}
		if !r.NoValidPolicy || r.Policy != DispositionNone || r.SubdomainPolicy != DispositionNone || r.NonexistentPolicy != DispositionNone {
			t.Errorf("ParseRecord(%q) = %s (NoValidPolicy %v), want p=none throughout", in, r, r.NoValidPolicy)
		}
		if len(r.AggregateURIs) != 1 {
			t.Errorf("ParseRecord(%q): rua lost", in)
		}
	}
}

func TestParseRecordVersion(t *testing.T) {
	for _, in := range []string{
		"", "v=spf1 -all", "v=DMARC2; p=none", "v=dmarc1; p=none", "p=none; v=DMARC1",
		"v=DMARC1 p=none", "v=DMARC10; p=none", " v=DMARC1; p=none", "vDMARC1; p=none",
	} {
		_, err := ParseRecord(in, nil)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrSyntax) || e.Tag != "v" {
			t.Errorf("ParseRecord(%q) = %v, want ErrSyntax for tag v", in, err)
		}
	}
	for in, want := range map[string]bool{
		"v=DMARC1": true, "V=DMARC1;p=none": true, "v = DMARC1 ;": true, "v=DMARC1 p=none": true,
		"v=DMARC1x": false, "v=dmarc1": false, "x=DMARC1": false, "v=": false,
	} {
		if got := IsDMARCRecord(in); got != want {
			t.Errorf("IsDMARCRecord(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseRecordLimits(t *testing.T) {
	long := "v=DMARC1; p=none; rua=mailto:" + strings.Repeat("a", 5000) + "@example.com"
	if _, err := ParseRecord(long, nil); !errors.Is(err, ErrTooLong) {
		t.Errorf("long record: %v, want ErrTooLong", err)
	}
	if _, err := ParseRecord(long, &Limits{RecordBytes: 8000}); err != nil {
		t.Errorf("long record under a raised limit: %v", err)
	}
	// Many broken tags: Ignored stays bounded.
	r, err := ParseRecord("v=DMARC1; p=none"+strings.Repeat("; pct=x", 500), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Ignored) != maxIgnored {
		t.Errorf("len(Ignored) = %d, want %d", len(r.Ignored), maxIgnored)
	}
}

func TestErrorText(t *testing.T) {
	_, err := ParseRecord("v=DMARC1; p=maybe", nil)
	want := `dmarc: syntax error in tag p: invalid policy maybe`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	e := &Error{Err: ErrSyntax, Domain: "bad\r\n.example", Tag: "p"}
	if got := e.Error(); strings.ContainsAny(got, "\r\n") {
		t.Errorf("control characters in %q", got)
	}
}

// TestParseRecordAppendixB parses the Domain Owner records of RFC 7489
// appendix B.2.
func TestParseRecordAppendixB(t *testing.T) {
	// B.2.1: entire domain, monitoring only.
	r, err := ParseRecord("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", nil)
	if err != nil || r.Policy != DispositionNone || len(r.AggregateURIs) != 1 || r.AggregateURIs[0].Address != "dmarc-feedback@example.com" || len(r.FailureURIs) != 0 {
		t.Errorf("B.2.1: %v %v", r, err)
	}
	// B.2.2 and B.2.3: per-message failure reports, to a third party.
	r, err = ParseRecord("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net", nil)
	if err != nil || len(r.FailureURIs) != 1 || r.FailureURIs[0].Domain() != "thirdparty.example.net" {
		t.Errorf("B.2.2: %v %v", r, err)
	}
	// B.2.4: subdomain, sampling, and multiple aggregate report URIs.
	r, err = ParseRecord("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; pct=25", nil)
	if err != nil || r.Policy != Quarantine || r.Percent != 25 || len(r.AggregateURIs) != 2 || r.AggregateURIs[1].MaxSize != 10<<20 {
		t.Errorf("B.2.4: %v %v", r, err)
	}
}
