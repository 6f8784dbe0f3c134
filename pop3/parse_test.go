package pop3_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/heraldmail/herald/pop3"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    pop3.Command
		wantErr bool
	}{
		{"verb", "STAT", pop3.Command{Verb: "STAT"}, false},
		{"lower case", "retr 1", pop3.Command{Verb: "RETR", Args: []string{"1"}}, false},
		{"two args", "TOP 1 10", pop3.Command{Verb: "TOP", Args: []string{"1", "10"}}, false},
		{"pass keeps spaces", "PASS my secret  pw", pop3.Command{Verb: "PASS", Args: []string{"my secret  pw"}}, false},
		{"empty pass", "PASS ", pop3.Command{Verb: "PASS", Args: []string{""}}, false},
		{"three letters", "TOP", pop3.Command{Verb: "TOP"}, false},
		{"empty", "", pop3.Command{}, true},
		{"short", "AB", pop3.Command{}, true},
		{"long", "STATUS", pop3.Command{}, true},
		{"double space", "TOP 1  2", pop3.Command{}, true},
		{"trailing space", "STAT ", pop3.Command{}, true},
		{"control in verb", "ST\x01T", pop3.Command{}, true},
		{"NUL in arg", "USER a\x00b", pop3.Command{}, true},
		{"CR in arg", "USER a\rb", pop3.Command{}, true},
		{"8bit verb", "ST\xc3\xa4", pop3.Command{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pop3.ParseCommand(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, pop3.ErrSyntax) {
				t.Errorf("err %v is not ErrSyntax", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    pop3.Response
		wantErr bool
	}{
		{"ok", "+OK", pop3.Response{OK: true}, false},
		{"ok text", "+OK 2 320", pop3.Response{OK: true, Text: "2 320"}, false},
		{"err code", "-ERR [IN-USE] locked", pop3.Response{Code: pop3.CodeInUse, Text: "locked"}, false},
		{"err sys/temp", "-ERR [SYS/TEMP]", pop3.Response{Code: pop3.CodeSysTemp}, false},
		{"ok with code", "+OK [XYZ] fine", pop3.Response{OK: true, Code: "XYZ", Text: "fine"}, false},
		{"bracket text", "-ERR [not a code", pop3.Response{Text: "[not a code"}, false},
		{"empty code", "-ERR [] x", pop3.Response{Text: "[] x"}, false},
		{"bad code", "-ERR [A//B] x", pop3.Response{Text: "[A//B] x"}, false},
		{"lower case", "+ok", pop3.Response{}, true},
		{"no space", "+OKAY", pop3.Response{}, true},
		{"garbage", "hello", pop3.Response{}, true},
		{"empty", "", pop3.Response{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pop3.ParseResponse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, pop3.ErrProtocol) {
				t.Errorf("err %v is not ErrProtocol", err)
			}
			if got != tt.want {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
			if err == nil && tt.want.Code != "" {
				// Round trip.
				if again, _ := pop3.ParseResponse(got.String()); again != got {
					t.Errorf("round trip %q gave %#v", got.String(), again)
				}
			}
		})
	}
}

func TestValidUID(t *testing.T) {
	t.Parallel()
	long := string(make([]byte, 71))
	for i, tt := range []struct {
		in   string
		want bool
	}{
		{"m1", true},
		{"!~", true},
		{"QhdPYR:00WBw1Ph7x7", true},
		{"", false},
		{"a b", false},
		{"\x7f", false},
		{"ä", false},
		{long, false},
		{string(make([]byte, 70)), false},
	} {
		if got := pop3.ValidUID(tt.in); got != tt.want {
			t.Errorf("%d: ValidUID(%q) = %v", i, tt.in, got)
		}
	}
}
