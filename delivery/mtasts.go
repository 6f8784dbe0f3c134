package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/dnsmx"
)

// Limits of MTA-STS (RFC 8461).
const (
	// MaxPolicyBytes bounds a policy body; RFC 8461 section 3.3 lets
	// senders cap it at 64 KiB.
	MaxPolicyBytes = 64 << 10
	// MaxPolicyMaxAge is the largest max_age a policy may give: 31557600
	// seconds, about a year (RFC 8461 section 3.2).
	MaxPolicyMaxAge = 31557600 * time.Second
	// DefaultMaxPolicyMX bounds the mx lines of one policy.
	DefaultMaxPolicyMX = 100
	// DefaultSTSCacheSize bounds the policies an STSResolver keeps.
	DefaultSTSCacheSize = 10000
	// DefaultPolicyFetchTimeout bounds one HTTPS fetch of a policy.
	DefaultPolicyFetchTimeout = time.Minute
)

// STSMode is the mode of an MTA-STS policy.
type STSMode string

// Policy modes of RFC 8461 section 5.
const (
	// STSModeEnforce: deliver only to matching MX hosts over TLS with a
	// valid certificate.
	STSModeEnforce STSMode = "enforce"
	// STSModeTesting: deliver as without a policy, but report failures.
	STSModeTesting STSMode = "testing"
	// STSModeNone: the domain has withdrawn its policy.
	STSModeNone STSMode = "none"
)

// STSPolicy is an MTA-STS policy (RFC 8461 section 3.2).
type STSPolicy struct {
	// Mode is enforce, testing or none.
	Mode STSMode
	// MX holds the MX host patterns, lower case: "mx.example.com" or
	// "*.example.com".
	MX []string
	// MaxAge is how long the policy may be cached.
	MaxAge time.Duration
	// Lines are the policy's lines as fetched, for TLS-RPT's
	// policy-string.
	Lines []string
}

// Errors of MTA-STS. Each maps to a TLS-RPT result type (RFC 8460 section
// 4.3.2).
var (
	// ErrPolicyInvalid reports a policy or TXT record that does not follow
	// RFC 8461 section 3 (sts-policy-invalid).
	ErrPolicyInvalid = errors.New("delivery: invalid MTA-STS policy")
	// ErrPolicyFetch reports a policy that could not be fetched: no
	// HTTPS answer, a status other than 200, a redirect, a wrong media
	// type, a body over MaxPolicyBytes (sts-policy-fetch-error).
	ErrPolicyFetch = errors.New("delivery: MTA-STS policy fetch failed")
	// ErrPolicyWebPKI reports a policy host whose certificate is not
	// valid (sts-webpki-invalid).
	ErrPolicyWebPKI = errors.New("delivery: MTA-STS policy host certificate invalid")
)

// PolicyError is the error of the MTA-STS functions. Err is one of
// ErrPolicyInvalid, ErrPolicyFetch or ErrPolicyWebPKI.
type PolicyError struct {
	Domain string
	Err    error
	Reason string
}

// Error returns the category, the domain and the reason.
func (e *PolicyError) Error() string {
	if e.Domain == "" {
		return e.Err.Error() + ": " + e.Reason
	}
	return e.Err.Error() + " for " + e.Domain + ": " + e.Reason
}

// Unwrap returns the category sentinel.
func (e *PolicyError) Unwrap() error { return e.Err }

func invalidPolicy(format string, args ...any) error {
	return &PolicyError{Err: ErrPolicyInvalid, Reason: fmt.Sprintf(format, args...)}
}

