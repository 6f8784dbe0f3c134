package maildir

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseUIDList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		validity uint32
		next     uint32
		recs     []uidRecord
		consumed int
		wantErr  bool
	}{
		{name: "dovecot appended, N lags", in: "3 V1795463749 N1 Gb9b77718439a046baf58000083ecc375\n1 :1.M4P2.vm,S=18,W=21\n2 :2.M5P2.vm,S=19,W=22\n",
			validity: 1795463749, next: 3, recs: []uidRecord{{1, "", "1.M4P2.vm,S=18,W=21"}, {2, "", "2.M5P2.vm,S=19,W=22"}}},
		{name: "extensions", in: "3 V5 N10 Gab X1\n4 W12 S10 :a\n9 :b:2,S\n",
			validity: 5, next: 10, recs: []uidRecord{{4, "W12 S10", "a"}, {9, "", "b"}}},
		{name: "partial last line left", in: "3 V5 N1\n1 :a\n2 :b", validity: 5, next: 2, recs: []uidRecord{{1, "", "a"}}, consumed: len("3 V5 N1\n1 :a\n")},
		{name: "version 1", in: "1 7 3\n1 a\n2 b\n", validity: 7, next: 3, recs: []uidRecord{{1, "", "a"}, {2, "", "b"}}},
		{name: "empty list", in: "3 V1 N1\n", validity: 1, next: 1},
		{name: "no header", in: "", wantErr: true},
		{name: "bad version", in: "2 V1 N1\n", wantErr: true},
		{name: "no validity", in: "3 N4\n", wantErr: true},
		{name: "zero validity", in: "3 V0 N4\n", wantErr: true},
		{name: "out of order", in: "3 V1\n2 :a\n1 :b\n", wantErr: true},
		{name: "duplicate name", in: "3 V1\n1 :a\n2 :a:2,S\n", wantErr: true},
		{name: "zero uid", in: "3 V1\n0 :a\n", wantErr: true},
		{name: "no colon", in: "3 V1\n1 a\n", wantErr: true},
		{name: "slash in name", in: "3 V1\n1 :../etc\n", wantErr: true},
		{name: "bad ext", in: "3 V1\n1 x1 :a\n", wantErr: true},
		{name: "uid overflow", in: "3 V1\n4294967296 :a\n", wantErr: true},
		{name: "bad guid", in: "3 V1 Gxyz\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, n, err := parseUIDList([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.uidValidity != tt.validity || l.next() != tt.next {
				t.Errorf("V=%d next=%d, want %d %d", l.uidValidity, l.next(), tt.validity, tt.next)
			}
			if len(l.records) != len(tt.recs) {
				t.Fatalf("records = %+v, want %+v", l.records, tt.recs)
			}
			for i := range tt.recs {
				if l.records[i] != tt.recs[i] {
					t.Errorf("record %d = %+v, want %+v", i, l.records[i], tt.recs[i])
				}
			}
			want := tt.consumed
			if want == 0 {
				want = len(tt.in)
			}
			if n != want {
				t.Errorf("consumed %d, want %d", n, want)
			}
		})
	}
}

func TestFormatUIDList(t *testing.T) {
	t.Parallel()
	l := &uidList{version: 3, uidValidity: 42, nextUID: 1, guid: "00ff", headerExt: []string{"X9"},
		records: []uidRecord{{3, "", "a,S=1"}, {7, "W5 S4", "b"}}}
	got := string(l.format())
	want := "3 V42 N8 G00ff X9\n3 :a,S=1\n7 W5 S4 :b\n"
	if got != want {
		t.Fatalf("format = %q, want %q", got, want)
	}
	back, _, err := parseUIDList([]byte(got))
	if err != nil || !bytes.Equal(back.format(), []byte(got)) {
		t.Fatalf("round trip: %v %q", err, back.format())
	}
}

