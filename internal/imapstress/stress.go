// Package imapstress drives concurrent IMAP clients against one mailbox
// of a server and checks what each of them is told: it is the load of the
// imapmaildir stress test and of the side-by-side benchmark against
// Dovecot, the same client code for any server.
//
// Each client logs in, selects the mailbox and runs a random mix of
// APPEND, UID STORE, UID FETCH, FETCH 1:*, UID EXPUNGE, IDLE, NOOP and
// logging out and in again, on messages of its own (a header names the
// client and the message) among those of the others. It keeps the
// mailbox's numbering as the server tells it (EXISTS, EXPUNGE and FETCH
// responses) and fails on any response that does not fit: an EXISTS that
// shrinks the mailbox, an EXPUNGE or FETCH of a sequence number it does
// not have, a UID that changes under a sequence number or breaks the
// ascending order, an EXPUNGE during a FETCH, STORE or SEARCH by sequence
// number, an APPENDUID that is not above every UID seen, a message of its
// own whose flags or bytes are not what it made them, one it expunged
// that shows again, a tagged reply other than OK. [Result.Want] is what
// the mailbox must hold at the end; [Verify] checks it over IMAP.
package imapstress

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options say where and how long to run.
type Options struct {
	Addr           string // host:port of the server
	User, Password string
	Mailbox        string        // "INBOX" when empty
	Clients        int           // 10 when 0
	Duration       time.Duration // how long each client runs
	// MaxOwn bounds the messages a client keeps at once (20 when 0): it
	// expunges one of its own before it appends beyond that.
	MaxOwn int
	// IdleWait is how long an IDLE lasts (50 ms when 0).
	IdleWait time.Duration
	Seed     uint64
}

// Message is a message a client left in the mailbox: its UID, X-Stress-Id,
// its flags (sorted, without \Recent) and its bytes.
type Message struct {
	UID   uint32
	ID    string
	Flags []string
	Body  []byte
}

// Result is what a run did.
type Result struct {
	// Ops counts the commands that completed, by operation, and Time
	// sums their latencies.
	Ops  map[string]int
	Time map[string]time.Duration
	// Errors holds what went wrong, one entry per failed client.
	Errors []error
	// Want holds the messages of the clients that must be in the
	// mailbox at the end, by ID.
	Want map[string]Message
}

// Total is the number of commands that completed.
func (r *Result) Total() int {
	n := 0
	for _, v := range r.Ops {
		n += v
	}
	return n
}

// Body returns the bytes of message n of client c.
func Body(c, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "X-Stress-Id: c%d-m%d\r\n", c, n)
	fmt.Fprintf(&b, "From: client%d@example.org\r\nTo: stress@example.org\r\n", c)
	fmt.Fprintf(&b, "Subject: stress c%d m%d\r\nDate: Thu, 14 Mar 2024 15:09:26 +0000\r\n", c, n)
	fmt.Fprintf(&b, "Message-ID: <c%d.m%d@example.org>\r\n\r\n", c, n)
	for i := range 3 + (c*7+n*13)%40 {
		fmt.Fprintf(&b, "Line %d of message %d of client %d, some text to make it longer.\r\n", i, n, c)
	}
	return b.Bytes()
}

