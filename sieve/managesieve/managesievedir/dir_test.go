package managesievedir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldmail/herald/sieve/managesieve"
	"github.com/heraldmail/herald/sieve/managesieve/managesievedir"
)

func open(t *testing.T, b *managesievedir.Backend, user string) managesieve.Store {
	t.Helper()
	st, err := b.Open(context.Background(), &managesieve.ConnInfo{}, user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b := &managesievedir.Backend{Root: root}
	st := open(t, b, "alice")
	if err := st.Put(ctx, "vacation", []byte("keep;\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "spam filter", []byte("discard;")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "alice", "sieve", "vacation.sieve"))
	if err != nil || string(got) != "keep;\r\n" {
		t.Fatalf("script file: %q, %v", got, err)
	}
	if p, err := b.ActiveScript("alice"); err != nil || p != "" {
		t.Fatalf("active before SetActive: %q, %v", p, err)
	}
	if err := st.SetActive(ctx, "vacation"); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "alice", ".dovecot.sieve")
	if target, err := os.Readlink(link); err != nil || target != "sieve/vacation.sieve" {
		t.Fatalf("active link: %q, %v", target, err)
	}
	if p, err := b.ActiveScript("alice"); err != nil || p != filepath.Join(root, "alice", "sieve", "vacation.sieve") {
		t.Fatalf("ActiveScript: %q, %v", p, err)
	}
	list, err := st.List(ctx)
	if err != nil || len(list) != 2 || list[0] != (managesieve.Script{Name: "spam filter"}) || list[1] != (managesieve.Script{Name: "vacation", Active: true}) {
		t.Fatalf("List: %+v, %v", list, err)
	}
	if err := st.Delete(ctx, "vacation"); !errors.Is(err, managesieve.ErrActive) {
		t.Fatalf("Delete active: %v", err)
	}
	if err := st.Rename(ctx, "vacation", "spam filter"); !errors.Is(err, managesieve.ErrAlreadyExists) {
		t.Fatalf("Rename onto existing: %v", err)
	}
	if err := st.Rename(ctx, "nothing", "x"); !errors.Is(err, managesieve.ErrNonexistent) {
		t.Fatalf("Rename missing: %v", err)
	}
	if err := st.Rename(ctx, "vacation", "away"); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err != nil || target != "sieve/away.sieve" {
		t.Fatalf("active link after rename: %q, %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(root, "alice", "sieve", "vacation.sieve")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old name still there: %v", err)
	}
	if got, err := st.Get(ctx, "away"); err != nil || string(got) != "keep;\r\n" {
		t.Fatalf("Get after rename: %q, %v", got, err)
	}
	if err := st.Rename(ctx, "spam filter", "spam"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActive(ctx, "missing"); !errors.Is(err, managesieve.ErrNonexistent) {
		t.Fatalf("SetActive missing: %v", err)
	}
	if err := st.SetActive(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link after deactivation: %v", err)
	}
	if err := st.Delete(ctx, "away"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "away"); !errors.Is(err, managesieve.ErrNonexistent) {
		t.Fatalf("Get deleted: %v", err)
	}
	// No temporary file is left behind.
	des, _ := os.ReadDir(filepath.Join(root, "alice", "sieve"))
	if len(des) != 1 || des[0].Name() != "spam.sieve" {
		t.Fatalf("script directory: %v", des)
	}
}

func TestNamesAndUsers(t *testing.T) {
	ctx := context.Background()
	b := &managesievedir.Backend{Root: t.TempDir()}
	for _, u := range []string{"", ".", "..", "a/b", "x\x00"} {
		if _, err := b.Open(ctx, &managesieve.ConnInfo{}, u); !errors.Is(err, managesievedir.ErrInvalidUser) {
			t.Errorf("user %q: %v", u, err)
		}
	}
	st := open(t, b, "bob")
	for _, n := range []string{".hidden", "a/b", "", "\x01"} {
		if err := st.Put(ctx, n, []byte("keep;")); !errors.Is(err, managesieve.ErrInvalidName) {
			t.Errorf("name %q: %v", n, err)
		}
	}
	// A temporary file or a stray file is not a script.
	dir, _ := b.Dir("bob")
	os.WriteFile(filepath.Join(dir, "sieve", ".tmp-x"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "sieve", "notes.txt"), []byte("x"), 0o600)
	if list, err := st.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List: %+v, %v", list, err)
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	b := &managesievedir.Backend{Root: t.TempDir(), Quota: managesieve.Quota{MaxScripts: 2, MaxScriptSize: 10, MaxBytes: 15}}
	st := open(t, b, "carol")
	if err := st.Put(ctx, "a", []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "big", []byte("0123456789x")); !errors.Is(err, managesieve.ErrQuotaMaxSize) {
		t.Fatalf("over MaxScriptSize: %v", err)
	}
	if err := st.Put(ctx, "b", []byte("0123456")); !errors.Is(err, managesieve.ErrQuota) {
		t.Fatalf("over MaxBytes: %v", err)
	}
	if err := st.HaveSpace(ctx, "a", 10); err != nil {
		t.Fatalf("replacing a within quota: %v", err)
	}
	if err := st.Put(ctx, "b", []byte("01234")); err != nil {
		t.Fatal(err)
	}
	if err := st.HaveSpace(ctx, "c", 0); !errors.Is(err, managesieve.ErrQuotaMaxScripts) {
		t.Fatalf("over MaxScripts: %v", err)
	}
	if _, err := st.Get(ctx, "big"); !errors.Is(err, managesieve.ErrNonexistent) {
		t.Fatalf("a refused script was stored: %v", err)
	}
}

func TestRefusesToOverwriteARegularActiveFile(t *testing.T) {
	ctx := context.Background()
	b := &managesievedir.Backend{Root: t.TempDir()}
	st := open(t, b, "dave")
	dir, _ := b.Dir("dave")
	os.WriteFile(filepath.Join(dir, ".dovecot.sieve"), []byte("legacy"), 0o600)
	st.Put(ctx, "new", []byte("keep;"))
	if err := st.SetActive(ctx, "new"); err == nil {
		t.Fatal("SetActive replaced a regular .dovecot.sieve")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".dovecot.sieve")); string(b) != "legacy" {
		t.Fatalf(".dovecot.sieve now %q", b)
	}
}