// FuzzParseUIDList checks that the parser never panics, that accepted lists
// hold ascending non-zero UIDs with unique names, and that writing one and
// reading it back gives the same list.
func FuzzParseUIDList(f *testing.F) {
	for _, s := range []string{
		"3 V1795463749 N1 Gb9b77718439a046baf58000083ecc375\n1 :1.M4P2.vm,S=18,W=21\n2 :b\n",
		"3 V5 N10 Gab X1\n4 W12 S10 :a\n9 :b:2,S\n", "1 7 3\n1 a\n2 b\n", "3 V1\n1 :a\n2 :a", "3 V1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, n, err := parseUIDList(data)
		if err != nil {
			return
		}
		if n > len(data) {
			t.Fatalf("consumed %d of %d", n, len(data))
		}
		seen := map[string]bool{}
		var last uint32
		for _, r := range l.records {
			if r.uid <= last || seen[r.base] {
				t.Fatalf("bad record %+v", r)
			}
			last = r.uid
			seen[r.base] = true
		}
		out := l.format()
		l2, n2, err := parseUIDList(out)
		if err != nil || n2 != len(out) {
			t.Fatalf("reparse of %q: %v (%d)", out, err, n2)
		}
		if !bytes.Equal(l2.format(), out) || l2.next() != l.next() {
			t.Fatalf("round trip differs: %q vs %q", l2.format(), out)
		}
	})
}

func TestParseKeywords(t *testing.T) {
	t.Parallel()
	kw, err := parseKeywords([]byte("0 $Junk\n1 Work\n\n3 $Label1\n"))
	if err != nil || kw[0] != "$Junk" || kw[1] != "Work" || kw[2] != "" || kw[3] != "$Label1" {
		t.Fatalf("parseKeywords = %q, %v", kw[:4], err)
	}
	if got := string(formatKeywords(kw)); got != "0 $Junk\n1 Work\n3 $Label1\n" {
		t.Errorf("formatKeywords = %q", got)
	}
	for _, bad := range []string{"26 x\n", "-1 x\n", "a x\n", "0\n", "0 a b\n", "0 \\Seen\n"} {
		if _, err := parseKeywords([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseKeywords(%q) err = %v", bad, err)
		}
	}
	letters, missing := lookupKeywords(kw, []string{"work", "$junk", "New", "new"})
	if letters != "ab" || len(missing) != 1 || missing[0] != "New" {
		t.Errorf("lookupKeywords = %q %q", letters, missing)
	}
}

func TestParseSubscriptions(t *testing.T) {
	t.Parallel()
	// The file Dovecot 2.3 wrote after SUBSCRIBE Foo.Bar and &AOk-t&AOk-.
	names, err := parseSubscriptions([]byte("V\t2\n\nFoo\tBar\n&AOk-t&AOk-\n"))
	if err != nil || len(names) != 2 || names[0] != "Foo.Bar" || names[1] != "été" {
		t.Fatalf("parseSubscriptions = %q, %v", names, err)
	}
	v1, err := parseSubscriptions([]byte("INBOX\nA.B\n"))
	if err != nil || len(v1) != 2 || v1[1] != "A.B" {
		t.Fatalf("version 1 = %q, %v", v1, err)
	}
	out, err := formatSubscriptions([]string{"Foo.Bar", "été"})
	if err != nil || string(out) != "V\t2\n\nFoo\tBar\n&AOk-t&AOk-\n" {
		t.Fatalf("formatSubscriptions = %q, %v", out, err)
	}
	if _, err := parseSubscriptions([]byte("V\t2\n\na\x01x\n")); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad escape err = %v", err)
	}
}

func TestParseMaildirsize(t *testing.T) {
	t.Parallel()
	q, b, c, err := parseMaildirsize([]byte("1000S,10C\n300 3\n-100 -1\n"))
	if err != nil || q != (Quota{1000, 10}) || b != 200 || c != 2 {
		t.Fatalf("= %+v %d %d %v", q, b, c, err)
	}
	for _, bad := range []string{"", "10X\n", "S\n", "10S\n1\n", "10S\na b\n"} {
		if _, _, _, err := parseMaildirsize([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}
