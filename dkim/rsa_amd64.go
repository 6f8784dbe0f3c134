//go:build !purego

package dkim

import "golang.org/x/sys/cpu"

// addMulVVWADX adds x[0:n]·y to z[0:n] and returns the carry; n is a
// positive multiple of 4, and the CPU must have ADX and BMI2.
//
//go:noescape
func addMulVVWADX(z, x *uint64, n int, y uint64) (carry uint64)

// addMulVVW adds x·y to z, of the same length, and returns the carry.
func addMulVVW(z, x []uint64, y uint64) uint64 {
	z = z[:len(x)]
	n := len(x) &^ 3
	if n == 0 || !cpu.X86.HasADX || !cpu.X86.HasBMI2 {
		return addMulVVWGo(z, x, y, 0)
	}
	c := addMulVVWADX(&z[0], &x[0], n, y)
	if n == len(x) {
		return c
	}
	return addMulVVWGo(z[n:], x[n:], y, c)
}

// redcADX adds the multiples of n[0:nl] that make t[0:nl] zero to t, the
// Montgomery reduction's rows, and returns the carry out of t[2nl-1]; nl
// is a positive multiple of 8, and the CPU must have ADX and BMI2.
//
//go:noescape
func redcADX(t, n *uint64, nl int, n0 uint64) (carry uint64)

// redcRows adds to t, 2·len(n) limbs, the multiples of n that make its
// lower half zero, and returns the carry out.
func redcRows(t, n []uint64, n0 uint64) uint64 {
	if len(n)%8 != 0 || !cpu.X86.HasADX || !cpu.X86.HasBMI2 {
		return redcRowsGo(t, n, n0)
	}
	t = t[:2*len(n)]
	return redcADX(&t[0], &n[0], len(n), n0)
}

// sqrRowsADX adds the products of distinct limbs of x[0:nl] to t, once
// each, the rows of a square (see sqrRows); nl is at least 2, and the CPU
// must have ADX and BMI2.
//
//go:noescape
func sqrRowsADX(t, x *uint64, nl int)

// sqrRows adds to t, zero and of 2·len(x) limbs, the products x[i]·x[j]
// for i < j at limb i+j.
func sqrRows(t, x []uint64) {
	if len(x) < 2 || !cpu.X86.HasADX || !cpu.X86.HasBMI2 {
		sqrRowsGo(t, x)
		return
	}
	t = t[:2*len(x)]
	sqrRowsADX(&t[0], &x[0], len(x))
}
