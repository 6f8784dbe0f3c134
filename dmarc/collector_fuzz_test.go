package dmarc

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"
)

// FuzzCollectorLog reads arbitrary bytes as a collector log: it never
// panics, holds no more than the bounds allow, returns an offset at a line
// boundary, and what it read makes reports that encode. The seeds are a
// real log, written by a Collector, and pieces of it.
func FuzzCollectorLog(f *testing.F) {
	dir := f.TempDir()
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	now := day.Add(time.Hour)
	c, err := OpenCollector(dir, &CollectorOptions{Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	rec, err := ParseRecord("v=DMARC1; p=reject; rua=mailto:dmarc@example.com!10m", nil)
	if err != nil {
		f.Fatal(err)
	}
	pol := Policy{FromDomain: "example.com", OrgDomain: "example.com", Domain: "example.com", Record: rec}
	for i, a := range []Args{
		{From: "example.com", DKIM: []DKIMResult{{Domain: "example.com", Selector: "s", Status: DKIMPass}}},
		{From: "example.com"},
		{From: "example.com"},
	} {
		if _, err := c.Add(netipAddr(i), a, EvaluatePolicy(pol, a)); err != nil {
			f.Fatal(err)
		}
	}
	c.Close()
	var buf bytes.Buffer
	if err := readFileTo(&buf, c.logPath(day)); err != nil {
		f.Fatal(err)
	}
	seed := buf.Bytes()
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(append(append([]byte{}, seed...), seed...))
	f.Add([]byte("00000000 X\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{ReportRows: 4, ReportDomains: 3}.withDefaults()
		st := newLogState(lim, 6)
		off, err := st.read(bufio.NewReaderSize(bytes.NewReader(data), maxLogLine+64))
		if err != nil {
			t.Fatal(err)
		}
		if off < 0 || off > int64(len(data)) || off > 0 && data[off-1] != '\n' {
			t.Fatalf("offset %d of %d not after a line end", off, len(data))
		}
		if len(st.domains) > 3 || len(st.keys) > 6 || len(st.rows) > 6 {
			t.Fatalf("%d domains, %d rows, %d sequence numbers beyond the bounds", len(st.domains), len(st.keys), len(st.rows))
		}
		for _, d := range st.domains {
			if len(d.records) > 4 {
				t.Fatalf("%d rows in a domain", len(d.records))
			}
		}
		for _, r := range buildReports(reportMeta{"o", "e@x.example", "", "x.example"}, st.domains, st.order, day, day.Add(time.Hour)) {
			if err := r.WriteXML(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func netipAddr(i int) netip.Addr {
	return netip.MustParseAddr("192.0.2." + strconv.Itoa(i+1))
}

func readFileTo(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
