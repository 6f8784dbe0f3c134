package dkim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"
)

// rsaTestKeys makes RSA keys of the given sizes. 1088 bits is 17 limbs,
// a length that is not a multiple of 4 or 8, so it takes the Go paths;
// 1100 bits leaves the top limb's top bit clear, so a key used once
// gets into Montgomery form by math/big instead of toMont.
func rsaTestKeys(t testing.TB, sizes ...int) []*rsa.PrivateKey {
	t.Helper()
	var keys []*rsa.PrivateKey
	for _, bits := range sizes {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// bigOf returns the integer of limbs z.
func bigOf(z []uint64) *big.Int {
	b := make([]byte, 8*len(z))
	for i, w := range z {
		for j := range 8 {
			b[len(b)-8*i-1-j] = byte(w >> (8 * j))
		}
	}
	return new(big.Int).SetBytes(b)
}

// limbsOf returns x as nl limbs.
func limbsOf(x *big.Int, nl int) []uint64 {
	return limbs(make([]uint64, nl), x.FillBytes(make([]byte, 8*nl)))
}

// verifyAll checks sig with every path of the verifier (a key prepared
// per call, prepared once, with R² mod N kept) and fails unless they all
// agree with crypto/rsa; it returns the answer.
func verifyAll(t *testing.T, pub *rsa.PublicKey, digest, sig []byte) bool {
	t.Helper()
	want := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) == nil
	got := []bool{
		verifyRSA(pub, nil, digest, sig),
		verifyRSA(pub, newRSAPublic(pub, false), digest, sig),
		verifyRSA(pub, newRSAPublic(pub, true), digest, sig),
	}
	for i, g := range got {
		if g != want {
			t.Fatalf("%d-bit key, e=%d, sig %x, digest %x: path %d says %v, crypto/rsa %v", pub.N.BitLen(), pub.E, sig, digest, i, g, want)
		}
	}
	return want
}

func TestRSAAddMul(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for n := range 70 {
		for range 20 {
			x, z := make([]uint64, n), make([]uint64, n)
			for i := range x {
				x[i], z[i] = r.Uint64(), r.Uint64()
				if r.IntN(4) == 0 {
					x[i], z[i] = ^uint64(0), ^uint64(0)
				}
			}
			y := r.Uint64()
			if r.IntN(4) == 0 {
				y = ^uint64(0)
			}
			z2 := slices.Clone(z)
			c := addMulVVW(z, x, y)
			c2 := addMulVVWGo(z2, x, y, 0)
			if c != c2 || !slices.Equal(z, z2) {
				t.Fatalf("n=%d: addMulVVW and addMulVVWGo differ", n)
			}
		}
	}
	for n := range 70 {
		x := make([]uint64, n)
		z := make([]uint64, n)
		for i := range x {
			x[i], z[i] = r.Uint64(), r.Uint64()
		}
		y := r.Uint64()
		// Against math/big: z + x·y = z' + c·2^(64n).
		sum := new(big.Int).Add(bigOf(z), new(big.Int).Mul(bigOf(x), new(big.Int).SetUint64(y)))
		c := addMulVVW(z, x, y)
		got := new(big.Int).Add(bigOf(z), new(big.Int).Lsh(new(big.Int).SetUint64(c), uint(64*n)))
		if got.Cmp(sum) != 0 {
			t.Fatalf("n=%d: addMulVVW is not z + x·y", n)
		}
	}
}

func TestRSAMontgomery(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	for _, key := range rsaTestKeys(t, 1024, 1088, 1100, 2048) {
		N := key.N
		for _, pre := range []bool{false, true} {
			p := newRSAPublic(&key.PublicKey, pre)
			nl := len(p.n)
			R := new(big.Int).Lsh(big.NewInt(1), uint(64*nl))
			rInv := new(big.Int).ModInverse(R, N)
			if pre && bigOf(p.rr).Cmp(new(big.Int).Mod(new(big.Int).Mul(R, R), N)) != 0 {
				t.Fatal("rr is not R² mod N")
			}
			if p.n0*p.n[0] != ^uint64(0) {
				t.Fatal("n0 is not -N⁻¹ mod 2⁶⁴")
			}
			nMinus1 := new(big.Int).Sub(N, big.NewInt(1))
			rnd := func() *big.Int {
				switch r.IntN(8) {
				case 0:
					return nMinus1
				case 1:
					return big.NewInt(0)
				case 2:
					return big.NewInt(1)
				}
				b := make([]byte, p.size)
				for i := range b {
					b[i] = byte(r.Uint32())
				}
				return new(big.Int).Mod(new(big.Int).SetBytes(b), N)
			}
			tmp := make([]uint64, 2*nl+1)
			for range 200 {
				x, y := rnd(), rnd()
				z := make([]uint64, nl)
				p.mul(z, limbsOf(x, nl), limbsOf(y, nl), tmp)
				want := new(big.Int).Mul(x, y)
				want.Mul(want, rInv).Mod(want, N)
				if bigOf(z).Cmp(want) != 0 {
					t.Fatalf("%d bits: mul(%x, %x) = %x, want %x", N.BitLen(), x, y, bigOf(z), want)
				}
				if p.negN != nil {
					if !p.toMont(z, limbsOf(x, nl), tmp) {
						t.Fatalf("toMont(%x) failed", x)
					}
					if want := new(big.Int).Mod(new(big.Int).Mul(x, R), N); bigOf(z).Cmp(want) != 0 {
						t.Fatalf("%d bits: toMont(%x) = %x, want %x", N.BitLen(), x, bigOf(z), want)
					}
				} else if N.BitLen()%64 == 0 {
					t.Fatal("no R - N for a modulus of whole limbs")
				}
				p.sqr(z, limbsOf(x, nl), tmp)
				want = new(big.Int).Mul(x, x)
				want.Mul(want, rInv).Mod(want, N)
				if bigOf(z).Cmp(want) != 0 {
					t.Fatalf("%d bits: sqr(%x) = %x, want %x", N.BitLen(), x, bigOf(z), want)
				}
			}
			// The whole public operation, for the usual exponent and for
			// random odd ones.
			for i := range 30 {
				e := 65537
				if i > 0 {
					e = int(r.Uint32()>>1) | 1
					if i%3 == 0 {
						e = 3
					}
				}
				pub := &rsa.PublicKey{N: N, E: e}
				q := newRSAPublic(pub, pre)
				s := rnd()
				out := make([]byte, 8*nl)
				if !q.encrypt(out, s.FillBytes(make([]byte, q.size))) {
					t.Fatal("encrypt refused s < N")
				}
				if want := new(big.Int).Exp(s, big.NewInt(int64(e)), N); new(big.Int).SetBytes(out).Cmp(want) != 0 {
					t.Fatalf("%d bits, e=%d: s^e wrong", N.BitLen(), e)
				}
			}
		}
	}
}

func TestRSASqrRows(t *testing.T) {
	r := mrand.New(mrand.NewPCG(7, 8))
	for nl := range 70 {
		for range 20 {
			x := make([]uint64, nl)
			for i := range x {
				x[i] = r.Uint64()
				if r.IntN(4) == 0 {
					x[i] = ^uint64(0)
				}
			}
			t1, t2 := make([]uint64, 2*nl+1), make([]uint64, 2*nl+1)
			sqrRows(t1, x)
			sqrRowsGo(t2, x)
			if !slices.Equal(t1, t2) {
				t.Fatalf("nl=%d: sqrRows and sqrRowsGo differ", nl)
			}
			// Twice the rows plus the squares of the limbs is x².
			want := new(big.Int).Mul(bigOf(x), bigOf(x))
			got := new(big.Int).Lsh(bigOf(t1), 1)
			for i, w := range x {
				sq := new(big.Int).Mul(new(big.Int).SetUint64(w), new(big.Int).SetUint64(w))
				got.Add(got, sq.Lsh(sq, uint(128*i)))
			}
			if got.Cmp(want) != 0 {
				t.Fatalf("nl=%d: the rows are not those of x²", nl)
			}
		}
	}
}

func TestRSARedcRows(t *testing.T) {
	r := mrand.New(mrand.NewPCG(5, 6))
	for _, key := range rsaTestKeys(t, 1024, 2048) {
		p := newRSAPublic(&key.PublicKey, false)
		nl := len(p.n)
		for range 100 {
			tt := make([]uint64, 2*nl+1)
			for i := range 2 * nl {
				tt[i] = r.Uint64()
			}
			t2 := slices.Clone(tt)
			c, c2 := redcRows(tt, p.n, p.n0), redcRowsGo(t2, p.n, p.n0)
			if c != c2 || !slices.Equal(tt, t2) {
				t.Fatal("redcRows and redcRowsGo differ")
			}
			if !slices.Equal(tt[:nl], make([]uint64, nl)) {
				t.Fatal("redcRows left a non-zero lower half")
			}
		}
	}
}

func TestVerifyRSA(t *testing.T) {
	keys := rsaTestKeys(t, 1024, 1088, 1100, 2048, 3072, 4096)
	for _, key := range keys {
		pub := &key.PublicKey
		k := pub.Size()
		for m := range 3 {
			digest := sha256.Sum256([]byte{byte(m), 'x'})
			sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if !verifyAll(t, pub, digest[:], sig) {
				t.Fatalf("%d bits: a valid signature fails", pub.N.BitLen())
			}
			if m > 0 {
				continue
			}
			// Every single-bit flip of the signature, and of the digest.
			for i := range 8 * k {
				bad := slices.Clone(sig)
				bad[i/8] ^= 1 << (i % 8)
				if verifyAll(t, pub, digest[:], bad) {
					t.Fatalf("%d bits: signature with bit %d flipped passes", pub.N.BitLen(), i)
				}
			}
			for i := range 8 * len(digest) {
				bad := digest
				bad[i/8] ^= 1 << (i % 8)
				if verifyAll(t, pub, bad[:], sig) {
					t.Fatalf("digest with bit %d flipped passes", i)
				}
			}
			// Signatures of the wrong length, even with the same value.
			for _, bad := range [][]byte{sig[1:], sig[:k-1], append([]byte{0}, sig...), append(slices.Clone(sig), 0), nil, {}} {
				if verifyAll(t, pub, digest[:], bad) {
					t.Fatalf("signature of %d octets passes", len(bad))
				}
			}
			// Digests of the wrong length.
			for _, d := range [][]byte{digest[:31], append(digest[:], 0), nil} {
				if verifyAll(t, pub, d, sig) {
					t.Fatalf("digest of %d octets passes", len(d))
				}
			}
			// Values at and around the bounds.
			N := pub.N
			for _, v := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), new(big.Int).Sub(N, big.NewInt(1)),
				N, new(big.Int).Add(N, big.NewInt(1)), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(8*k)), big.NewInt(1))} {
				s := v.FillBytes(make([]byte, k))
				if verifyAll(t, pub, digest[:], s) {
					t.Fatalf("s = %x passes", v)
				}
			}
			// s + N has the same value modulo N: refused, as it is not
			// below N.
			sPlusN := new(big.Int).Add(new(big.Int).SetBytes(sig), N)
			if sPlusN.BitLen() <= 8*k && verifyAll(t, pub, digest[:], sPlusN.FillBytes(make([]byte, k))) {
				t.Fatal("s + N passes")
			}
			// Random signatures.
			for range 50 {
				s := make([]byte, k)
				rand.Read(s)
				verifyAll(t, pub, digest[:], s)
			}
		}
	}
}

