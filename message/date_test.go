package message

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string // FormatDate of the result
		wantErr error
	}{
		{"rfc 5322", "Fri, 21 Nov 1997 09:55:06 -0600", "Fri, 21 Nov 1997 09:55:06 -0600", nil},
		{"no day name", "21 Nov 1997 09:55:06 +0000", "Fri, 21 Nov 1997 09:55:06 +0000", nil},
		{"no seconds", "Fri, 21 Nov 1997 09:55 -0600", "Fri, 21 Nov 1997 09:55:00 -0600", nil},
		{"one digit day and hour", "Fri, 1 Nov 1997 9:05:06 +0100", "Sat, 01 Nov 1997 09:05:06 +0100", nil},
		{"minus zero", "Fri, 21 Nov 1997 09:55:06 -0000", "Fri, 21 Nov 1997 09:55:06 -0000", nil},
		{"appendix A.6.3 obsolete", "Fri, 21 Nov 1997 09(comment):   55  :  06 -0600", "Fri, 21 Nov 1997 09:55:06 -0600", nil},
		{"two digit year 97", "21 Nov 97 09:55:06 GMT", "Fri, 21 Nov 1997 09:55:06 +0000", nil},
		{"two digit year 03", "Thu, 13 Feb 03 23:32:00 -0330", "Thu, 13 Feb 2003 23:32:00 -0330", nil},
		{"three digit year", "13 Feb 103 23:32 +0000", "Thu, 13 Feb 2003 23:32:00 +0000", nil},
		{"obs zone EST", "Thu, 13 Feb 1969 23:32 EST", "Thu, 13 Feb 1969 23:32:00 -0500", nil},
		{"obs zone PDT", "Thu, 13 Feb 1969 23:32 pdt", "Thu, 13 Feb 1969 23:32:00 -0700", nil},
		{"obs zone UT", "Thu, 13 Feb 1969 23:32 UT", "Thu, 13 Feb 1969 23:32:00 +0000", nil},
		{"military zone is -0000", "Thu, 13 Feb 1969 23:32 Q", "Thu, 13 Feb 1969 23:32:00 -0000", nil},
		{"unknown zone name", "Thu, 13 Feb 1969 23:32 CEST", "Thu, 13 Feb 1969 23:32:00 -0000", nil},
		{"no zone", "Thu, 13 Feb 1969 23:32:00", "Thu, 13 Feb 1969 23:32:00 -0000", nil},
		{"comment after zone", "Mon, 22 Oct 2007 23:45:23 +0000 (UTC)", "Mon, 22 Oct 2007 23:45:23 +0000", nil},
		{"word after zone", "Tue, 1 Jul 2003 10:52:37 +0200 CEST", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"no comma", "Tue 1 Jul 2003 10:52:37 +0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"full names", "Tuesday, 1 July 2003 10:52:37 +0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"wrong day name ignored", "Mon, 1 Jul 2003 10:52:37 +0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"GMT offset", "Tue, 1 Jul 2003 10:52:37 GMT+0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"colon offset", "Tue, 1 Jul 2003 10:52:37 +02:00", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"unsigned offset", "Tue, 1 Jul 2003 10:52:37 0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"hyphenated date", "1-Jul-2003 10:52:37 +0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"asctime", "Tue Jul  1 10:52:37 2003", "Tue, 01 Jul 2003 10:52:37 -0000", nil},
		{"date(1) style", "Tue Jul  1 10:52:37 CEST 2003", "Tue, 01 Jul 2003 10:52:37 -0000", nil},
		{"asctime with zone", "Tue Jul 1 10:52:37 2003 +0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"iso 8601", "2003-07-01T10:52:37Z", "Tue, 01 Jul 2003 10:52:37 +0000", nil},
		{"iso 8601 offset", "2003-07-01T10:52:37+02:00", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"fractional seconds", "Tue, 1 Jul 2003 10:52:37.25 +0200", "Tue, 01 Jul 2003 10:52:37 +0200", nil},
		{"leap second", "Wed, 31 Dec 2008 23:59:60 +0000", "Wed, 31 Dec 2008 23:59:59 +0000", nil},
		{"leading zero day", "Tue, 029 Apr 2019 23:34:45 -0800 (PST)", "Mon, 29 Apr 2019 23:34:45 -0800", nil},
		{"odd offset", "Tue, 04 Dec 2001 17:11:25 -0459", "Tue, 04 Dec 2001 17:11:25 -0459", nil},
		{"empty", "", "", ErrSyntax},
		{"garbage", "<HR>", "", ErrSyntax},
		{"no time", "Fri, 21 Nov 1997", "", ErrSyntax},
		{"bad month", "Fri, 21 Nob 1997 09:55:06 -0600", "", ErrSyntax},
		{"day out of range", "31 Apr 1997 09:55:06 -0600", "", ErrSyntax},
		{"feb 29 non leap", "29 Feb 1997 09:55:06 -0600", "", ErrSyntax},
		{"hour 24", "21 Nov 1997 24:00:00 -0600", "", ErrSyntax},
		{"minute 60", "21 Nov 1997 23:60:00 -0600", "", ErrSyntax},
		{"zone minutes 60", "21 Nov 1997 23:00:00 -0660", "", ErrSyntax},
		{"bad hour in date", "Wed, 15 Dec 2010    59:10 -0500", "", ErrSyntax},
		{"unterminated comment", "21 Nov 1997 23:00:00 (x", "", ErrSyntax},
		{"too long", strings.Repeat(" ", 300) + "21 Nov 1997 23:00:00", "", ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDate(tt.in)
			if tt.wantErr != nil {
				var e *Error
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &e) {
					t.Fatalf("ParseDate(%q) = %v, %v; want *Error wrapping %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tt.in, err)
			}
			if s := FormatDate(got); s != tt.want {
				t.Fatalf("ParseDate(%q) = %s, want %s", tt.in, s, tt.want)
			}
			again, err := ParseDate(FormatDate(got))
			if err != nil || !again.Equal(got.Truncate(time.Second)) || FormatDate(again) != tt.want {
				t.Errorf("round trip: %v, %v", again, err)
			}
		})
	}
}

func TestFormatDate(t *testing.T) {
	t.Parallel()
	tm := time.Date(2024, 2, 29, 8, 5, 3, 0, time.FixedZone("X", -(3*3600+30*60)))
	if got := FormatDate(tm); got != "Thu, 29 Feb 2024 08:05:03 -0330" {
		t.Errorf("FormatDate = %q", got)
	}
	if got := FormatDate(tm.UTC()); got != "Thu, 29 Feb 2024 11:35:03 +0000" {
		t.Errorf("FormatDate UTC = %q", got)
	}
}

func TestHeaderDate(t *testing.T) {
	t.Parallel()
	m, err := ReadMessage(strings.NewReader("Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n\r\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.Header.Date()
	if err != nil || d.Unix() != 880127706 {
		t.Errorf("Date = %v (%d), %v", d, d.Unix(), err)
	}
	var empty Header
	if _, err := empty.Date(); !errors.Is(err, ErrSyntax) {
		t.Errorf("missing Date: %v", err)
	}
}
