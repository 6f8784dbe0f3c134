package sasl

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestInteropGsaslIMAPPlus runs gsasl as an IMAP client against a minimal
// IMAP responder on 127.0.0.1 that speaks STARTTLS and AUTHENTICATE with an
// Authenticator: the only way to get a real peer's tls-exporter channel
// binding (GnuTLS's) into SCRAM-SHA-256-PLUS.
func TestInteropGsaslIMAPPlus(t *testing.T) {
	t.Parallel()
	path := needGsasl(t)
	creds, err := NewScramCredentials("pencil", nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	auth := &Authenticator{
		Scram:    lookupOf(map[string]ScramCredentials{"user": creds}),
		Password: passwords(map[string]string{"user": "pencil"}),
	}
	cert := selfSigned(t)
	for _, tt := range []struct {
		mech, password string
		noCB           bool
		ok             bool
	}{
		{ScramSHA256Plus, "pencil", false, true},
		{ScramSHA256Plus, "wrong", false, false},
		// On a TLS connection gsasl 2.2.0's SCRAM-SHA-256 client fails
		// before its first message unless told not to bind (--no-cb).
		{ScramSHA256, "pencil", true, true},
		{Plain, "pencil", false, true},
	} {
		t.Run(tt.mech+"/"+tt.password, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			result := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					result <- "accept: " + err.Error()
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				result <- serveIMAP(c, auth, cert)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := []string{"--connect=" + ln.Addr().String(), "--imap", "--starttls",
				"--x509-ca-file=", "-m", tt.mech, "-a", "user", "-p", tt.password, "-d", "--quiet"}
			if tt.noCB {
				args = append(args, "--no-cb")
			}
			out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
			got := <-result
			if !tt.ok {
				if err == nil || !strings.HasPrefix(got, "NO ") {
					t.Fatalf("wrong password: gsasl %v, server %q\n%s", err, got, out)
				}
				return
			}
			if err != nil || got != "OK "+tt.mech+" user" {
				t.Fatalf("gsasl: %v, server: %q\n%s", err, got, out)
			}
		})
	}
}

// serveIMAP answers CAPABILITY, STARTTLS, AUTHENTICATE and LOGOUT, enough
// for gsasl --imap, and returns "OK <mech> <identity>" or "NO <reason>".
func serveIMAP(conn net.Conn, auth *Authenticator, cert tls.Certificate) string {
	var cs *tls.ConnectionState
	r, w := bufio.NewReader(conn), conn
	send := func(format string, args ...any) { fmt.Fprintf(w, format+"\r\n", args...) }
	caps := func() string {
		c := "IMAP4rev1"
		if cs == nil {
			c += " STARTTLS"
		}
		for _, m := range auth.Mechanisms(cs) {
			c += " AUTH=" + m
		}
		return c
	}
	send("* OK [CAPABILITY %s] ready", caps())
	outcome := "NO no AUTHENTICATE"
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return outcome
		}
		tag, cmd, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		verb, arg, _ := strings.Cut(cmd, " ")
		switch strings.ToUpper(verb) {
		case "CAPABILITY":
			send("* CAPABILITY %s", caps())
			send("%s OK done", tag)
		case "STARTTLS":
			send("%s OK begin TLS", tag)
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
			if err := tc.Handshake(); err != nil {
				return "NO handshake: " + err.Error()
			}
			state := tc.ConnectionState()
			cs = &state
			r, w = bufio.NewReader(tc), tc
		case "AUTHENTICATE":
			mech, ir, hasIR := strings.Cut(arg, " ")
			s, err := auth.NewServer(mech, cs)
			if err != nil {
				send("%s NO unsupported", tag)
				return "NO " + err.Error()
			}
			var resp []byte
			if hasIR {
				resp, _ = base64.StdEncoding.DecodeString(ir)
			}
			for {
				chal, done, err := s.Next(context.Background(), resp)
				if err != nil {
					send("%s NO authentication failed", tag)
					outcome = "NO " + err.Error()
					break
				}
				if done && chal == nil {
					send("%s OK authenticated", tag)
					outcome = "OK " + strings.ToUpper(mech) + " " + s.Identity()
					break
				}
				// A challenge, or success data that IMAP4rev1 sends as one
				// more continuation answered with an empty line.
				send("+ %s", base64.StdEncoding.EncodeToString(chal))
				line, err := r.ReadString('\n')
				if err != nil {
					return "NO read: " + err.Error()
				}
				if resp, err = base64.StdEncoding.DecodeString(strings.TrimRight(line, "\r\n")); err != nil {
					return "NO bad base64"
				}
				if done {
					send("%s OK authenticated", tag)
					outcome = "OK " + strings.ToUpper(mech) + " " + s.Identity()
					break
				}
			}
		case "LOGOUT":
			send("* BYE")
			send("%s OK bye", tag)
			return outcome
		default:
			send("%s BAD unknown command", tag)
		}
	}
}
