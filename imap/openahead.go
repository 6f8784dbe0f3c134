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

// openAhead opens the messages of one FETCH in order, up to n ahead of
// the one being sent.
type openAhead struct {
	ch   chan opened
	quit chan struct{}
	done chan struct{}
}

type opened struct {
	ct  Content
	err error
}

// startOpenAhead opens the messages uids in a goroutine; take returns
// them in the same order. stop must be called when the FETCH ends.
func startOpenAhead(ctx context.Context, mb Mailbox, uids []UID, n int) *openAhead {
	a := &openAhead{ch: make(chan opened, n), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for _, u := range uids {
			ct, err := mb.Open(ctx, u)
			select {
			case a.ch <- opened{ct, err}:
			case <-a.quit:
				if ct != nil {
					ct.Close()
				}
				return
			}
		}
	}()
	return a
}

// take returns the next message's content, or the error Open gave.
func (a *openAhead) take() (Content, error) {
	o := <-a.ch
	return o.ct, o.err
}

// stop ends the goroutine and closes what it opened that was not taken.
func (a *openAhead) stop() {
	close(a.quit)
	<-a.done
	for {
		select {
		case o := <-a.ch:
			if o.ct != nil {
				o.ct.Close()
			}
		default:
			return
		}
	}
}
