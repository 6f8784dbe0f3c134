package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/net/idna"

	"github.com/heraldmail/herald/smtp"
)

// config is what the flags say.
type config struct {
	dataDir  string
	domains  []string // lower-case A-labels; the first is the primary domain
	hostname string

	smtpAddr, submissionAddr, submissionsAddr string
	imapAddr, imapsAddr                       string
	pop3Addr, pop3sAddr                       string
	httpAddr                                  string
	managesieveAddr                           string

	role        string         // roleAll, roleMX or roleMailbox
	lmtpAddr    string         // -lmtp: the LMTP listener of a mailbox instance
	lmtpFrom    []netip.Prefix // clients allowed on it
	mailboxLMTP string         // -mailbox-lmtp: where an MX instance hands local mail over

	tlsCert, tlsKey string
	dns             string
	relayNetworks   []netip.Prefix
	proxyFrom       []netip.Prefix
	smarthost       string
	smarthostAuth   string // USER:PASSFILE
	outboundPort    int
	maxSize         int64
	maxConns        int
	logFormat       string
	policy          policyConfig
}

const defaultMaxSize = 50 << 20

// parseFlags parses the global flags; the rest of args is the subcommand.
func parseFlags(args []string, stderr io.Writer) (*config, []string, error) {
	fs := flag.NewFlagSet("mailserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	c := &config{}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	var domains, relay, proxy, lmtpFrom string
	fs.StringVar(&c.dataDir, "data", "herald-data", "data `directory`: users, mail, queue, TLS certificate")
	fs.StringVar(&domains, "domains", "localhost", "comma-separated local `domains`; the first is the primary one")
	fs.StringVar(&c.hostname, "hostname", host, "this host's `name` in greetings, Received: and bounces")
	fs.StringVar(&c.smtpAddr, "smtp", "127.0.0.1:2525", "MX listener `address` (port 25 in production); empty disables")
	fs.StringVar(&c.submissionAddr, "submission", "127.0.0.1:2587", "submission listener with STARTTLS (port 587)")
	fs.StringVar(&c.submissionsAddr, "submissions", "127.0.0.1:2465", "submission listener with implicit TLS (port 465)")
	fs.StringVar(&c.imapAddr, "imap", "127.0.0.1:2143", "IMAP listener with STARTTLS (port 143)")
	fs.StringVar(&c.imapsAddr, "imaps", "127.0.0.1:2993", "IMAP listener with implicit TLS (port 993)")
	fs.StringVar(&c.pop3Addr, "pop3", "127.0.0.1:2110", "POP3 listener with STLS (port 110)")
	fs.StringVar(&c.pop3sAddr, "pop3s", "127.0.0.1:2995", "POP3 listener with implicit TLS (port 995)")
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:2080", "HTTP listener for autoconfig and MTA-STS")
	fs.StringVar(&c.managesieveAddr, "managesieve", "127.0.0.1:2419", "ManageSieve listener with STARTTLS (port 4190), where users upload the Sieve scripts that file their mail")
	fs.StringVar(&c.role, "role", roleAll, "what this instance does: all (one server for everything), mx (takes mail on the SMTP and submission ports and hands local users' mail to a mailbox instance over LMTP) or mailbox (stores mail taken over -lmtp, serves IMAP, POP3 and ManageSieve)")
	fs.StringVar(&c.lmtpAddr, "lmtp", "", "LMTP listener `address` where MX instances hand over mail for local users (default 127.0.0.1:2424 with -role mailbox, none otherwise)")
	fs.StringVar(&lmtpFrom, "lmtp-from", "127.0.0.0/8,::1", "comma-separated `CIDRs` of the MX instances allowed on the LMTP listener")
	fs.StringVar(&c.mailboxLMTP, "mailbox-lmtp", "", "with -role mx, the LMTP `host:port` of the mailbox instance")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "certificate chain `file` (PEM); default a self-signed one in the data directory")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key `file` (PEM) of -tls-cert")
	fs.StringVar(&c.dns, "dns", "", "DNS server `host:port` to ask; default those of /etc/resolv.conf")
	fs.StringVar(&relay, "relay-networks", "", "comma-separated `CIDRs` whose clients may relay without AUTH (default none; loopback is not trusted)")
	fs.StringVar(&proxy, "proxy-from", "", "comma-separated `CIDRs` of load balancers (HAProxy) that send a PROXY protocol header; with it, every SMTP, IMAP and POP3 listener takes connections from them only and sees the client address they pass on")
	fs.StringVar(&c.smarthost, "smarthost", "", "send all outbound mail through `host:port` instead of MX delivery")
	fs.StringVar(&c.smarthostAuth, "smarthost-auth", "", "`user:passfile` to authenticate to the smarthost with")
	fs.IntVar(&c.outboundPort, "outbound-port", 25, "`port` of remote MX hosts (for tests)")
	fs.Int64Var(&c.maxSize, "max-size", defaultMaxSize, "largest message accepted, in `bytes`")
	fs.IntVar(&c.maxConns, "max-connections", 10000, "most connections each listener holds at once")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	c.policy.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	for _, d := range strings.Split(domains, ",") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		a, err := idna.Lookup.ToASCII(strings.TrimSuffix(d, "."))
		if err != nil {
			return nil, nil, fmt.Errorf("-domains: %q: %v", d, err)
		}
		c.domains = append(c.domains, strings.ToLower(a))
	}
	if len(c.domains) == 0 {
		return nil, nil, errors.New("-domains: at least one domain is needed")
	}
	var err error
	if c.relayNetworks, err = parsePrefixes(relay); err != nil {
		return nil, nil, fmt.Errorf("-relay-networks: %v", err)
	}
	if c.proxyFrom, err = parsePrefixes(proxy); err != nil {
		return nil, nil, fmt.Errorf("-proxy-from: %v", err)
	}
	if c.lmtpFrom, err = parsePrefixes(lmtpFrom); err != nil {
		return nil, nil, fmt.Errorf("-lmtp-from: %v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := c.applyRole(set); err != nil {
		return nil, nil, err
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, nil, errors.New("-tls-cert and -tls-key go together")
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, nil, fmt.Errorf("-log-format: %q is neither text nor json", c.logFormat)
	}
	if err := c.policy.finish(); err != nil {
		return nil, nil, err
	}
	if c.maxSize <= 0 {
		return nil, nil, errors.New("-max-size must be positive")
	}
	if c.smarthostAuth != "" && c.smarthost == "" {
		return nil, nil, errors.New("-smarthost-auth needs -smarthost")
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return nil, nil, err
	}
	c.dataDir = abs
	return c, fs.Args(), nil
}

