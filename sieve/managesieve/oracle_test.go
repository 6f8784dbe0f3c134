package managesieve_test

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exchange sends raw command bytes on a connection and reads the response
// up to its OK, NO or BYE line, with the literals in it; each returned
// line is one response line, literals inline after their {n}.
type exchange struct {
	nc net.Conn
	br *bufio.Reader
}

func dialExchange(t *testing.T, addr string) *exchange {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	return &exchange{nc: nc, br: bufio.NewReader(nc)}
}

// read returns the lines up to the final one, or to a line that is a bare
// string (an AUTHENTICATE challenge) when challenge is set.
func (e *exchange) read(t *testing.T, challenge bool) []string {
	t.Helper()
	var out []string
	for {
		l, err := e.br.ReadString('\n')
		if err != nil {
			out = append(out, "<closed>")
			return out
		}
		l = strings.TrimSuffix(l, "\r\n")
		if i := strings.LastIndexByte(l, '{'); i >= 0 && strings.HasSuffix(l, "}") {
			if n, err := strconv.Atoi(l[i+1 : len(l)-1]); err == nil {
				b := make([]byte, n)
				io.ReadFull(e.br, b)
				rest, _ := e.br.ReadString('\n')
				l += "\n" + string(b) + strings.TrimSuffix(rest, "\r\n")
			}
		}
		out = append(out, l)
		if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
			return out
		}
		if challenge && strings.HasPrefix(l, "\"") {
			return out
		}
	}
}

func (e *exchange) do(t *testing.T, cmd string, challenge bool) []string {
	t.Helper()
	if _, err := e.nc.Write([]byte(cmd)); err != nil {
		return []string{"<closed>"}
	}
	return e.read(t, challenge)
}

// shape reduces a response to what the comparison holds the servers to:
// data lines verbatim, the final line's status and response code, not its
// human-readable text.
func shape(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i == len(lines)-1 {
			if st, rest, ok := strings.Cut(l, " "); ok && (st == "OK" || st == "NO" || st == "BYE") {
				l = st
				if strings.HasPrefix(rest, "(") {
					if j := strings.IndexByte(rest, ')'); j > 0 {
						code := rest[:j+1]
						// TAG and SASL carry data: keep it; other codes'
						// arguments are compared by name only.
						if f := strings.Fields(code); len(f) > 1 && f[0] != "(TAG" && f[0] != "(SASL" {
							code = f[0] + ")"
						}
						l += " " + code
					}
				}
			}
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}
