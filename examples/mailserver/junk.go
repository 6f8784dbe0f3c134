package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/mime"
)

// The junk filter scores each message that arrives on the MX port from an
// untrusted client, by the rules of DIR/junk-rules, and files a message
// that reaches the threshold into the recipient's Junk folder with the
// keyword $Junk instead of the INBOX. It never refuses or drops a message:
// the client has been told 250 by then, so the user must find it.
//
// The filter reads the header and the first junkScanBytes of the body
// (decoded from base64 and quoted-printable, converted to UTF-8); what
// comes after is delivered without being looked at, so a message is never
// held in memory whole.

const (
	junkRulesFile = "junk-rules"
	junkScanBytes = 256 << 10
	junkKeyword   = "$Junk"
	junkFolder    = "Junk"
	spamHeader    = "X-Herald-Spam"
)

// defaultJunkRules is written to DIR/junk-rules on the first start; it
// documents the format.
const defaultJunkRules = `# Herald junk rules: a message whose score reaches the threshold is filed
# into the recipient's Junk folder with the IMAP keyword $Junk, and gets the
# header field "X-Herald-Spam: yes score=S threshold=T rules=...". Every
# message from the MX port gets the field, with "no" below the threshold.
# Nothing is ever refused or dropped by these rules.
#
# One rule a line: KIND SCORE [ARGUMENT]. Scores are decimal numbers and
# may be negative; each rule counts at most once per message. Blank lines
# and lines starting with # are ignored. The kinds:
#
#   threshold SCORE           the score from which a message is junk
#   subject SCORE PHRASE      PHRASE (case-insensitive) in the Subject
#   body SCORE PHRASE         PHRASE (case-insensitive) in a text part
#   link-mismatch SCORE       an HTML link whose text shows one domain
#                             while its href goes to another
#   ip-link SCORE             a URL whose host is an IP address
#   spf SCORE RESULT          the SPF result of MAIL FROM was RESULT
#                             (none, neutral, softfail, permerror...)
#   fcrdns SCORE RESULT       the client's reverse DNS was RESULT:
#                             fail (no PTR, or not forward-confirmed)
#   helo SCORE RESULT         the EHLO name was RESULT: mismatch,
#                             notfound or invalid
#
# The header and the first 256 KiB of the body are looked at.

threshold 5

link-mismatch 4
ip-link 3
spf 2 softfail
spf 1 permerror
fcrdns 1.5 fail
helo 0.5 mismatch
helo 1 notfound

# subject 4 you have won
# body 3 unclaimed prize
`

type junkRule struct {
	line   int
	kind   string
	score  float64
	phrase string // lower case, for subject and body; the result for spf, fcrdns, helo
}

type junkRules struct {
	threshold float64
	rules     []junkRule
}

// loadJunkRules reads DIR/junk-rules, writing the default rules first
// when the file does not exist.
func loadJunkRules(dir string) (*junkRules, error) {
	p := dir + "/" + junkRulesFile
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(p, []byte(defaultJunkRules), 0o600); err != nil {
			return nil, err
		}
		b = []byte(defaultJunkRules)
	} else if err != nil {
		return nil, err
	}
	rules, err := parseJunkRules(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return rules, nil
}

var junkResults = map[string][]string{
	"spf":    {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"},
	"fcrdns": {"pass", "fail", "temperror"},
	"helo":   {"match", "literal-match", "mismatch", "notfound", "invalid"},
}

func parseJunkRules(r io.Reader) (*junkRules, error) {
	rules := &junkRules{threshold: 5}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want KIND SCORE [ARGUMENT]", n)
		}
		score, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not a score", n, f[1])
		}
		rule := junkRule{line: n, kind: f[0], score: score}
		arg := strings.ToLower(strings.Join(f[2:], " "))
		switch f[0] {
		case "threshold":
			if arg != "" {
				return nil, fmt.Errorf("line %d: threshold takes only a score", n)
			}
			rules.threshold = score
			continue
		case "subject", "body":
			if arg == "" {
				return nil, fmt.Errorf("line %d: %s needs a phrase", n, f[0])
			}
		case "link-mismatch", "ip-link":
			if arg != "" {
				return nil, fmt.Errorf("line %d: %s takes only a score", n, f[0])
			}
		case "spf", "fcrdns", "helo":
			if !slices.Contains(junkResults[f[0]], arg) {
				return nil, fmt.Errorf("line %d: %s result %q is not one of %s", n, f[0], arg, strings.Join(junkResults[f[0]], ", "))
			}
		default:
			return nil, fmt.Errorf("line %d: unknown kind %q", n, f[0])
		}
		rule.phrase = arg
		rules.rules = append(rules.rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rules, nil
}

// junkInputs are the verdicts of the other checks that rules may use.
type junkInputs struct {
	spf, fcrdns, helo string
}

// junkVerdict is the filter's answer for one message.
type junkVerdict struct {
	score float64
	hits  []junkRule
	spam  bool
}