// ParsePolicy parses the body of an MTA-STS policy (RFC 8461 section 3.2)
// strictly: lines end in LF or CRLF; "version: STSv1", "mode" and "max_age"
// must each appear once; mx lines are required unless the mode is none;
// keys and values must follow the grammar, extension keys are ignored.
// A body over MaxPolicyBytes, a max_age over MaxPolicyMaxAge or more than
// DefaultMaxPolicyMX mx lines fail. Errors wrap ErrPolicyInvalid.
func ParsePolicy(body []byte) (*STSPolicy, error) {
	if len(body) > MaxPolicyBytes {
		return nil, invalidPolicy("policy over %d bytes", MaxPolicyBytes)
	}
	p := &STSPolicy{}
	var haveVersion, haveMode, haveAge bool
	text := string(body)
	for lineNo := 1; text != ""; lineNo++ {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		line = strings.TrimRight(line, " \t")
		if line == "" {
			if text == "" {
				break
			}
			return nil, invalidPolicy("line %d is empty", lineNo)
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || !validPolicyKey(key) {
			return nil, invalidPolicy("line %d is not a key: value field", lineNo)
		}
		value = strings.TrimLeft(value, " \t")
		if !validPolicyValue(value) {
			return nil, invalidPolicy("line %d has an invalid value", lineNo)
		}
		p.Lines = append(p.Lines, key+": "+value)
		switch key {
		case "version":
			if haveVersion || value != "STSv1" {
				return nil, invalidPolicy("version must be given once, as STSv1")
			}
			haveVersion = true
		case "mode":
			if haveMode {
				return nil, invalidPolicy("mode given twice")
			}
			haveMode = true
			switch m := STSMode(value); m {
			case STSModeEnforce, STSModeTesting, STSModeNone:
				p.Mode = m
			default:
				return nil, invalidPolicy("unknown mode %q", value)
			}
		case "max_age":
			if haveAge {
				return nil, invalidPolicy("max_age given twice")
			}
			haveAge = true
			if len(value) > 10 || strings.Trim(value, "0123456789") != "" {
				return nil, invalidPolicy("max_age is not 1 to 10 digits")
			}
			n, _ := strconv.ParseInt(value, 10, 64)
			if time.Duration(n)*time.Second > MaxPolicyMaxAge {
				return nil, invalidPolicy("max_age over %d", int64(MaxPolicyMaxAge/time.Second))
			}
			p.MaxAge = time.Duration(n) * time.Second
		case "mx":
			if len(p.MX) == DefaultMaxPolicyMX {
				return nil, invalidPolicy("more than %d mx lines", DefaultMaxPolicyMX)
			}
			if !validMXPattern(value) {
				return nil, invalidPolicy("invalid mx pattern %q", value)
			}
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(value, ".")))
		}
	}
	switch {
	case !haveVersion:
		return nil, invalidPolicy("no version")
	case !haveMode:
		return nil, invalidPolicy("no mode")
	case !haveAge:
		return nil, invalidPolicy("no max_age")
	case p.Mode != STSModeNone && len(p.MX) == 0:
		return nil, invalidPolicy("no mx for mode %s", p.Mode)
	}
	return p, nil
}

// validPolicyKey checks sts-policy-field-name: 1*32(ALPHA / DIGIT / "_" / "-" / ".").
func validPolicyKey(k string) bool {
	if k == "" || len(k) > 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validPolicyValue checks sts-policy-ext-value: 1*(%x21-3A / %x3C / %x3E-7E),
// which the standard values also satisfy.
func validPolicyValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}

