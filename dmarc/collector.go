package dmarc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxCollectorRows bounds the distinct rows a [Collector] holds for
// one period, all policy domains together.
const DefaultMaxCollectorRows = 100000

// maxLogLine is the longest entry of a collector log. A row is at most
// about 9 KiB: DefaultMaxDKIMResults results of a 253-octet domain and
// selector, and a few more domains.
const maxLogLine = 16 << 10

// logMagic heads every collector log.
const logMagic = "herald-dmarc-log 1"

// CollectorOptions configure a [Collector]. The zero value of each field
// means its documented default.
type CollectorOptions struct {
	// OrgName, Email, ExtraContactInfo and Receiver are the report
	// metadata, as in [Aggregator].
	OrgName, Email, ExtraContactInfo, Receiver string
	// Limits bounds the rows per policy domain (ReportRows), the
	// policy domains (ReportDomains) and the DKIM results per row.
	Limits Limits
	// MaxRows bounds the rows of a period, all domains together;
	// 0 means DefaultMaxCollectorRows.
	MaxRows int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives what the collector drops or cannot write; nil
	// means none.
	Logger *slog.Logger
}

// Collector records DMARC evaluations for aggregate reports (RFC 7489
// section 7.2) over reporting periods of one UTC day, and keeps them in a
// directory so that a restart loses nothing.
//
// Each evaluation of a message whose policy asks for aggregate reports
// (rua=) becomes a row of the report of its policy domain: the source IP,
// the disposition, the aligned DKIM and SPF verdicts, the header From
// domain and the DKIM and SPF results with their domains; identical rows
// are counted, not repeated. What it holds is bounded: Limits.ReportRows
// rows per policy domain, Limits.ReportDomains domains, and MaxRows rows in
// all. A message that would add a row beyond a domain's or the total
// bound is counted in that domain's report as an <error> ("N messages not
// reported"); a message for a domain beyond Limits.ReportDomains is only
// counted (Period.Dropped) and logged once per period.
//
// The period's rows are an append log, DIR/YYYY-MM-DD.log, one line per
// new domain, new row or further message, each with a CRC-32C checksum.
// Every entry is written with one write(2) as it happens, so a process
// crash loses nothing; the log is not fsynced per message (reports are a
// day's statistics, not mail), only when a period closes, so a power
// failure may lose the last entries. A line that is torn or corrupt is
// skipped when the log is read, and a torn end is cut off before the log
// is appended to again.
//
// The period closes at the end of its UTC day: the first Add or Finished
// call after midnight closes it, and [Collector.Finished] returns every
// closed period in the directory, those left by an earlier run included,
// with its reports. Once they are sent (queued), [Collector.Remove] deletes
// the period; one not removed is returned again by the next Finished, so
// a crash in between sends a report twice rather than never.
//
// A Collector is safe for concurrent use.
type Collector struct {
	dir  string
	opts CollectorOptions
	lim  Limits
	meta reportMeta

	mu     sync.Mutex
	day    time.Time // start of the open period, UTC midnight
	st     *logState // nil when no period is open
	f      *os.File
	closed bool
}

// Period is a closed reporting period and its reports.
type Period struct {
	// Begin and End are the first and the last second of the period.
	Begin, End time.Time
	// Reports holds one report per policy domain.
	Reports []*Report
	// Dropped counts messages for policy domains beyond
	// Limits.ReportDomains, in no report.
	Dropped int
	// Skipped counts log lines that were torn or corrupt.
	Skipped int

	path string
}

// OpenCollector opens the collector whose logs live in dir, making it if
// needed. The period of today (by opts.Now), if its log exists, is read
// back and continued.
func OpenCollector(dir string, opts *CollectorOptions) (*Collector, error) {
	c := &Collector{dir: dir}
	if opts != nil {
		c.opts = *opts
	}
	c.lim = c.opts.Limits.withDefaults()
	if c.opts.MaxRows <= 0 {
		c.opts.MaxRows = DefaultMaxCollectorRows
	}
	c.meta = reportMeta{c.opts.OrgName, c.opts.Email, c.opts.ExtraContactInfo, c.opts.Receiver}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.openDay(dayOf(c.now())); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Collector) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

