package dkim

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/message"
)

// Verifier checks the DKIM signatures of messages. Only Resolver is
// required; the zero value of every other field means its default. A
// Verifier is safe for concurrent use as long as its Resolver is.
type Verifier struct {
	// Resolver looks up key records at selector._domainkey.domain.
	Resolver dnsmx.Resolver
	// Now returns the time against which t= and x= are checked; nil means
	// time.Now.
	Now func() time.Time
	// ClockSkew is the tolerance for t= and x=; 0 means DefaultClockSkew,
	// a negative value none.
	ClockSkew time.Duration
	// Limits bounds the work per message.
	Limits Limits
	// Keys, when set, keeps parsed key records between messages for
	// their TTL (see [KeyCache]); nil looks up and parses every key for
	// every message.
	Keys *KeyCache
}

// Result is the outcome of verifying one DKIM-Signature field. Every
// outcome, DNS failures included, is a Status; Err says why it is not
// Pass.
type Result struct {
	// Status is the dkim result.
	Status Status
	// Err is an [*Error] telling why Status is not Pass, and nil for Pass.
	Err error
	// Signature is the parsed field, or nil when it could not be parsed.
	Signature *Signature
	// Domain, Selector and Identity are the d=, s= and i= tags (i= as
	// Signature.Identity gives it). For a field that could not be parsed
	// they hold what could be read of it, possibly nothing.
	Domain, Selector, Identity string
	// Algorithm is the a= tag, 0 when unknown.
	Algorithm Algorithm
	// Key is the key record used, or nil when none was fetched.
	Key *KeyRecord
	// Testing is true when the key record has t=y.
	Testing bool
	// UnsignedBodyBytes is, for a signature with l=, the number of
	// canonicalized body octets after the signed ones: content that anyone
	// could have appended. It is 0 without l=.
	UnsignedBodyBytes int64
	// Field is the index of the DKIM-Signature field in the header.
	Field int
}

// sigState is the verification state of one signature.
type sigState struct {
	res    *Result
	sig    *Signature
	key    *KeyRecord
	sigOK  bool
	body   *bodyHasher
	raw    string
	lookup string
}

