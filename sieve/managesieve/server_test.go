package managesieve_test

import (
	"strings"
	"testing"
)

// login is the transcript of a PLAIN login of alice over the insecure
// transport.
var login = `S: <greeting>
C: AUTHENTICATE "PLAIN" "` + plainIR("alice", "secret") + `"
S: OK "Logged in"`

func TestTranscripts(t *testing.T) {
	tests := []struct {
		name, options, script string
	}{
		{"greeting", "insecure redirects=4 notify", `
S: "IMPLEMENTATION" "Herald ManageSieve"
S: "SASL" "PLAIN LOGIN"
S: "SIEVE" "fileinto reject"
S: "MAXREDIRECTS" "4"
S: "NOTIFY" "mailto xmpp"
S: "UNAUTHENTICATE"
S: "VERSION" "1.0"
S: OK "ManageSieve ready"
C: LOGOUT
S: OK "Logout completed"
closed`},
		{"greeting without TLS hides PLAIN, offers STARTTLS", "tls", `
S: "IMPLEMENTATION" "Herald ManageSieve"
S: "SASL" ""
S: "SIEVE" "fileinto reject"
S: "STARTTLS"
S: "UNAUTHENTICATE"
S: "VERSION" "1.0"
S: OK "ManageSieve ready"
C: AUTHENTICATE "PLAIN" "` + plainIR("alice", "secret") + `"
S: NO (ENCRYPT-NEEDED) "Mechanism not available without TLS; use STARTTLS"
C: PUTSCRIPT "a" "keep;"
S: NO "Authenticate first"`},
		{"capability after login has OWNER", "insecure", login + `
C: CAPABILITY
S: "IMPLEMENTATION" "Herald ManageSieve"
S: "SASL" "PLAIN LOGIN"
S: "SIEVE" "fileinto reject"
S: "OWNER" "alice"
S: "UNAUTHENTICATE"
S: "VERSION" "1.0"
S: OK "Capability completed"`},
		{"noop", "", `S: <greeting>
C: NOOP
S: OK "Done"
C: NOOP "STARTTLS-SYNC-42"
S: OK (TAG "STARTTLS-SYNC-42") "Done"
C: noop {3+}
C: a"b
S: OK (TAG "a\"b") "Done"
C: NOOP "a" "b"
S: NO "Syntax error"`},
		{"put list get delete", "insecure", login + `
C: PUTSCRIPT "vacation" {5+}
C+ keep;
C:
S: OK "Script stored"
C: PUTSCRIPT "other" "discard;"
S: OK "Script stored"
C: LISTSCRIPTS
S: "other"
S: "vacation"
S: OK "Listscripts completed"
C: SETACTIVE "vacation"
S: OK "Script activated"
C: LISTSCRIPTS
S: "other"
S: "vacation" ACTIVE
S: OK "Listscripts completed"
C: GETSCRIPT "vacation"
S: {5}
S: keep;
S: OK "Getscript completed"
C: DELETESCRIPT "vacation"
S: NO (ACTIVE) "Cannot delete the active script"
C: DELETESCRIPT "other"
S: OK "Script deleted"
C: DELETESCRIPT "other"
S: NO (NONEXISTENT) "Script does not exist"
C: GETSCRIPT "other"
S: NO (NONEXISTENT) "Script does not exist"
C: SETACTIVE ""
S: OK "Scripts deactivated"
C: SETACTIVE "nope"
S: NO (NONEXISTENT) "Script does not exist"
C: DELETESCRIPT "vacation"
S: OK "Script deleted"
C: LISTSCRIPTS
S: OK "Listscripts completed"`},
		{"putscript refused by the checker", "insecure", login + `
C: PUTSCRIPT "bad" {18+}
C: keep;
C+ frobnicate;
C:
S: NO "line 2: unknown command 'frobnicate;'"
C: GETSCRIPT "bad"
S: NO (NONEXISTENT) "Script does not exist"
C: PUTSCRIPT "warn" "redirect \"x@example.org\";"
S: OK (WARNINGS) "line 1: redirect may be ignored"
C: GETSCRIPT "warn"
S: {25}
S: redirect "x@example.org";
S: OK *`},
		{"checkscript", "insecure", login + `
C: CHECKSCRIPT "keep;"
S: OK "Script is valid"
C: CHECKSCRIPT {6}
C: bogus;
S: NO "line 1: unknown command 'bogus;'"
C: CHECKSCRIPT "redirect;"
S: OK (WARNINGS) "line 1: redirect may be ignored"
C: LISTSCRIPTS
S: OK "Listscripts completed"`},
		{"multi-line checker error goes as a literal", "insecure", login + `
C: CHECKSCRIPT {12+}
C: keep;
C+ multi
C:
S: NO {52}
S: line 2: first error
S: line 2: second error in 'multi'
C: NOOP
S: OK "Done"`},
		{"renamescript", "insecure", login + `
C: PUTSCRIPT "a" "keep;"
S: OK *
C: PUTSCRIPT "b" "keep;"
S: OK *
C: SETACTIVE "a"
S: OK *
C: RENAMESCRIPT "a" "b"
S: NO (ALREADYEXISTS) "A script of that name already exists"
C: RENAMESCRIPT "x" "c"
S: NO (NONEXISTENT) "Script does not exist"
C: RENAMESCRIPT "a" "c"
S: OK "Script renamed"
C: LISTSCRIPTS
S: "b"
S: "c" ACTIVE
S: OK *`},
		{"havespace and quota", "insecure maxscripts=2 maxbytes=20 quotasize=12 maxsize=100", login + `
C: HAVESPACE "a" 10
S: OK "Putscript would succeed"
C: HAVESPACE "a" 13
S: NO (QUOTA/MAXSIZE) "Script too large"
C: HAVESPACE "a" 101
S: NO (QUOTA/MAXSIZE) "Script too large"
C: HAVESPACE "a" 4294967296
S: NO (QUOTA/MAXSIZE) "Script too large"
C: HAVESPACE "a" 12x
S: NO "Invalid number"
C: HAVESPACE "a" "10"
S: NO "Syntax error"
C: PUTSCRIPT "a" "keep; keep;"
S: OK *
C: PUTSCRIPT "b" "keep; stop;"
S: NO (QUOTA) "Quota exceeded"
C: PUTSCRIPT "b" "keep;"
S: OK *
C: PUTSCRIPT "c" "keep;"
S: NO (QUOTA/MAXSCRIPTS) "Too many scripts"
C: HAVESPACE "c" 1
S: NO (QUOTA/MAXSCRIPTS) "Too many scripts"
C: HAVESPACE "a" 12
S: OK *
C: PUTSCRIPT "a" {101+}
C+ ` + strings.Repeat("x", 101) + `
C: 
S: NO (QUOTA/MAXSIZE) "Script too large"
C: NOOP
S: OK "Done"`},
		{"script names", "insecure", login + `
C: PUTSCRIPT "" "keep;"
S: NO "Invalid script name"
C: PUTSCRIPT "a` + "\x7f" + `b" "keep;"
S: NO "Invalid script name"
C: PUTSCRIPT {3+}
C+ a` + "\x01" + `b "keep;"
C:
S: NO "Invalid script name"
C: PUTSCRIPT "` + "\u2028" + `" "keep;"
S: NO "Invalid script name"
C: PUTSCRIPT "` + strings.Repeat("n", 201) + `" "keep;"
S: NO "Invalid script name"
C: PUTSCRIPT "Ünïcödé ✓" "keep;"
S: OK *
C: PUTSCRIPT atom "keep;"
S: NO "Script name must be a string"
C: LISTSCRIPTS
S: "Ünïcödé ✓"
S: OK *`},
		{"unauthenticate", "insecure", login + `
C: PUTSCRIPT "a" "keep;"
S: OK *
C: UNAUTHENTICATE
S: OK "Unauthenticated"
C: LISTSCRIPTS
S: NO "Authenticate first"
C: AUTHENTICATE "PLAIN" "` + plainIR("bob", "pw") + `"
S: OK "Logged in"
C: LISTSCRIPTS
S: OK *
C: UNAUTHENTICATE
S: OK *
C: UNAUTHENTICATE
S: NO "Authenticate first"`},
		{"authenticate continuation and abort", "insecure", `S: <greeting>
C: AUTHENTICATE "PLAIN"
S: ""
C: "*"
S: NO "Authentication aborted"
C: AUTHENTICATE "LOGIN"
S: "VXNlcm5hbWU6"
C: {8+}
C+ ` + b64("alice") + `
C:
S: "UGFzc3dvcmQ6"
C: "` + b64("secret") + `"
S: OK "Logged in"
C: AUTHENTICATE "PLAIN"
S: NO "Already authenticated"`},
		{"authenticate failures", "insecure maxfails=2", `S: <greeting>
C: AUTHENTICATE "PLAIN" "` + plainIR("alice", "wrong") + `"
S: NO "Authentication failed"
C: AUTHENTICATE "CRAM-MD5"
S: NO "Unsupported authentication mechanism"
C: AUTHENTICATE "PLAIN" "!!!"
S: NO "Invalid base64 in SASL response"
C: AUTHENTICATE "PLAIN" "` + plainIR("alice", "wrong") + `"
S: BYE "Too many failed logins"
closed`},
		{"syntax errors before login", "", `S: <greeting>
C: FROB
S: NO "Unknown command"
C: NOOP "unterminated
S: NO "Unterminated quoted string"
C: NOOP "bad\escape"
S: BYE "Too many errors"
closed`},
		{"syntax errors after login", "insecure maxerrors=6", login + `
C: NOOP {x+}
S: NO "Invalid literal"
C: "CAPABILITY"
S: NO "Command name expected"
C: GETSCRIPT "missing"
S: NO (NONEXISTENT) *
C: LISTSCRIPTS "x"
S: NO "Syntax error"
C: FROB
S: NO "Unknown command"
C: NOOP "a" "b" "c" "d"
S: NO "Syntax error"
C: NOOP "a" "b" "c" "d" "e"
S: BYE "Too many errors"
closed`},
		{"syntax error swallows the literal", "", `S: <greeting>
C: NOOP ( {6+}
C+ LOGOUT
C:
S: NO "Unexpected parenthesis"
C: NOOP
S: OK "Done"`},
		{"line too long", "maxline=64", `S: <greeting>
C: NOOP "` + strings.Repeat("x", 100) + `"
S: BYE "Line too long"
closed`},
		{"string literal too long", "maxstring=10", `S: <greeting>
C: NOOP {11+}
C+ 01234567890
C:
S: NO "String too long"
C: NOOP {10+}
C+ 0123456789
C:
S: OK (TAG "0123456789") "Done"`},
		{"literal beyond discard", "insecure maxsize=10 maxdiscard=20", login + `
C: PUTSCRIPT "a" {4000000000+}
S: BYE "Literal too large"
closed`},
		{"starttls unavailable", "", `S: <greeting>
C: STARTTLS
S: NO "STARTTLS not available"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newBackend(), tt.options, nil)
			runTranscript(t, pipeConn(t, s), tt.script)
		})
	}
}
