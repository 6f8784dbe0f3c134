package imap

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzQuotaArgs feeds GETQUOTA, GETQUOTAROOT and SETQUOTA commands to the
// parser: no panic, and an accepted SETQUOTA has at most the item limit
// of resources, each a name and a number.
func FuzzQuotaArgs(f *testing.F) {
	for _, s := range []string{
		`a GETQUOTA ""`, "a GETQUOTAROOT INBOX", `a SETQUOTA "" (STORAGE 512 MESSAGE 100)`,
		`a SETQUOTA "" ()`, `a SETQUOTA {1+}` + "\r\nx (STORAGE 1)", "a GETQUOTAROOT {3}\r\nabc",
		`a SETQUOTA "" (STORAGE)`, "a GETQUOTA",
	} {
		f.Add([]byte(s + "\r\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDecoder(bufio.NewReaderSize(bytes.NewReader(data), 64), fuzzLimits, func(int64) error { return nil })
		cmd, err := d.readCommand()
		if err != nil || cmd.name != "SETQUOTA" {
			return
		}
		if len(cmd.caps) > fuzzLimits.items {
			t.Fatalf("%d resources", len(cmd.caps))
		}
		for _, r := range cmd.caps {
			if name, n, ok := strings.Cut(r, " "); !ok || name == "" || n == "" {
				t.Fatalf("resource %q", r)
			}
		}
	})
}
