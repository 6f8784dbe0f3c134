package sasl

import (
	"context"
	"testing"
)

func BenchmarkPlainServer(b *testing.B) {
	check := func(context.Context, string, string, string) (string, error) { return "", nil }
	msg := []byte("\x00tim\x00tanstaaftanstaaf")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s := NewPlainServer(check, nil)
		if _, done, err := s.Next(ctx, msg); err != nil || !done {
			b.Fatal(err)
		}
	}
}

// BenchmarkScramServer measures the server's side of one SCRAM-SHA-256
// exchange (the RFC 7677 one); the client's PBKDF2 is not in it.
func BenchmarkScramServer(b *testing.B) {
	lookup := lookupOf(map[string]ScramCredentials{"user": rfc7677Credentials(b)})
	first, final := []byte(rfc7677ClientFirst), []byte(rfc7677ClientFinal)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s := NewScramSHA256Server(lookup, nil)
		s.serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
		if _, _, err := s.Next(ctx, first); err != nil {
			b.Fatal(err)
		}
		if _, done, err := s.Next(ctx, final); err != nil || !done {
			b.Fatal(err)
		}
	}
}

func BenchmarkOAuthBearerServer(b *testing.B) {
	check := func(context.Context, TokenRequest) (string, error) { return "", nil }
	msg := []byte(rfc7628IR)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s := NewOAuthBearerServer(check, nil)
		if _, done, err := s.Next(ctx, msg); err != nil || !done {
			b.Fatal(err)
		}
	}
}