// Run runs the clients and returns what they did; it ends after
// o.Duration or when ctx ends.
func Run(ctx context.Context, o Options) *Result {
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.Clients == 0 {
		o.Clients = 10
	}
	if o.MaxOwn == 0 {
		o.MaxOwn = 20
	}
	if o.IdleWait == 0 {
		o.IdleWait = 50 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	res := &Result{Ops: map[string]int{}, Time: map[string]time.Duration{}, Want: map[string]Message{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range o.Clients {
		wg.Go(func() {
			c := &client{o: o, id: i, rnd: rand.New(rand.NewPCG(o.Seed, uint64(i))), own: map[uint32]*own{}, ops: map[string]int{}, times: map[string]time.Duration{}}
			err := c.run(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				err = fmt.Errorf("%w; the dialogue's end:\n%s", err, strings.Join(c.trace[max(0, len(c.trace)-traceLines):], "\n"))
				res.Errors = append(res.Errors, fmt.Errorf("client %d: %w", i, err))
			}
			for k, v := range c.ops {
				res.Ops[k] += v
			}
			for k, v := range c.times {
				res.Time[k] += v
			}
			for u, m := range c.own {
				res.Want[m.id] = Message{UID: u, ID: m.id, Flags: sortedFlags(m.flags), Body: m.body}
			}
		})
	}
	wg.Wait()
	return res
}

// own is a message of the client.
type own struct {
	id    string
	body  []byte
	flags map[string]bool
	prev  []string // the flags before the STORE running, if one is
}

// client is one connection's worth of state.
type client struct {
	o     Options
	id    int
	rnd   *rand.Rand
	ops   map[string]int
	times map[string]time.Duration
	sent  time.Time // when the running command was sent

	nc       net.Conn
	r        *bufio.Reader
	tag      int
	validity uint32
	// seq holds the UID of each sequence number as the server told it;
	// 0 where only an EXISTS told of the message so far.
	seq     []uint32
	maxUID  uint32
	own     map[uint32]*own
	gone    map[uint32]bool // UIDs the client expunged
	next    int             // number of its next message
	cmdName string          // the command running, for the EXPUNGE rule
	trace   []string        // the last lines of the dialogue, for errors
}

// traceLines is how many lines of the dialogue an error shows.
const traceLines = 40

func (c *client) note(l string) {
	if len(l) > 200 {
		l = l[:200] + "..."
	}
	if len(c.trace) >= 2*traceLines {
		c.trace = append(c.trace[:0], c.trace[traceLines:]...)
	}
	c.trace = append(c.trace, l)
}

// response is one server response: its text, each literal replaced by
// "\x00", and the literals.
type response struct {
	text string
	lits [][]byte
}

func (c *client) run(ctx context.Context) error {
	c.gone = map[uint32]bool{}
	defer func() {
		if c.nc != nil {
			c.nc.Close()
		}
	}()
	if err := c.connect(ctx); err != nil {
		return err
	}
	for ctx.Err() == nil {
		var err error
		switch k := c.rnd.IntN(100); {
		case k < 22:
			err = c.doAppend()
		case k < 42:
			err = c.doStore()
		case k < 60:
			err = c.doFetchOwn()
		case k < 66:
			err = c.doFetchAll()
		case k < 80:
			err = c.doExpunge()
		case k < 87:
			err = c.doIdle()
		case k < 95:
			_, err = c.cmd("NOOP", "NOOP")
		default:
			err = c.reconnect(ctx)
		}
		if err != nil {
			// The run ended in the middle of a command (a dial
			// can time out at the deadline before ctx says so).
			if dl, _ := ctx.Deadline(); (ctx.Err() != nil || !time.Now().Before(dl)) && isNetErr(err) {
				return nil
			}
			return err
		}
	}
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := c.cmd("LOGOUT", "LOGOUT")
	return err
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF)
}

// connect logs in and selects the mailbox, and learns the UIDs.
func (c *client) connect(ctx context.Context) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.o.Addr)
	if err != nil {
		return err
	}
	c.nc, c.r = nc, bufio.NewReader(nc)
	c.seq, c.validity = nil, 0
	if _, err := c.read(); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if _, err := c.cmd("LOGIN", "LOGIN "+quote(c.o.User)+" "+quote(c.o.Password)); err != nil {
		return err
	}
	if _, err := c.cmd("SELECT", "SELECT "+quote(c.o.Mailbox)); err != nil {
		return err
	}
	if c.validity == 0 {
		return errors.New("SELECT gave no UIDVALIDITY")
	}
	return c.doFetchAll()
}

