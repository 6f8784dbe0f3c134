package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Envelope is the SMTP envelope of one message: the reverse-path, the MAIL
// parameters and the recipients with their RCPT parameters.
type Envelope struct {
	// From is the reverse-path; the null path (Path{}) for bounces.
	From Path
	// Options are the MAIL parameters; see Client.Mail for which are
	// sent to which server.
	Options MailOptions
	// To lists the recipients, at least one.
	To []Recipient
}

// Recipient is one forward-path with its RCPT parameters.
type Recipient struct {
	Path    Path
	Options RcptOptions
}

// ErrNotDelivered is what RecipientResult.Err returns for a recipient the
// server accepted when the transaction then failed without a reply that
// concerns it (a broken connection, a refused BDAT chunk).
var ErrNotDelivered = errors.New("smtp: message not delivered")

// RecipientResult is the outcome for one recipient of Send.
type RecipientResult struct {
	// To is the recipient, as in the Envelope.
	To Path
	// Delivered is true when the server took responsibility for the
	// message for this recipient.
	Delivered bool
	// Reply is the server's last word about this recipient: its refusal
	// of RCPT; the reply to the end of the data (shared by all
	// recipients in SMTP, one per recipient in LMTP); or the RCPT reply
	// when the transaction failed after it. Nil when the recipient was
	// not attempted because the transaction failed earlier. A recipient
	// over the server's LIMITS RCPTMAX (RFC 9422) is not attempted
	// either, and gets a local reply 452 4.5.3 so that the caller tries
	// it again in another transaction.
	Reply *Reply
}

// Err returns nil when the message was delivered to the recipient, the
// refusal as an *Error, or ErrNotDelivered.
func (r *RecipientResult) Err() error {
	if r.Delivered {
		return nil
	}
	if r.Reply != nil && r.Reply.Code.Class() >= 4 {
		return clientReplyError(r.Reply)
	}
	return ErrNotDelivered
}

// SendResult is the outcome of Send.
type SendResult struct {
	// Recipients has one entry per Envelope.To, in the same order.
	Recipients []RecipientResult
	// Data is the reply to the end of the data in SMTP (with the queue ID
	// many servers give), nil in LMTP or when the data was not sent.
	Data *Reply
	// TLS is the state of the TLS layer the message went over, nil for
	// plain text.
	TLS *tls.ConnectionState
	// DSNDropped is true when the envelope asked for delivery status
	// notifications (RET, ENVID, NOTIFY or ORCPT) and the server lacks
	// DSN, so the parameters were not sent. A relay then owes the sender
	// the "relayed" notifications of RFC 3461 section 4.1 itself.
	DSNDropped bool
}

// Delivered returns how many recipients got the message.
func (r *SendResult) Delivered() int {
	n := 0
	for i := range r.Recipients {
		if r.Recipients[i].Delivered {
			n++
		}
	}
	return n
}

// clientInlineMax bounds a message that Send pipelines as one BDAT LAST
// chunk together with MAIL and RCPT.
const clientInlineMax = 64 << 10

