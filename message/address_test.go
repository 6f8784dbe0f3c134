package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Address
		wantErr error
	}{
		{"addr-spec", "jdoe@example.org", Address{Addr: "jdoe@example.org"}, nil},
		{"name-addr", "Mary Smith <mary@x.test>", Address{Name: "Mary Smith", Addr: "mary@x.test"}, nil},
		{"quoted name", `"Joe Q. Public" <john.q.public@example.com>`, Address{Name: "Joe Q. Public", Addr: "john.q.public@example.com"}, nil},
		{"quoted pair in name", `"Joe \"Q\" Public" <a@b>`, Address{Name: `Joe "Q" Public`, Addr: "a@b"}, nil},
		{"obs-phrase period", "John Q. Public <a@b>", Address{Name: "John Q. Public", Addr: "a@b"}, nil},
		{"white space collapsed", "John \t  Doe <a@b>", Address{Name: "John Doe", Addr: "a@b"}, nil},
		{"angle only", "<a@b>", Address{Addr: "a@b"}, nil},
		{"comments dropped", "(c) Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", Address{Name: "Pete", Addr: "pete@silly.test"}, nil},
		{"obs cfws around dots", "John Doe <jdoe@machine(comment).  example>", Address{Name: "John Doe", Addr: "jdoe@machine.example"}, nil},
		{"obs route", "<@route1,@route2:a@b>", Address{Addr: "a@b"}, nil},
		{"quoted local part", `"a b"@example.com`, Address{Addr: `"a b"@example.com`}, nil},
		{"needless quotes removed", `"abc"@example.com`, Address{Addr: "abc@example.com"}, nil},
		{"obs local part", `"a"."b"@example.com`, Address{Addr: "a.b@example.com"}, nil},
		{"quoted local part with escapes", `"a\"b\\c"@x`, Address{Addr: `"a\"b\\c"@x`}, nil},
		{"domain literal", "a@[192.0.2.1]", Address{Addr: "a@[192.0.2.1]"}, nil},
		{"ipv6 literal", "a@[IPv6:2001:db8::1]", Address{Addr: "a@[IPv6:2001:db8::1]"}, nil},
		{"encoded word name", "=?utf-8?q?J=C3=B6rg?= <j@x>", Address{Name: "Jörg", Addr: "j@x"}, nil},
		{"adjacent encoded words", "=?utf-8?b?SsO2?= =?utf-8?b?cmc=?= <j@x>", Address{Name: "Jörg", Addr: "j@x"}, nil},
		{"latin-1 encoded word", "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", Address{Name: "André Pirard", Addr: "PIRARD@vm1.ulg.ac.be"}, nil},
		{"utf-8 (RFC 6532)", "Jörg <jörg@bücher.example>", Address{Name: "Jörg", Addr: "jörg@bücher.example"}, nil},
		{"folded", "Mary\r\n Smith <mary@x.test>", Address{Name: "Mary Smith", Addr: "mary@x.test"}, nil},
		{"no domain", "jdoe", Address{}, ErrSyntax},
		{"empty", "", Address{}, ErrSyntax},
		{"two ats", "a@b@c", Address{}, ErrSyntax},
		{"double dot", "a..b@c", Address{}, ErrSyntax},
		{"trailing dot domain", "a@b.", Address{}, ErrSyntax},
		{"missing angle close", "<a@b", Address{}, ErrSyntax},
		{"group not a mailbox", "g: a@b;", Address{}, ErrSyntax},
		{"unterminated comment", "a@b (x", Address{}, ErrSyntax},
		{"unterminated quote", `"a@b`, Address{}, ErrSyntax},
		{"invalid utf-8", "\xff@b", Address{}, ErrSyntax},
		{"invalid utf-8 in domain literal", "a@[\xff]", Address{}, ErrSyntax},
		{"invalid utf-8 in quoted string", "\"\xff\"@b", Address{}, ErrSyntax},
		{"bare LF", "a@b\n", Address{}, ErrSyntax},
		{"deep comments", strings.Repeat("(", 100) + strings.Repeat(")", 100) + "a@b", Address{}, ErrTooLong},
		{"trailing junk", "a@b c", Address{}, ErrSyntax},
		{"too many words", strings.Repeat("w ", 600) + "<a@b>", Address{}, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAddress(tt.in)
			if tt.wantErr != nil {
				var e *Error
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &e) {
					t.Fatalf("ParseAddress(%q) = %+v, %v; want *Error wrapping %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseAddress(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			// Format and parse again: the same address.
			again, err := ParseAddress(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("round trip via %q = %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseAddressList(t *testing.T) {
	t.Parallel()
	mb := func(name, addr string) Address { return Address{Name: name, Addr: addr} }
	tests := []struct {
		name    string
		in      string
		mode    Mode
		want    []Address
		wantErr error
	}{
		{"two", "Mary Smith <mary@x.test>, jdoe@example.org", Strict, []Address{mb("Mary Smith", "mary@x.test"), mb("", "jdoe@example.org")}, nil},
		{"appendix A.1.2", `Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>`, Strict,
			[]Address{mb("Mary Smith", "mary@x.test"), mb("", "jdoe@example.org"), mb("Who?", "one@y.test")}, nil},
		{"comma in quoted name", `"Giant; \"Big\" Box" <sysservices@example.net>, a@b`, Strict,
			[]Address{mb(`Giant; "Big" Box`, "sysservices@example.net"), mb("", "a@b")}, nil},
		{"group", "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", Strict,
			[]Address{{Name: "A Group", Group: true, Members: []Address{mb("Ed Jones", "c@a.test"), mb("", "joe@where.test"), mb("John", "jdoe@one.test")}}}, nil},
		{"empty group", "Undisclosed recipients:;", Strict, []Address{{Name: "Undisclosed recipients", Group: true}}, nil},
		{"group then mailbox", "g: a@b; , c@d", Strict, []Address{{Name: "g", Group: true, Members: []Address{mb("", "a@b")}}, mb("", "c@d")}, nil},
		{"obs empty entries", "a@b, , ,c@d,", Strict, []Address{mb("", "a@b"), mb("", "c@d")}, nil},
		{"blank", "  ", Strict, nil, nil},
		{"comment only", "(nobody)", Strict, nil, nil},
		{"missing comma", "a@b c@d", Strict, nil, ErrSyntax},
		{"unterminated group", "g: a@b", Strict, nil, ErrSyntax},
		{"junk entry", "a@b, junk junk, c@d", Strict, nil, ErrSyntax},
		{"lenient: junk entry skipped", "a@b, (x) junk junk, c@d", Lenient, []Address{mb("", "a@b"), mb("", "c@d")}, nil},
		{"lenient: no domain", "Undisclosed-Recipient", Lenient, []Address{mb("", "Undisclosed-Recipient")}, nil},
		{"lenient: at in display name", "a@b <c@d>", Lenient, []Address{mb("a@b", "c@d")}, nil},
		{"lenient: unquoted comma in name", "Smith, John <j@x>", Lenient, []Address{mb("", "Smith"), mb("John", "j@x")}, nil},
		{"lenient: name before bare addr-spec", "Big Bug bb@bug.com", Lenient, []Address{mb("Big Bug", "bb@bug.com")}, nil},
		{"lenient: space separated", "a@b c@d", Lenient, []Address{mb("", "a@b"), mb("", "c@d")}, nil},
		{"lenient: encoded word in quotes", `"=?utf-8?q?J=C3=B6rg?=" <j@x>`, Lenient, []Address{mb("Jörg", "j@x")}, nil},
		{"strict: encoded word in quotes kept", `"=?utf-8?q?J=C3=B6rg?=" <j@x>`, Strict, []Address{mb("=?utf-8?q?J=C3=B6rg?=", "j@x")}, nil},
		{"lenient: missing closing bracket", "Joe <j@x", Lenient, []Address{mb("Joe", "j@x")}, nil},
		{"lenient: missing semicolon", "g: a@b", Lenient, []Address{{Name: "g", Group: true, Members: []Address{mb("", "a@b")}}}, nil},
		{"lenient: junk group member", "g: @junk, a@b;", Lenient, []Address{{Name: "g", Group: true, Members: []Address{mb("", "a@b")}}}, nil},
		{"lenient: 8-bit name", "Andr\xe9 <a@b>", Lenient, []Address{mb("André", "a@b")}, nil},
		// Fuzz crasher 0c4bb89ab1a9a231: a repaired name kept invalid UTF-8.
		{"lenient: 8-bit name in repair", "0\x8b<0", Lenient, []Address{mb("0\u2039", "0")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := AddressParser{Mode: tt.mode}
			got, err := p.ParseList(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseList(%q) = %+v, %v; want %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseList(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseList(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
			}
			if len(got) == 0 {
				return
			}
			again, err := p.ParseList(FormatAddressList(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("round trip via %q = %+v, %v", FormatAddressList(got), again, err)
			}
		})
	}
}

func TestAddressLimit(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("a@b, ", 20)
	p := AddressParser{Mode: Strict, MaxAddresses: 10}
	if _, err := p.ParseList(in); !errors.Is(err, ErrTooLong) {
		t.Errorf("list: err = %v", err)
	}
	if _, err := p.ParseList("g: " + strings.Repeat("a@b, ", 20) + ";"); !errors.Is(err, ErrTooLong) {
		t.Errorf("group: err = %v", err)
	}
	lenient := AddressParser{MaxAddresses: 10}
	if _, err := lenient.ParseList(strings.Repeat("a@b c@d, ", 10)); !errors.Is(err, ErrTooLong) {
		t.Errorf("lenient bare list: err = %v", err)
	}
	if got, err := p.ParseList(strings.Repeat("a@b, ", 10)); err != nil || len(got) != 10 {
		t.Errorf("at the limit: %d, %v", len(got), err)
	}
}

func TestAddressFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Address
		want string
	}{
		{Address{Addr: "a@b"}, "a@b"},
		{Address{Name: "Mary Smith", Addr: "a@b"}, "Mary Smith <a@b>"},
		{Address{Name: "Smith, Mary", Addr: "a@b"}, `"Smith, Mary" <a@b>`},
		{Address{Name: `Joe "Q" Public`, Addr: "a@b"}, `"Joe \"Q\" Public" <a@b>`},
		{Address{Name: "Jörg", Addr: "j@x"}, "=?utf-8?q?J=C3=B6rg?= <j@x>"},
		{Address{Name: "André Pirard", Addr: "j@x"}, "=?utf-8?q?Andr=C3=A9_Pirard?= <j@x>"},
		{Address{Name: "=?not an encoded word?=", Addr: "j@x"}, "=?utf-8?q?=3D=3Fnot_an_encoded_word=3F=3D?= <j@x>"},
		{Address{Name: "日本語の名前", Addr: "j@x"}, "=?utf-8?b?5pel5pys6Kqe44Gu5ZCN5YmN?= <j@x>"},
		{Address{Name: "g", Group: true}, "g:;"},
		{Address{Name: "A Group", Group: true, Members: []Address{{Addr: "a@b"}, {Name: "C", Addr: "c@d"}}}, "A Group: a@b, C <c@d>;"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseAddressList(tt.in.String())
		if err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], tt.in) {
			t.Errorf("parse of %q = %+v, %v", tt.in.String(), back, err)
		}
	}
}

func TestAddressParts(t *testing.T) {
	t.Parallel()
	a, err := ParseAddress(`"john doe"@example.com`)
	if err != nil {
		t.Fatal(err)
	}
	if a.LocalPart() != "john doe" || a.Domain() != "example.com" {
		t.Errorf("LocalPart %q Domain %q", a.LocalPart(), a.Domain())
	}
	a, _ = ParseAddress(`"a\"b"@x`)
	if a.LocalPart() != `a"b` {
		t.Errorf("LocalPart %q", a.LocalPart())
	}
	if (Address{Addr: "nodomain"}).Domain() != "" || (Address{Addr: "nodomain"}).LocalPart() != "nodomain" {
		t.Error("no-domain parts")
	}
	list := []Address{{Addr: "a@b"}, {Name: "g", Group: true, Members: []Address{{Addr: "c@d"}, {Addr: "e@f"}}}}
	if got := Mailboxes(list); len(got) != 3 || got[2].Addr != "e@f" {
		t.Errorf("Mailboxes = %+v", got)
	}
}

func TestHeaderAddressList(t *testing.T) {
	t.Parallel()
	m, err := ReadMessage(strings.NewReader("To: a@b\r\nCc: x@y\r\nTo: Joe <c@d>,\r\n e@f\r\n\r\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Header.AddressList("to")
	want := []Address{{Addr: "a@b"}, {Name: "Joe", Addr: "c@d"}, {Addr: "e@f"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("AddressList = %+v, %v", got, err)
	}
	if got, err := m.Header.AddressList("Bcc"); got != nil || err != nil {
		t.Errorf("missing field: %+v, %v", got, err)
	}
}