// validMXPattern checks an mx value: a domain name, optionally starting
// with "*." (RFC 8461 section 3.2 and 4.1).
func validMXPattern(v string) bool {
	v = strings.TrimSuffix(v, ".")
	v = strings.TrimPrefix(v, "*.")
	if v == "" || len(v) > dnsmx.MaxNameLength {
		return false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > dnsmx.MaxLabelLength || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' && label[i] != '_' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Match reports whether host, an MX host name, matches one of the policy's
// mx patterns (RFC 8461 section 4.1): exactly, or a "*." pattern by
// replacing the leftmost label only. Case and a trailing dot are ignored.
func (p *STSPolicy) Match(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if label, parent, ok := strings.Cut(host, "."); ok && label != "" && parent == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// ParseSTSRecord parses the _mta-sts TXT record (RFC 8461 section 3.1):
// "v=STSv1; id=<1-32 alphanumerics>;" with optional extension fields,
// and returns the id. Errors wrap ErrPolicyInvalid.
func ParseSTSRecord(txt string) (id string, err error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[len(fields)-1]) == "" {
		fields = fields[:len(fields)-1]
	}
	for i, f := range fields {
		f = strings.Trim(f, " \t")
		k, v, ok := strings.Cut(f, "=")
		if !ok || !validPolicyKey(k) || v == "" {
			return "", invalidPolicy("TXT field %d is not key=value", i+1)
		}
		switch {
		case i == 0:
			if k != "v" || v != "STSv1" {
				return "", invalidPolicy("TXT record does not start with v=STSv1")
			}
		case k == "id":
			if id != "" || len(v) > 32 || !allAlnum(v) {
				return "", invalidPolicy("TXT id must be given once, 1 to 32 letters and digits")
			}
			id = v
		default:
			for j := 0; j < len(v); j++ {
				if v[j] < 0x21 || v[j] > 0x7e || v[j] == ';' || v[j] == '=' {
					return "", invalidPolicy("TXT field %q has an invalid value", k)
				}
			}
		}
	}
	if id == "" {
		return "", invalidPolicy("TXT record without id")
	}
	return id, nil
}

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// PolicyFetcher fetches the MTA-STS policy body of a domain.
type PolicyFetcher interface {
	FetchPolicy(ctx context.Context, domain string) ([]byte, error)
}

// HTTPSFetcher fetches policies from
// https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 section 3.3):
// the certificate must be valid for that name, redirects are not followed,
// only a 200 answer of type text/plain counts, and the body is bounded by
// MaxPolicyBytes. The zero value uses a default client.
type HTTPSFetcher struct {
	// Client makes the request; its CheckRedirect is replaced so that
	// redirects are refused. Nil means a client with Timeout
	// DefaultPolicyFetchTimeout and the default transport. Tests give a
	// client whose transport dials a loopback server and trusts a test CA.
	Client *http.Client
}

// FetchPolicy implements PolicyFetcher. Errors are *PolicyError values
// wrapping ErrPolicyFetch or ErrPolicyWebPKI.
func (f *HTTPSFetcher) FetchPolicy(ctx context.Context, domain string) ([]byte, error) {
	c := http.Client{Timeout: DefaultPolicyFetchTimeout}
	if f != nil && f.Client != nil {
		c = *f.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	fail := func(sentinel error, format string, args ...any) ([]byte, error) {
		return nil, &PolicyError{Domain: domain, Err: sentinel, Reason: fmt.Sprintf(format, args...)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://mta-sts."+domain+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return fail(ErrPolicyFetch, "bad request: %v", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		var cv *tls.CertificateVerificationError
		var ua x509.UnknownAuthorityError
		var hn x509.HostnameError
		var ci x509.CertificateInvalidError
		if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
			return fail(ErrPolicyWebPKI, "%v", err)
		}
		return fail(ErrPolicyFetch, "%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(ErrPolicyFetch, "HTTP status %d", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return fail(ErrPolicyFetch, "media type %q is not text/plain", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicyBytes+1))
	if err != nil {
		return fail(ErrPolicyFetch, "reading the body: %v", err)
	}
	if len(body) > MaxPolicyBytes {
		return fail(ErrPolicyFetch, "body over %d bytes", MaxPolicyBytes)
	}
	return body, nil
}

// STSResolver finds and caches the MTA-STS policies of recipient domains
// (RFC 8461 section 5): it looks up the _mta-sts TXT record, fetches the
// policy when its id is new or the cached policy expired, and keeps each
// policy for its max_age. When the record is missing or the fetch fails, a
// cached policy that has not expired stays in force (section 5.1). It is
// safe for concurrent use.
type STSResolver struct {
	// Resolver looks up the TXT record. Required.
	Resolver dnsmx.Resolver
	// Fetcher fetches policies. Nil means an HTTPSFetcher with a default
	// client.
	Fetcher PolicyFetcher
	// MaxEntries bounds the cache. Default DefaultSTSCacheSize.
	MaxEntries int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]*stsEntry
}

type stsEntry struct {
	id      string
	policy  *STSPolicy
	expires time.Time
}

// Lookup returns the policy in force for domain (ASCII), or nil when the
// domain has none. A non-nil error says what went wrong fetching or parsing
// a policy, for TLS-RPT; a cached policy still in force is returned along
// with it.
func (s *STSResolver) Lookup(ctx context.Context, domain string) (*STSPolicy, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	s.mu.Lock()
	cached := s.cache[domain]
	s.mu.Unlock()
	if cached != nil && !now.Before(cached.expires) {
		cached = nil
	}
	var current *STSPolicy
	if cached != nil {
		current = cached.policy
	}

	id, recErr := s.recordID(ctx, domain)
	if recErr != nil {
		return current, nil
	}
	if cached != nil && cached.id == id {
		return current, nil
	}
	fetcher := s.Fetcher
	if fetcher == nil {
		fetcher = &HTTPSFetcher{}
	}
	body, err := fetcher.FetchPolicy(ctx, domain)
	if err != nil {
		if !errors.Is(err, ErrPolicyWebPKI) && !errors.Is(err, ErrPolicyFetch) {
			err = &PolicyError{Domain: domain, Err: ErrPolicyFetch, Reason: err.Error()}
		}
		return current, err
	}
	p, err := ParsePolicy(body)
	if err != nil {
		var pe *PolicyError
		if errors.As(err, &pe) {
			pe.Domain = domain
		}
		return current, err
	}
	s.store(domain, &stsEntry{id: id, policy: p, expires: now.Add(p.MaxAge)}, now)
	return p, nil
}

// recordID looks up _mta-sts.<domain> and returns the id of the one valid
// STSv1 record; anything else means no policy (RFC 8461 section 3.1).
func (s *STSResolver) recordID(ctx context.Context, domain string) (string, error) {
	txts, err := s.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", err
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=STSv1;") || t == "v=STSv1" {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return "", invalidPolicy("%d STSv1 TXT records", len(recs))
	}
	return ParseSTSRecord(recs[0])
}

func (s *STSResolver) store(domain string, e *stsEntry, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = map[string]*stsEntry{}
	}
	if _, ok := s.cache[domain]; !ok && len(s.cache) >= orDefault(s.MaxEntries, DefaultSTSCacheSize) {
		// Drop expired entries, then the one closest to expiry.
		var victim string
		var soonest time.Time
		for k, v := range s.cache {
			if !now.Before(v.expires) {
				delete(s.cache, k)
				continue
			}
			if victim == "" || v.expires.Before(soonest) {
				victim, soonest = k, v.expires
			}
		}
		if len(s.cache) >= orDefault(s.MaxEntries, DefaultSTSCacheSize) {
			delete(s.cache, victim)
		}
	}
	s.cache[domain] = e
}