// Send runs one mail transaction: MAIL, a RCPT per recipient, and the
// message from body by DATA with dot-stuffing or, when the server offers
// CHUNKING (and always for BODY=BINARYMIME), by BDAT chunks. With
// PIPELINING (RFC 2920) MAIL, every RCPT and DATA (or a message of up to
// 64 KiB as one BDAT chunk) go in one write, so a message costs two round
// trips, or one.
//
// Recipients refused by the server do not stop the transaction; the
// message goes to the others and the result tells each recipient's reply.
// In LMTP mode each recipient gets its own reply after the data.
//
// Send returns an error when the message was delivered to no recipient:
// a *CommandError naming the command that failed (MAIL; RCPT when every
// recipient was refused, with the first temporary refusal if any; DATA or
// BDAT), or the error that broke the connection. Nothing is sent when the
// envelope needs an extension the server lacks or holds an invalid
// argument. The result is non-nil whenever the transaction started. When
// Envelope.Options.Size is zero and body has a Len method (strings.Reader,
// bytes.Reader, bytes.Buffer), that length is declared with SIZE. body
// is read once, to its end, and never buffered whole; a read error from
// body abandons the message (by RSET between BDAT chunks, by closing the
// connection during DATA).
func (c *Client) Send(ctx context.Context, env *Envelope, body io.Reader) (*SendResult, error) {
	if err := c.ensureHello(ctx); err != nil {
		return nil, err
	}
	if c.inTx {
		if err := c.Reset(ctx); err != nil {
			return nil, err
		}
	}
	if len(env.To) == 0 {
		return nil, &CommandError{Command: "RCPT", Err: clientInvalidArg("no recipients")}
	}
	rcptUTF8 := false
	for i := range env.To {
		rcptUTF8 = rcptUTF8 || !env.To[i].Path.IsASCII()
	}
	mailOpts := env.Options
	if mailOpts.Size == 0 {
		// A body that knows its length (strings.Reader, bytes.Reader,
		// bytes.Buffer) declares it, so that an oversized message is
		// refused before it is sent (RFC 1870).
		if l, ok := body.(interface{ Len() int }); ok && l.Len() > 0 {
			mailOpts.Size = int64(l.Len())
		}
	}
	mail, err := c.mailLine(env.From, &mailOpts, rcptUTF8)
	if err != nil {
		return nil, &CommandError{Command: "MAIL", Err: err}
	}
	utf8 := env.Options.UTF8 || rcptUTF8 || !env.From.IsASCII()
	limit := len(env.To)
	if c.caps.RcptMax > 0 && limit > c.caps.RcptMax {
		limit = c.caps.RcptMax
	}
	lines := make([]string, limit)
	for i := range limit {
		if lines[i], err = c.rcptLine(env.To[i].Path, &env.To[i].Options, utf8); err != nil {
			return nil, &CommandError{Command: "RCPT", Err: err}
		}
	}
	res := &SendResult{Recipients: make([]RecipientResult, len(env.To))}
	if !c.caps.DSN {
		res.DSNDropped = env.Options.Return != "" || env.Options.EnvelopeID != ""
		for i := range env.To {
			o := &env.To[i].Options
			res.DSNDropped = res.DSNDropped || o.Notify != 0 || o.OriginalRecipient != ""
		}
	}
	for i := range env.To {
		res.Recipients[i].To = env.To[i].Path
		if i >= limit {
			res.Recipients[i].Reply = &Reply{Code: CodeInsufficientStorage, Enhanced: EnhancedTooManyRecipients,
				Lines: []string{"Not attempted: the server takes " + strconv.Itoa(limit) + " recipients per transaction"}}
		}
	}
	binary := env.Options.Body == BodyBinaryMIME
	useBDAT := c.caps.Chunking && (binary || !c.opts.NoChunking)
	pipeline := c.caps.Pipelining

	// With pipelining, a small message goes in the same write as the
	// envelope.
	var inline []byte
	if pipeline && useBDAT {
		raw, eof, err := c.readPrefix(body)
		if err != nil {
			return nil, &CommandError{Command: "BDAT", Err: err}
		}
		if eof {
			if inline, err = c.prepareInline(raw, binary); err != nil {
				return nil, &CommandError{Command: "BDAT", Err: err}
			}
		}
		if inline == nil {
			body = io.MultiReader(bytes.NewReader(raw), body)
		}
	}

	mailT := c.timeout(c.opts.MailTimeout, DefaultMailTimeout)
	rcptT := c.timeout(c.opts.RcptTimeout, DefaultRcptTimeout)
	defer func() { res.TLS = c.tls }()

	// The batch is assembled apart and written by flushPipelined: a
	// batch larger than the write buffer would otherwise go out here,
	// before anyone reads the replies.
	b := c.appendLine(c.batch[:0], mail)
	if pipeline {
		for _, l := range lines {
			b = c.appendLine(b, l)
		}
		switch {
		case !useBDAT:
			b = c.appendLine(b, "DATA")
		case inline != nil:
			b = c.appendLine(b, "BDAT "+strconv.Itoa(len(inline))+" LAST")
			b = append(b, inline...)
		}
	}
	if cap(b) <= 4*clientInlineMax {
		c.batch = b
	}
	batch := c.flushPipelined(ctx, "MAIL", mailT, pipeline, b)
	mailReply, err := c.read(ctx, "MAIL", mailT)
	if err != nil {
		batch.wait()
		return res, err
	}
	mailErr := c.check("MAIL", mailReply, 2)
	if c.broken != nil {
		batch.wait()
		return res, mailErr
	}
	if mailErr != nil && !pipeline {
		return res, mailErr
	}
	if mailErr == nil {
		c.inTx, c.txRcpts, c.txUTF8 = true, 0, utf8
	}

	accepted := make([]int, 0, limit)
	for i := range limit {
		if !pipeline {
			c.writeLine(lines[i])
			if err := c.flush(ctx, "RCPT", rcptT); err != nil {
				return res, err
			}
		}
		reply, err := c.read(ctx, "RCPT", rcptT)
		if err != nil {
			batch.wait()
			return res, err
		}
		res.Recipients[i].Reply = reply
		err = c.check("RCPT", reply, 2)
		if c.broken != nil {
			batch.wait()
			return res, err
		}
		if err == nil {
			accepted = append(accepted, i)
		}
	}
	if err := batch.wait(); err != nil {
		return res, err
	}
	if mailErr == nil {
		c.txRcpts = len(accepted)
	}

	ok := mailErr == nil && len(accepted) > 0
	if pipeline && (!useBDAT || inline != nil) {
		return c.finishPipelined(ctx, res, accepted, ok, mailErr, useBDAT, body)
	}
	firstErr, tempErr := clientRecipientErrors(res)
	if err := c.abandonIfEmpty(ctx, mailErr, firstErr, tempErr, len(accepted)); err != nil {
		return res, err
	}
	if useBDAT {
		return c.sendBDAT(ctx, res, accepted, body, binary)
	}
	if _, err := c.cmd(ctx, "DATA", c.timeout(c.opts.DataInitTimeout, DefaultDataInitTimeout), 3, "DATA"); err != nil {
		c.resetAfter(ctx)
		return res, c.failAccepted(res, accepted, err)
	}
	return c.sendData(ctx, res, accepted, body)
}

