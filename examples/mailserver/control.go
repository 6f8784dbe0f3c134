package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/smtp"
)

// The queue subcommands talk to the running server over a Unix socket in
// the data directory (only the owner of the directory can reach it), since
// one queue directory is used by one process at a time. When no server
// runs, they open the queue themselves.
const controlSocket = "control.sock"

type controlServer struct {
	srv *server

	mu sync.Mutex
	l  net.Listener
}

func (c *controlServer) listen() (net.Listener, error) {
	p := filepath.Join(c.srv.cfg.dataDir, controlSocket)
	if conn, err := net.Dial("unix", p); err == nil {
		conn.Close()
		return nil, fmt.Errorf("another server is running on %s", c.srv.cfg.dataDir)
	}
	os.Remove(p) // left by a server that was killed
	l, err := net.Listen("unix", p)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	os.Chmod(p, 0o600)
	c.mu.Lock()
	c.l = l
	c.mu.Unlock()
	return l, nil
}

func (c *controlServer) serve(l net.Listener) error {
	for {
		conn, err := l.Accept()
		if err != nil {
			return err
		}
		go c.handle(conn)
	}
}

func (c *controlServer) shutdown(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.l != nil {
		c.l.Close()
		os.Remove(filepath.Join(c.srv.cfg.dataDir, controlSocket))
	}
	return nil
}

func (c *controlServer) handle(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadString('\n')
	if err != nil {
		return
	}
	args := strings.Fields(line)
	c.srv.log.Info("control command", "args", strings.Join(args, " "))
	if len(args) == 1 && args[0] == "stats" {
		c.srv.policy.metrics.writeTo(conn)
		return
	}
	if err := queueCommand(conn, c.srv.queue, args, true); err != nil {
		fmt.Fprintf(conn, "error: %v\n", err)
	}
}

// queueCommand runs "queue [retry ID|all | delete ID]" on q, writing its
// output to w.
func queueCommand(w io.Writer, q *delivery.Queue, args []string, running bool) error {
	switch {
	case len(args) == 0:
		items := q.Items()
		sort.Slice(items, func(i, j int) bool { return items[i].Arrival.Before(items[j].Arrival) })
		if len(items) == 0 {
			fmt.Fprintln(w, "The queue is empty.")
			return nil
		}
		for _, it := range items {
			fmt.Fprintf(w, "%s  %7d  %s  from %s  attempts %d  next %s\n", it.ID, it.Size,
				it.Arrival.UTC().Format(time.RFC3339), pathString(it.From), it.Attempts, it.Next.UTC().Format(time.RFC3339))
			for _, r := range it.Recipients {
				fmt.Fprintf(w, "    %s  %s\n", r.Recipient.Path.String(), recipientState(r))
			}
		}
		fmt.Fprintf(w, "%d messages.\n", len(items))
		return nil
	case args[0] == "retry" && len(args) == 2:
		if !running {
			return errors.New("the server is not running: queued messages are tried when it starts")
		}
		if args[1] == "all" {
			fmt.Fprintf(w, "%d messages will be tried now.\n", q.RetryAll())
			return nil
		}
		if err := q.Retry(args[1]); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s will be tried now.\n", args[1])
		return nil
	case args[0] == "delete" && len(args) == 2:
		if err := q.Delete(args[1]); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s deleted.\n", args[1])
		return nil
	}
	return errors.New("usage: queue | queue retry ID|all | queue delete ID")
}

func pathString(p smtp.Path) string {
	if p.IsNull() {
		return "<>"
	}
	return p.String()
}

func recipientState(r delivery.QueuedRecipient) string {
	s := fmt.Sprint(r.State)
	if r.Code != 0 {
		s += fmt.Sprintf(" %d %s %s", r.Code, r.Enhanced, r.Text)
	}
	return s
}

// runQueueCommand is the queue subcommand: through the running server, or
// on the queue directory when none runs.
func runQueueCommand(cfg *config, args []string, stdout io.Writer) error {
	p := filepath.Join(cfg.dataDir, controlSocket)
	conn, err := net.Dial("unix", p)
	if err == nil {
		defer conn.Close()
		fmt.Fprintln(conn, strings.Join(args, " "))
		var out strings.Builder
		io.Copy(io.MultiWriter(stdout, &out), conn)
		if strings.HasPrefix(out.String(), "error: ") {
			return errors.New("command failed")
		}
		return nil
	}
	q, err := delivery.OpenQueue(filepath.Join(cfg.dataDir, "queue"), &delivery.QueueOptions{
		Transport: delivery.TransportFunc(func(context.Context, *smtp.Envelope, delivery.Body) (*delivery.Result, error) {
			return nil, errors.New("not delivering from the command line")
		}),
	})
	if err != nil {
		return err
	}
	defer q.Close()
	return queueCommand(stdout, q, args, false)
}

// runStatsCommand prints the running server's policy counters, in the
// format of its /metrics endpoint. The counters live in the server's
// memory, so there are none to show when it does not run.
func runStatsCommand(cfg *config, stdout io.Writer) error {
	conn, err := net.Dial("unix", filepath.Join(cfg.dataDir, controlSocket))
	if err != nil {
		return fmt.Errorf("the server is not running on %s: the counters live in its memory", cfg.dataDir)
	}
	defer conn.Close()
	fmt.Fprintln(conn, "stats")
	_, err = io.Copy(stdout, conn)
	return err
}
