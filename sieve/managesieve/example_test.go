package managesieve_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/sieve/managesieve"
	"github.com/heraldmail/herald/sieve/managesieve/managesievemem"
)

// A server on the in-memory store and a client session over net.Pipe:
// upload, check, list, activate, download.
func Example() {
	be := managesievemem.New()
	be.AddUser("alice", "secret")
	auth := be.Authenticator()
	auth.AllowInsecure = true // a pipe, not a network: no TLS here
	srv := &managesieve.Server{
		Backend:    be,
		Auth:       auth,
		Extensions: []string{"fileinto"},
		// The mail server passes the parser of package sieve here.
		Check: func(script []byte) error {
			if !strings.HasPrefix(string(script), "require") && !strings.HasPrefix(string(script), "keep") {
				return errors.New("line 1: unknown command")
			}
			return nil
		},
	}
	cc, sc := net.Pipe()
	go srv.ServeConn(context.Background(), sc)

	ctx := context.Background()
	c, err := managesieve.NewClient(ctx, cc, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("SIEVE:", c.Capabilities().Sieve)
	if err := c.Authenticate(ctx, sasl.NewPlainClient("", "alice", "secret")); err != nil {
		panic(err)
	}
	script := []byte("require \"fileinto\";\r\nfileinto \"Lists\";\r\n")
	if _, err := c.PutScript(ctx, "lists", script); err != nil {
		panic(err)
	}
	_, err = c.PutScript(ctx, "broken", []byte("frobnicate;"))
	fmt.Println("broken:", err)
	if err := c.SetActive(ctx, "lists"); err != nil {
		panic(err)
	}
	list, _ := c.ListScripts(ctx)
	fmt.Printf("scripts: %+v\n", list)
	got, _ := c.GetScript(ctx, "lists")
	fmt.Printf("%q\n", got)
	err = c.DeleteScript(ctx, "lists")
	fmt.Println("delete:", err, errors.Is(err, managesieve.ErrActive))
	c.Logout(ctx)
	// Output:
	// SIEVE: [fileinto]
	// broken: managesieve: NO line 1: unknown command
	// scripts: [{Name:lists Active:true}]
	// "require \"fileinto\";\r\nfileinto \"Lists\";\r\n"
	// delete: managesieve: NO (ACTIVE) Cannot delete the active script true
}

// The response codes a Store's errors become.
func ExampleError() {
	for _, err := range []error{managesieve.ErrNonexistent, managesieve.ErrQuotaMaxScripts} {
		e := &managesieve.Error{Code: managesieve.CodeNonexistent}
		fmt.Println(errors.Is(e, err))
	}
	fmt.Println(managesieve.ValidName("vacation"), managesieve.ValidName("bad\u2028name"))
	// Output:
	// true
	// false
	// true false
}
