// Command mailserver is a complete mail server made of Herald's packages:
// an MX that takes mail for its domains, submission with AUTH on ports 587
// and 465, local delivery into Maildirs, an outbound queue that delivers to
// MX hosts with STARTTLS and MTA-STS (or through a smarthost) and bounces
// what cannot be delivered, IMAP and POP3 to read the mail, and an HTTP
// listener for autoconfig and MTA-STS.
//
// With no flags it runs on 127.0.0.1 with unprivileged ports, for the
// domain localhost, with its data in ./herald-data:
//
//	go run ./examples/mailserver
//	echo secret | go run ./examples/mailserver adduser me@localhost
//
// Run it with -h for the flags, and see the README for running it for a
// real domain.
//
// # Inbound policy
//
// Mail on the MX port from clients outside -relay-networks is judged during
// the dialogue, so that nothing is accepted and then bounced (policy.go):
//
//   - at the first MAIL FROM of a connection, the client checks: a DNS
//     allowlist (-dnswl) whose listed clients skip the FCrDNS and DNSBL
//     checks, greylisting and SPF refusals; forward-confirmed reverse DNS
//     and the EHLO name (-fcrdns off|log|reject, default log; reject
//     answers 550 5.7.25, RFC 7372; the EHLO name is only logged, as RFC
//     5321 section 4.1.4 asks); DNS blocklists (-dnsbl
//     zen.example,pbl.example=127.0.0.10-127.0.0.11), a listed client
//     refused 554 5.7.1 with the list and its TXT reason, a list that fails
//     to answer failing open;
//   - at each MAIL FROM, SPF (-spf, default on): fail is refused 550 5.7.23
//     with the explanation, temperror 451 4.7.24 (RFC 7372 section 3.2),
//     every result recorded in Received-SPF and Authentication-Results;
//   - at each RCPT TO, greylisting (-greylist, -greylist-delay 5m): 451 4.7.1
//     for an unknown triplet until its retry after the delay;
//   - after the data, the junk filter (-junk), by the rules of
//     DIR/junk-rules (written with documented defaults on the first start):
//     a message that reaches the threshold is stored in the Junk folder with
//     the keyword $Junk, never refused or dropped, and every message gets
//     X-Herald-Spam: yes|no score=... .
//
// Submission has a rate limit per authenticated user instead (-rate-limit
// 50/h, counted per accepted message, 451 4.7.1 beyond). With -redis URL the
// greylist and the rate limit live in Redis, shared by several servers;
// otherwise in memory, the greylist saved to DIR/greylist.snapshot at
// shutdown. When Redis does not answer, greylisting lets mail through and
// the rate limit defers submission (451 4.3.0), both logged. Each decision is logged with its reason and counted; the
// counters are served in the Prometheus text format at /metrics on the HTTP
// listener (to loopback and -relay-networks clients) and printed by
// "mailserver -data DIR stats".
//
// # A fleet
//
// With -role mx and -role mailbox the work is split over several
// instances: MX instances (behind HAProxy, -proxy-from) take and judge
// mail and hand local users' mail over LMTP (-mailbox-lmtp) to a mailbox
// instance (-lmtp), which keeps the Maildirs and serves IMAP, POP3 and
// ManageSieve. The MX answers the client only once the mailbox instance
// has stored the message or it is in the MX's own queue. Every instance
// reads the user database of its data directory: copy DIR/users,
// DIR/aliases and DIR/dkim/ from the mailbox instance to the MX instances
// (role.go says why).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, rest, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mailserver:", err)
		return 2
	}
	if len(rest) > 0 {
		if err := subcommand(cfg, rest, stdin, stdout); err != nil {
			fmt.Fprintln(stderr, "mailserver:", err)
			return 1
		}
		return 0
	}
	if err := serve(cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "mailserver:", err)
		return 1
	}
	return 0
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(cfg *config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	srv, err := newServer(cfg, log)
	if err != nil {
		return err
	}
	if err := srv.listen(); err != nil {
		return err
	}
	_, certFile, _ := tlsConfig(cfg)
	srv.banner(stdout, certFile)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return srv.run(ctx, 30*time.Second)
}

