// Package dkim signs and verifies DomainKeys Identified Mail signatures
// (RFC 6376) with RSA and Ed25519 keys (RFC 8463), streaming the message:
// the header is read, the body goes through the body hashes as it arrives
// and is never held in memory.
//
// # Verifying
//
// A [Verifier] fetches each signature's key through a [dnsmx.Resolver]
// and returns one [Result] per DKIM-Signature field:
//
//	v := &dkim.Verifier{Resolver: resolver}
//	results, err := v.Verify(ctx, r)
//	if err != nil {
//		// r could not be read, or its header is not a header
//	}
//	for _, res := range results {
//		// res.Status is Pass, Fail, Neutral, TempError or PermError;
//		// res.Err says why it is not Pass; res.Domain is d=.
//	}
//	field := "Authentication-Results: mx.example.org; " + dkim.AuthenticationResults(results...)
//
// Every outcome of a signature, DNS failures included, is a [Status]; the
// error result never carries one.
//
// # Signing
//
// [Sign] reads a message and returns the DKIM-Signature fields to prepend,
// one per [Signer], so RSA and Ed25519 signatures are made in one pass:
//
//	sigs, err := dkim.Sign(r, &dkim.Signer{Domain: "example.com", Selector: "ed", Key: edKey},
//		&dkim.Signer{Domain: "example.com", Selector: "rsa", Key: rsaKey})
//	// write sigs, then the message
//
// The message must be read twice (once to sign, once to send), so Sign
// takes a reader of a spooled copy. [GenerateKey] makes a key, and
// [KeyRecordText] gives the TXT record to publish at
// selector._domainkey.domain; [ParsePrivateKey] reads PKCS #1 and PKCS #8
// PEM keys, such as opendkim-genkey writes.
//
// # Rules chosen
//
//   - Algorithms: rsa-sha256 and ed25519-sha256. rsa-sha1 is a PermError
//     (RFC 8301 section 3.1), and so is an RSA key below 1024 bits (RFC
//     8301 section 3.2, [MinRSABits]) or above Limits.MaxRSABits.
//   - Canonicalization: simple and relaxed for header and body (RFC 6376
//     section 3.4); c= missing means simple/simple. Sign defaults to
//     relaxed/relaxed. A non-empty body not ending in CRLF gets one, in
//     both algorithms; an empty body is CRLF in simple and nothing in
//     relaxed. Lines may end in CRLF or a bare LF (a message read from a
//     file); a bare LF counts as CRLF.
//   - h=: fields are taken from the bottom up, and a name listed more
//     often than present signs the absence of further fields (RFC 6376
//     section 5.4.2). Sign lists every field of [DefaultHeaders] that is
//     present, as often as present, and over-signs [DefaultOverSign] (From,
//     To, Cc, Subject, Date, Reply-To, Sender, Message-ID, the MIME fields,
//     List-Id and others) once more, so a second From or a new Reply-To
//     breaks the signature.
//   - d=, i=: i= must be at d= or below it (PermError otherwise), and at d=
//     exactly when the key has t=s.
//   - t=, x=: an expired x= is a Fail, and so is a t= in the future; both
//     allow [DefaultClockSkew]. The clock is Verifier.Now.
//   - l=: a signature with l= verifies over that many body octets, and
//     Result.UnsignedBodyBytes tells how much follows them, since anyone
//     could have appended it. A body shorter than l= is a Fail. Sign never
//     writes l=.
//   - Keys: one TXT record at selector._domainkey.domain, its strings
//     concatenated; v=DKIM1 first if present; k= rsa or ed25519 and
//     matching a=; h= must allow sha256; s= must include email or *; an
//     empty p= is a revoked key (PermError). NXDOMAIN or no TXT record is a
//     PermError, SERVFAIL or a timeout a TempError. Several TXT records at
//     the name are a PermError, as RFC 6376 leaves the result undefined.
//   - Key cache: with Verifier.Keys set to a [KeyCache], a parsed key
//     record is kept per (selector, domain) for the TTL of its TXT answer
//     (taken from a [dnsmx.Querier] such as [dnsmx.Client], capped at
//     [DefaultKeyCacheMaxTTL]), so that a mail server verifying many
//     messages of one signer looks up and parses its key once per TTL;
//     for an RSA key it also keeps the Montgomery constant R² mod N (see
//     RSA verification below).
//     Failures are not cached. The cache holds at most
//     [DefaultKeyCacheEntries] records.
//   - Testing keys (t=y): a failing signature is Neutral, not Fail, and
//     Result.Testing is set in every case.
//   - Results: syntax errors, missing required tags, unknown versions,
//     algorithms and canonicalizations, unusable keys and exceeded limits
//     are PermError; a wrong body hash or signature, or an expired one, is
//     Fail.
//
// # RSA verification
//
// RSA signatures are checked by the package's own public-key operation,
// not by crypto/rsa.VerifyPKCS1v15, which sets up its Montgomery modulus
// again on every call (computing R² mod N costs about a third of a
// 2048-bit verification). The operation is Montgomery multiplication on
// 64-bit limbs, with the rows in assembly (MULX, ADCX, ADOX) on amd64
// CPUs that have ADX and BMI2, and in Go elsewhere or with the purego
// build tag. A key in a [KeyCache] keeps R² mod N; a key used once gets
// the signature into Montgomery form by one long division.
//
// It handles only public data (the key, the signature and the digest of
// a message anyone may read), so it does not run in constant time. It
// accepts exactly what crypto/rsa.VerifyPKCS1v15 accepts for SHA-256:
// the same keys (at least 1024 bits, an odd modulus, an odd exponent from
// 3 to 2³¹-1), a signature of exactly k octets, k the length of N, whose
// integer is below N, and s^e mod N equal to the whole expected encoding
// 0x00 0x01 FF..FF 0x00 DigestInfo(SHA-256) digest of RFC 8017 sections
// 8.2.2 and 9.2, built from the digest and compared in all its k octets.
// The padding of s^e is never parsed, which is what Bleichenbacher's 2006
// forgery for small exponents needs. The tests compare it with crypto/rsa
// and math/big on keys of 1024 to 4096 bits, every single-bit change of
// valid signatures, the values around 0 and N, and a fuzz target. In FIPS
// 140 mode (crypto/fips140.Enabled) crypto/rsa does the work instead.
//
// # Limits and hostile input
//
// Messages and key records are untrusted. [Limits] bounds the signatures
// verified ([DefaultMaxSignatures]; the rest get a PermError wrapping
// ErrTooManySignatures), the key lookups ([DefaultMaxLookups]; signatures
// with the same selector and domain share one), the header section, one
// signature field and one key record. Parsing is linear in its input; no
// input makes this package panic; memory is bounded by the limits plus a
// fixed buffer per body hash. Text from the message or DNS in an error is
// quoted and cut short, and [AuthenticationResults] writes none of it but
// the d=, s= and i= values, quoted where needed.
//
// # Concurrency
//
// Verify and Sign keep all their state in the call, but for a Verifier's
// KeyCache, which is safe for concurrent use: a Verifier or a Signer may be
// used by many goroutines at once, as long as the Resolver and the key are
// safe for concurrent use, as [dnsmx.Client] and the standard library's
// keys are.
//
// # Standards
//
//   - RFC 6376, DomainKeys Identified Mail (DKIM) Signatures.
//   - RFC 8463, a new cryptographic signature method for DKIM
//     (ed25519-sha256).
//   - RFC 8301, cryptographic algorithm and key usage update to DKIM.
//   - RFC 8601, Message Header Field for Indicating Message Authentication
//     Status (the dkim method), with RFC 6008's header.b.
package dkim