// Verify reads a message from r and verifies each of its DKIM-Signature
// fields, from the top. The header is read first (at most
// Limits.HeaderBytes), the keys are fetched and the header signatures
// checked, and then the body streams through the body hashes; the message
// is never held in memory. Verify stops reading r once no signature
// needs more of the body, so a caller that must drain r does so itself.
//
// The results are in field order, one per DKIM-Signature field; a message
// without signatures gives none. The error is non-nil only when r cannot
// be read or its header is not a header (an *message.Error, such as one
// wrapping message.ErrHeaderTooLarge), when the Resolver is nil, or when
// ctx ends; it never carries a signature's status.
func (v *Verifier) Verify(ctx context.Context, r io.Reader) ([]Result, error) {
	if v.Resolver == nil {
		return nil, errors.New("dkim: Verifier has no Resolver")
	}
	lim := v.Limits.withDefaults()
	h, body, err := message.ReadHeader(r, &message.ReadOptions{MaxHeaderBytes: lim.HeaderBytes})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.ClockSkew
	if skew == 0 {
		skew = DefaultClockSkew
	} else if skew < 0 {
		skew = 0
	}

	var results []Result
	var states []*sigState
	for i, f := range h.All() {
		if !equalFold(f.Name(), "DKIM-Signature") {
			continue
		}
		results = append(results, Result{Field: i})
		st := &sigState{raw: f.Raw()}
		states = append(states, st)
	}
	for i, st := range states {
		st.res = &results[i]
		v.prepare(st, i, lim, now, skew)
	}

	// Fetch each key once.
	type keyAnswer struct {
		key *KeyRecord
		err *Error
		tmp bool
	}
	keys := make(map[string]keyAnswer)
	for _, st := range states {
		if st.sig == nil {
			continue
		}
		a, ok := keys[st.lookup]
		if !ok {
			if len(keys) >= lim.Lookups {
				st.fail(PermError, errorf(ErrTooManyLookups, "", "more than "+strconv.Itoa(lim.Lookups)+" key lookups"))
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			a.key, a.err, a.tmp = v.fetchKey(ctx, st.lookup, lim)
			keys[st.lookup] = a
		}
		if a.err != nil {
			if a.tmp {
				st.fail(TempError, a.err)
			} else {
				st.fail(PermError, a.err)
			}
			continue
		}
		st.key = a.key
		st.res.Key, st.res.Testing = a.key, a.key.Testing
		if e := checkKey(st.sig, a.key, lim); e != nil {
			st.fail(PermError, e)
			continue
		}
		st.sigOK = verifyHeader(h, st)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Stream the body through one hasher per canonicalization and l=.
	type bodyKey struct {
		c     Canonicalization
		limit int64
	}
	hashers := make(map[bodyKey]*bodyHasher)
	var writers []*bodyHasher
	for _, st := range states {
		if st.sig == nil {
			continue
		}
		k := bodyKey{st.sig.BodyCanon, st.sig.BodyLength}
		if hashers[k] == nil {
			hashers[k] = newBodyHasher(k.c, sha256.New(), k.limit)
			writers = append(writers, hashers[k])
		}
		st.body = hashers[k]
	}
	if len(writers) > 0 {
		if err := copyBody(ctx, writers, body); err != nil {
			return nil, err
		}
	}
	sums := make(map[*bodyHasher][]byte)
	for _, st := range states {
		if st.sig == nil {
			continue
		}
		sum, ok := sums[st.body]
		if !ok {
			sum = st.body.sum()
			sums[st.body] = sum
		}
		st.finish(sum)
	}
	return results, nil
}

// copyBody feeds the body to the hashers. The hashers all stop at their
// l=, but the unsigned octets after it are counted, so the body is read to
// its end.
func copyBody(ctx context.Context, ws []*bodyHasher, body io.Reader) error {
	_, err := io.Copy(&fanout{ctx: ctx, ws: ws}, body)
	return err
}

// fanout writes to every body hasher and checks ctx now and then. As an
// io.ReaderFrom it reads with a buffer of copyBufSize; a reader that is an
// io.WriterTo (the header reader's body is) writes to it without one.
type fanout struct {
	ctx    context.Context
	ws     []*bodyHasher
	writes int
}

func (f *fanout) Write(p []byte) (int, error) {
	if f.writes++; f.writes%64 == 0 && f.ctx != nil {
		if err := f.ctx.Err(); err != nil {
			return 0, err
		}
	}
	for _, w := range f.ws {
		w.Write(p)
	}
	return len(p), nil
}

func (f *fanout) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, copyBufSize)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			total += int64(n)
			if _, werr := f.Write(buf[:n]); werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (st *sigState) fail(s Status, e *Error) {
	st.res.Status, st.res.Err = s, e
	st.sig = nil
}

// prepare parses the signature and applies the checks that need no key.
func (v *Verifier) prepare(st *sigState, n int, lim Limits, now time.Time, skew time.Duration) {
	res := st.res
	_, value, _ := strings.Cut(st.raw, ":")
	// What can be read of a field that is not used or does not parse.
	peek := func() { res.Domain, res.Selector, res.Identity = peekIDs(value) }
	if n >= lim.Signatures {
		peek()
		st.fail(PermError, errorf(ErrTooManySignatures, "", "more than "+strconv.Itoa(lim.Signatures)+" signatures"))
		return
	}
	if len(st.raw) > lim.SignatureBytes {
		peek()
		st.fail(PermError, errorf(ErrTooLarge, "", "DKIM-Signature field longer than "+strconv.Itoa(lim.SignatureBytes)+" octets"))
		return
	}
	sig, err := ParseSignature(value)
	if err != nil {
		peek()
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Err: ErrSyntax, Cause: err}
		}
		st.fail(PermError, e)
		return
	}
	st.sig = sig
	res.Signature = sig
	res.Domain, res.Selector, res.Identity, res.Algorithm = sig.Domain, sig.Selector, sig.Identity, sig.Algorithm
	if !sig.Expiration.IsZero() && now.After(sig.Expiration.Add(skew)) {
		st.fail(Fail, errorf(ErrExpired, "x", "expired at "+sig.Expiration.Format(time.RFC3339)))
		return
	}
	if !sig.Timestamp.IsZero() && sig.Timestamp.After(now.Add(skew)) {
		st.fail(Fail, errorf(ErrFuture, "t", "signed at "+sig.Timestamp.Format(time.RFC3339)))
		return
	}
	st.lookup = sig.Selector + "._domainkey." + strings.TrimSuffix(sig.Domain, ".")
	if len(st.lookup) > maxDomainLength {
		st.fail(PermError, errorf(ErrSyntax, "s", "key name longer than 253 octets"))
	}
}

