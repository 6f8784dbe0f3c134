// Command msgview prints the decoded header fields and the MIME tree of a
// message: for every entity its media type, charset, transfer encoding,
// disposition, file name and decoded size.
//
// Usage:
//
//	msgview [file]
//
// Without a file argument it reads the message from standard input.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
)

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: msgview [file]")
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "msgview:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	if err := view(os.Stdout, in); err != nil {
		fmt.Fprintln(os.Stderr, "msgview:", err)
		os.Exit(1)
	}
}

// view writes the report for the message in r to w.
func view(w io.Writer, r io.Reader) error {
	rd := hmime.NewReader(r, nil)
	var dec message.WordDecoder
	first := true
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if first {
			first = false
			// The fields shown, decoded, in this order.
			for _, name := range []string{"From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Date", "Subject", "Message-ID"} {
				for _, v := range p.Header().Values(name) {
					text, _ := dec.DecodeHeader(v)
					fmt.Fprintf(w, "%-11s %s\n", name+":", text)
				}
			}
			fmt.Fprintln(w)
		}
		size := int64(-1)
		if !p.IsContainer() {
			body, err := p.Body()
			if err != nil {
				return err
			}
			if size, err = io.Copy(io.Discard, body); err != nil {
				return err
			}
		}
		fmt.Fprintln(w, describe(p, size))
	}
}

// describe formats one line of the tree.
func describe(p *hmime.Part, size int64) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("  ", p.Depth))
	if p.Path == "" {
		b.WriteString("message")
	} else {
		b.WriteString(p.Path)
	}
	b.WriteString(" ")
	b.WriteString(p.MediaType.Essence())
	if p.MediaType.Type == "text" {
		b.WriteString(" charset=" + p.Charset())
	}
	if p.Encoding != hmime.Encoding7Bit && !p.IsContainer() {
		b.WriteString(" " + string(p.Encoding))
	}
	if !p.IsContainer() {
		b.WriteString(" " + p.Kind().String())
	}
	if p.Disposition.Type != "" {
		b.WriteString(" disposition=" + p.Disposition.Type)
	}
	if name := p.Filename(); name != "" {
		b.WriteString(fmt.Sprintf(" filename=%q", name))
	}
	if size >= 0 {
		b.WriteString(fmt.Sprintf(" %d bytes", size))
	}
	for _, d := range append(p.Defects, p.DecodeDefects()...) {
		b.WriteString(" !" + string(d))
	}
	return b.String()
}
