package managesieve_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/sieve/managesieve"
	"github.com/heraldmail/herald/sieve/managesieve/managesievedir"
)

// chownTree gives the tree to the owner of dir, as the mail processes of a
// root-run Dovecot run as that user.
func chownTree(t *testing.T, root, dir string) {
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid, ok := owner(fi)
	if !ok {
		return
	}
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// TestDovecotReadsTheDirectoryStore checks that the directory store's
// layout is Pigeonhole's: Dovecot lists and serves the scripts written
// through managesievedir, active one included, and managesievedir reads
// what Dovecot wrote.
func TestDovecotReadsTheDirectoryStore(t *testing.T) {
	addr, homes := startDovecotSieve(t, map[string]string{"alice": "secret"})
	ctx := ctxT(t)
	home := filepath.Join(homes, "alice")
	st, err := managesievedir.OpenDir(home, managesieve.Quota{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"herald-a": "keep;\r\n", "herald-b": "discard;\r\n"} {
		if err := st.Put(ctx, name, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetActive(ctx, "herald-b"); err != nil {
		t.Fatal(err)
	}
	chownTree(t, home, home)

	c, err := managesieve.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(ctx, sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListScripts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[managesieve.Script]bool{{Name: "herald-a"}: true, {Name: "herald-b", Active: true}: true}
	if len(list) != 2 || !want[list[0]] || !want[list[1]] {
		t.Fatalf("Dovecot lists %+v", list)
	}
	if got, err := c.GetScript(ctx, "herald-b"); err != nil || string(got) != "discard;\r\n" {
		t.Fatalf("Dovecot GETSCRIPT: %q, %v", got, err)
	}
	// The other way: Dovecot writes, managesievedir reads.
	if _, err := c.PutScript(ctx, "dovecot-c", []byte("keep;\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetActive(ctx, "dovecot-c"); err != nil {
		t.Fatal(err)
	}
	c.Logout(ctx)
	got, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1] != (managesieve.Script{Name: "herald-a"}) || got[2] != (managesieve.Script{Name: "herald-b"}) ||
		got[0] != (managesieve.Script{Name: "dovecot-c", Active: true}) {
		t.Fatalf("managesievedir lists %+v after Dovecot's changes", got)
	}
	if p, err := managesievedir.ActivePath(home); err != nil || p != filepath.Join(home, "sieve", "dovecot-c.sieve") {
		t.Fatalf("ActivePath: %q, %v", p, err)
	}
}
