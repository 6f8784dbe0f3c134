package smtp

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// errBDATInterrupted means a command other than BDAT arrived while the
// session was reading chunks.
var errBDATInterrupted = errors.New("smtp: BDAT sequence interrupted")

// parseBDAT parses "chunk-size [LAST]" (RFC 3030 section 2).
func parseBDAT(arg string) (size int64, last bool, err error) {
	sz, rest, _ := strings.Cut(arg, " ")
	if sz == "" || len(sz) > 18 {
		return 0, false, paramSyntax("Syntax: BDAT size [LAST]")
	}
	for i := 0; i < len(sz); i++ {
		if sz[i] < '0' || sz[i] > '9' {
			return 0, false, paramSyntax("Syntax: BDAT size [LAST]")
		}
	}
	size, _ = strconv.ParseInt(sz, 10, 64)
	switch {
	case rest == "":
	case strings.EqualFold(rest, "LAST"):
		last = true
	default:
		return 0, false, paramSyntax("Syntax: BDAT size [LAST]")
	}
	return size, last, nil
}

// cmdBdat handles BDAT (RFC 3030). The session's Data reads the chunks
// as one stream; between chunks the reader acknowledges the chunk and
// reads the next BDAT command itself, so no goroutine is needed.
func (c *conn) cmdBdat(arg string) error {
	size, last, err := parseBDAT(arg)
	if err != nil {
		// The chunk length is unknown, so the stream cannot be trusted.
		c.closing = true
		return err
	}
	refuse := func(e error) error {
		if err := c.discard(size); err != nil {
			c.ioFailed(err)
			return nil
		}
		return e
	}
	if !c.srv.enabled(ExtChunking) {
		return refuse(&Error{Code: CodeNotImplemented, Enhanced: EnhancedInvalidCommand, Message: "BDAT not available"})
	}
	if err := c.checkDataSequence(); err != nil {
		return refuse(err)
	}
	c.bdatUsed = true
	c.lc.ReadTimeout = orDefault(c.srv.DataTimeout, DefaultDataTimeout)
	br := &bdatReader{c: c, remaining: size, last: last, max: c.srv.maxMessage()}
	if br.max >= 0 && size > br.max {
		br.err = ErrMessageTooLarge
	}
	results := c.deliver(br)

	failed := false
	for _, r := range results {
		failed = failed || r != nil
	}
	if br.err == nil && !br.done && !failed {
		// The session accepted without reading everything: go on to
		// the last chunk so that the stream stays in sync.
		io.Copy(io.Discard, br)
	}
	readErr := br.err
	if readErr == nil || errors.Is(readErr, ErrMessageTooLarge) {
		// Skip what is left of the current chunk; later chunks of a
		// failed transaction get 503 as they come.
		if err := c.discard(br.remaining); err != nil {
			readErr = err
		}
	}
	c.finishData(readErr, results)
	return nil
}

// bdatReader streams the data of consecutive BDAT chunks.
type bdatReader struct {
	c         *conn
	remaining int64 // bytes left in the current chunk
	last      bool  // the current chunk is the last
	total     int64
	max       int64
	err       error // sticky
	done      bool  // the last chunk has been read
}

func (b *bdatReader) Read(p []byte) (int, error) {
	for b.remaining == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.last {
			b.done = true
			return 0, io.EOF
		}
		if err := b.next(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.r.Read(p)
	b.remaining -= int64(n)
	b.total += int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		b.err = err
	}
	return n, err
}

// next acknowledges the finished chunk and reads the next BDAT command.
// While chunks are pending, NOOP is answered, RSET, QUIT and the greeting
// commands abandon the transaction (they run next), and any other command
// gets 503 (RFC 3030 section 3: DATA after BDAT is a bad sequence).
func (b *bdatReader) next() error {
	c := b.c
	c.reply(CodeOK, EnhancedOK, plural(b.total, "octet")+" received")
	for {
		line, err := c.readCommand()
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				c.closing = true
			}
			return err
		}
		cmd, perr := ParseCommand(string(line))
		if perr != nil {
			c.fail(perr)
			if c.closing {
				return errBDATInterrupted
			}
			continue
		}
		switch cmd.Verb {
		case "BDAT":
		case "NOOP":
			c.reply(CodeOK, EnhancedOK, "OK")
			continue
		case "RSET", "QUIT", "EHLO", "HELO", "LHLO":
			c.pending = string(line)
			return errBDATInterrupted
		default:
			c.fail(&Error{Code: CodeBadSequence, Enhanced: EnhancedInvalidCommand, Message: cmd.Verb + " not allowed after BDAT"})
			if c.closing {
				return errBDATInterrupted
			}
			continue
		}
		size, last, perr := parseBDAT(cmd.Arg)
		if perr != nil {
			c.fail(perr)
			c.closing = true
			return errBDATInterrupted
		}
		c.lc.ReadTimeout = orDefault(c.srv.DataTimeout, DefaultDataTimeout)
		b.remaining, b.last = size, last
		if b.max >= 0 && b.total+size > b.max {
			return ErrMessageTooLarge
		}
		return nil
	}
}
