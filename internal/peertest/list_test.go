package peertest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A peerCall is a place in the source that names a peer program.
type peerCall struct {
	pos     token.Position
	program string
}

// TestEveryPeerIsListed reads every Go file of the repository, both modules,
// and checks that each program a test looks up or runs by name is on the
// peer list: the literal names given to peertest.LookPath, exec.LookPath,
// exec.Command and exec.CommandContext, and to the helpers that pass one of
// their parameters on to those.
func TestEveryPeerIsListed(t *testing.T) {
	listPath, err := FindList()
	if err != nil {
		t.Fatal(err)
	}
	peers, err := List()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(listPath))
	// This package's own tests look up made-up programs on made-up lists.
	self, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	calls, err := peerCalls(root, self)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 10 {
		t.Fatalf("found only %d places that name a peer under %s; the scan is broken", len(calls), root)
	}
	used := make(map[string]bool)
	for _, c := range calls {
		used[c.program] = true
		if _, ok := peers[c.program]; !ok {
			t.Errorf("%s: peer %q is not on the peer list %s", c.pos, c.program, ListFile)
		}
	}
	var unused []string
	for name := range peers {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("%s lists programs that no test uses: %v", ListFile, unused)
	}
}

func TestPeerCallsFollowsHelpers(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import (
	"os/exec"
	"github.com/heraldmail/herald/internal/peertest"
)

func need(t testing.TB, name string) string { return peertest.LookPath(t, name) }
func run(t testing.TB, env []string, name string, args ...string) { need(t, name) }
func f(t testing.TB) {
	need(t, "alpha")
	run(t, nil, "beta", "-x")
	exec.Command("gamma", "arg")
	exec.CommandContext(ctx, "/usr/sbin/delta")
	peertest.LookPath(t, "epsilon")
	exec.Command(path, "not-a-program")
}
`
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	calls, err := peerCalls(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, c.program)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "alpha beta delta epsilon gamma" {
		t.Errorf("programs found: %v", got)
	}
}

// peerCalls returns the places under root, but for the directory skip, that
// name a peer program.
func peerCalls(root, skip string) ([]peerCall, error) {
	fset := token.NewFileSet()
	byDir := make(map[string][]*ast.File)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == skip || path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var calls []peerCall
	for _, files := range byDir {
		calls = append(calls, packagePeerCalls(fset, files)...)
	}
	return calls, nil
}

// packagePeerCalls finds the peer names in the files of one directory. A
// function that passes one of its parameters as the program of a call that
// names a peer becomes such a call itself, with that parameter's position.
func packagePeerCalls(fset *token.FileSet, files []*ast.File) []peerCall {
	// program maps a callee to the index of its program argument.
	program := map[string]int{
		"peertest.LookPath":   1,
		"exec.LookPath":       0,
		"exec.Command":        0,
		"exec.CommandContext": 1,
	}
	for changed := true; changed; {
		changed = false
		for _, f := range files {
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Recv != nil || fn.Body == nil {
					continue
				}
				if _, known := program[fn.Name.Name]; known {
					continue
				}
				params := paramIndex(fn.Type)
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					arg := programArg(program, n)
					if id, ok := arg.(*ast.Ident); ok {
						if i, ok := params[id.Name]; ok {
							if _, known := program[fn.Name.Name]; !known {
								program[fn.Name.Name] = i
								changed = true
							}
						}
					}
					return true
				})
			}
		}
	}
	var calls []peerCall
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := programArg(program, n).(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					calls = append(calls, peerCall{fset.Position(lit.Pos()), filepath.Base(s)})
				}
			}
			return true
		})
	}
	return calls
}

// programArg returns the program argument of n when n calls a function in
// program, and nil otherwise.
func programArg(program map[string]int, n ast.Node) ast.Expr {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return nil
	}
	var name string
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		name = fun.Name
	case *ast.SelectorExpr:
		if x, ok := fun.X.(*ast.Ident); ok {
			name = x.Name + "." + fun.Sel.Name
		}
	}
	i, ok := program[name]
	if !ok || i >= len(call.Args) {
		return nil
	}
	return call.Args[i]
}

// paramIndex maps each parameter name of a function to its position.
func paramIndex(ft *ast.FuncType) map[string]int {
	m := make(map[string]int)
	i := 0
	for _, field := range ft.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			m[n.Name] = i
			i++
		}
	}
	return m
}
