// Command spf-check evaluates SPF (RFC 7208) for one client address and
// sender, as a receiving MTA would, and prints the result, the matching
// mechanism, the explanation and the header fields to add.
//
// Usage:
//
//	spf-check -ip 192.0.2.1 -sender alice@example.com [-helo mail.example.com]
//	          [-identity mailfrom|helo] [-receiver mx.example.org]
//	          [-server 127.0.0.1:53] [-timeout 10s]
//
// DNS servers come from -server (repeatable, comma-separated) or from
// /etc/resolv.conf. The exit status is 0 for pass, 1 for any other result
// and 2 for a usage error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/spf"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command with its arguments and output streams; it returns
// the exit status.
func run(argv []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spf-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ipText := fs.String("ip", "", "SMTP client IP address (required)")
	sender := fs.String("sender", "", "MAIL FROM address; empty for the null reverse-path")
	helo := fs.String("helo", "", "HELO/EHLO name")
	identity := fs.String("identity", "mailfrom", "identity to check: mailfrom or helo")
	receiver := fs.String("receiver", "", "this receiver's host name, for %{r} and Received-SPF")
	servers := fs.String("server", "", "DNS servers host:port, comma-separated (default: /etc/resolv.conf)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit of the whole check")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	ip, err := netip.ParseAddr(*ipText)
	if err != nil {
		fmt.Fprintf(stderr, "spf-check: -ip: %v\n", err)
		return 2
	}
	args := spf.Args{IP: ip, Sender: *sender, HELO: *helo, Receiver: *receiver}
	switch *identity {
	case "mailfrom":
	case "helo":
		args.Identity = spf.IdentityHELO
	default:
		fmt.Fprintf(stderr, "spf-check: -identity must be mailfrom or helo\n")
		return 2
	}
	var opts dnsmx.ClientOptions
	if *servers != "" {
		opts.Servers = strings.Split(*servers, ",")
	}
	r, err := dnsmx.NewClient(&opts)
	if err != nil {
		fmt.Fprintf(stderr, "spf-check: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := spf.Check(ctx, r, args)
	if err != nil && res.Status != spf.TempError {
		fmt.Fprintf(stderr, "spf-check: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "result:      %s\n", res.Status)
	fmt.Fprintf(stdout, "domain:      %s\n", res.Domain)
	if res.Mechanism != "" {
		fmt.Fprintf(stdout, "mechanism:   %s\n", res.Mechanism)
	}
	if res.Explanation != "" {
		fmt.Fprintf(stdout, "explanation: %s\n", res.Explanation)
	}
	if res.Problem != nil {
		fmt.Fprintf(stdout, "problem:     %v\n", res.Problem)
	}
	fmt.Fprintf(stdout, "dns terms:   %d (void lookups %d)\n", res.DNSTerms, res.VoidLookups)
	fmt.Fprintln(stdout, spf.ReceivedSPF(res, args))
	authserv := *receiver
	if authserv == "" {
		authserv = "localhost"
	}
	fmt.Fprintf(stdout, "Authentication-Results: %s; %s\n", authserv, spf.AuthenticationResults(res))
	if res.Status != spf.Pass {
		return 1
	}
	return 0
}