// abandonIfEmpty returns the error to report when MAIL failed or no
// recipient was accepted, after RSET when a transaction is open.
func (c *Client) abandonIfEmpty(ctx context.Context, mailErr, firstErr, tempErr error, accepted int) error {
	if mailErr != nil {
		return mailErr
	}
	if accepted > 0 {
		return nil
	}
	c.resetAfter(ctx)
	if tempErr != nil {
		return tempErr
	}
	return firstErr
}

// resetAfter sends RSET after a failed transaction, so that the
// connection can carry the next one. Its own failure breaks the client and
// shows up on the next call.
func (c *Client) resetAfter(ctx context.Context) {
	if c.broken == nil && c.inTx {
		c.Reset(ctx)
	}
	c.inTx = false
}

// failAccepted records err as the outcome of every accepted recipient and
// returns it.
func (c *Client) failAccepted(res *SendResult, accepted []int, err error) error {
	var ce *CommandError
	if errors.As(err, &ce) {
		var se *Error
		if errors.As(ce.Err, &se) {
			r := &Reply{Code: se.Code, Enhanced: se.Enhanced, Lines: clientSplitLines(se.Message)}
			for _, i := range accepted {
				res.Recipients[i].Reply = r
			}
		}
	}
	return err
}

func clientSplitLines(s string) []string {
	return strings.Split(s, "\n")
}

