package sasl_test

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"

	"github.com/heraldmail/herald/sasl"
)

// A PLAIN server checks credentials through a PasswordFunc; the protocol
// layer reads the identity after success.
func ExampleNewPlainServer() {
	check := func(ctx context.Context, authzid, username, password string) (string, error) {
		if username == "tim" && subtle.ConstantTimeCompare([]byte(password), []byte("tanstaaftanstaaf")) == 1 {
			return "", nil // act as "tim"
		}
		return "", sasl.ErrAuthFailed
	}
	s := sasl.NewPlainServer(check, nil)

	// "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm" arrives; the smtp layer
	// decodes the base64 initial response.
	ir, _ := base64.StdEncoding.DecodeString("AHRpbQB0YW5zdGFhZnRhbnN0YWFm")
	_, done, err := s.Next(context.Background(), ir)
	fmt.Println(done, err, s.Identity())
	// Output: true <nil> tim
}

// The LOGIN client answers the username and password prompts in order.
func ExampleNewLoginClient() {
	c := sasl.NewLoginClient("tim", "tanstaaftanstaaf")
	mech, ir, _ := c.Start()
	fmt.Printf("%s initial=%v\n", mech, ir != nil)
	for _, prompt := range []string{"Username:", "Password:"} {
		resp, _ := c.Next([]byte(prompt))
		fmt.Printf("%s %s\n", prompt, resp)
	}
	// Output:
	// LOGIN initial=false
	// Username: tim
	// Password: tanstaaftanstaaf
}

// Mechanisms tells a server what it may advertise before STARTTLS.
func ExampleMechanisms() {
	for _, m := range sasl.Mechanisms() {
		fmt.Printf("%-18s safe without TLS: %v\n", m.Name, m.SafeWithoutTLS)
	}
	// Output:
	// SCRAM-SHA-256-PLUS safe without TLS: true
	// SCRAM-SHA-256      safe without TLS: true
	// EXTERNAL           safe without TLS: true
	// OAUTHBEARER        safe without TLS: false
	// XOAUTH2            safe without TLS: false
	// PLAIN              safe without TLS: false
	// LOGIN              safe without TLS: false
}
