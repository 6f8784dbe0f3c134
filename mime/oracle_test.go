package mime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/heraldmail/herald/message"
)

// oracleNode is one entity of the CPython oracle's "structure".
type oracleNode struct {
	Type      string       `json:"type"`
	Charset   string       `json:"charset"`
	CTE       string       `json:"cte"`
	Boundary  string       `json:"boundary"`
	Filename  *string      `json:"filename"`
	Len       *int         `json:"decoded_len"`
	Sha       string       `json:"decoded_sha256"`
	Parts     []oracleNode `json:"parts"`
	Defects   []string     `json:"defects"`
	ReportTyp string       `json:"report-type"`
}

type oracleFile struct {
	Structure oracleNode `json:"structure"`
}

// treeNode is what Herald makes of an entity, in the oracle's terms.
type treeNode struct {
	part     *Part
	typ      string
	charset  string
	cte      string
	boundary string
	filename string
	length   int
	sha      string
	leaf     bool
	children []*treeNode
}

// walkTree walks a message with r and builds its tree, reading every
// leaf's decoded body.
func walkTree(t testing.TB, rd *Reader) (*treeNode, error) {
	nodes := map[*Part]*treeNode{}
	var root *treeNode
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return root, err
		}
		n := &treeNode{part: p, typ: p.MediaType.Essence(), boundary: p.Boundary(), filename: p.Filename()}
		n.charset = strings.ToLower(p.MediaType.Params.Get("charset"))
		if v, ok := p.Header().Lookup("Content-Transfer-Encoding"); ok {
			n.cte = strings.ToLower(strings.TrimSpace(v.Value()))
		}
		if !p.IsContainer() {
			n.leaf = true
			body, err := p.Body()
			if err != nil {
				return root, err
			}
			h := sha256.New()
			c, err := io.Copy(h, body)
			if err != nil {
				return root, err
			}
			n.length = int(c)
			n.sha = hex.EncodeToString(h.Sum(nil))[:16]
		}
		nodes[p] = n
		if p.Parent == nil {
			root = n
		} else {
			par := nodes[p.Parent]
			par.children = append(par.children, n)
		}
	}
	// A multipart without any delimiter: its whole body is the preamble,
	// which is what the oracle reports as its payload.
	for p, n := range nodes {
		if p.isMultipart() && len(n.children) == 0 {
			h := sha256.Sum256(p.Preamble)
			n.length = len(p.Preamble)
			n.sha = hex.EncodeToString(h[:])[:16]
			n.leaf = true
		}
	}
	return root, nil
}

// corpusFiles lists every message and bounce of the shared corpus.
func corpusFiles(t testing.TB) []string {
	var files []string
	for _, dir := range []string{"messages", "dsn"} {
		err := filepath.WalkDir(filepath.Join("..", "testdata", dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "mbox" {
					return filepath.SkipDir
				}
				return nil
			}
			name := d.Name()
			if strings.Contains(strings.ToLower(name), "license") || strings.Contains(name, "COPYRIGHT") ||
				strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".mbox") {
				return nil
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	return files
}

func loadOracle(t testing.TB) map[string]oracleFile {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "oracle", "cpython-email-oracle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Files map[string]oracleFile `json:"files"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o.Files
}

// compareTree lists the differences between Herald's tree and the oracle's.
func compareTree(path string, h *treeNode, o *oracleNode, out *[]string) {
	add := func(format string, args ...any) {
		*out = append(*out, path+": "+fmt.Sprintf(format, args...))
	}
	if h.typ != o.Type {
		add("type %q, oracle %q", h.typ, o.Type)
		return
	}
	if o.Charset != "" && h.charset != strings.ToLower(o.Charset) {
		add("charset %q, oracle %q", h.charset, o.Charset)
	}
	if o.Boundary != h.boundary && !(o.Boundary != "" && h.boundary == "" && len(o.Parts) == 0) {
		add("boundary %q, oracle %q", h.boundary, o.Boundary)
	}
	of := ""
	if o.Filename != nil {
		of = *o.Filename
	}
	if strings.Contains(of, "=?") {
		// compat32 leaves RFC 2047 words in parameters undecoded; mail
		// clients decode them, and so does Herald.
		var d message.WordDecoder
		of, _ = d.DecodeHeader(of)
	}
	if of != h.filename {
		add("filename %q, oracle %q", h.filename, of)
	}
	if strings.HasPrefix(o.Type, "message/") && !(o.Type == "message/rfc822" || o.Type == "message/global") {
		// See oracleLeafMessages: Herald gives these as leaves.
		if !h.leaf {
			add("%s entered as a message", o.Type)
		}
		return
	}
	if o.Len != nil && len(o.Parts) == 0 {
		if !h.leaf {
			add("container with %d parts, oracle leaf", len(h.children))
			return
		}
		if h.length != *o.Len || h.sha != o.Sha {
			add("decoded %d bytes %s, oracle %d bytes %s", h.length, h.sha, *o.Len, o.Sha)
		}
		return
	}
	if len(h.children) != len(o.Parts) {
		add("%d parts, oracle %d", len(h.children), len(o.Parts))
		return
	}
	for i := range o.Parts {
		compareTree(fmt.Sprintf("%s.%d", path, i+1), h.children[i], &o.Parts[i], out)
	}
}