func (c *client) reconnect(ctx context.Context) error {
	if _, err := c.cmd("LOGOUT", "LOGOUT"); err != nil {
		return err
	}
	c.nc.Close()
	c.nc = nil
	return c.connect(ctx)
}

func quote(s string) string { return strconv.Quote(s) }

// cmd sends a command and reads the responses to its tagged reply, which
// must be OK; it returns the untagged responses and the tagged one last.
func (c *client) cmd(name, line string) ([]response, error) {
	tag, err := c.send(name, line)
	if err != nil {
		return nil, err
	}
	return c.finish(name, line, tag)
}

func (c *client) send(name, line string) (string, error) {
	c.tag++
	tag := "s" + strconv.Itoa(c.tag)
	c.cmdName = name
	c.sent = time.Now()
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	_, err := io.WriteString(c.nc, tag+" "+line+"\r\n")
	c.note("C: " + tag + " " + line)
	return tag, err
}

func (c *client) finish(name, line, tag string) ([]response, error) {
	var out []response
	for {
		r, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		if rest, ok := strings.CutPrefix(r.text, tag+" "); ok {
			c.cmdName = ""
			if !strings.HasPrefix(rest, "OK") {
				return nil, fmt.Errorf("%s: %s", line, r.text)
			}
			c.ops[name]++
			if c.times != nil {
				c.times[name] += time.Since(c.sent)
			}
			return append(out, r), nil
		}
		if err := c.untagged(r); err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		out = append(out, r)
	}
}

// maxMessages bounds the mailbox an EXISTS may announce.
const maxMessages = 1 << 20

// maxLiteral bounds what read accepts.
const maxLiteral = 16 << 20

// read reads one response with its literals.
func (c *client) read() (response, error) {
	var r response
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return r, err
		}
		if len(l) > 1<<20 {
			return r, errors.New("response line too long")
		}
		l = strings.TrimSuffix(l, "\r\n")
		n, ok := literal(l)
		if !ok {
			c.note("S: " + l)
			b.WriteString(l)
			r.text = b.String()
			return r, nil
		}
		c.note("S: " + l)
		if n > maxLiteral {
			return r, fmt.Errorf("literal of %d bytes", n)
		}
		b.WriteString(l[:strings.LastIndexByte(l, '{')])
		b.WriteByte(0)
		lit := make([]byte, n)
		if _, err := io.ReadFull(c.r, lit); err != nil {
			return r, err
		}
		r.lits = append(r.lits, lit)
	}
}

func literal(l string) (int, bool) {
	if !strings.HasSuffix(l, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(l[i+1:len(l)-1], "+"))
	return n, err == nil && n >= 0
}