// peekIDs reads d=, s= and i= from a field that may not parse, for the
// result of a broken signature.
func peekIDs(value string) (d, s, i string) {
	for spec := range strings.SplitSeq(value, ";") {
		name, v, ok := strings.Cut(spec, "=")
		if !ok {
			continue
		}
		v = trimFWS(v)
		switch trimFWS(name) {
		case "d":
			if d == "" && isDomain(v) {
				d = v
			}
		case "s":
			if s == "" && isSelector(v) {
				s = v
			}
		case "i":
			if at := strings.LastIndexByte(v, '@'); i == "" && at >= 0 && isDomain(v[at+1:]) && len(v) <= 256 && isAUID(v) {
				i = v
			}
		}
	}
	return d, s, i
}

// fetchKey looks up and parses the key record at name. tmp reports a
// temporary failure; size is the length of the record.
func fetchKey(ctx context.Context, r dnsmx.Resolver, name string, lim Limits) (k *KeyRecord, e *Error, tmp bool, size int) {
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		switch {
		case errors.Is(err, dnsmx.ErrNotFound), errors.Is(err, dnsmx.ErrNoData):
			return nil, &Error{Err: ErrNoKey, Detail: "no key record at " + quote(name), Cause: err}, false, 0
		case errors.Is(err, dnsmx.ErrTemporary), ctx.Err() != nil:
			return nil, &Error{Err: ErrDNS, Detail: "key lookup at " + quote(name), Cause: err}, true, 0
		}
		var de *dnsmx.Error
		if errors.As(err, &de) {
			return nil, &Error{Err: ErrNoKey, Detail: "key lookup at " + quote(name), Cause: err}, false, 0
		}
		// A resolver outside the dnsmx contract: assume it may pass.
		return nil, &Error{Err: ErrDNS, Detail: "key lookup at " + quote(name), Cause: err}, true, 0
	}
	switch len(txts) {
	case 0:
		return nil, errorf(ErrNoKey, "", "no key record at "+quote(name)), false, 0
	case 1:
	default:
		return nil, errorf(ErrNoKey, "", strconv.Itoa(len(txts))+" TXT records at "+quote(name)+", want one"), false, 0
	}
	if len(txts[0]) > lim.KeyRecordBytes {
		return nil, errorf(ErrTooLarge, "", "key record longer than "+strconv.Itoa(lim.KeyRecordBytes)+" octets"), false, 0
	}
	k, err = ParseKeyRecord(txts[0])
	if err != nil {
		if !errors.As(err, &e) {
			e = &Error{Err: ErrKeySyntax, Cause: err}
		}
		return nil, e, false, 0
	}
	return k, nil, false, len(txts[0])
}

// checkKey applies the rules that tie a key record to a signature.
func checkKey(sig *Signature, k *KeyRecord, lim Limits) *Error {
	if k.Revoked {
		return errorf(ErrKeyRevoked, "p", "")
	}
	if k.KeyType != sig.Algorithm.keyType() {
		return errorf(ErrKeyUnsuitable, "k", "key type "+k.KeyType+" for "+sig.Algorithm.String())
	}
	if !k.allows("sha256") {
		return errorf(ErrKeyUnsuitable, "h", "key does not allow sha256")
	}
	if !k.forEmail() {
		return errorf(ErrKeyUnsuitable, "s", "key is not for email")
	}
	if k.Strict && !equalFold(strings.TrimSuffix(sig.IdentityDomain(), "."), strings.TrimSuffix(sig.Domain, ".")) {
		return errorf(ErrIdentity, "i", "key has t=s and i= is a subdomain of d=")
	}
	if pub, ok := k.PublicKey.(*rsa.PublicKey); ok {
		bits := pub.N.BitLen()
		if bits < MinRSABits {
			return errorf(ErrKeyTooShort, "p", "RSA key of "+strconv.Itoa(bits)+" bits, RFC 8301 requires at least 1024")
		}
		if bits > lim.MaxRSABits {
			return errorf(ErrKeyTooShort, "p", "RSA key of "+strconv.Itoa(bits)+" bits, limit "+strconv.Itoa(lim.MaxRSABits))
		}
	}
	return nil
}