func TestVerifyRSAEncoding(t *testing.T) {
	key := rsaTestKeys(t, 2048)[0]
	pub := &key.PublicKey
	msg := []byte("message")
	digest := sha256.Sum256(msg)

	// A valid signature with another DigestInfo of 32 octets
	// (SHA-512/256), and one of the bare digest without DigestInfo.
	d512 := sha512.Sum512_256(msg)
	for _, h := range []crypto.Hash{crypto.SHA512_256, crypto.Hash(0)} {
		in := digest[:]
		if h == crypto.SHA512_256 {
			in = d512[:]
		}
		sig, err := rsa.SignPKCS1v15(nil, key, h, in)
		if err != nil {
			t.Fatal(err)
		}
		if verifyAll(t, pub, in, sig) {
			t.Fatalf("signature with hash %v passes as SHA-256", h)
		}
	}

	// Bleichenbacher's forgery for e=3: 00 01 FF 00 DigestInfo digest,
	// then garbage, made a cube by taking the cube root; s³ is below N,
	// so no private key is needed. A verifier that parses the padding and
	// ignores what follows the digest accepts it.
	pub3 := &rsa.PublicKey{N: pub.N, E: 3}
	k := pub3.Size()
	prefix := append([]byte{0, 1, 0xff, 0}, sha256DigestInfo...)
	prefix = append(prefix, digest[:]...)
	lo := new(big.Int).Lsh(new(big.Int).SetBytes(prefix), uint(8*(k-len(prefix))))
	hi := new(big.Int).Add(lo, new(big.Int).Lsh(big.NewInt(1), uint(8*(k-len(prefix)))))
	s := cubeRoot(hi)
	for new(big.Int).Exp(s, big.NewInt(3), nil).Cmp(hi) >= 0 {
		s.Sub(s, big.NewInt(1))
	}
	cube := new(big.Int).Exp(s, big.NewInt(3), nil)
	if cube.Cmp(lo) < 0 || cube.Cmp(pub3.N) >= 0 {
		t.Fatal("no forgery to test")
	}
	em := cube.FillBytes(make([]byte, k))
	if !bytes.HasPrefix(em, prefix) || bytes.Equal(em[len(prefix):], make([]byte, k-len(prefix))) {
		t.Fatal("the forgery has no garbage after the digest")
	}
	if verifyAll(t, pub3, digest[:], s.FillBytes(make([]byte, k))) {
		t.Fatal("Bleichenbacher's forgery passes")
	}
	// The genuine encoding with e=1 as a sanity check of the other
	// side: 00 01 FF..FF 00 DigestInfo digest is refused for its key
	// (e=1 is below 2), not for its encoding.
	full := make([]byte, k)
	if !encodePKCS1v15(full, digest[:]) {
		t.Fatal("encodePKCS1v15 refused 256 octets")
	}
	if !bytes.HasPrefix(full, []byte{0, 1, 0xff}) || !bytes.HasSuffix(full, append([]byte(sha256DigestInfo), digest[:]...)) ||
		full[k-len(sha256DigestInfo)-len(digest)-1] != 0 || bytes.Count(full, []byte{0xff}) < k-3-len(sha256DigestInfo)-len(digest) {
		t.Fatalf("encoding %x", full)
	}
	if verifyAll(t, &rsa.PublicKey{N: pub.N, E: 1}, digest[:], full) {
		t.Fatal("e=1 passes")
	}
}