// finishPipelined reads the reply to the DATA or BDAT LAST that went with
// the envelope, and sends the message after a 354.
func (c *Client) finishPipelined(ctx context.Context, res *SendResult, accepted []int, ok bool, mailErr error, bdat bool, body io.Reader) (*SendResult, error) {
	firstErr, tempErr := clientRecipientErrors(res)
	if bdat {
		if !ok {
			// The server refused BDAT and skipped the chunk.
			reply, err := c.read(ctx, "BDAT", c.timeout(c.opts.DataTermTimeout, DefaultDataTermTimeout))
			if err != nil {
				return res, err
			}
			if reply.Code.Class() == 2 {
				return res, c.fatal(&CommandError{Command: "BDAT", Err: &ProtocolError{Reason: "BDAT accepted without recipients"}})
			}
			return res, c.abandonIfEmpty(ctx, mailErr, firstErr, tempErr, 0)
		}
		c.inTx = false
		return res, c.readFinal(ctx, res, accepted, "BDAT")
	}
	reply, err := c.read(ctx, "DATA", c.timeout(c.opts.DataInitTimeout, DefaultDataInitTimeout))
	if err != nil {
		return res, err
	}
	if reply.Code == CodeStartMailInput && !ok {
		// A server that says 354 without a recipient: send an empty
		// message so that the dialogue stays in step; it must refuse it.
		c.writeLine(".")
		if err := c.flush(ctx, "DATA", c.timeout(c.opts.DataTermTimeout, DefaultDataTermTimeout)); err != nil {
			return res, err
		}
		if _, err := c.read(ctx, "DATA", c.timeout(c.opts.DataTermTimeout, DefaultDataTermTimeout)); err != nil {
			return res, err
		}
	}
	if !ok {
		return res, c.abandonIfEmpty(ctx, mailErr, firstErr, tempErr, 0)
	}
	if err := c.check("DATA", reply, 3); err != nil {
		c.resetAfter(ctx)
		return res, c.failAccepted(res, accepted, err)
	}
	return c.sendData(ctx, res, accepted, body)
}

// recipientErrors returns the first refusal and the first temporary one.
func clientRecipientErrors(res *SendResult) (first, temp error) {
	for i := range res.Recipients {
		r := res.Recipients[i].Reply
		if r == nil || r.Code.Class() < 4 {
			continue
		}
		err := &CommandError{Command: "RCPT", Err: clientReplyError(r)}
		if first == nil {
			first = err
		}
		if temp == nil && r.Code.Temporary() {
			temp = err
		}
	}
	return first, temp
}

// sendData streams body after a 354 and reads the final reply or replies.
func (c *Client) sendData(ctx context.Context, res *SendResult, accepted []int, body io.Reader) (*SendResult, error) {
	d := c.newDataWriter(ctx, len(accepted))
	if _, err := d.ReadFrom(body); err != nil {
		return res, err
	}
	if err := d.dot.Close(); err != nil {
		d.fail(err)
		return res, d.err
	}
	d.closed = true
	if err := c.w.Flush(); err != nil {
		d.fail(err)
		return res, d.err
	}
	if cerr := c.endBlocks(&d.armed); cerr != nil {
		return res, c.fatal(&CommandError{Command: "DATA", Err: cerr})
	}
	c.inTx = false
	return res, c.readFinal(ctx, res, accepted, "DATA")
}

// sendBDAT sends body in chunks after the recipients were accepted.
func (c *Client) sendBDAT(ctx context.Context, res *SendResult, accepted []int, body io.Reader, binary bool) (*SendResult, error) {
	bw := &clientBdatWriter{c: c, ctx: ctx, buf: c.chunk[:0], max: c.chunkSize()}
	defer func() {
		if cap(bw.buf) <= clientInlineMax {
			c.chunk = bw.buf[:0]
		}
	}()
	var w io.Writer = bw
	var ew *clientEndingWriter
	if !binary {
		ew = &clientEndingWriter{w: bw, normalize: c.opts.LineEndings == LineEndingsNormalize}
		w = ew
	}
	_, err := io.CopyBuffer(w, body, c.copyBuffer())
	if err == nil && ew != nil {
		err = ew.finish()
	}
	if err == nil {
		err = bw.send(true)
	}
	if err != nil {
		if c.broken == nil {
			c.resetAfter(ctx)
		}
		var ce *CommandError
		if !errors.As(err, &ce) {
			err = &CommandError{Command: "BDAT", Err: err}
		}
		return res, c.failAccepted(res, accepted, err)
	}
	c.inTx = false
	return res, c.readFinal(ctx, res, accepted, "BDAT")
}