// readPassword reads one line from stdin: the password, never a flag, so
// that it stays out of the process list and shell history.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return "", errors.New("the password must have at least 8 characters")
	}
	return pw, nil
}

func subcommand(cfg *config, args []string, stdin io.Reader, stdout io.Writer) error {
	need := func(n int) error {
		if len(args) != n+1 {
			return fmt.Errorf("%s: wrong number of arguments\n%s", args[0], usage)
		}
		return nil
	}
	switch args[0] {
	case "adduser", "passwd":
		if err := need(1); err != nil {
			return err
		}
		addr, err := canonicalAddr(args[1])
		if err != nil {
			return err
		}
		_, dom, _ := strings.Cut(addr, "@")
		if !cfg.isLocalDomain(dom) {
			fmt.Fprintf(stdout, "warning: %s is not in -domains %v; pass -domains when you run the server\n", dom, cfg.domains)
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		u, err := newUser(addr, pw)
		if err != nil {
			return err
		}
		err = editDB(cfg.dataDir, func(users map[string]*user, _ map[string][]string) error {
			_, exists := users[addr]
			if args[0] == "adduser" && exists {
				return fmt.Errorf("%s exists already; use passwd", addr)
			}
			if args[0] == "passwd" && !exists {
				return fmt.Errorf("%s: no such user", addr)
			}
			users[addr] = u
			return nil
		})
		if err != nil {
			return err
		}
		if err := os.MkdirAll(cfg.mailDir(addr), 0o700); err != nil {
			return err
		}
		if args[0] == "adduser" {
			fmt.Fprintf(stdout, "%s added; mail is stored in %s\n", addr, cfg.mailDir(addr))
		} else {
			fmt.Fprintf(stdout, "password of %s changed\n", addr)
		}
		return nil
	case "deluser":
		if err := need(1); err != nil {
			return err
		}
		addr, err := canonicalAddr(args[1])
		if err != nil {
			return err
		}
		err = editDB(cfg.dataDir, func(users map[string]*user, _ map[string][]string) error {
			if users[addr] == nil {
				return fmt.Errorf("%s: no such user", addr)
			}
			delete(users, addr)
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s removed; its mail stays in %s\n", addr, cfg.mailDir(addr))
		return nil
	case "users":
		if err := need(0); err != nil {
			return err
		}
		return editDB(cfg.dataDir, func(users map[string]*user, aliases map[string][]string) error {
			for _, k := range sortedKeys(users) {
				fmt.Fprintln(stdout, k)
			}
			for _, k := range sortedKeys(aliases) {
				fmt.Fprintf(stdout, "%s -> %s\n", k, strings.Join(aliases[k], ", "))
			}
			return nil
		})
	case "alias":
		if err := need(2); err != nil {
			return err
		}
		addr, err := canonicalAddr(args[1])
		if err != nil {
			return err
		}
		target := args[2]
		if target != "-" {
			if target, err = canonicalAddr(target); err != nil {
				return err
			}
		}
		return editDB(cfg.dataDir, func(users map[string]*user, aliases map[string][]string) error {
			if target == "-" {
				if aliases[addr] == nil {
					return fmt.Errorf("%s: no such alias", addr)
				}
				delete(aliases, addr)
				fmt.Fprintf(stdout, "alias %s removed\n", addr)
				return nil
			}
			if users[addr] != nil {
				return fmt.Errorf("%s is a user, not an alias", addr)
			}
			if users[target] == nil && aliases[target] == nil {
				return fmt.Errorf("%s: no such user or alias", target)
			}
			if !slices.Contains(aliases[addr], target) {
				aliases[addr] = append(aliases[addr], target)
			}
			fmt.Fprintf(stdout, "mail for %s goes to %s\n", addr, strings.Join(aliases[addr], ", "))
			return nil
		})
	case "queue":
		return runQueueCommand(cfg, args[1:], stdout)
	case "stats":
		if err := need(0); err != nil {
			return err
		}
		return runStatsCommand(cfg, stdout)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