func TestVerifyRSAKeys(t *testing.T) {
	key := rsaTestKeys(t, 2048)[0]
	digest := sha256.Sum256([]byte("m"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	even := new(big.Int).Add(key.N, big.NewInt(1))
	small := rsaTestKeys(t, 1024)[0].N
	small = new(big.Int).Rsh(small, 8) // 1016 bits, odd or not
	small.SetBit(small, 0, 1)
	maxE := 1<<31 - 1 // a variable, so that maxE+1 compiles where int has 32 bits
	for _, pub := range []*rsa.PublicKey{
		{N: key.N, E: 2}, {N: key.N, E: 1}, {N: key.N, E: 0}, {N: key.N, E: -65537}, {N: key.N, E: 65536},
		{N: key.N, E: maxE + 1}, {N: key.N, E: maxE + 2}, {N: even, E: 65537}, {N: small, E: 65537},
	} {
		if newRSAPublic(pub, true) != nil {
			t.Errorf("key of %d bits, e=%d prepared", pub.N.BitLen(), pub.E)
		}
		if verifyAll(t, pub, digest[:], sig) {
			t.Errorf("key of %d bits, e=%d passes", pub.N.BitLen(), pub.E)
		}
	}
	if newRSAPublic(nil, false) != nil || newRSAPublic(&rsa.PublicKey{E: 65537}, false) != nil {
		t.Error("a key without modulus prepared")
	}
	// A prepared key used with another key is not trusted.
	other := rsaTestKeys(t, 2048)[0]
	if verifyRSA(&key.PublicKey, newRSAPublic(&other.PublicKey, true), digest[:], sig) != true {
		t.Error("a prepared key of another key was used")
	}
}

// cubeRoot returns ⌊∛x⌋ or a little more, by Newton's method.
func cubeRoot(x *big.Int) *big.Int {
	r := new(big.Int).Lsh(big.NewInt(1), uint(x.BitLen()/3+1))
	three := big.NewInt(3)
	for {
		// r' = (2r + x/r²)/3
		n := new(big.Int).Quo(x, new(big.Int).Mul(r, r))
		n.Add(n, new(big.Int).Lsh(r, 1))
		n.Quo(n, three)
		if n.Cmp(r) >= 0 {
			return r
		}
		r = n
	}
}

func TestParseRSASPKI(t *testing.T) {
	key := rsaTestKeys(t, 2048)[0]
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if k := parseRSASPKI(der); k == nil || !k.Equal(&key.PublicKey) {
		t.Fatalf("parseRSASPKI of a key x509 wrote: %v", k)
	}
	// Anything but the plain form is left to x509.
	noNull := bytes.Replace(der, []byte(rsaAlgorithmDER), []byte(rsaAlgorithmDER[:len(rsaAlgorithmDER)-2]+"\x04\x00"), 1)
	for name, bad := range map[string][]byte{
		"PKCS #1":         x509.MarshalPKCS1PublicKey(&key.PublicKey),
		"trailing octet":  append(slices.Clone(der), 0),
		"cut":             der[:len(der)-1],
		"other parameter": noNull,
		"empty":           nil,
	} {
		if parseRSASPKI(bad) != nil {
			t.Errorf("%s: accepted", name)
		}
	}
	rec, err := ParseKeyRecord("v=DKIM1; p=" + base64.StdEncoding.EncodeToString(der))
	if err != nil || !key.PublicKey.Equal(rec.PublicKey) || rec.rsa == nil {
		t.Fatalf("ParseKeyRecord: %v %v", rec, err)
	}
}

// TestVerifyRSALargeModulus runs the verifier on moduli of more limbs
// than its stack scratch holds, up to DefaultMaxRSABits, with random odd
// numbers as N (the public operation needs no factorization).
func TestVerifyRSALargeModulus(t *testing.T) {
	r := mrand.New(mrand.NewPCG(9, 10))
	for _, nbits := range []int{64*rsaStackLimbs + 8, DefaultMaxRSABits} {
		b := make([]byte, nbits/8)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0] |= 0x80
		b[len(b)-1] |= 1
		N := new(big.Int).SetBytes(b)
		for _, pre := range []bool{false, true} {
			pub := &rsa.PublicKey{N: N, E: 65537}
			p := newRSAPublic(pub, pre)
			if p == nil || len(p.n) <= rsaStackLimbs {
				t.Fatalf("%d bits: not prepared for the heap path", nbits)
			}
			for range 3 {
				s := make([]byte, p.size)
				for i := range s {
					s[i] = byte(r.Uint32())
				}
				s[0] &= 0x7f
				out := make([]byte, 8*len(p.n))
				if !p.encrypt(out, s) {
					t.Fatal("encrypt refused s < N")
				}
				want := new(big.Int).Exp(new(big.Int).SetBytes(s), big.NewInt(65537), N)
				if new(big.Int).SetBytes(out).Cmp(want) != 0 {
					t.Fatalf("%d bits: s^e wrong", nbits)
				}
				digest := sha256.Sum256(s)
				if verifyAll(t, pub, digest[:], s) {
					t.Fatal("a random signature passes")
				}
			}
		}
	}
}
