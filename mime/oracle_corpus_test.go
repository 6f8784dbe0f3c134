package mime

import (
	"os"
	"strings"
	"testing"
)

func TestCorpusAgainstOracle(t *testing.T) {
	oracle := loadOracle(t)
	files := corpusFiles(t)
	if len(files) < 500 {
		t.Fatalf("found %d corpus files, want the whole corpus", len(files))
	}
	var diffs []string
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := walkTree(t, NewReader(f, nil))
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		key := strings.TrimPrefix(path, "../testdata/")
		o, ok := oracle[key]
		if !ok {
			continue
		}
		var d []string
		compareTree(key, tree, &o.Structure, &d)
		diffs = append(diffs, d...)
	}
	for _, d := range diffs {
		t.Log(d)
	}
	t.Logf("%d differences", len(diffs))
}
