package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KeyRecord is a parsed DKIM key record, the TXT record at
// selector._domainkey.domain (RFC 6376 section 3.6.1, RFC 8463 section 4).
type KeyRecord struct {
	// KeyType is the k= tag, "rsa" (the default) or "ed25519".
	KeyType string
	// PublicKey is an *rsa.PublicKey or an ed25519.PublicKey, nil when the
	// key is revoked.
	PublicKey crypto.PublicKey
	// Revoked is true when the p= tag is empty.
	Revoked bool
	// HashAlgorithms is the h= tag, the acceptable hash algorithms; nil
	// means all.
	HashAlgorithms []string
	// Services is the s= tag; nil means "*", all services.
	Services []string
	// Testing is the t=y flag: the domain is testing DKIM.
	Testing bool
	// Strict is the t=s flag: the i= domain must be d= itself, not a
	// subdomain.
	Strict bool

	// rsa is PublicKey prepared for verification, nil for other keys.
	rsa *rsaPublic
}

// ParseKeyRecord parses a key record, the character-strings of its TXT
// record concatenated. A v= tag must come first and be "DKIM1"; k= must be
// rsa or ed25519; p= is required, and empty means revoked. An RSA key is a
// DER SubjectPublicKeyInfo as RFC 6376 asks, or a bare RSAPublicKey as some
// publish; an Ed25519 key is its 32 octets (RFC 8463 section 4). Unknown
// tags are ignored. Its errors are [*Error] values wrapping ErrKeySyntax
// or ErrVersion.
func ParseKeyRecord(txt string) (*KeyRecord, error) {
	tags, err := parseTagList(txt)
	if err != nil {
		return nil, &Error{Err: ErrKeySyntax, Detail: "tag list", Cause: err}
	}
	k := &KeyRecord{KeyType: "rsa"}
	var p string
	haveP := false
	for i, t := range tags {
		v := t.value
		switch t.name {
		case "v":
			if i != 0 || v != "DKIM1" {
				return nil, errorf(ErrVersion, "v", "key record version "+quote(v)+" must be DKIM1 and first")
			}
		case "k":
			if v != "rsa" && v != "ed25519" {
				return nil, errorf(ErrKeySyntax, "k", "unknown key type "+quote(v))
			}
			k.KeyType = v
		case "p":
			p, haveP = removeFWS(v), true
		case "h":
			k.HashAlgorithms = splitColon(v)
		case "s":
			k.Services = splitColon(v)
		case "t":
			for _, f := range splitColon(v) {
				switch f {
				case "y":
					k.Testing = true
				case "s":
					k.Strict = true
				}
			}
		}
	}
	if !haveP {
		return nil, errorf(ErrKeySyntax, "p", "no public key tag")
	}
	if p == "" {
		k.Revoked = true
		return k, nil
	}
	der, err := decodeBase64(p)
	if err != nil {
		return nil, errorf(ErrKeySyntax, "p", "invalid base64")
	}
	switch k.KeyType {
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, errorf(ErrKeySyntax, "p", "Ed25519 key is not 32 octets")
		}
		k.PublicKey = ed25519.PublicKey(der)
	default:
		if rk := parseRSASPKI(der); rk != nil {
			k.PublicKey, k.rsa = rk, newRSAPublic(rk, false)
		} else if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
			rk, ok := pub.(*rsa.PublicKey)
			if !ok {
				return nil, errorf(ErrKeySyntax, "p", "k=rsa but the key is not RSA")
			}
			k.PublicKey, k.rsa = rk, newRSAPublic(rk, false)
		} else if rk, err2 := x509.ParsePKCS1PublicKey(der); err2 == nil {
			k.PublicKey, k.rsa = rk, newRSAPublic(rk, false)
		} else {
			return nil, &Error{Err: ErrKeySyntax, Tag: "p", Detail: "cannot parse RSA key", Cause: err}
		}
	}
	return k, nil
}

// rsaAlgorithmDER is the content of the AlgorithmIdentifier of an RSA
// key in DER:
// rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters (RFC 3279
// section 2.3.1).
const rsaAlgorithmDER = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00"

