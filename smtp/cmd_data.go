package smtp

import (
	"errors"
	"io"
	"sync"

	"github.com/heraldmail/herald/internal/wire"
)

// cmdData handles DATA (RFC 5321 section 4.1.1.4). The message streams to
// the session through a wire.DotReader, which refuses bare CR and bare LF;
// see the package documentation on SMTP smuggling.
func (c *conn) cmdData(arg string) error {
	if arg != "" {
		return &Error{Code: CodeParamSyntaxError, Enhanced: EnhancedInvalidArguments, Message: "DATA takes no argument"}
	}
	if err := c.checkDataSequence(); err != nil {
		return err
	}
	if c.bdatUsed {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "DATA not allowed after BDAT"}
	}
	if c.mailOpts.Body == BodyBinaryMIME {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "BODY=BINARYMIME needs BDAT"}
	}
	c.reply(CodeStartMailInput, 0, "Start mail input; end with <CRLF>.<CRLF>")
	if err := c.flush(); err != nil {
		return nil
	}
	c.lc.ReadTimeout = orDefault(c.srv.DataTimeout, DefaultDataTimeout)
	dr := wire.NewDotReader(c.r, c.srv.maxMessage())
	results := c.deliver(dr)

	readErr := dr.Err()
	if readErr == nil && !dr.Done() {
		// The session stopped early: skip the rest of the message.
		readErr = dr.Drain()
	}
	if errors.Is(readErr, ErrMessageTooLarge) {
		if err := dr.Drain(); err != nil {
			readErr = err
		}
	}
	c.finishData(readErr, results)
	return nil
}

// checkDataSequence checks that a transaction with recipients is open.
func (c *conn) checkDataSequence() error {
	if !c.mail {
		return &Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: "Need MAIL command"}
	}
	if len(c.rcpts) == 0 {
		return &Error{Code: CodeTransactionFailed, Enhanced: EnhancedInvalidCommand, Message: "No valid recipients"}
	}
	return nil
}

// deliver hands the message to the session and returns one result per
// reply to send: one for SMTP, one per recipient for LMTP.
func (c *conn) deliver(data io.Reader) []error {
	r := &messageReader{r: data}
	if !c.srv.DisableReceived {
		opts := ReceivedOptions{By: c.srv.hostname(), ID: c.info.TransactionID, UTF8: c.mailOpts.UTF8}
		if len(c.rcpts) == 1 {
			opts.For = c.rcpts[0]
		}
		r.prefix = Received(&c.info, opts)
	}
	if !c.srv.LMTP {
		return []error{c.sess.Data(c.ctx, r)}
	}
	n := len(c.rcpts)
	results := make([]error, n)
	if ls, ok := c.sess.(SessionLMTP); ok {
		rcpts := append([]Path(nil), c.rcpts...)
		per, err := ls.LMTPData(c.ctx, r, rcpts)
		if err == nil && len(per) != n {
			c.log().Error("smtp: LMTPData returned the wrong number of results", "want", n, "got", len(per))
			err = errors.New("smtp: LMTPData result count mismatch")
		}
		if err == nil {
			copy(results, per)
			return results
		}
		for i := range results {
			results[i] = err
		}
		return results
	}
	err := c.sess.Data(c.ctx, r)
	for i := range results {
		results[i] = err
	}
	return results
}

// finishData replies to the end of the message data and ends the
// transaction. readErr, when set, decides the reply over the session's
// results: the session may not have seen the whole message.
func (c *conn) finishData(readErr error, results []error) {
	c.lc.ReadTimeout = orDefault(c.srv.CommandTimeout, DefaultCommandTimeout)
	switch {
	case readErr == nil:
		for i, err := range results {
			if err != nil {
				c.fail(err)
				continue
			}
			if c.srv.LMTP {
				c.reply(CodeOK, EnhancedOK, c.rcpts[i].String()+" Message accepted for delivery")
			} else {
				c.reply(CodeOK, EnhancedOK, "Message accepted for delivery")
			}
		}
	case errors.Is(readErr, ErrBareLineEnding):
		// Where the client thinks the message ends is unknowable: say
		// why and close, so nothing after the bare line ending is ever
		// read as a command.
		c.fail(readErr)
		c.closing = true
	case errors.Is(readErr, ErrMessageTooLarge):
		for range results {
			c.fail(readErr)
		}
	case errors.Is(readErr, errBDATInterrupted):
		// A command other than BDAT ended the chunks: the transaction
		// is abandoned without a reply, and that command runs next.
	default:
		c.ioFailed(readErr)
	}
	c.resetTx(false)
}

// messageReader is the message as the session reads it: the Received:
// field, then the data. Its WriteTo copies through a pooled buffer, so that
// io.Copy into a file, a socket or io.Discard does not allocate the 32 KiB
// buffer of io.Copy (or of io.MultiReader's WriteTo) for every message.
type messageReader struct {
	prefix string // not yet read
	r      io.Reader
}

func (m *messageReader) Read(p []byte) (int, error) {
	if m.prefix != "" {
		n := copy(p, m.prefix)
		m.prefix = m.prefix[n:]
		return n, nil
	}
	return m.r.Read(p)
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// WriteTo writes the rest of the message to w.
func (m *messageReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if m.prefix != "" {
		n, err := io.WriteString(w, m.prefix)
		total += int64(n)
		m.prefix = m.prefix[n:]
		if err != nil {
			return total, err
		}
	}
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := m.r.Read(buf)
		if n > 0 {
			wn, werr := w.Write(buf[:n])
			total += int64(wn)
			if werr != nil {
				return total, werr
			}
			if wn < n {
				return total, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}
