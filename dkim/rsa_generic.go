//go:build !amd64 || purego

package dkim

// addMulVVW adds x·y to z, of the same length, and returns the carry.
func addMulVVW(z, x []uint64, y uint64) uint64 {
	return addMulVVWGo(z, x, y, 0)
}

// redcRows adds to t, 2·len(n) limbs, the multiples of n that make its
// lower half zero, and returns the carry out.
func redcRows(t, n []uint64, n0 uint64) uint64 {
	return redcRowsGo(t, n, n0)
}

// sqrRows adds to t, zero and of 2·len(x) limbs, the products x[i]·x[j]
// for i < j at limb i+j.
func sqrRows(t, x []uint64) {
	sqrRowsGo(t, x)
}