// untagged applies an untagged response to the client's view of the
// mailbox and checks it fits.
func (c *client) untagged(r response) error {
	t := r.text
	if rest, ok := strings.CutPrefix(t, "* OK [UIDVALIDITY "); ok {
		num, _, _ := strings.Cut(rest, "]")
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil || v == 0 {
			return fmt.Errorf("bad UIDVALIDITY in %q", t)
		}
		c.validity = uint32(v)
		return nil
	}
	if strings.HasPrefix(t, "* BAD") || strings.HasPrefix(t, "* NO") {
		return fmt.Errorf("server says %q", t)
	}
	f := strings.SplitN(t, " ", 4)
	if len(f) < 3 || f[0] != "*" {
		return nil
	}
	n, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return nil // not a numbered response
	}
	switch f[2] {
	case "EXISTS":
		if n > maxMessages {
			return fmt.Errorf("EXISTS %d, more than the run can make", n)
		}
		if int(n) < len(c.seq) {
			return fmt.Errorf("EXISTS %d with %d messages and no EXPUNGE", n, len(c.seq))
		}
		for len(c.seq) < int(n) {
			c.seq = append(c.seq, 0)
		}
	case "EXPUNGE":
		switch c.cmdName {
		case "FETCH", "STORE", "SEARCH":
			return fmt.Errorf("EXPUNGE during %s by sequence number", c.cmdName)
		}
		if n == 0 || int(n) > len(c.seq) {
			return fmt.Errorf("EXPUNGE %d with %d messages", n, len(c.seq))
		}
		u := c.seq[n-1]
		if c.own[u] != nil {
			return fmt.Errorf("EXPUNGE of UID %d, a message of the client it did not expunge", u)
		}
		c.seq = slices.Delete(c.seq, int(n-1), int(n))
	case "FETCH":
		if n == 0 || int(n) > len(c.seq) {
			return fmt.Errorf("FETCH %d with %d messages: %q", n, len(c.seq), t)
		}
		u, ok := fetchUID(t)
		if !ok {
			return nil
		}
		i := int(n - 1)
		if c.seq[i] != 0 && c.seq[i] != u {
			return fmt.Errorf("message %d was UID %d, now %d", n, c.seq[i], u)
		}
		if i > 0 && c.seq[i-1] >= u || i+1 < len(c.seq) && c.seq[i+1] != 0 && c.seq[i+1] <= u {
			return fmt.Errorf("UID %d at %d breaks the order of %v", u, n, c.seq[max(i-1, 0):min(i+2, len(c.seq))])
		}
		if c.gone[u] {
			return fmt.Errorf("UID %d shows again after its EXPUNGE", u)
		}
		c.seq[i] = u
		c.maxUID = max(c.maxUID, u)
		if m := c.own[u]; m != nil {
			if fl, ok := fetchFlags(t); ok {
				// During a STORE of it, the server may first tell
				// of the flags as they were.
				if !slices.Equal(fl, sortedFlags(m.flags)) && !(m.prev != nil && slices.Equal(fl, m.prev)) {
					return fmt.Errorf("UID %d (%s) has flags %v, want %v in %q", u, m.id, fl, sortedFlags(m.flags), t)
				}
			}
			if i := strings.Index(t, "BODY[] \x00"); i >= 0 {
				k := strings.Count(t[:i], "\x00")
				if k >= len(r.lits) || !bytes.Equal(r.lits[k], m.body) {
					return fmt.Errorf("UID %d (%s): BODY[] differs from what was appended", u, m.id)
				}
			}
			if i := strings.Index(t, "RFC822.SIZE "); i >= 0 {
				num := t[i+len("RFC822.SIZE "):]
				if j := strings.IndexAny(num, " )"); j >= 0 {
					num = num[:j]
				}
				if sz, err := strconv.Atoi(num); err != nil || sz != len(m.body) {
					return fmt.Errorf("UID %d (%s): RFC822.SIZE %s, want %d", u, m.id, num, len(m.body))
				}
			}
		}
	}
	return nil
}

// fetchUID returns the UID item of a FETCH response.
func fetchUID(t string) (uint32, bool) {
	i := strings.Index(t, "(UID ")
	if i < 0 {
		i = strings.Index(t, " UID ")
	}
	if i < 0 {
		return 0, false
	}
	s := t[i+5:]
	j := strings.IndexAny(s, " )")
	if j < 0 {
		return 0, false
	}
	u, err := strconv.ParseUint(s[:j], 10, 32)
	return uint32(u), err == nil && u > 0
}