const usage = `Usage: mailserver [flags]                  run the mail server
       mailserver [flags] adduser USER@DOMAIN   add a user, password read from stdin
       mailserver [flags] passwd USER@DOMAIN    change a password, read from stdin
       mailserver [flags] deluser USER@DOMAIN   remove a user (the mail stays on disk)
       mailserver [flags] users                 list users and aliases
       mailserver [flags] alias ADDR TARGET     mail for ADDR goes to user TARGET
                                                (TARGET "-" removes the alias)
       mailserver [flags] queue                 list the outbound queue
       mailserver [flags] queue retry ID|all    try queued messages now
       mailserver [flags] queue delete ID       remove a message from the queue
       mailserver [flags] stats                 the running server's policy counters

Flags:
`

// parsePrefixes parses comma-separated CIDRs; a bare address is a /32 or
// /128.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// isLocalDomain reports whether d (any case, A-label or U-label) is one of
// the local domains.
func (c *config) isLocalDomain(d string) bool {
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return false
	}
	a = strings.ToLower(a)
	for _, l := range c.domains {
		if a == l {
			return true
		}
	}
	return false
}

// canonicalAddr turns a user address given on the command line into its
// stored form, lower case with an A-label domain, and checks that its
// local part can name a directory: a dot-atom without a leading dot.
func canonicalAddr(s string) (string, error) {
	p, err := smtp.ParsePath("<"+s+">", true)
	if err != nil || p.IsNull() || p.Domain == "" || strings.HasPrefix(p.Domain, "[") {
		return "", fmt.Errorf("%q is not an address of the form user@domain", s)
	}
	local := strings.ToLower(p.Local)
	if local == "" || local[0] == '.' || strings.Contains(local, "..") || strings.HasSuffix(local, ".") {
		return "", fmt.Errorf("%q: the local part must be a dot-atom", s)
	}
	for _, r := range local {
		if r < 0x80 && !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~.", r) || r == '/' {
			return "", fmt.Errorf("%q: character %q is not allowed in a local part here", s, r)
		}
	}
	dom, err := idna.Lookup.ToASCII(p.Domain)
	if err != nil {
		return "", fmt.Errorf("%q: %v", s, err)
	}
	return local + "@" + strings.ToLower(dom), nil
}

// pathAddr is the lower-case user@domain form of an envelope path, with an
// A-label domain, as the user database keys it.
func pathAddr(p smtp.Path) string {
	dom, err := idna.Lookup.ToASCII(p.Domain)
	if err != nil {
		dom = p.Domain
	}
	return strings.ToLower(p.Local) + "@" + strings.ToLower(dom)
}

// mailDir is where the Maildir++ tree of user addr lives.
func (c *config) mailDir(addr string) string {
	local, dom, _ := strings.Cut(addr, "@")
	return filepath.Join(c.dataDir, "mail", dom, local)
}
