package imap

import "context"

// MailboxOpenAhead is implemented by a Mailbox whose Open may be called
// from another goroutine while the session goes on. OpenAhead returns how
// many messages a FETCH of message contents may open ahead of the one it
// is sending (0: none), so that reading the next files overlaps writing
// this one to the client.
type MailboxOpenAhead interface {
	OpenAhead() int
}

// openAhead opens the messages of one FETCH in order, up to about n ahead
// of the one being sent. They are handed over in batches of n/2: on more
// than one core the two goroutines then wake each other once a batch, not
// once a message, which would cost more than the overlap gains.
type openAhead struct {
	ch   chan []opened
	quit chan struct{}
	done chan struct{}
	cur  []opened // what is left of the batch being taken
}

type opened struct {
	ct  Content
	err error
}

// startOpenAhead opens the messages uids in a goroutine; take returns
// them in the same order. stop must be called when the FETCH ends.
func startOpenAhead(ctx context.Context, mb Mailbox, uids []UID, n int) *openAhead {
	a := &openAhead{ch: make(chan []opened, 1), quit: make(chan struct{}), done: make(chan struct{})}
	size := max(1, n/2)
	go func() {
		defer close(a.done)
		batch := make([]opened, 0, size)
		for i, u := range uids {
			ct, err := mb.Open(ctx, u)
			batch = append(batch, opened{ct, err})
			if len(batch) < size && i < len(uids)-1 {
				continue
			}
			select {
			case a.ch <- batch:
			case <-a.quit:
				closeOpened(batch)
				return
			}
			batch = make([]opened, 0, size)
		}
	}()
	return a
}

// take returns the next message's content, or the error Open gave.
func (a *openAhead) take() (Content, error) {
	if len(a.cur) == 0 {
		a.cur = <-a.ch
	}
	o := a.cur[0]
	a.cur[0] = opened{}
	a.cur = a.cur[1:]
	return o.ct, o.err
}

// stop ends the goroutine and closes what it opened that was not taken.
func (a *openAhead) stop() {
	close(a.quit)
	<-a.done
	closeOpened(a.cur)
	a.cur = nil
	for {
		select {
		case b := <-a.ch:
			closeOpened(b)
		default:
			return
		}
	}
}

func closeOpened(b []opened) {
	for _, o := range b {
		if o.ct != nil {
			o.ct.Close()
		}
	}
}
