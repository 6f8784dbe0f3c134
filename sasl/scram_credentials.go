package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/text/runes"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// SCRAM-SHA-256 parameters.
const (
	// DefaultScramIterations is the PBKDF2 iteration count
	// [NewScramCredentials] uses when given zero: the minimum RFC 7677
	// section 4 asks for, which most servers use.
	DefaultScramIterations = 4096
	// DefaultScramMaxIterations is the highest iteration count a SCRAM client
	// accepts from a server, and [ParseScramCredentials] from storage, unless
	// told otherwise; it bounds the CPU a hostile server can make a client
	// spend.
	DefaultScramMaxIterations = 1_000_000
	// ScramSaltLength is the length of the salt [NewScramCredentials]
	// generates.
	ScramSaltLength = 16
)

// ScramCredentials is what a SCRAM-SHA-256 server stores for a user instead
// of the password (RFC 5802 section 3): the salt and iteration count the
// client derives its key with, and StoredKey and ServerKey, which let the
// server check the client's proof and prove itself without ever seeing the
// password. A leaked ScramCredentials lets an attacker impersonate the server
// to the user, not log in as the user.
type ScramCredentials struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte // H(HMAC(SaltedPassword, "Client Key")), 32 bytes
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key"), 32 bytes
}

// NewScramCredentials derives SCRAM-SHA-256 credentials from password, to be
// stored in place of it. A nil salt means ScramSaltLength random bytes from
// crypto/rand; iterations 0 means DefaultScramIterations. The password is
// prepared as [ScramClient] prepares it (see [NewScramSHA256Client]), so a
// client given the same password authenticates.
func NewScramCredentials(password string, salt []byte, iterations int) (ScramCredentials, error) {
	if password == "" {
		return ScramCredentials{}, errors.New("sasl: empty SCRAM password")
	}
	if iterations == 0 {
		iterations = DefaultScramIterations
	}
	if iterations < 1 {
		return ScramCredentials{}, errors.New("sasl: SCRAM iteration count must be positive")
	}
	if salt == nil {
		salt = make([]byte, ScramSaltLength)
		if _, err := rand.Read(salt); err != nil {
			return ScramCredentials{}, err
		}
	} else if len(salt) == 0 {
		return ScramCredentials{}, errors.New("sasl: empty SCRAM salt")
	}
	salted, err := saltPassword(password, salt, iterations)
	if err != nil {
		return ScramCredentials{}, err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return ScramCredentials{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  stored[:],
		ServerKey:  hmacSHA256(salted, "Server Key"),
	}, nil
}

// saltPassword computes SaltedPassword := Hi(Normalize(password), salt, i).
func saltPassword(password string, salt []byte, iterations int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, prepPassword(password), salt, iterations, sha256.Size)
}

// prepPassword prepares a password as SASLprep (RFC 4013) does, which RFC
// 5802 section 2.2 requires: non-ASCII spaces (RFC 3454 table C.1.2) become
// U+0020, the characters "commonly mapped to nothing" (table B.1, such as
// the soft hyphen) are removed, and the result is put in Unicode
// Normalization Form KC. It is built on a PRECIS FreeformClass profile
// (RFC 8264), which also refuses the control and unassigned characters
// SASLprep prohibits. A password the profile refuses is used as given, the
// way PostgreSQL treats a password SASLprep refuses, so that such a password
// still works between a client and a server of this package.
func prepPassword(password string) string {
	ascii := true
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < 0x20 || c > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return password // printable ASCII is left alone by every step
	}
	p, err := newSASLprep().String(password)
	if err != nil || p == "" {
		return password
	}
	return p
}

// newSASLprep returns the PRECIS profile that does SASLprep's work.
func newSASLprep() *precis.Profile {
	return precis.NewFreeform(
		precis.AdditionalMapping(func() transform.Transformer {
			return transform.Chain(runes.Map(mapNonASCIISpace), runes.Remove(runes.Predicate(mappedToNothing)))
		}),
		precis.Norm(norm.NFKC),
		precis.DisallowEmpty,
	)
}

