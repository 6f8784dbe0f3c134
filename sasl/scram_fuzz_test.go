package sasl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func isSentinel(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrUnexpected)
}

func FuzzScramClientFirst(f *testing.F) {
	for _, s := range []string{
		rfc7677ClientFirst,
		"y,,n=user,r=abc",
		"p=tls-exporter,a=admin,n=root,r=abc,x=ext",
		"n,a=a=2Cb,n=u=3Dv,r=abc",
		"n,,m=x,n=user,r=abc",
		"n,,n=user,r=",
		"",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	creds := rfc7677Credentials(f)
	f.Fuzz(func(t *testing.T, msg []byte, plus bool) {
		var gotUser, gotAuthz string
		lookup := func(_ context.Context, authzid, username string) (ScramUser, error) {
			gotUser, gotAuthz = username, authzid
			if username == "user" {
				return ScramUser{Credentials: creds}, nil
			}
			return ScramUser{}, ErrAuthFailed
		}
		opts := &ScramServerOptions{ChannelBinding: []byte("cb"), UnknownUserKey: []byte("k")}
		s := NewScramSHA256Server(lookup, opts)
		if plus {
			s = NewScramSHA256PlusServer(lookup, opts)
		}
		chal, done, err := s.Next(context.Background(), msg)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Next(%q): error %v is no sentinel", msg, err)
			}
			if chal != nil || done {
				t.Fatalf("Next(%q) failed with output %q %v", msg, chal, done)
			}
			return
		}
		if done {
			t.Fatalf("Next(%q): done after client-first", msg)
		}
		if len(msg) == 0 || gotUser == "" || !utf8.ValidString(gotUser) || strings.ContainsRune(gotUser, 0) {
			t.Fatalf("Next(%q) accepted username %q", msg, gotUser)
		}
		if !strings.Contains(string(msg), ",n="+encodeSaslname(gotUser)+",r=") || (gotAuthz != "" && !strings.Contains(string(msg), "a="+encodeSaslname(gotAuthz)+",")) {
			t.Fatalf("Next(%q) decoded user %q authzid %q", msg, gotUser, gotAuthz)
		}
		if !strings.HasPrefix(string(chal), "r=") || !strings.Contains(string(chal), ",s=") {
			t.Fatalf("Next(%q) server-first = %q", msg, chal)
		}
	})
}

func FuzzScramClientFinal(f *testing.F) {
	f.Add([]byte(rfc7677ClientFinal))
	f.Add([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	f.Add([]byte("c=biws,r=x,p="))
	f.Add([]byte(",p=,p="))
	creds := rfc7677Credentials(f)
	lookup := lookupOf(map[string]ScramCredentials{"user": creds})
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := NewScramSHA256Server(lookup, nil)
		s.serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
		if _, _, err := s.Next(context.Background(), []byte(rfc7677ClientFirst)); err != nil {
			t.Fatal(err)
		}
		chal, done, err := s.Next(context.Background(), msg)
		if err != nil {
			if !isSentinel(err) || done || chal != nil || s.Identity() != "" {
				t.Fatalf("Next(%q) = %q, %v, %v", msg, chal, done, err)
			}
			return
		}
		// Only the one right answer authenticates.
		if string(msg) != rfc7677ClientFinal || !done || string(chal) != rfc7677ServerFinal {
			t.Fatalf("Next(%q) accepted: %q, %v", msg, chal, done)
		}
	})
}

func FuzzScramServerFirst(f *testing.F) {
	f.Add([]byte(rfc7677ServerFirst))
	f.Add([]byte("m=x,r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	f.Add([]byte("r=rOprNGfwEbeRWgbNEkqOa,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		c := NewScramSHA256Client("user", "pencil", &ScramClientOptions{MaxIterations: 8192})
		c.clientNonce = "rOprNGfwEbeRWgbNEkqO"
		c.Start()
		resp, err := c.Next(msg)
		if err != nil {
			if !isSentinel(err) || resp != nil {
				t.Fatalf("Next(%q) = %q, %v", msg, resp, err)
			}
			return
		}
		if !strings.HasPrefix(string(resp), "c=biws,r=rOprNGfwEbeRWgbNEkqO") || !strings.Contains(string(resp), ",p=") {
			t.Fatalf("Next(%q) client-final = %q", msg, resp)
		}
	})
}

func FuzzScramServerFinal(f *testing.F) {
	f.Add([]byte(rfc7677ServerFinal))
	f.Add([]byte("e=invalid-proof"))
	f.Add([]byte("v=,e="))
	// The client's PBKDF2 runs once; each input gets a copy of the client
	// as it stands after server-first.
	base := NewScramSHA256Client("user", "pencil", nil)
	base.clientNonce = "rOprNGfwEbeRWgbNEkqO"
	base.Start()
	if _, err := base.Next([]byte(rfc7677ServerFirst)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		c := *base
		_, err := c.Next(msg)
		if err != nil && !isSentinel(err) {
			t.Fatalf("Next(%q): %v", msg, err)
		}
		if c.ServerVerified() != (err == nil) {
			t.Fatalf("Next(%q): err %v but verified %v", msg, err, c.ServerVerified())
		}
		if err == nil && !strings.HasPrefix(string(msg), rfc7677ServerFinal) {
			t.Fatalf("Next(%q) verified a wrong signature", msg)
		}
	})
}

func FuzzParseScramCredentials(f *testing.F) {
	f.Add(rfc7677Credentials(f).String())
	f.Add("SCRAM-SHA-256$4096:c2FsdA==$:")
	f.Add("SCRAM-SHA-256$99999999999:$:")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseScramCredentials(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("ParseScramCredentials(%q).String() = %q", s, c.String())
		}
	})
}

func FuzzSaslname(f *testing.F) {
	f.Add("user")
	f.Add("a,b=c")
	f.Add("=2C=3D")
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := decodeSaslname(s); err == nil {
			if strings.ContainsAny(dec, "\x00") || encodeSaslname(dec) != s {
				t.Fatalf("decodeSaslname(%q) = %q, which encodes back differently", s, dec)
			}
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return
		}
		enc := encodeSaslname(s)
		if strings.Contains(enc, ",") {
			t.Fatalf("encodeSaslname(%q) = %q keeps a comma", s, enc)
		}
		if dec, err := decodeSaslname(enc); err != nil || dec != s {
			t.Fatalf("decodeSaslname(encodeSaslname(%q)) = %q, %v", s, dec, err)
		}
	})
}
