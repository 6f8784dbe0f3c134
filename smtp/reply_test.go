package smtp

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseEnhancedCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    EnhancedCode
		wantErr bool
	}{
		{in: "2.0.0", want: EnhancedOK},
		{in: "5.1.1", want: EnhancedBadDestMailbox},
		{in: "5.7.30", want: EnhancedRequireTLS},
		{in: "4.999.999", want: NewEnhancedCode(4, 999, 999)},
		{in: "3.0.0", wantErr: true},
		{in: "5.1", wantErr: true},
		{in: "5.1.1.1", wantErr: true},
		{in: "5..1", wantErr: true},
		{in: "5.1000.1", wantErr: true},
		{in: "05.1.1", wantErr: true},
		{in: "5.1.x", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseEnhancedCode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseEnhancedCode(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestEnhancedCodeParts(t *testing.T) {
	t.Parallel()
	e := EnhancedEncryptionRequired
	if e.Class() != 5 || e.Subject() != 7 || e.Detail() != 11 || e.String() != "5.7.11" {
		t.Fatalf("got %d.%d.%d %q", e.Class(), e.Subject(), e.Detail(), e.String())
	}
	if got := EnhancedMailSystemPerm.WithClass(4); got != EnhancedMailSystemTemp {
		t.Fatalf("WithClass(4) = %v", got)
	}
	if EnhancedCode(0).String() != "" || EnhancedCode(0).IsSet() {
		t.Fatal("zero code must be unset")
	}
}

func TestReplyCodeClass(t *testing.T) {
	t.Parallel()
	if !CodeMailboxBusy.Temporary() || CodeMailboxBusy.Permanent() || !CodeMailboxUnavailable.Permanent() || !CodeStartMailInput.Positive() {
		t.Fatal("class predicates wrong")
	}
	for _, c := range []ReplyCode{199, 600, 260, 0} {
		if c.Valid() {
			t.Errorf("%d reported valid", c)
		}
	}
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *Reply
		wantErr error
	}{
		{name: "single", in: "250 OK\r\n", want: &Reply{Code: 250, Lines: []string{"OK"}}},
		{name: "enhanced", in: "550 5.1.1 No such user\r\n", want: &Reply{Code: 550, Enhanced: EnhancedBadDestMailbox, Lines: []string{"No such user"}}},
		{name: "multi", in: "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", want: &Reply{Code: 250, Lines: []string{"mx.example.org", "PIPELINING", "SIZE 1000"}}},
		{name: "multi enhanced", in: "451-4.3.0 first\r\n451 4.3.0 second\r\n", want: &Reply{Code: 451, Enhanced: EnhancedMailSystemTemp, Lines: []string{"first", "second"}}},
		{name: "class mismatch keeps text", in: "250 5.1.1 odd\r\n", want: &Reply{Code: 250, Lines: []string{"5.1.1 odd"}}},
		{name: "bare code", in: "354\n", want: &Reply{Code: 354, Lines: []string{""}}},
		{name: "code changes", in: "250-a\r\n251 b\r\n", wantErr: ErrMalformedReply},
		{name: "bad separator", in: "250+a\r\n", wantErr: ErrMalformedReply},
		{name: "bad code", in: "abc x\r\n", wantErr: ErrMalformedReply},
		{name: "out of range", in: "199 x\r\n", wantErr: ErrMalformedReply},
		{name: "short", in: "25\r\n", wantErr: ErrMalformedReply},
		{name: "too long", in: "250 " + strings.Repeat("x", 3000) + "\r\n", wantErr: ErrLineTooLong},
		{name: "too many lines", in: strings.Repeat("250-x\r\n", 200) + "250 x\r\n", wantErr: ErrMalformedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadReply(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestReplyRoundTrip(t *testing.T) {
	t.Parallel()
	r := &Reply{Code: 452, Enhanced: EnhancedTooManyRecipients, Lines: []string{"Too many", "recipients"}}
	s := r.String()
	if s != "452-4.5.3 Too many\r\n452 4.5.3 recipients\r\n" {
		t.Fatalf("String() = %q", s)
	}
	back, err := ReadReply(bufio.NewReader(strings.NewReader(s)))
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	var e *Error
	if !errors.As(back.Err(), &e) || !e.Temporary() || e.Message != "Too many\nrecipients" {
		t.Fatalf("Err() = %v", back.Err())
	}
	if (&Reply{Code: 250}).Err() != nil {
		t.Fatal("positive reply returned an error")
	}
}

func TestAppendReplyNoInjection(t *testing.T) {
	t.Parallel()
	got := string(AppendReply(nil, 550, EnhancedNotAuthorized, "a\r\nb"))
	if got != "550-5.7.1 a \r\n550 5.7.1 b\r\n" {
		t.Fatalf("got %q", got)
	}
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	err := error(&Error{Code: 550, Enhanced: EnhancedBadDestMailbox, Message: "no"})
	if !errors.Is(err, &Error{Code: 550}) || errors.Is(err, &Error{Code: 551}) || errors.Is(err, &Error{Code: 550, Enhanced: EnhancedNotAuthorized}) {
		t.Fatal("Is mismatch")
	}
	if got := err.Error(); got != "smtp: 550 5.1.1 no" {
		t.Fatalf("Error() = %q", got)
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add("250-a\r\n250 5.0.0 b\r\n")
	f.Add("550 5.1.1\n")
	f.Add("2")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ReadReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if !r.Code.Valid() || len(r.Lines) == 0 {
			t.Fatalf("invalid reply accepted: %+v", r)
		}
		back, err := ReadReply(bufio.NewReader(strings.NewReader(r.String())))
		if err != nil || back.Code != r.Code || len(back.Lines) != len(r.Lines) {
			t.Fatalf("reformatted reply %q does not read back: %+v %v", r.String(), back, err)
		}
	})
}

func FuzzParseEnhancedCode(f *testing.F) {
	f.Add("5.7.1")
	f.Add("4.999.0")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseEnhancedCode(s)
		if err != nil {
			return
		}
		back, err := ParseEnhancedCode(c.String())
		if !c.Valid() || err != nil || back != c {
			t.Fatalf("%q parsed to %v, which reads back as %v, %v", s, c, back, err)
		}
	})
}