// header is the value of the X-Herald-Spam field.
func (v junkVerdict) header(threshold float64) string {
	yes := "no"
	if v.spam {
		yes = "yes"
	}
	s := fmt.Sprintf("%s score=%s threshold=%s", yes, fmtScore(v.score), fmtScore(threshold))
	if len(v.hits) > 0 {
		names := make([]string, len(v.hits))
		for i, h := range v.hits {
			names[i] = h.kind + ":" + strconv.Itoa(h.line)
		}
		s += " rules=" + strings.Join(names, ",")
	}
	return s
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// scan is what the filter found in a message.
type scan struct {
	subject    string // lower case, decoded
	text       string // lower case, decoded text of the text parts
	ipLink     bool
	mismatched bool
}

// score applies the rules to what scanMessage found and to the inputs.
func (rs *junkRules) score(sc *scan, in junkInputs) junkVerdict {
	var v junkVerdict
	for _, r := range rs.rules {
		hit := false
		switch r.kind {
		case "subject":
			hit = strings.Contains(sc.subject, r.phrase)
		case "body":
			hit = strings.Contains(sc.text, r.phrase)
		case "link-mismatch":
			hit = sc.mismatched
		case "ip-link":
			hit = sc.ipLink
		case "spf":
			hit = in.spf == r.phrase
		case "fcrdns":
			hit = in.fcrdns == r.phrase
		case "helo":
			hit = in.helo == r.phrase
		}
		if hit {
			v.score += r.score
			v.hits = append(v.hits, r)
		}
	}
	v.spam = len(rs.rules) > 0 && v.score >= rs.threshold
	return v
}

// scanMessage looks at the header h (raw bytes hb) and the body prefix of
// a message: the decoded subject, the text of its text/plain and text/html
// parts, and the links in them. A body cut short by junkScanBytes or broken
// MIME ends the scan early, with what was found so far.
func scanMessage(h *message.Header, hb, body []byte) *scan {
	sc := &scan{}
	if subj, err := h.Text("Subject"); err == nil {
		sc.subject = strings.ToLower(subj)
	} else {
		sc.subject = strings.ToLower(h.Get("Subject"))
	}
	var text strings.Builder
	mr := mime.NewReader(io.MultiReader(bytes.NewReader(hb), bytes.NewReader(body)), nil)
	for {
		p, err := mr.Next()
		if err != nil {
			break
		}
		if p.IsContainer() || p.MediaType.Type != "text" || p.Disposition.Type == "attachment" {
			continue
		}
		tr, err := p.Text()
		if tr == nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(tr, junkScanBytes))
		_ = err
		s := string(b)
		if p.MediaType.Subtype == "html" {
			if linksMismatch(s) {
				sc.mismatched = true
			}
			s = html.UnescapeString(tagRE.ReplaceAllString(s, " "))
		}
		if hasIPLink(string(b)) {
			sc.ipLink = true
		}
		text.WriteString(strings.ToLower(s))
		text.WriteByte('\n')
		if text.Len() > junkScanBytes {
			break
		}
	}
	sc.text = strings.Join(strings.Fields(text.String()), " ")
	return sc
}

var (
	tagRE    = regexp.MustCompile(`<[^>]*>`)
	anchorRE = regexp.MustCompile(`(?is)<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>(.*?)</a\s*>`)
	// A domain as a link text shows it: "www.bank.example", "https://bank.example/login".
	shownDomainRE = regexp.MustCompile(`(?i)^(?:[a-z][a-z0-9+.-]*://)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})(?:[:/?#].*)?$`)
)

// linksMismatch reports whether an HTML text has a link whose visible text
// is a domain name or URL with a different host than its href, the shape of
// phishing ("www.bank.example" leading to http://203.0.113.9/ or to
// bank-login.example).
func linksMismatch(s string) bool {
	for _, m := range anchorRE.FindAllStringSubmatch(s, 64) {
		href := html.UnescapeString(m[1] + m[2] + m[3])
		shown := strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(m[4], "")))
		sm := shownDomainRE.FindStringSubmatch(shown)
		if sm == nil {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(href))
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		if !sameSite(strings.ToLower(sm[1]), strings.ToLower(u.Hostname())) {
			return true
		}
	}
	return false
}

// sameSite reports whether host names a and b are one the same or a
// subdomain of the other ("www.bank.example" and "bank.example").
func sameSite(a, b string) bool {
	a, b = strings.TrimSuffix(a, "."), strings.TrimSuffix(b, ".")
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}

// hasIPLink reports whether s holds a URL whose host is an IP address
// ("http://192.0.2.7/", "https://[2001:db8::1]:8080/x"). It looks at what
// follows each "://" rather than running a regular expression over the
// whole text, which would cost more than the rest of the filter.
func hasIPLink(s string) bool {
	for n := 0; n < 256; n++ {
		i := strings.Index(s, "://")
		if i < 0 {
			return false
		}
		s = s[i+3:]
		end := strings.IndexAny(s, "/?#\"'<> \t\r\n")
		host := s
		if end >= 0 {
			host = s[:end]
		}
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			host = host[at+1:]
		}
		if strings.HasPrefix(host, "[") {
			if j := strings.IndexByte(host, ']'); j > 0 {
				host = host[1:j]
			}
		} else if j := strings.LastIndexByte(host, ':'); j >= 0 {
			host = host[:j]
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return true
		}
	}
	return false
}
