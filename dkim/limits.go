package dkim

import "time"

// Default limits of [Limits]. Each applies when the matching field is zero.
const (
	// DefaultMaxSignatures bounds the signatures verified per message; the
	// others get a PermError wrapping ErrTooManySignatures.
	DefaultMaxSignatures = 5
	// DefaultMaxLookups bounds the key lookups per message; a signature
	// whose key would need one more gets a PermError wrapping
	// ErrTooManyLookups. Signatures sharing a selector and domain share a
	// lookup.
	DefaultMaxLookups = 5
	// DefaultMaxHeaderBytes bounds the header section of a verified or
	// signed message, 256 KiB.
	DefaultMaxHeaderBytes = 256 << 10
	// DefaultMaxSignatureBytes bounds one DKIM-Signature field, 16 KiB.
	DefaultMaxSignatureBytes = 16 << 10
	// DefaultMaxKeyRecordBytes bounds a key record, 8 KiB: an RSA key of
	// 8192 bits takes about 1.5 KiB.
	DefaultMaxKeyRecordBytes = 8 << 10
	// DefaultMaxRSABits bounds the size of an RSA key, so that a hostile
	// key record cannot make a verification slow.
	DefaultMaxRSABits = 8192
	// MinRSABits is the smallest RSA key accepted, as RFC 8301 section 3.2
	// requires. It cannot be lowered.
	MinRSABits = 1024
	// DefaultClockSkew is how far a signature's t= may lie in the future,
	// and how long after x= it is still taken as valid, to allow for
	// clocks that are off.
	DefaultClockSkew = 5 * time.Minute
)

// Limits bounds the work of one verification. The zero value means the
// defaults above.
type Limits struct {
	// Signatures is the number of DKIM-Signature fields verified; 0 means
	// DefaultMaxSignatures.
	Signatures int
	// Lookups is the number of key lookups; 0 means DefaultMaxLookups.
	Lookups int
	// HeaderBytes bounds the header section; 0 means
	// DefaultMaxHeaderBytes. A longer header makes Verify fail with
	// message.ErrHeaderTooLarge.
	HeaderBytes int
	// SignatureBytes bounds one DKIM-Signature field; 0 means
	// DefaultMaxSignatureBytes.
	SignatureBytes int
	// KeyRecordBytes bounds a key record; 0 means
	// DefaultMaxKeyRecordBytes.
	KeyRecordBytes int
	// MaxRSABits bounds an RSA key's size; 0 means DefaultMaxRSABits.
	MaxRSABits int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Signatures, DefaultMaxSignatures)
	def(&l.Lookups, DefaultMaxLookups)
	def(&l.HeaderBytes, DefaultMaxHeaderBytes)
	def(&l.SignatureBytes, DefaultMaxSignatureBytes)
	def(&l.KeyRecordBytes, DefaultMaxKeyRecordBytes)
	def(&l.MaxRSABits, DefaultMaxRSABits)
	return l
}
