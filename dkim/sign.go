package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/message"
)

// DefaultHeaders returns the fields a [Signer] signs when its Headers is
// nil: those of RFC 6376 section 5.4.1, in that order, followed by Sender,
// Message-ID and the MIME fields. Each is signed as often as it is
// present. The slice is the caller's to change.
func DefaultHeaders() []string { return append([]string(nil), defaultHeaders...) }

// DefaultOverSign returns the fields a [Signer] over-signs when its
// OverSign is nil: it lists each once more than it is present, so that a
// field of that name added later, or the first one added where there was
// none, breaks the signature. The slice is the caller's to change.
func DefaultOverSign() []string { return append([]string(nil), defaultOverSign...) }

var defaultHeaders = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc",
	"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
	"In-Reply-To", "References",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner", "List-Archive",
	"Sender", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}

var defaultOverSign = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Sender", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"List-Id", "List-Unsubscribe", "List-Post",
}

// Signer holds what makes one signature. Domain, Selector and Key are
// required.
type Signer struct {
	// Domain is the d= tag, the signing domain.
	Domain string
	// Selector is the s= tag; the public key is published at
	// Selector._domainkey.Domain.
	Selector string
	// Key is an *rsa.PrivateKey of at least MinRSABits bits, signing
	// rsa-sha256, or an ed25519.PrivateKey, signing ed25519-sha256; a
	// crypto.Signer whose Public is one of those works too. An RSA key
	// must be precomputed, as rsa.GenerateKey, [GenerateKey] and
	// [ParsePrivateKey] leave it: crypto/rsa redoes the whole
	// precomputation, key checks included, for every signature of a key
	// whose Precompute was not called.
	Key crypto.Signer
	// Identity is the i= tag, "@" Domain when empty; its domain must be
	// Domain or below.
	Identity string
	// HeaderCanon and BodyCanon give the c= tag; the zero values are
	// Relaxed, so that the default is relaxed/relaxed.
	HeaderCanon, BodyCanon Canonicalization
	// Headers are the field names to sign, each as often as present in
	// the message; nil means those of [DefaultHeaders]. From is always
	// signed.
	Headers []string
	// OverSign are the field names listed once more than present; nil
	// means those of [DefaultOverSign], an empty non-nil slice none. A
	// name here is signed whether or not Headers lists it.
	OverSign []string
	// Expiration, when positive, sets x= that long after t=.
	Expiration time.Duration
	// Now returns the time for t=; nil means time.Now.
	Now func() time.Time
}

// alg returns the signer's algorithm, or an error.
func (s *Signer) alg() (Algorithm, *Error) {
	if s.Key == nil {
		return 0, errorf(ErrSigner, "", "no key")
	}
	if !isDomain(s.Domain) {
		return 0, errorf(ErrSigner, "d", "invalid domain "+quote(s.Domain))
	}
	if !isSelector(s.Selector) {
		return 0, errorf(ErrSigner, "s", "invalid selector "+quote(s.Selector))
	}
	if s.Identity != "" {
		at := strings.LastIndexByte(s.Identity, '@')
		if at < 0 || !isDomain(s.Identity[at+1:]) || !isSubdomain(s.Identity[at+1:], s.Domain) || strings.ContainsAny(s.Identity, "; \t\r\n") {
			return 0, errorf(ErrSigner, "i", "identity "+quote(s.Identity)+" is not at or below "+quote(s.Domain))
		}
	}
	if s.HeaderCanon > Simple || s.BodyCanon > Simple {
		return 0, errorf(ErrSigner, "c", "unknown canonicalization")
	}
	switch pub := s.Key.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < MinRSABits {
			return 0, errorf(ErrSigner, "", "RSA key of "+strconv.Itoa(pub.N.BitLen())+" bits, RFC 8301 requires at least 1024")
		}
		return RSASHA256, nil
	case ed25519.PublicKey:
		return Ed25519SHA256, nil
	}
	return 0, errorf(ErrSigner, "", "key is neither RSA nor Ed25519")
}

// headerNames returns the h= list for the message header h.
func (s *Signer) headerNames(h *message.Header) []string {
	signed := s.Headers
	if signed == nil {
		signed = defaultHeaders
	}
	over := s.OverSign
	if over == nil {
		over = defaultOverSign
	}
	var names []string
	seen := make(map[string]bool)
	add := func(name string, extra bool) {
		key := strings.ToLower(name)
		if seen[key] {
			return
		}
		seen[key] = true
		n := len(h.Values(name))
		if extra || n == 0 && key == "from" {
			n++
		}
		for range n {
			names = append(names, name)
		}
	}
	isOver := func(name string) bool {
		for _, o := range over {
			if equalFold(o, name) {
				return true
			}
		}
		return false
	}
	add("From", isOver("From"))
	for _, n := range signed {
		add(n, isOver(n))
	}
	for _, n := range over {
		add(n, true)
	}
	return names
}

