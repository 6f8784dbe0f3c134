package sasl_test

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
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
	// SCRAM-SHA-256-PLUS safe without TLS: false
	// SCRAM-SHA-256      safe without TLS: true
	// EXTERNAL           safe without TLS: false
	// OAUTHBEARER        safe without TLS: false
	// XOAUTH2            safe without TLS: false
	// PLAIN              safe without TLS: false
	// LOGIN              safe without TLS: false
}

// A SCRAM-SHA-256 server stores derived credentials instead of passwords; a
// client and a server of this package authenticate each other.
func ExampleNewScramSHA256Server() {
	// At sign-up: derive and store credentials (as text, for instance).
	creds, err := sasl.NewScramCredentials("pencil", nil, 0)
	if err != nil {
		panic(err)
	}
	stored := creds.String() // "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>"

	lookup := func(ctx context.Context, authzid, username string) (sasl.ScramUser, error) {
		if username != "user" {
			return sasl.ScramUser{}, sasl.ErrAuthFailed
		}
		c, err := sasl.ParseScramCredentials(stored)
		return sasl.ScramUser{Credentials: c}, err
	}
	server := sasl.NewScramSHA256Server(lookup, nil)
	client := sasl.NewScramSHA256Client("user", "pencil", nil)

	ctx := context.Background()
	_, msg, _ := client.Start()
	for {
		challenge, done, err := server.Next(ctx, msg)
		if err != nil {
			fmt.Println("server:", err)
			return
		}
		if done {
			// The server-final message proves the server knew the
			// credentials; the client checks it.
			if _, err := client.Next(challenge); err != nil {
				fmt.Println("client:", err)
				return
			}
			break
		}
		if msg, err = client.Next(challenge); err != nil {
			fmt.Println("client:", err)
			return
		}
	}
	fmt.Println("server authenticated", server.Identity())
	fmt.Println("client verified server:", client.ServerVerified())
	// Output:
	// server authenticated user
	// client verified server: true
}

// An OAUTHBEARER server that refuses a token tells the client why in JSON,
// then fails the exchange once the client acknowledges.
func ExampleNewOAuthBearerServer() {
	validate := func(ctx context.Context, req sasl.TokenRequest) (string, error) {
		// A real validator checks signature, expiry and audience.
		return "", &sasl.OAuthError{Status: "invalid_token", Scope: "mail"}
	}
	s := sasl.NewOAuthBearerServer(validate, nil)
	c := sasl.NewOAuthBearerClient(sasl.TokenRequest{Username: "user@example.com", Token: "expired", Host: "mx.example.com", Port: 587})

	ctx := context.Background()
	_, ir, _ := c.Start()
	fmt.Printf("C: %q\n", ir)
	challenge, _, _ := s.Next(ctx, ir)
	fmt.Printf("S: %s\n", challenge)
	resp, _ := c.Next(challenge)
	fmt.Printf("C: %q\n", resp)
	_, _, err := s.Next(ctx, resp)
	fmt.Println("S:", errors.Is(err, sasl.ErrAuthFailed), c.ServerError().Scope)
	// Output:
	// C: "n,a=user@example.com,\x01host=mx.example.com\x01port=587\x01auth=Bearer expired\x01\x01"
	// S: {"status":"invalid_token","scope":"mail"}
	// C: "\x01"
	// S: true mail
}

// An Authenticator decides what a connection is offered: before STARTTLS
// only mechanisms that send no reusable secret.
func ExampleAuthenticator() {
	a := &sasl.Authenticator{
		Password: func(ctx context.Context, authzid, username, password string) (string, error) {
			return "", sasl.ErrAuthFailed
		},
		Scram: func(ctx context.Context, authzid, username string) (sasl.ScramUser, error) {
			return sasl.ScramUser{}, sasl.ErrAuthFailed
		},
	}
	fmt.Println("plaintext:", a.Mechanisms(nil))
	_, err := a.NewServer("PLAIN", nil)
	fmt.Println("PLAIN before TLS:", errors.Is(err, sasl.ErrUnsupportedMechanism))
	// Output:
	// plaintext: [SCRAM-SHA-256]
	// PLAIN before TLS: true
}

// EXTERNAL takes the identity from outside SASL, here a name the caller got
// from the TLS client certificate; the client may only ask to act as it.
func ExampleNewExternalServer() {
	certName := "alice@example.com" // from tls.ConnectionState.PeerCertificates
	check := func(ctx context.Context, authzid string) (string, error) {
		return certName, nil
	}
	for _, authzid := range []string{"", "alice@example.com", "root"} {
		s := sasl.NewExternalServer(check, nil)
		_, done, err := s.Next(context.Background(), []byte(authzid))
		fmt.Printf("%q: done=%v refused=%v identity=%q\n", authzid, done, errors.Is(err, sasl.ErrAuthFailed), s.Identity())
	}
	// Output:
	// "": done=true refused=false identity="alice@example.com"
	// "alice@example.com": done=true refused=false identity="alice@example.com"
	// "root": done=false refused=true identity=""
}

// The XOAUTH2 initial response in the form Gmail documents.
func ExampleNewXOAuth2Client() {
	c := sasl.NewXOAuth2Client("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg")
	mech, ir, _ := c.Start()
	fmt.Println(mech, base64.StdEncoding.EncodeToString(ir))
	// Output:
	// XOAUTH2 dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2cBAQ==
}
