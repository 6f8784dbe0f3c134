package dkim

import (
	"bytes"
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"math/bits"
)

// RSA verification.
//
// crypto/rsa.VerifyPKCS1v15 turns the key into a Montgomery modulus on
// every call, which costs a third of a 2048-bit verification: the
// computation of R² mod N. The verifier here does the public-key
// operation itself, with Montgomery multiplication on 64-bit limbs, so
// that a key kept in a KeyCache keeps its R² mod N, and a key used once
// gets its argument into Montgomery form with one long division instead
// (toMont, or math/big for a modulus whose top limb has its top bit
// clear). Everything it handles is public (the key, the signature, the
// digest of a message anyone can read), so it need not run in constant
// time and does not try to.
//
// It accepts exactly what crypto/rsa.VerifyPKCS1v15 with crypto.SHA256
// accepts: the same key checks, a signature of exactly k octets (k the
// length of N) whose integer is below N, and s^e mod N equal to the whole
// expected encoding EM = 0x00 0x01 FF..FF 0x00 DigestInfo(SHA-256) digest
// of RFC 8017 sections 8.2.2 and 9.2, built from the digest and compared
// in all its k octets. The padding of s^e is never parsed, which is what
// forgeries in the manner of Bleichenbacher's of 2006 need. In FIPS 140
// mode the verifier leaves the work to crypto/rsa.

// sha256DigestInfo is the DER prefix of a SHA-256 DigestInfo (RFC 8017
// section 9.2, note 1).
const sha256DigestInfo = "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"

// rsaPublic is an RSA public key prepared for verification: the modulus N
// as limbs, least significant first, with its Montgomery constants. It is
// not modified once made, so it may be shared.
type rsaPublic struct {
	pub  *rsa.PublicKey // the key it was made from
	n    []uint64       // N
	n0   uint64         // -N⁻¹ mod 2⁶⁴
	rr   []uint64       // R² mod N, R = 2^(64·len(n)); nil when not precomputed
	negN []uint64       // R - N, or nil when N's top limb has its top bit clear
	e    uint64
	size int // k, the length of N in octets
}

// newRSAPublic prepares pub, computing R² mod N when precompute is set
// (for a key that will verify many signatures). It returns nil for a key
// that crypto/rsa would refuse for verification: no modulus, one of fewer
// than 1024 bits, an even modulus, or an exponent that is even, below 2 or
// above 2³¹-1.
func newRSAPublic(pub *rsa.PublicKey, precompute bool) *rsaPublic {
	if pub == nil || pub.N == nil || pub.N.BitLen() < 1024 || pub.N.Bit(0) == 0 ||
		pub.E < 2 || pub.E&1 == 0 || pub.E > 1<<31-1 {
		return nil
	}
	size := (pub.N.BitLen() + 7) / 8
	nl := (size + 7) / 8
	p := &rsaPublic{pub: pub, e: uint64(pub.E), size: size}
	words := make([]uint64, 2*nl)
	p.n = words[:nl]
	if bits.UintSize == 64 {
		for i, w := range pub.N.Bits() {
			p.n[i] = uint64(w)
		}
	} else {
		limbs(p.n, pub.N.FillBytes(make([]byte, 8*nl)))
	}
	if p.n[nl-1]>>63 == 1 {
		// R - N, for the division of toMont, which wants N's top bit
		// set.
		p.negN = words[nl:]
		var borrow uint64
		for i, w := range p.n {
			p.negN[i], borrow = bits.Sub64(0, w, borrow)
		}
	}
	// Newton's iteration doubles the bits of the inverse that are right;
	// n₀ is its own inverse modulo 8, so five steps give 96 bits.
	inv := p.n[0]
	for range 5 {
		inv *= 2 - p.n[0]*inv
	}
	p.n0 = -inv
	if precompute {
		rr := new(big.Int).Lsh(big.NewInt(1), uint(128*nl))
		rr.Mod(rr, pub.N)
		p.rr = limbs(make([]uint64, nl), rr.FillBytes(make([]byte, 8*nl)))
	}
	return p
}

// limbs decodes the big-endian b, 8·len(z) octets, into z.
func limbs(z []uint64, b []byte) []uint64 {
	for i := range z {
		z[i] = binary.BigEndian.Uint64(b[len(b)-8*(i+1):])
	}
	return z
}

// verifyRSA reports whether sig is a valid RSASSA-PKCS1-v1_5 signature of
// the SHA-256 digest by pub, as crypto/rsa.VerifyPKCS1v15 would. p is
// pub's prepared form, or nil to prepare it for this call only.
func verifyRSA(pub *rsa.PublicKey, p *rsaPublic, digest, sig []byte) bool {
	if fips140.Enabled() {
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) == nil
	}
	if p == nil || p.pub != pub {
		if p = newRSAPublic(pub, false); p == nil {
			return false
		}
	}
	return p.verify(digest, sig)
}

// Scratch space of one verification kept on the stack: 6 limbs of
// scratch per limb of N, for N of up to 4096 bits.
const rsaStackLimbs = 64