// Sign reads a message from r and returns one DKIM-Signature field per
// signer, in the signers' order, each folded to lines of at most 78
// characters and ending in CRLF, to be prepended to the message as they
// are, in the order returned (RFC 6376 section 5). The body streams
// through the body hashes and is not held in memory; the header may be at
// most DefaultMaxHeaderBytes. The signatures are independent: none signs
// another.
//
// Lines may end in CRLF or a bare LF, which is signed as CRLF, so the
// message must go out with CRLF line endings. Errors are an [*Error]
// wrapping ErrSigner for a bad Signer, an *message.Error for a header
// that cannot be read, or the error of r.
func Sign(r io.Reader, signers ...*Signer) (string, error) {
	if len(signers) == 0 {
		return "", errorf(ErrSigner, "", "no signer")
	}
	algs := make([]Algorithm, len(signers))
	for i, s := range signers {
		a, e := s.alg()
		if e != nil {
			return "", e
		}
		algs[i] = a
	}
	h, body, err := message.ReadHeader(r, &message.ReadOptions{MaxHeaderBytes: DefaultMaxHeaderBytes})
	if err != nil {
		return "", err
	}
	var hashers [2]*bodyHasher
	var ws []*bodyHasher
	for _, s := range signers {
		if hashers[s.BodyCanon] == nil {
			hashers[s.BodyCanon] = newBodyHasher(s.BodyCanon, sha256.New(), -1)
			ws = append(ws, hashers[s.BodyCanon])
		}
	}
	if _, err := io.Copy(&fanout{ws: ws}, body); err != nil {
		return "", err
	}
	var sums [2][]byte
	for i, bh := range hashers {
		if bh != nil {
			sums[i] = bh.sum()
		}
	}
	var out strings.Builder
	for i, s := range signers {
		f, err := s.sign(h, algs[i], sums[s.BodyCanon])
		if err != nil {
			return "", err
		}
		out.WriteString(f)
	}
	return out.String(), nil
}

// sign makes the DKIM-Signature field of one signer.
func (s *Signer) sign(h *message.Header, alg Algorithm, bodyHash []byte) (string, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().Unix()
	names := s.headerNames(h)

	var f folder
	f.b.WriteString("DKIM-Signature:")
	f.n = len("DKIM-Signature:")
	f.tag("v=1;")
	f.tag("a=" + alg.String() + ";")
	f.tag("c=" + s.HeaderCanon.String() + "/" + s.BodyCanon.String() + ";")
	f.tag("d=" + s.Domain + ";")
	f.tag("s=" + s.Selector + ";")
	if s.Identity != "" {
		f.tag("i=" + s.Identity + ";")
	}
	f.tag("t=" + strconv.FormatInt(t, 10) + ";")
	if s.Expiration > 0 {
		f.tag("x=" + strconv.FormatInt(t+int64(s.Expiration/time.Second), 10) + ";")
	}
	for i, n := range names {
		switch {
		case i == 0 && len(names) == 1:
			f.tag("h=" + n + ";")
		case i == 0:
			f.tag("h=" + n + ":")
		case i == len(names)-1:
			f.piece(n + ";")
		default:
			f.piece(n + ":")
		}
	}
	f.tag("bh=" + base64.StdEncoding.EncodeToString(bodyHash) + ";")
	f.tag("b=")
	unsigned := f.b.String()

	hh := sha256.New()
	buf := make([]byte, 0, 1024)
	for _, i := range selectFields(h, names, -1) {
		buf = appendHeader(buf[:0], s.HeaderCanon, h.Field(i).Raw(), true)
		hh.Write(buf)
	}
	buf = appendHeader(buf[:0], s.HeaderCanon, unsigned, false)
	hh.Write(buf)
	digest := hh.Sum(nil)
	var sig []byte
	var err error
	if alg == Ed25519SHA256 {
		sig, err = s.Key.Sign(rand.Reader, digest, crypto.Hash(0))
	} else {
		sig, err = s.Key.Sign(rand.Reader, digest, crypto.SHA256)
	}
	if err != nil {
		return "", &Error{Err: ErrSigner, Detail: "signing failed", Cause: err}
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	for len(b64) > 0 {
		room := maxLine - f.n
		if room <= 0 {
			f.b.WriteString("\r\n\t")
			f.n = 1
			continue
		}
		room = min(room, len(b64))
		f.b.WriteString(b64[:room])
		f.n += room
		b64 = b64[room:]
	}
	f.b.WriteString("\r\n")
	return f.b.String(), nil
}

// maxLine is the line length the signature field is folded to, CRLF not
// counted (RFC 5322 section 2.1.1).
const maxLine = 78

// folder writes a folded header field.
type folder struct {
	b strings.Builder
	n int // length of the current line
}

// tag writes s after a space, or on a new line if it would not fit.
func (f *folder) tag(s string) {
	if f.n+1+len(s) > maxLine {
		f.b.WriteString("\r\n\t")
		f.n = 1
	} else {
		f.b.WriteByte(' ')
		f.n++
	}
	f.b.WriteString(s)
	f.n += len(s)
}

// piece writes s right after what precedes it, or on a new line if it
// would not fit, as h= names can be folded between them.
func (f *folder) piece(s string) {
	if f.n+len(s) > maxLine {
		f.b.WriteString("\r\n\t")
		f.n = 1
	}
	f.b.WriteString(s)
	f.n += len(s)
}
