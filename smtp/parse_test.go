package smtp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		verb     string
		arg      string
		wantCode ReplyCode
	}{
		{in: "EHLO example.org", verb: "EHLO", arg: "example.org"},
		{in: "mail FROM:<a@b>", verb: "MAIL", arg: "FROM:<a@b>"},
		{in: "QUIT", verb: "QUIT"},
		{in: "x-custom arg", verb: "X-CUSTOM", arg: "arg"},
		{in: "NOOP\ttab", wantCode: CodeSyntaxError},
		{in: "", wantCode: CodeSyntaxError},
		{in: " NOOP", wantCode: CodeSyntaxError},
		{in: "NO\x00OP", wantCode: CodeSyntaxError},
		{in: "NOOP\r", wantCode: CodeSyntaxError},
		{in: "ÉHLO x", wantCode: CodeSyntaxError},
		{in: strings.Repeat("A", MaxVerbLength+1), wantCode: CodeSyntaxError},
	}
	for _, tt := range tests {
		got, err := ParseCommand(tt.in)
		if tt.wantCode != 0 {
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Errorf("ParseCommand(%q) = %+v, %v; want code %d", tt.in, got, err, tt.wantCode)
			}
			continue
		}
		if err != nil || got.Verb != tt.verb || got.Arg != tt.arg {
			t.Errorf("ParseCommand(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		utf8    bool
		want    Path
		wantErr EnhancedCode
	}{
		{name: "simple", in: "<a@example.org>", want: Path{"a", "example.org"}},
		{name: "null", in: "<>", want: Path{}},
		{name: "postmaster", in: "<Postmaster>", want: Path{"Postmaster", ""}},
		{name: "quoted", in: `<"john \"q\" doe"@example.org>`, want: Path{`john "q" doe`, "example.org"}},
		{name: "quoted at", in: `<"a@b"@example.org>`, want: Path{"a@b", "example.org"}},
		{name: "route", in: "<@a.example,@b.example:u@c.example>", want: Path{"u", "c.example"}},
		{name: "ipv4 literal", in: "<u@[192.0.2.1]>", want: Path{"u", "[192.0.2.1]"}},
		{name: "ipv6 literal", in: "<u@[IPv6:2001:db8::1]>", want: Path{"u", "[IPv6:2001:db8::1]"}},
		{name: "general literal", in: "<u@[x-tag:abc]>", want: Path{"u", "[x-tag:abc]"}},
		// Found by FuzzParseMail: "@" is dcontent in a general address
		// literal, so the mailbox splits at the first "@", not the last.
		{name: "general literal with at", in: "<u@[0:@]>", want: Path{"u", "[0:@]"}},
		{name: "quoted local, literal with at", in: `<"0"@[0:@]>`, want: Path{"0", "[0:@]"}},
		{name: "atext", in: "<a.b+c_d-e'f!#$%&*/=?^`{|}~@example.org>", want: Path{"a.b+c_d-e'f!#$%&*/=?^`{|}~", "example.org"}},
		{name: "utf8", in: "<用户@例子.广告>", utf8: true, want: Path{"用户", "例子.广告"}},
		{name: "utf8 refused", in: "<用户@例子.广告>", wantErr: EnhancedNonASCIIAddress},
		{name: "no brackets", in: "a@example.org", wantErr: EnhancedBadDestSyntax},
		{name: "double dot", in: "<a..b@example.org>", wantErr: EnhancedBadDestSyntax},
		{name: "leading dot", in: "<.a@example.org>", wantErr: EnhancedBadDestSyntax},
		{name: "no domain", in: "<a@>", wantErr: EnhancedBadDestSyntax},
		{name: "bad domain", in: "<a@exa_mple.org>", wantErr: EnhancedBadDestSyntax},
		{name: "empty label", in: "<a@example..org>", wantErr: EnhancedBadDestSyntax},
		{name: "long label", in: "<a@" + strings.Repeat("x", 64) + ".org>", wantErr: EnhancedBadDestSyntax},
		{name: "long local", in: "<" + strings.Repeat("x", 65) + "@example.org>", wantErr: EnhancedBadDestSyntax},
		{name: "long path", in: "<a@" + strings.Repeat("abcdefghi.", 26) + "org>", wantErr: EnhancedBadDestSyntax},
		{name: "bad ipv4", in: "<a@[300.1.1.1]>", wantErr: EnhancedBadDestSyntax},
		{name: "ipv4 in ipv6 tag", in: "<a@[IPv6:192.0.2.1]>", wantErr: EnhancedBadDestSyntax},
		{name: "control", in: "<a\x01@example.org>", wantErr: EnhancedBadDestSyntax},
		{name: "space", in: "<a b@example.org>", wantErr: EnhancedBadDestSyntax},
		{name: "trailing", in: "<a@example.org>x", wantErr: EnhancedBadDestSyntax},
		{name: "bad route", in: "<@:a@example.org>", wantErr: EnhancedBadDestSyntax},
		// Found by FuzzParseMail: a route with nothing after it.
		{name: "route only", in: "<@a.example:>", wantErr: EnhancedBadDestSyntax},
		{name: "unterminated quote", in: `<"abc@example.org>`, wantErr: EnhancedBadDestSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePath(tt.in, tt.utf8)
			if tt.wantErr != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Enhanced != tt.wantErr {
					t.Fatalf("got %+v, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			// Round trip.
			back, err := ParsePath(got.String(), tt.utf8)
			if err != nil || back != got {
				t.Fatalf("round trip of %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func TestParseMailRcpt(t *testing.T) {
	t.Parallel()
	from, opts, err := ParseMail("FROM:<a@example.org> size=100 body=binarymime SMTPUTF8 REQUIRETLS RET=FULL ENVID=x+2By AUTH=<>")
	want := MailOptions{Size: 100, Body: BodyBinaryMIME, UTF8: true, RequireTLS: true, Return: ReturnFull, EnvelopeID: "x+y", Auth: "<>"}
	if err != nil || from != (Path{"a", "example.org"}) || opts != want {
		t.Fatalf("ParseMail: %+v %+v %v", from, opts, err)
	}
	to, ropts, err := ParseRcpt("TO:<b@example.org> NOTIFY=never ORCPT=RFC822;b@example.org", false)
	if err != nil || to != (Path{"b", "example.org"}) || ropts.Notify != NotifyNever || ropts.OriginalRecipientType != "rfc822" {
		t.Fatalf("ParseRcpt: %+v %+v %v", to, ropts, err)
	}
	for _, bad := range []string{
		"FROM:<a@example.org>SIZE=1",
		"FROM:<a@example.org> SIZE=",
		"FROM:<a@example.org> SIZE=-1",
		"FROM:<a@example.org> SIZE=+1",
		"FROM:<a@example.org> =x",
		"FROM:<a@example.org> ENVID=a=b",
		"FROM:<a@example.org> ENVID=" + strings.Repeat("x", 101),
		"FROM:<a@example.org> RET=SOME",
		"FROM:<a@example.org>" + strings.Repeat(" X-P", 17),
		"FROM:<postmaster>",
	} {
		if _, _, err := ParseMail(bad); err == nil {
			t.Errorf("ParseMail(%q) succeeded", bad)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"EHLO x", "mail FROM:<a@b> SIZE=1", "", "\x00", "BDAT 10 LAST"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := ParseCommand(line)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !e.Code.Permanent() {
				t.Fatalf("error %v is not a permanent *Error", err)
			}
			return
		}
		if cmd.Verb == "" || len(cmd.Verb) > MaxVerbLength || strings.ToUpper(cmd.Verb) != cmd.Verb {
			t.Fatalf("bad verb %q", cmd.Verb)
		}
	})
}

func FuzzParseMail(f *testing.F) {
	for _, s := range []string{
		"FROM:<a@example.org>", "FROM:<> SIZE=10 BODY=8BITMIME", `FROM:<"q\"x"@[IPv6:::1]> SMTPUTF8`,
		"FROM: <@a,@b:c@d> RET=HDRS ENVID=+41", "FROM:<用户@例子.广告> SMTPUTF8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		p, opts, err := ParseMail(arg)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !e.Code.Permanent() {
				t.Fatalf("error %v is not a permanent *Error", err)
			}
			return
		}
		if !opts.UTF8 && !p.IsASCII() {
			t.Fatalf("UTF-8 path %q accepted without SMTPUTF8", p)
		}
		if len(p.Local) > MaxLocalPartLength || len(p.Domain) > MaxDomainLength {
			t.Fatalf("path over limits: %q", p)
		}
		back, err := ParsePath(p.String(), opts.UTF8)
		if err != nil || back != p {
			t.Fatalf("%q does not round-trip: %+v %v", p.String(), back, err)
		}
	})
}

func FuzzParseRcpt(f *testing.F) {
	for _, s := range []string{"TO:<a@example.org>", "TO:<Postmaster> NOTIFY=SUCCESS,DELAY", "TO:<a@b> ORCPT=rfc822;a+40b"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, arg string, utf8 bool) {
		p, opts, err := ParseRcpt(arg, utf8)
		if err != nil {
			return
		}
		if p.IsNull() {
			t.Fatal("null recipient accepted")
		}
		if opts.Notify&NotifyNever != 0 && opts.Notify != NotifyNever {
			t.Fatalf("NOTIFY %v", opts.Notify)
		}
		if !utf8 && !p.IsASCII() {
			t.Fatalf("UTF-8 path %q accepted", p)
		}
	})
}