// verify checks sig over the SHA-256 digest.
func (p *rsaPublic) verify(digest, sig []byte) bool {
	k, nl := p.size, len(p.n)
	if len(sig) != k || len(digest) != sha256.Size {
		return false
	}
	var stack [2][8 * rsaStackLimbs]byte
	var got, em []byte
	if nl <= rsaStackLimbs {
		got, em = stack[0][:8*nl], stack[1][:8*nl]
	} else {
		got, em = make([]byte, 8*nl), make([]byte, 8*nl)
	}
	if !p.encrypt(got, sig) || !encodePKCS1v15(em[8*nl-k:], digest) {
		return false
	}
	// The whole expected encoding, compared in all its k octets (and
	// the zeros before them).
	return bytes.Equal(got, em)
}

// encrypt writes sig^e mod N into out, 8·len(n) octets, big-endian. It
// reports false if sig, k octets, is not below N (RFC 8017 section
// 5.2.2).
func (p *rsaPublic) encrypt(out, sig []byte) bool {
	k, nl := p.size, len(p.n)
	var stack [6*rsaStackLimbs + 1]uint64
	var scratch []uint64
	if nl <= rsaStackLimbs {
		scratch = stack[:6*nl+1]
	} else {
		scratch = make([]uint64, 6*nl+1)
	}
	t := scratch[:2*nl+1] // a double-width product
	s := scratch[2*nl+1 : 3*nl+1]
	sR := scratch[3*nl+1 : 4*nl+1]
	acc := scratch[4*nl+1 : 5*nl+1]
	tmp := scratch[5*nl+1:]

	clear(out[:8*nl-k])
	copy(out[8*nl-k:], sig)
	limbs(s, out)
	if !less(s, p.n) {
		return false
	}

	// s·R mod N, s in Montgomery form.
	switch {
	case p.rr != nil:
		p.mul(sR, s, p.rr, t)
	case p.negN != nil:
		if !p.toMont(sR, s, t) {
			return false
		}
	default:
		x := new(big.Int).SetBytes(sig)
		x.Lsh(x, uint(64*nl))
		x.Mod(x, p.pub.N)
		limbs(sR, x.FillBytes(out))
	}

	// s^e by squaring and multiplying from the top bit of e. The last
	// bit is set, as e is odd; multiplying by s rather than s·R for it
	// leaves Montgomery form.
	copy(acc, sR)
	for i := bits.Len64(p.e) - 2; i >= 1; i-- {
		p.sqr(tmp, acc, t)
		acc, tmp = tmp, acc
		if p.e>>i&1 != 0 {
			p.mul(tmp, acc, sR, t)
			acc, tmp = tmp, acc
		}
	}
	p.sqr(tmp, acc, t)
	p.mul(acc, tmp, s, t)
	for i, w := range acc {
		binary.BigEndian.PutUint64(out[len(out)-8*(i+1):], w)
	}
	return true
}

// encodePKCS1v15 writes into em, k octets, the encoding EM = 0x00 0x01
// FF..FF 0x00 DigestInfo of the SHA-256 digest (RFC 8017 section 9.2),
// and reports whether k leaves room for at least 8 octets of padding.
func encodePKCS1v15(em, digest []byte) bool {
	k := len(em)
	tail := len(sha256DigestInfo) + len(digest)
	if k < tail+11 {
		return false
	}
	em[0], em[1] = 0, 1
	for i := 2; i < k-tail-1; i++ {
		em[i] = 0xff
	}
	em[k-tail-1] = 0
	copy(em[k-tail:], sha256DigestInfo)
	copy(em[k-len(digest):], digest)
	return true
}

// toMont sets z = s·R mod N for s < N, by long division of s·R by N
// (Knuth's algorithm D, N's top bit set), with x of 2·len(n) limbs as
// scratch. Each quotient limb is estimated from the top two limbs of the
// remainder and N's top limb, which overestimates by at most 2 (Knuth
// 4.3.1, theorem B), and refined with the next limbs (step D3), so N is
// added back at most twice and rarely; it reports false if that does not
// hold, which would be a bug.
func (p *rsaPublic) toMont(z, s, x []uint64) bool {
	nl := len(p.n)
	top := p.n[nl-1]
	clear(x[:nl])
	copy(x[nl:2*nl], s)
	for j := nl - 1; j >= 0; j-- {
		// The remainder is x[j:j+nl+1] < N·2⁶⁴.
		hi := x[j+nl]
		q := ^uint64(0)
		if hi < top {
			// Knuth's step D3: the second limb of N makes the estimate
			// exact but for rare cases.
			var r uint64
			q, r = bits.Div64(hi, x[j+nl-1], top)
			for {
				ph, pl := bits.Mul64(q, p.n[nl-2])
				if ph < r || ph == r && pl <= x[j+nl-2] {
					break
				}
				q--
				if r += top; r < top {
					break // r overflowed: r·2⁶⁴ exceeds any product
				}
			}
		}
		w := x[j : j+nl]
		// w + q·(R-N) = w - q·N + q·R: the top limb of the remainder
		// minus q·N is hi + carry - q, 0 or, if q was too large, -1 or
		// -2.
		hi += addMulVVW(w, p.negN, q) - q
		for range 2 {
			if hi == 0 {
				break
			}
			hi += addVV(w, p.n)
		}
		if hi != 0 {
			return false
		}
		x[j+nl] = 0
	}
	copy(z, x[:nl])
	return true
}