// verifyHeader hashes the signed header fields and checks b=.
func verifyHeader(h *message.Header, st *sigState) bool {
	hh := sha256.New()
	buf := make([]byte, 0, 1024)
	for _, i := range selectFields(h, st.sig.Headers, st.res.Field) {
		buf = appendHeader(buf[:0], st.sig.HeaderCanon, h.Field(i).Raw(), true)
		hh.Write(buf)
	}
	buf = appendHeader(buf[:0], st.sig.HeaderCanon, stripB(st.raw), false)
	hh.Write(buf)
	digest := hh.Sum(nil)
	switch pub := st.key.PublicKey.(type) {
	case *rsa.PublicKey:
		return verifyRSA(pub, st.key.rsa, digest, st.sig.Value)
	case ed25519.PublicKey:
		return ed25519.Verify(pub, digest, st.sig.Value)
	}
	return false
}

// finish compares the body hash and sets the final status.
func (st *sigState) finish(sum []byte) {
	sig := st.sig
	var e *Error
	switch {
	case sig.BodyLength >= 0 && st.body.n < sig.BodyLength:
		e = errorf(ErrBodyLength, "l", "l="+strconv.FormatInt(sig.BodyLength, 10)+" but the body has "+strconv.FormatInt(st.body.n, 10)+" octets")
	case !equalBytes(sum, sig.BodyHash):
		e = errorf(ErrBodyHash, "bh", "")
	case !st.sigOK:
		e = errorf(ErrSignature, "b", "")
	}
	if sig.BodyLength >= 0 {
		st.res.UnsignedBodyBytes = st.body.extra
	}
	if e == nil {
		st.res.Status = Pass
		return
	}
	st.res.Err = e
	st.res.Status = Fail
	if st.key != nil && st.key.Testing {
		st.res.Status = Neutral
	}
}

func equalBytes(a, b []byte) bool {
	return len(a) == len(b) && string(a) == string(b)
}

// selectFields returns the indexes of the fields that h= names, in h=
// order: for each name the last field of that name not taken yet, so that
// fields are signed from the bottom up; a name with no field left selects
// nothing (RFC 6376 section 5.4.2). The field at skip, the signature
// itself, is never selected.
func selectFields(h *message.Header, names []string, skip int) []int {
	var used [64]bool
	usedMore := map[int]bool{}
	isUsed := func(i int) bool {
		if i < len(used) {
			return used[i]
		}
		return usedMore[i]
	}
	setUsed := func(i int) {
		if i < len(used) {
			used[i] = true
		} else {
			usedMore[i] = true
		}
	}
	if skip >= 0 {
		setUsed(skip)
	}
	out := make([]int, 0, len(names))
	for _, name := range names {
		for i := h.Len() - 1; i >= 0; i-- {
			if !isUsed(i) && equalFold(h.Field(i).Name(), name) {
				setUsed(i)
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// stripB returns a DKIM-Signature field with the value of its b= tag
// removed, white space around it included (RFC 6376 section 3.5).
func stripB(raw string) string {
	colon := strings.IndexByte(raw, ':')
	if colon < 0 {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(raw[:colon+1])
	rest := raw[colon+1:]
	for len(rest) > 0 {
		spec, after, found := strings.Cut(rest, ";")
		if eq := strings.IndexByte(spec, '='); eq >= 0 && trimFWS(spec[:eq]) == "b" {
			b.WriteString(spec[:eq+1])
			// Keep the field's final line ending, if b= is last.
			if !found {
				b.WriteString(spec[len(strings.TrimRight(spec, "\r\n")):])
			}
		} else {
			b.WriteString(spec)
		}
		if found {
			b.WriteByte(';')
		}
		rest = after
	}
	return b.String()
}
