// Command smtp-idle opens -n connections to an SMTP server, reads the
// greeting on each, prints "ready" and holds them open until its standard
// input closes. bench/smtp.sh uses it to measure the server's memory per
// idle connection.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
)

func main() {
	addr := flag.String("addr", "", "server address")
	n := flag.Int("n", 10000, "connections")
	flag.Parse()
	conns := make([]net.Conn, *n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	var mu sync.Mutex
	var failed error
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.Dial("tcp", *addr)
			if err == nil {
				var line string
				line, err = bufio.NewReader(c).ReadString('\n')
				if err == nil && !strings.HasPrefix(line, "220") {
					err = fmt.Errorf("greeting %q", line)
				}
			}
			if err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if failed != nil {
		log.Fatal(failed)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