// parseRSASPKI reads der when it is an RSA SubjectPublicKeyInfo in the
// plain DER form every signer publishes: the algorithm rsaEncryption with
// NULL parameters, a bit string of whole octets holding an RSAPublicKey
// of a positive modulus and exponent, and nothing after any of them. It
// returns nil for anything else, which x509.ParsePKIXPublicKey then
// judges; what it accepts, x509.ParsePKIXPublicKey accepts as the same
// key (FuzzParseKeyRecord checks this), only without its reflection.
func parseRSASPKI(der []byte) *rsa.PublicKey {
	in := cryptobyte.String(der)
	var spki, alg, bits, key cryptobyte.String
	if !in.ReadASN1(&spki, cbasn1.SEQUENCE) || !in.Empty() ||
		!spki.ReadASN1(&alg, cbasn1.SEQUENCE) || !spki.ReadASN1(&bits, cbasn1.BIT_STRING) || !spki.Empty() ||
		string(alg) != rsaAlgorithmDER ||
		len(bits) == 0 || bits[0] != 0 {
		return nil
	}
	bits = bits[1:]
	n := new(big.Int)
	var e int
	if !bits.ReadASN1(&key, cbasn1.SEQUENCE) || !bits.Empty() ||
		!key.ReadASN1Integer(n) || !key.ReadASN1Integer(&e) || !key.Empty() ||
		n.Sign() <= 0 || e <= 0 || e > 1<<31-1 {
		return nil
	}
	return &rsa.PublicKey{N: n, E: e}
}

// precompute readies an RSA key for many verifications: it keeps R² mod
// N. It is for a record not yet shared, since it modifies k.
func (k *KeyRecord) precompute() {
	if pub, ok := k.PublicKey.(*rsa.PublicKey); ok {
		k.rsa = newRSAPublic(pub, true)
	}
}

// allows reports whether the record's h= lists the hash ("sha256").
func (k *KeyRecord) allows(hash string) bool {
	if k.HashAlgorithms == nil {
		return true
	}
	for _, h := range k.HashAlgorithms {
		if equalFold(h, hash) {
			return true
		}
	}
	return false
}

// forEmail reports whether the record's s= includes email or *.
func (k *KeyRecord) forEmail() bool {
	if k.Services == nil {
		return true
	}
	for _, s := range k.Services {
		if s == "*" || equalFold(s, "email") {
			return true
		}
	}
	return false
}

func splitColon(v string) []string {
	f := strings.Split(v, ":")
	for i := range f {
		f[i] = trimFWS(f[i])
	}
	return f
}

// DefaultRSABits is the size of the RSA keys [GenerateKey] makes.
const DefaultRSABits = 2048

// GenerateKey makes a new private key for alg, RSA of DefaultRSABits bits
// or Ed25519, from crypto/rand. Publish its [KeyRecordText] at
// selector._domainkey.domain and keep [MarshalPrivateKey]'s PEM secret.
func GenerateKey(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case RSASHA256:
		return rsa.GenerateKey(rand.Reader, DefaultRSABits)
	case Ed25519SHA256:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, errorf(ErrAlgorithm, "", "cannot generate a key for "+alg.String())
}

// KeyRecordText returns the TXT record that publishes pub, such as
// "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".
// pub is an *rsa.PublicKey (written as a SubjectPublicKeyInfo) or an
// ed25519.PublicKey. A record longer than 255 octets, as every RSA record
// is, goes into DNS as several character-strings of one TXT record, which
// zone files write as quoted strings one after another.
func KeyRecordText(pub crypto.PublicKey) (string, error) {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	}
	return "", errorf(ErrSigner, "", "unsupported public key type")
}

// MarshalPrivateKey returns key, an *rsa.PrivateKey or an
// ed25519.PrivateKey, as a PKCS #8 "PRIVATE KEY" PEM block.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, &Error{Err: ErrSigner, Detail: "cannot marshal key", Cause: err}
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// maxPEMBytes bounds what ParsePrivateKey reads.
const maxPEMBytes = 64 << 10

// ParsePrivateKey reads the first PEM block of data: an "RSA PRIVATE KEY"
// (PKCS #1, as opendkim-genkey writes) or a "PRIVATE KEY" (PKCS #8) holding
// an RSA or Ed25519 key.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	if len(data) > maxPEMBytes {
		return nil, errorf(ErrSigner, "", "PEM data too large")
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errorf(ErrSigner, "", "no PEM block")
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, &Error{Err: ErrSigner, Detail: "PKCS #1 key", Cause: err}
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, &Error{Err: ErrSigner, Detail: "PKCS #8 key", Cause: err}
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, errorf(ErrSigner, "", "PKCS #8 key is neither RSA nor Ed25519")
	}
	return nil, errorf(ErrSigner, "", "PEM block "+quote(b.Type)+" is not a private key")
}