// addVV adds x to z, of the same length, and returns the carry.
func addVV(z, x []uint64) uint64 {
	var c uint64
	for i := range z {
		z[i], c = bits.Add64(z[i], x[i], c)
	}
	return c
}

// less reports whether x < y, both of len(y) limbs.
func less(x, y []uint64) bool {
	for i := len(y) - 1; i >= 0; i-- {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

// mul sets z = x·y·R⁻¹ mod N for x, y < N, using t (2·len(n)+1 limbs)
// as scratch. z may be x or y.
func (p *rsaPublic) mul(z, x, y, t []uint64) {
	nl := len(p.n)
	clear(t)
	for i := range nl {
		t[i+nl] = addMulVVW(t[i:i+nl], x, y[i])
	}
	p.redc(z, t)
}

// sqr sets z = x·x·R⁻¹ mod N for x < N, using t as scratch: the products
// of distinct limbs once, doubled, and the squares of the limbs added.
// z may be x.
func (p *rsaPublic) sqr(z, x, t []uint64) {
	nl := len(p.n)
	clear(t)
	sqrRows(t, x)
	// Double and add the squares in one pass.
	var top, c uint64
	for i := range nl {
		hi, lo := bits.Mul64(x[i], x[i])
		w0, w1 := t[2*i], t[2*i+1]
		d0, d1 := w0<<1|top, w1<<1|w0>>63
		top = w1 >> 63
		var cc uint64
		t[2*i], cc = bits.Add64(d0, lo, c)
		t[2*i+1], c = bits.Add64(d1, hi, cc)
	}
	p.redc(z, t)
}

// redc sets z = t·R⁻¹ mod N for t < N·R (Montgomery reduction), t of
// 2·len(n)+1 limbs, the last zero; t is overwritten.
func (p *rsaPublic) redc(z, t []uint64) {
	nl := len(p.n)
	carry := redcRows(t, p.n, p.n0)
	// t[nl:2nl] + carry·R is below 2N: subtract N once if it is not
	// below N.
	hi := t[nl : 2*nl]
	var borrow uint64
	for j := range nl {
		z[j], borrow = bits.Sub64(hi[j], p.n[j], borrow)
	}
	if carry < borrow {
		copy(z, hi)
	}
}

// sqrRowsGo adds to t, zero and of 2·len(x) limbs, the products x[i]·x[j]
// for i < j at limb i+j, in Go.
func sqrRowsGo(t, x []uint64) {
	nl := len(x)
	for i := range nl - 1 {
		t[i+nl] = addMulVVW(t[2*i+1:i+nl], x[i+1:], x[i])
	}
}

// redcRowsGo adds to t, 2·len(n) limbs, the multiples of n that make its
// lower half zero, and returns the carry out, in Go.
func redcRowsGo(t, n []uint64, n0 uint64) uint64 {
	nl := len(n)
	var carry uint64
	for i := range nl {
		c := addMulVVW(t[i:i+nl], n, t[i]*n0)
		t[i+nl], carry = bits.Add64(t[i+nl], c, carry)
	}
	return carry
}

// addMulVVWGo adds x·y + carry to z, of the same length, and returns the
// carry out, in Go (addMulVVW uses assembly where it can).
func addMulVVWGo(z, x []uint64, y, carry uint64) uint64 {
	z = z[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		zz, xx := z[i:i+4:i+4], x[i:i+4:i+4]
		hi, lo := bits.Mul64(xx[0], y)
		lo, c := bits.Add64(lo, zz[0], 0)
		hi += c
		zz[0], c = bits.Add64(lo, carry, 0)
		carry = hi + c
		hi, lo = bits.Mul64(xx[1], y)
		lo, c = bits.Add64(lo, zz[1], 0)
		hi += c
		zz[1], c = bits.Add64(lo, carry, 0)
		carry = hi + c
		hi, lo = bits.Mul64(xx[2], y)
		lo, c = bits.Add64(lo, zz[2], 0)
		hi += c
		zz[2], c = bits.Add64(lo, carry, 0)
		carry = hi + c
		hi, lo = bits.Mul64(xx[3], y)
		lo, c = bits.Add64(lo, zz[3], 0)
		hi += c
		zz[3], c = bits.Add64(lo, carry, 0)
		carry = hi + c
	}
	for ; i < len(x); i++ {
		hi, lo := bits.Mul64(x[i], y)
		lo, c := bits.Add64(lo, z[i], 0)
		hi += c
		z[i], c = bits.Add64(lo, carry, 0)
		carry = hi + c
	}
	return carry
}