// fetchFlags returns the FLAGS item of a FETCH response, sorted and
// without \Recent.
func fetchFlags(t string) ([]string, bool) {
	i := strings.Index(t, "FLAGS (")
	if i < 0 {
		return nil, false
	}
	s := t[i+len("FLAGS ("):]
	j := strings.IndexByte(s, ')')
	if j < 0 {
		return nil, false
	}
	var out []string
	for _, f := range strings.Fields(s[:j]) {
		if f != `\Recent` {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, true
}

func sortedFlags(m map[string]bool) []string {
	var out []string
	for f, on := range m {
		if on {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// flagChoices are the flags the clients set and clear.
var flagChoices = []string{`\Flagged`, `\Answered`, `\Seen`, `\Draft`, "$Work", "$Later"}

// ownUIDs returns the UIDs of the client's messages, ascending.
func (c *client) ownUIDs() []uint32 {
	var out []uint32
	for u := range c.own {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

func (c *client) pickOwn() (uint32, bool) {
	uids := c.ownUIDs()
	if len(uids) == 0 {
		return 0, false
	}
	return uids[c.rnd.IntN(len(uids))], true
}

// doAppend appends a message of the client, checks its APPENDUID and
// then fetches it back.
func (c *client) doAppend() error {
	if len(c.own) >= c.o.MaxOwn {
		return c.doExpunge()
	}
	body := Body(c.id, c.next)
	id := fmt.Sprintf("c%d-m%d", c.id, c.next)
	c.next++
	flags := map[string]bool{}
	var fl []string
	for _, f := range flagChoices {
		if c.rnd.IntN(4) == 0 {
			flags[f] = true
			fl = append(fl, f)
		}
	}
	line := "APPEND " + quote(c.o.Mailbox) + " (" + strings.Join(fl, " ") + ") {" + strconv.Itoa(len(body)) + "}"
	tag, err := c.send("APPEND", line)
	if err != nil {
		return err
	}
	for {
		r, err := c.read()
		if err != nil {
			return err
		}
		if strings.HasPrefix(r.text, "+") {
			break
		}
		if strings.HasPrefix(r.text, tag+" ") {
			return fmt.Errorf("APPEND: %s", r.text)
		}
		if err := c.untagged(r); err != nil {
			return err
		}
	}
	if _, err := c.nc.Write(append(body, "\r\n"...)); err != nil {
		return err
	}
	rs, err := c.finish("APPEND", line, tag)
	if err != nil {
		return err
	}
	tagged := rs[len(rs)-1].text
	i := strings.Index(tagged, "[APPENDUID ")
	if i < 0 {
		return fmt.Errorf("APPEND: no APPENDUID in %q", tagged)
	}
	var v, u uint32
	if _, err := fmt.Sscanf(tagged[i:], "[APPENDUID %d %d]", &v, &u); err != nil {
		return fmt.Errorf("APPEND: %q: %v", tagged, err)
	}
	if v != c.validity {
		return fmt.Errorf("APPENDUID validity %d, selected %d", v, c.validity)
	}
	if u <= c.maxUID {
		return fmt.Errorf("APPENDUID %d not above UID %d seen before", u, c.maxUID)
	}
	c.maxUID = u
	c.own[u] = &own{id: id, body: body, flags: flags}
	// The new message is seen, with its flags and bytes.
	rs, err = c.cmd("UID FETCH", "UID FETCH "+strconv.FormatUint(uint64(u), 10)+" (UID FLAGS RFC822.SIZE BODY.PEEK[])")
	if err != nil {
		return err
	}
	return c.sawOnce(rs, u)
}

// sawOnce checks that rs hold one FETCH of UID u.
func (c *client) sawOnce(rs []response, u uint32) error {
	n := 0
	for _, r := range rs {
		if strings.Contains(r.text, " FETCH ") {
			if got, ok := fetchUID(r.text); ok && got == u {
				n++
			}
		}
	}
	if n != 1 {
		return fmt.Errorf("%d FETCH responses for UID %d, want 1", n, u)
	}
	return nil
}

// doStore adds or removes a flag on a message of the client; the
// response must show the flags as they now are.
func (c *client) doStore() error {
	u, ok := c.pickOwn()
	if !ok {
		return c.doAppend()
	}
	m := c.own[u]
	f := flagChoices[c.rnd.IntN(len(flagChoices))]
	op := "+FLAGS"
	if m.flags[f] && c.rnd.IntN(3) > 0 {
		op = "-FLAGS"
	}
	m.prev = sortedFlags(m.flags)
	m.flags[f] = op == "+FLAGS"
	rs, err := c.cmd("UID STORE", "UID STORE "+strconv.FormatUint(uint64(u), 10)+" "+op+" ("+f+")")
	m.prev = nil
	if err != nil {
		return err
	}
	// The last FETCH of it has the flags as they now are. Dovecot
	// sends none at times: then they are fetched.
	var last string
	for _, r := range rs {
		if got, ok := fetchUID(r.text); ok && got == u && strings.Contains(r.text, " FETCH ") {
			last = r.text
		}
	}
	if last == "" {
		rs, err := c.cmd("UID FETCH", "UID FETCH "+strconv.FormatUint(uint64(u), 10)+" (UID FLAGS)")
		if err != nil {
			return err
		}
		if err := c.sawOnce(rs, u); err != nil {
			return err
		}
		return nil // untagged checked the flags
	}
	if fl, ok := fetchFlags(last); !ok || !slices.Equal(fl, sortedFlags(m.flags)) {
		return fmt.Errorf("UID STORE %d %s (%s): the response ends with %q, want FLAGS %v", u, op, f, last, sortedFlags(m.flags))
	}
	return nil
}

// doFetchOwn fetches a message of the client by UID.
func (c *client) doFetchOwn() error {
	u, ok := c.pickOwn()
	if !ok {
		return c.doAppend()
	}
	rs, err := c.cmd("UID FETCH", "UID FETCH "+strconv.FormatUint(uint64(u), 10)+" (UID FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[])")
	if err != nil {
		return err
	}
	return c.sawOnce(rs, u)
}

// doFetchAll fetches the UIDs and flags of every message: every sequence
// number is then known, and the client's messages are all there.
func (c *client) doFetchAll() error {
	if _, err := c.cmd("FETCH", "FETCH 1:* (UID FLAGS)"); err != nil {
		if len(c.seq) == 0 && strings.Contains(err.Error(), " NO ") || strings.Contains(err.Error(), " BAD ") && len(c.seq) == 0 {
			return nil // an empty mailbox
		}
		return err
	}
	have := map[uint32]bool{}
	for i, u := range c.seq {
		if u == 0 {
			// Told of by an EXISTS during the FETCH: known next time.
			continue
		}
		have[u] = true
		_ = i
	}
	for u, m := range c.own {
		if !have[u] {
			return fmt.Errorf("UID %d (%s) is missing", u, m.id)
		}
	}
	return nil
}

// doExpunge expunges a message of the client with UID EXPUNGE; the
// response must expunge it at the sequence number the client has for it.
func (c *client) doExpunge() error {
	u, ok := c.pickOwn()
	if !ok {
		return c.doAppend()
	}
	us := strconv.FormatUint(uint64(u), 10)
	c.own[u].prev = sortedFlags(c.own[u].flags)
	c.own[u].flags[`\Deleted`] = true
	_, err := c.cmd("UID STORE", "UID STORE "+us+` +FLAGS.SILENT (\Deleted)`)
	c.own[u].prev = nil
	if err != nil {
		return err
	}
	at := slices.Index(c.seq, u)
	if at < 0 {
		return fmt.Errorf("UID %d not in the numbering before its EXPUNGE", u)
	}
	m := c.own[u]
	delete(c.own, u) // the EXPUNGE of it is expected now
	tag, err := c.send("UID EXPUNGE", "UID EXPUNGE "+us)
	if err != nil {
		return err
	}
	var mine bool
	for {
		r, err := c.read()
		if err != nil {
			return err
		}
		if strings.HasPrefix(r.text, tag+" ") {
			if !strings.HasPrefix(r.text, tag+" OK") {
				return fmt.Errorf("UID EXPUNGE %s: %s", us, r.text)
			}
			c.ops["UID EXPUNGE"]++
			c.times["UID EXPUNGE"] += time.Since(c.sent)
			break
		}
		if n, ok := expungeOf(r.text); ok && n >= 1 && n <= len(c.seq) && c.seq[n-1] == u {
			mine = true
		}
		if err := c.untagged(r); err != nil {
			return err
		}
	}
	c.cmdName = ""
	if !mine {
		return fmt.Errorf("UID EXPUNGE %s (%s): no EXPUNGE of it", us, m.id)
	}
	c.gone[u] = true
	return nil
}

func expungeOf(t string) (int, bool) {
	f := strings.Fields(t)
	if len(f) != 3 || f[0] != "*" || f[2] != "EXPUNGE" {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil
}

// doIdle idles for a while, taking the updates the server sends.
func (c *client) doIdle() error {
	tag, err := c.send("IDLE", "IDLE")
	if err != nil {
		return err
	}
	for {
		r, err := c.read()
		if err != nil {
			return err
		}
		if strings.HasPrefix(r.text, "+") {
			break
		}
		if strings.HasPrefix(r.text, tag+" ") {
			return fmt.Errorf("IDLE: %s", r.text)
		}
		if err := c.untagged(r); err != nil {
			return err
		}
	}
	c.nc.SetReadDeadline(time.Now().Add(c.o.IdleWait))
	for {
		r, err := c.read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && r.text == "" && len(r.lits) == 0 && c.r.Buffered() == 0 {
				break
			}
			return fmt.Errorf("IDLE: %w", err)
		}
		if err := c.untagged(r); err != nil {
			return fmt.Errorf("IDLE: %w", err)
		}
	}
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c.nc, "DONE\r\n"); err != nil {
		return err
	}
	_, err = c.finish("IDLE", "IDLE", tag)
	return err
}

// Verify logs in afresh and checks that the mailbox holds the messages of
// want with their flags and bytes, and no other message with an
// X-Stress-Id header.
func Verify(ctx context.Context, o Options, want map[string]Message) error {
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	c := &client{o: o, rnd: rand.New(rand.NewPCG(0, 0)), own: map[uint32]*own{}, gone: map[uint32]bool{}, ops: map[string]int{}}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	c.nc, c.r = nc, bufio.NewReader(nc)
	if _, err := c.read(); err != nil {
		return err
	}
	if _, err := c.cmd("LOGIN", "LOGIN "+quote(o.User)+" "+quote(o.Password)); err != nil {
		return err
	}
	if _, err := c.cmd("SELECT", "EXAMINE "+quote(o.Mailbox)); err != nil {
		return err
	}
	rs, err := c.cmd("FETCH", "FETCH 1:* (UID FLAGS BODY.PEEK[])")
	if err != nil && len(c.seq) > 0 {
		return err
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if !strings.Contains(r.text, " FETCH ") || len(r.lits) == 0 {
			continue
		}
		body := r.lits[len(r.lits)-1]
		id := StressID(body)
		if id == "" {
			continue
		}
		w, ok := want[id]
		if !ok {
			return fmt.Errorf("message %s is in the mailbox, expunged or never appended", id)
		}
		if seen[id] {
			return fmt.Errorf("message %s is in the mailbox twice", id)
		}
		seen[id] = true
		if u, _ := fetchUID(r.text); u != w.UID {
			return fmt.Errorf("message %s has UID %d, want %d", id, u, w.UID)
		}
		fl, _ := fetchFlags(r.text)
		if !slices.Equal(fl, w.Flags) {
			return fmt.Errorf("message %s has flags %v, want %v", id, fl, w.Flags)
		}
		if !bytes.Equal(body, w.Body) {
			return fmt.Errorf("message %s: bytes differ", id)
		}
	}
	for id := range want {
		if !seen[id] {
			return fmt.Errorf("message %s is missing", id)
		}
	}
	c.cmd("LOGOUT", "LOGOUT")
	return nil
}

// StressID returns the X-Stress-Id of a message made by Body, or "".
func StressID(msg []byte) string {
	const h = "X-Stress-Id: "
	if !bytes.HasPrefix(msg, []byte(h)) {
		return ""
	}
	line, _, _ := bytes.Cut(msg[len(h):], []byte("\r\n"))
	return string(line)
}