// readFinal reads the reply to the end of the data, or one per accepted
// recipient in LMTP, and fills in the result.
func (c *Client) readFinal(ctx context.Context, res *SendResult, accepted []int, name string) error {
	tt := c.timeout(c.opts.DataTermTimeout, DefaultDataTermTimeout)
	if !c.opts.LMTP {
		reply, err := c.read(ctx, name, tt)
		if err != nil {
			return err
		}
		res.Data = reply
		err = c.check(name, reply, 2)
		for _, i := range accepted {
			res.Recipients[i].Reply = reply
			res.Recipients[i].Delivered = err == nil
		}
		return err
	}
	var first error
	for _, i := range accepted {
		reply, err := c.read(ctx, name, tt)
		if err != nil {
			return err
		}
		res.Recipients[i].Reply = reply
		err = c.check(name, reply, 2)
		if c.broken != nil {
			return err
		}
		res.Recipients[i].Delivered = err == nil
		if err != nil && first == nil {
			first = err
		}
	}
	if res.Delivered() == 0 {
		return first
	}
	return nil
}

// readPrefix reads up to clientInlineMax bytes of body and reports whether
// that was all of it. The bytes live in the client's buffer until the next
// message.
func (c *Client) readPrefix(body io.Reader) ([]byte, bool, error) {
	if cap(c.prefix) < clientInlineMax+1 {
		c.prefix = make([]byte, clientInlineMax+1)
	}
	// One byte more than fits tells whether there is more.
	buf := c.prefix[:clientInlineMax+1]
	n, err := io.ReadFull(body, buf)
	switch err {
	case nil:
		return buf, false, nil
	case io.EOF, io.ErrUnexpectedEOF:
		return buf[:n], true, nil
	}
	return nil, false, err
}

// prepareInline checks (or normalises) the line endings of a whole small
// message and returns it as it goes in a BDAT chunk, or nil when it does
// not fit in one.
func (c *Client) prepareInline(raw []byte, binary bool) ([]byte, error) {
	if binary {
		if len(raw) > c.chunkSize() {
			return nil, nil
		}
		return raw, nil
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 2)
	ew := &clientEndingWriter{w: &out, normalize: c.opts.LineEndings == LineEndingsNormalize}
	if _, err := ew.Write(raw); err != nil {
		return nil, err
	}
	if err := ew.finish(); err != nil {
		return nil, err
	}
	if out.Len() > c.chunkSize() {
		return nil, nil
	}
	return out.Bytes(), nil
}

// clientFlush is a batch write in progress: see flushPipelined.
type clientFlush struct {
	c      *Client
	name   string
	done   chan error // nil for a write that already happened
	armed  clientArmed
	err    error
	waited bool
}

// flushPipelined writes a batch of commands. Over a pipe or a full socket
// buffer, a server may reply to the first commands before it reads the
// last, so a large batch is written by a goroutine while the caller reads
// the replies (RFC 2920 section 3.1 warns of this deadlock). data is the
// batch; nothing else may be buffered. The wait method of the result waits
// for the write and reports its error.
func (c *Client) flushPipelined(ctx context.Context, name string, d time.Duration, async bool, data []byte) *clientFlush {
	f := &clientFlush{c: c, name: name}
	if !async || len(data) <= 512 || c.broken != nil {
		c.w.Write(data)
		f.err, f.waited = c.flush(ctx, name, d), true
		return f
	}
	f.armed = c.arm(ctx, d)
	f.done = make(chan error, 1)
	conn, w := c.conn, c.w
	go func() {
		_, err := w.Write(data)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// Wake the reader, which would otherwise wait for replies
			// to commands that never left.
			conn.Close()
		}
		f.done <- err
	}()
	return f
}

func (f *clientFlush) wait() error {
	if f.waited {
		return f.err
	}
	f.waited = true
	err := <-f.done
	if cerr := f.armed.disarm(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		f.err = f.c.fatal(&CommandError{Command: f.name, Err: err})
	}
	return f.err
}
