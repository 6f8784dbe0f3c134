package managesieve

import (
	"bytes"
	"errors"
	"testing"

	"github.com/heraldmail/herald/internal/wire"
)

var fuzzLimits = limits{line: 256, str: 64, script: 512, discard: 1024, args: 4}

// FuzzReadCommand reads commands from arbitrary input until it fails for
// good: no panic, arguments within their limits, and every command made
// only of strings reads back the same after writing it out again.
func FuzzReadCommand(f *testing.F) {
	f.Add([]byte("PUTSCRIPT \"a\" {5+}\r\nkeep;\r\nNOOP\r\n"))
	f.Add([]byte("noop \"a\\\"b\\\\c\"\r\nHAVESPACE \"x\" 12\r\n"))
	f.Add([]byte("CHECKSCRIPT {3}\r\nabc\r\nAUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\n"))
	f.Add([]byte("NOOP ( {6+}\r\nLOGOUT\r\nNOOP {999999}\r\n"))
	f.Add([]byte("RENAMESCRIPT {1+}\r\na {2+}\r\nbc\r\n\"\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := wire.NewReader(bytes.NewReader(in), nil)
		for range 64 {
			line, _, err := r.ReadLine(fuzzLimits.line)
			if err != nil {
				return
			}
			cmd, err := readCommand(r, line, fuzzLimits)
			var se syntaxError
			var tl tooLargeError
			if errors.As(err, &se) || errors.As(err, &tl) {
				continue
			}
			if err != nil {
				return
			}
			if len(cmd.Args) > fuzzLimits.args {
				t.Fatalf("%d arguments", len(cmd.Args))
			}
			strs := true
			for i, a := range cmd.Args {
				lim := fuzzLimits.str
				if isScriptArg(cmd.Name, i) {
					lim = fuzzLimits.script
				}
				if a.Literal && int64(len(a.Value)) > lim {
					t.Fatalf("literal of %d over the limit %d", len(a.Value), lim)
				}
				strs = strs && !a.Atom
			}
			if !strs || len(cmd.Args) == 0 {
				continue
			}
			out := []byte(cmd.Name)
			for _, a := range cmd.Args {
				out = appendClientString(append(out, ' '), string(a.Value))
			}
			out = append(out, "\r\n"...)
			r2 := wire.NewReader(bytes.NewReader(out), nil)
			l2, _, err := r2.ReadLine(1 << 20)
			if err != nil {
				t.Fatal(err)
			}
			big := limits{line: 1 << 20, str: 1 << 20, script: 1 << 20, discard: 1 << 20, args: 4}
			again, err := readCommand(r2, l2, big)
			if err != nil {
				t.Fatalf("%q written back as %q: %v", in, out, err)
			}
			if again.Name != cmd.Name || len(again.Args) != len(cmd.Args) {
				t.Fatalf("%q read back as %+v, want %+v", out, again, cmd)
			}
			for i := range cmd.Args {
				if !bytes.Equal(again.Args[i].Value, cmd.Args[i].Value) {
					t.Fatalf("argument %d: %q read back as %q", i, cmd.Args[i].Value, again.Args[i].Value)
				}
			}
		}
	})
}

// FuzzResponse checks that the client's response parser never panics and
// that Response.String reads back as the same response.
func FuzzResponse(f *testing.F) {
	f.Add("OK", "TAG", "x\"y", "Done")
	f.Add("NO", "QUOTA/MAXSIZE", "", "line 1:\r\nbad")
	f.Add("BYE", "", "", "")
	f.Fuzz(func(t *testing.T, status, code, arg, text string) {
		switch status {
		case "OK", "NO", "BYE":
		default:
			status = "NO"
		}
		for _, c := range []byte(code) {
			if !isAtomChar(c) {
				return
			}
		}
		resp := Response{Status: status, Code: ResponseCode(code), CodeArg: arg, Text: text}
		if code != "TAG" && code != "SASL" {
			resp.CodeArg = ""
		}
		b := resp.appendTo(nil)
		r := wire.NewReader(bytes.NewReader(b), nil)
		c := &Client{r: r, lim: 1 << 20, lit: 1 << 20}
		toks, err := c.readLine()
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		got, ok, err := final(toks)
		if !ok || err != nil {
			t.Fatalf("%q: ok %v, %v", b, ok, err)
		}
		if got.Status != resp.Status || string(got.Code) != upper(code) || got.CodeArg != resp.CodeArg || got.Text != resp.Text {
			t.Fatalf("%q read back as %+v, want %+v", b, got, resp)
		}
	})
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }
