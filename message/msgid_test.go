package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMessageID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"<1234@local.machine.example>", "1234@local.machine.example", false},
		{"  <abc.def@[127.0.0.1]>  ", "abc.def@[127.0.0.1]", false},
		{"<1234   @   local(blah)  .machine .example>", "1234@local.machine.example", false},
		{`<"quoted id"@example>`, `"quoted id"@example`, false},
		{"(comment) <a@b> (c)", "a@b", false},
		{"<a@b", "", true},
		{"a@b", "", true},
		{"<ab>", "", true},
		{"<a@b> <c@d>", "", true},
		{"", "", true},
		{"<@b>", "", true},
	}
	for _, tt := range tests {
		got, err := ParseMessageID(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMessageID(%q) = %q, %v", tt.in, got, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v is not an *Error wrapping ErrSyntax", err)
			}
			continue
		}
		if again, err := ParseMessageID(FormatMessageID(got)); err != nil || again != got {
			t.Errorf("round trip of %q: %q, %v", got, again, err)
		}
	}
}

func TestParseMessageIDList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"<a@b> <c@d>\r\n <e@f>", []string{"a@b", "c@d", "e@f"}, false},
		{"<a@b>,<c@d>", []string{"a@b", "c@d"}, false},
		{`Your message of "Mon, 1 Jan" <a@b>`, []string{"a@b"}, false},
		{"<11107978796724623>", []string{"11107978796724623"}, false},
		{"<baz@bar.net>, <invalid.   something@bar.net>", []string{"baz@bar.net", "invalid.something@bar.net"}, false},
		{"", nil, false},
		{"no ids here", nil, false},
		{"<>", nil, false},
		{"<a@b> <c@d", []string{"a@b"}, true},
	}
	for _, tt := range tests {
		got, err := ParseMessageIDList(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMessageIDList(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestGenerateMessageID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id, err := GenerateMessageID("mail.example.com")
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
		if !strings.HasSuffix(id, "@mail.example.com") || len(id) != 26+len("@mail.example.com") {
			t.Fatalf("id %q", id)
		}
		if got, err := ParseMessageID(FormatMessageID(id)); err != nil || got != id {
			t.Fatalf("generated id does not parse: %q, %v", got, err)
		}
	}
	for _, bad := range []string{"", "a b", "a..b", "<x>", "a@b"} {
		if _, err := GenerateMessageID(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("GenerateMessageID(%q) err = %v", bad, err)
		}
	}
}

func TestHeaderMessageIDs(t *testing.T) {
	t.Parallel()
	m, err := ReadMessage(strings.NewReader("Message-Id: <x@y>\nReferences: <a@b>\n <c@d>\nIn-Reply-To: <c@d>\n\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := m.Header.MessageID(); err != nil || id != "x@y" {
		t.Errorf("MessageID = %q, %v", id, err)
	}
	if ids, err := m.Header.MessageIDList("references"); err != nil || !reflect.DeepEqual(ids, []string{"a@b", "c@d"}) {
		t.Errorf("References = %q, %v", ids, err)
	}
	var empty Header
	if id, err := empty.MessageID(); id != "" || err != nil {
		t.Errorf("missing Message-ID: %q, %v", id, err)
	}
	if ids, err := empty.MessageIDList("References"); ids != nil || err != nil {
		t.Errorf("missing References: %q, %v", ids, err)
	}
}