// mapNonASCIISpace maps RFC 3454 table C.1.2 to U+0020.
func mapNonASCIISpace(r rune) rune {
	switch {
	case r == 0x00a0, r == 0x1680, 0x2000 <= r && r <= 0x200b, r == 0x202f, r == 0x205f, r == 0x3000:
		return ' '
	}
	return r
}

// mappedToNothing reports whether r is in RFC 3454 table B.1.
func mappedToNothing(r rune) bool {
	switch {
	case r == 0x00ad, r == 0x034f, r == 0x1806, 0x180b <= r && r <= 0x180d,
		0x200b <= r && r <= 0x200d, r == 0x2060, 0xfe00 <= r && r <= 0xfe0f, r == 0xfeff:
		return true
	}
	return false
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

const scramCredentialsPrefix = "SCRAM-SHA-256$"

// String formats c the way PostgreSQL stores SCRAM verifiers:
//
//	SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
//
// with standard padded base64. [ParseScramCredentials] reads it back.
func (c ScramCredentials) String() string {
	b64 := base64.StdEncoding
	var b strings.Builder
	b.WriteString(scramCredentialsPrefix)
	b.WriteString(strconv.Itoa(c.Iterations))
	b.WriteByte(':')
	b.WriteString(b64.EncodeToString(c.Salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(c.StoredKey))
	b.WriteByte(':')
	b.WriteString(b64.EncodeToString(c.ServerKey))
	return b.String()
}

// MarshalText implements encoding.TextMarshaler with the format of String.
func (c ScramCredentials) MarshalText() ([]byte, error) {
	if err := c.valid(DefaultScramMaxIterations); err != nil {
		return nil, err
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with
// [ParseScramCredentials].
func (c *ScramCredentials) UnmarshalText(text []byte) error {
	p, err := ParseScramCredentials(string(text))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// ParseScramCredentials parses credentials in the format of
// [ScramCredentials.String]. It refuses iteration counts above
// DefaultScramMaxIterations, keys that are not 32 bytes and empty salts.
func ParseScramCredentials(s string) (ScramCredentials, error) {
	bad := func(why string) (ScramCredentials, error) {
		return ScramCredentials{}, errors.New("sasl: bad SCRAM credentials: " + why)
	}
	rest, ok := strings.CutPrefix(s, scramCredentialsPrefix)
	if !ok {
		return bad("no SCRAM-SHA-256$ prefix")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return bad("missing $ before the keys")
	}
	iter, salt, ok := strings.Cut(params, ":")
	if !ok {
		return bad("missing : after the iteration count")
	}
	stored, server, ok := strings.Cut(keys, ":")
	if !ok {
		return bad("missing : between the keys")
	}
	n, err := parseIterations(iter)
	if err != nil {
		return bad("iteration count")
	}
	var c ScramCredentials
	c.Iterations = n
	b64 := base64.StdEncoding.Strict()
	if c.Salt, err = b64.DecodeString(salt); err != nil {
		return bad("salt is not base64")
	}
	if c.StoredKey, err = b64.DecodeString(stored); err != nil {
		return bad("StoredKey is not base64")
	}
	if c.ServerKey, err = b64.DecodeString(server); err != nil {
		return bad("ServerKey is not base64")
	}
	if err := c.valid(DefaultScramMaxIterations); err != nil {
		return ScramCredentials{}, err
	}
	return c, nil
}

// parseIterations parses a positive decimal iteration count without sign or
// leading zeros that fits in 31 bits.
func parseIterations(s string) (int, error) {
	if s == "" || len(s) > 10 || s[0] == '0' {
		return 0, errors.New("bad iteration count")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("bad iteration count")
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 1<<31-1 {
		return 0, errors.New("bad iteration count")
	}
	return n, nil
}

func (c ScramCredentials) valid(maxIterations int) error {
	switch {
	case len(c.Salt) == 0:
		return errors.New("sasl: bad SCRAM credentials: empty salt")
	case c.Iterations < 1 || c.Iterations > maxIterations:
		return errors.New("sasl: bad SCRAM credentials: iteration count out of range")
	case len(c.StoredKey) != sha256.Size || len(c.ServerKey) != sha256.Size:
		return errors.New("sasl: bad SCRAM credentials: keys must be 32 bytes")
	}
	return nil
}
