package main

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// httpHandler serves what mail clients and other servers fetch over HTTP:
// Thunderbird's autoconfig file (also asked for by other clients) and the
// MTA-STS policy (RFC 8461 section 3.2; in production it must be served
// over HTTPS as https://mta-sts.DOMAIN/.well-known/mta-sts.txt, usually by
// a reverse proxy in front of this listener). /metrics has the policy
// counters, for loopback and -relay-networks clients only.
func (s *server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /mail/config-v1.1.xml", s.autoconfig)
	mux.HandleFunc("GET /.well-known/autoconfig/mail/config-v1.1.xml", s.autoconfig)
	mux.HandleFunc("GET /.well-known/mta-sts.txt", s.mtaSTS)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	return mux
}

// Thunderbird's autoconfig format, version 1.1.
type clientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider emailProvider `xml:"emailProvider"`
}

type emailProvider struct {
	ID       string         `xml:"id,attr"`
	Domains  []string       `xml:"domain"`
	Display  string         `xml:"displayName"`
	Short    string         `xml:"displayShortName"`
	Incoming []serverConfig `xml:"incomingServer"`
	Outgoing []serverConfig `xml:"outgoingServer"`
}

type serverConfig struct {
	Type       string `xml:"type,attr"`
	Hostname   string `xml:"hostname"`
	Port       int    `xml:"port"`
	SocketType string `xml:"socketType"`
	Username   string `xml:"username"`
	Auth       string `xml:"authentication"`
}

// port returns the port of a listener address, 0 when it is disabled.
func port(addr string) int {
	if addr == "" {
		return 0
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func (s *server) autoconfig(w http.ResponseWriter, r *http.Request) {
	c := s.cfg
	domain := c.domains[0]
	if addr := r.URL.Query().Get("emailaddress"); addr != "" {
		if _, d, ok := strings.Cut(addr, "@"); ok && c.isLocalDomain(d) {
			domain = strings.ToLower(d)
		}
	}
	p := emailProvider{ID: domain, Domains: c.domains, Display: "Mail for " + domain, Short: domain}
	add := func(list *[]serverConfig, typ, addr, socket string) {
		if n := port(addr); n != 0 {
			*list = append(*list, serverConfig{Type: typ, Hostname: c.hostname, Port: n,
				SocketType: socket, Username: "%EMAILADDRESS%", Auth: "password-cleartext"})
		}
	}
	// Implicit TLS first (RFC 8314 section 3), then STARTTLS.
	add(&p.Incoming, "imap", c.imapsAddr, "SSL")
	add(&p.Incoming, "imap", c.imapAddr, "STARTTLS")
	add(&p.Incoming, "pop3", c.pop3sAddr, "SSL")
	add(&p.Incoming, "pop3", c.pop3Addr, "STARTTLS")
	add(&p.Outgoing, "smtp", c.submissionsAddr, "SSL")
	add(&p.Outgoing, "smtp", c.submissionAddr, "STARTTLS")
	b, err := xml.MarshalIndent(clientConfig{Version: "1.1", Provider: p}, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(b)
	w.Write([]byte("\n"))
}

// mtaSTS serves the policy: enforce with a certificate of -tls-cert,
// testing with the self-signed one, which remote senders cannot verify.
func (s *server) mtaSTS(w http.ResponseWriter, r *http.Request) {
	mode := "testing"
	if s.cfg.tlsCert != "" {
		mode = "enforce"
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: 604800\r\n", mode, s.cfg.hostname)
}
