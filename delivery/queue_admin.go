package delivery

import (
	"container/heap"
	"errors"
	"fmt"
)

// ErrNotQueued means no message with the given ID is in the queue.
var ErrNotQueued = errors.New("delivery: no such message in the queue")

// ErrAttemptInProgress means the message is being delivered right now, so
// it cannot be deleted; try again when the attempt has ended.
var ErrAttemptInProgress = errors.New("delivery: an attempt is in progress")

// Retry makes message id due at once, ahead of its retry schedule, as an
// administrator does after fixing the cause of a failure. Run picks it up
// immediately. It fails with ErrAttemptInProgress while the message is
// being delivered.
func (q *Queue) Retry(id string) error {
	q.mu.Lock()
	it := q.items[id]
	if it == nil {
		q.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotQueued, id)
	}
	if it.running {
		q.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrAttemptInProgress, id)
	}
	it.st.Next = q.now()
	heap.Fix(&q.waiting, it.index)
	q.mu.Unlock()
	q.poke()
	q.logger().Info("queue retry requested", "id", id)
	return nil
}

// RetryAll makes every queued message that is not being delivered right
// now due at once and returns how many it made due.
func (q *Queue) RetryAll() int {
	now := q.now()
	q.mu.Lock()
	n := 0
	for _, it := range q.items {
		if !it.running {
			it.st.Next = now
			n++
		}
	}
	heap.Init(&q.waiting)
	q.mu.Unlock()
	q.poke()
	q.logger().Info("queue retry of all messages requested", "messages", n)
	return n
}

// Delete removes message id from the queue without delivering it and
// without a notification to its sender. It fails with ErrAttemptInProgress
// while the message is being delivered.
func (q *Queue) Delete(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[id]
	if it == nil {
		return fmt.Errorf("%w: %s", ErrNotQueued, id)
	}
	if it.running {
		return fmt.Errorf("%w: %s", ErrAttemptInProgress, id)
	}
	if err := q.remove(id); err != nil {
		return err
	}
	delete(q.items, id)
	heap.Remove(&q.waiting, it.index)
	q.logger().Warn("queued message deleted by request", "id", id, "from", it.st.From.String(), "recipients", len(it.st.Recipients))
	return nil
}