func (c *Collector) log() *slog.Logger {
	if c.opts.Logger != nil {
		return c.opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// dayOf returns the UTC midnight that starts t's day.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (c *Collector) logPath(day time.Time) string {
	return filepath.Join(c.dir, day.Format(time.DateOnly)+".log")
}

// openDay makes day the open period: its log is read back if it exists,
// its torn end cut off, and opened for appending.
func (c *Collector) openDay(day time.Time) error {
	path := c.logPath(day)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	st := newLogState(c.lim, c.opts.MaxRows)
	good, err := st.read(bufio.NewReaderSize(f, maxLogLine+64))
	if err != nil {
		f.Close()
		return err
	}
	if st.skipped > 0 {
		c.log().Warn("DMARC report log: corrupt entries skipped", "file", path, "entries", st.skipped)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	c.day, c.st, c.f = day, st, f
	if good == 0 {
		if err := c.append("H " + logMagic + " " + strconv.FormatInt(day.Unix(), 10)); err != nil {
			return err
		}
	}
	return nil
}

// append writes one log entry with its checksum.
func (c *Collector) append(payload string) error {
	line := make([]byte, 0, len(payload)+10)
	line = appendChecksum(line, payload)
	line = append(line, payload...)
	line = append(line, '\n')
	_, err := c.f.Write(line)
	return err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendChecksum(b []byte, payload string) []byte {
	sum := crc32.Checksum([]byte(payload), castagnoli)
	const hex = "0123456789abcdef"
	for i := 28; i >= 0; i -= 4 {
		b = append(b, hex[sum>>uint(i)&0xf])
	}
	return append(b, ' ')
}

// rotate closes the open period if its day is over.
func (c *Collector) rotate(now time.Time) error {
	day := dayOf(now)
	if c.st != nil && !day.After(c.day) {
		return nil // the same day, or a clock set back: stay on it
	}
	if c.f != nil {
		err := c.f.Sync()
		if cerr := c.f.Close(); err == nil {
			err = cerr
		}
		c.f, c.st = nil, nil
		if err != nil {
			return err
		}
	}
	return c.openDay(day)
}

// Add records one evaluation of a message from ip. It reports whether the
// message is counted in a report row: false, with a nil error, for a
// result without a record that asks for aggregate reports, and for a
// message beyond the bounds (see [Collector]). The error is that of
// writing the log; the message is then still counted in memory.
func (c *Collector) Add(ip netip.Addr, a Args, res Result) (bool, error) {
	rec := res.Policy.Record
	if rec == nil || len(rec.AggregateURIs) == 0 {
		return false, nil
	}
	row := makeRecord(ip, a, res, c.lim)
	key := rowKey(&row)
	now := c.now()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, errors.New("dmarc: collector closed")
	}
	if err := c.rotate(now); err != nil {
		return false, err
	}
	st := c.st
	d := res.Policy.Domain
	var werr error
	if st.domains[d] == nil {
		if !st.addDomain(d, publishedPolicy(res.Policy), rec.AggregateURIs) {
			if st.dropped == 0 {
				c.log().Warn("DMARC reports: too many policy domains today, messages not reported", "domain", d, "limit", c.lim.ReportDomains)
			}
			st.dropped++
			return false, c.append("X")
		}
		b, err := json.Marshal(logDomain{Domain: d, Policy: st.domains[d].policy, URIs: st.domains[d].uris})
		if err != nil {
			return false, err
		}
		werr = c.append("D " + string(b))
	}
	if seq, ok := st.keys[key]; ok {
		st.inc(seq)
		return true, errors.Join(werr, c.append("+ "+strconv.Itoa(seq)))
	}
	b, err := json.Marshal(logRow{Seq: len(st.rows), Domain: d, Record: row})
	if err != nil {
		return false, err
	}
	if len(b)+16 > maxLogLine || !st.addRow(d, key, row) {
		st.domains[d].overflow++
		return false, errors.Join(werr, c.append("O "+strconv.Quote(d)))
	}
	return true, errors.Join(werr, c.append("R "+string(b)))
}

// Finished closes the open period if its day is over and returns every
// closed period in the directory, oldest first, with its reports. A log
// that cannot be read is skipped with an error joined to the result.
func (c *Collector) Finished() ([]*Period, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("dmarc: collector closed")
	}
	if err := c.rotate(c.now()); err != nil {
		return nil, err
	}
	names, err := filepath.Glob(filepath.Join(c.dir, "*.log"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*Period
	var errs []error
	for _, name := range names {
		day, err := time.Parse(time.DateOnly, filepath.Base(name[:len(name)-len(".log")]))
		if err != nil || !day.Before(c.day) {
			continue
		}
		p, err := c.readPeriod(name, day)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// readPeriod reads a closed period's log.
func (c *Collector) readPeriod(path string, day time.Time) (*Period, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st := newLogState(c.lim, c.opts.MaxRows)
	if _, err := st.read(bufio.NewReaderSize(f, maxLogLine+64)); err != nil {
		return nil, err
	}
	if st.begin != 0 && st.begin != day.Unix() {
		return nil, errors.New("dmarc: " + path + " is the log of another day")
	}
	end := day.Add(24*time.Hour - time.Second)
	return &Period{
		Begin:   day,
		End:     end,
		Reports: buildReports(c.meta, st.domains, st.order, day, end),
		Dropped: st.dropped,
		Skipped: st.skipped,
		path:    path,
	}, nil
}

// Remove deletes a finished period's log, once its reports are sent.
func (c *Collector) Remove(p *Period) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.path == "" || p.path == c.logPath(c.day) {
		return errors.New("dmarc: not a finished period")
	}
	err := os.Remove(p.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Close syncs and closes the open period's log; it stays in the
// directory, to be continued or reported by the next OpenCollector.
func (c *Collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.f == nil {
		return nil
	}
	err := c.f.Sync()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.f, c.st = nil, nil
	return err
}

// logDomain and logRow are the JSON of the D and R entries.
type logDomain struct {
	Domain string          `json:"d"`
	Policy PolicyPublished `json:"p"`
	URIs   []URI           `json:"u"`
}

type logRow struct {
	Seq    int          `json:"n"`
	Domain string       `json:"d"`
	Record ReportRecord `json:"r"`
}

// logState is a period's rows as built from its log or by Add.
type logState struct {
	lim     Limits
	maxRows int

	begin   int64 // from the H entry
	domains map[string]*collector
	order   []string
	keys    map[string]int // row key to sequence number
	rows    []rowRef       // by sequence number
	dropped int
	skipped int
}

// rowRef locates a row; c is nil for a sequence number the state does not
// hold (a row beyond the bounds when the log was read under smaller ones).
type rowRef struct {
	c *collector
	i int
}

func newLogState(lim Limits, maxRows int) *logState {
	return &logState{lim: lim, maxRows: maxRows, domains: map[string]*collector{}, keys: map[string]int{}}
}

func (s *logState) addDomain(d string, p PolicyPublished, uris []URI) bool {
	if len(s.domains) >= s.lim.ReportDomains {
		return false
	}
	if len(uris) > s.lim.URIs {
		uris = uris[:s.lim.URIs]
	}
	s.domains[d] = &collector{policy: p, uris: slices.Clone(uris), index: map[string]int{}}
	s.order = append(s.order, d)
	return true
}

// addRow adds a new row of one message to domain d, unless a bound is
// reached. The row's sequence number is len(s.rows) before the call.
func (s *logState) addRow(d, key string, row ReportRecord) bool {
	c := s.domains[d]
	if len(c.records) >= s.lim.ReportRows || len(s.keys) >= s.maxRows {
		return false
	}
	row.Row.Count = 1
	c.index[key] = len(c.records)
	c.records = append(c.records, row)
	s.keys[key] = len(s.rows)
	s.rows = append(s.rows, rowRef{c, len(c.records) - 1})
	return true
}

func (s *logState) inc(seq int) {
	if seq >= 0 && seq < len(s.rows) && s.rows[seq].c != nil {
		r := s.rows[seq]
		r.c.records[r.i].Row.Count++
	}
}

// read applies the entries of a log. It returns the offset after the last
// complete line, where appending may continue; a torn last line is not
// counted as skipped. The error is only that of r.
func (s *logState) read(r *bufio.Reader) (int64, error) {
	var off int64
	first := true
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Far too long to be ours: skip to the end of the line.
			n := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				n += int64(len(line))
			}
			if err == nil {
				off += n
				s.skipped++
				continue
			}
		}
		if err == io.EOF {
			return off, nil // nothing, or a torn line, after off
		}
		if err != nil {
			return off, err
		}
		off += int64(len(line))
		if !s.apply(line[:len(line)-1], first) {
			s.skipped++
		}
		first = false
	}
}

// apply applies one log line without its LF; false means it is corrupt.
func (s *logState) apply(line []byte, first bool) bool {
	if len(line) < 10 || line[8] != ' ' {
		return false
	}
	payload := line[9:]
	var sum [9]byte
	if !bytes.Equal(appendChecksum(sum[:0], string(payload)), line[:9]) {
		return false
	}
	kind, arg, _ := bytes.Cut(payload, []byte(" "))
	switch string(kind) {
	case "H":
		magic, begin, ok := bytes.Cut(arg, []byte(" 1 "))
		if !first || !ok || string(magic) != logMagic[:len(logMagic)-2] {
			return false
		}
		n, err := strconv.ParseInt(string(begin), 10, 64)
		if err != nil {
			return false
		}
		s.begin = n
	case "D":
		var d logDomain
		if json.Unmarshal(arg, &d) != nil || d.Domain == "" {
			return false
		}
		if s.domains[d.Domain] == nil && !s.addDomain(d.Domain, d.Policy, d.URIs) {
			s.dropped++
		}
	case "R":
		var r logRow
		if json.Unmarshal(arg, &r) != nil || r.Seq < 0 {
			return false
		}
		if r.Seq >= s.maxRows {
			// Written under a larger MaxRows: beyond this one's bound.
			s.dropped++
			return true
		}
		for len(s.rows) < r.Seq {
			s.rows = append(s.rows, rowRef{}) // a row lost to corruption
		}
		if len(s.rows) > r.Seq {
			return false // a sequence number seen already
		}
		c := s.domains[r.Domain]
		if c == nil {
			s.rows = append(s.rows, rowRef{})
			s.dropped++
			return true
		}
		if len(r.Record.AuthResults.DKIM) > s.lim.DKIMResults {
			r.Record.AuthResults.DKIM = r.Record.AuthResults.DKIM[:s.lim.DKIMResults]
		}
		key := rowKey(&r.Record)
		if _, dup := s.keys[key]; dup || !s.addRow(r.Domain, key, r.Record) {
			s.rows = append(s.rows, rowRef{})
			c.overflow++
		}
	case "+":
		seq, err := strconv.Atoi(string(arg))
		if err != nil || seq < 0 {
			return false
		}
		if seq < len(s.rows) && s.rows[seq].c == nil {
			// A row beyond the bounds, or lost: the message is not in
			// any row.
			s.dropped++
			return true
		}
		if seq >= len(s.rows) {
			return false
		}
		s.inc(seq)
	case "O":
		d, err := strconv.Unquote(string(arg))
		if err != nil {
			return false
		}
		if c := s.domains[d]; c != nil {
			c.overflow++
		} else {
			s.dropped++
		}
	case "X":
		s.dropped++
	default:
		return false
	}
	return true
}
