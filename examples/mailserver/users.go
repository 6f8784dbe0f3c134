package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sys/unix"

	"github.com/heraldmail/herald/sasl"
)

// The user database is two text files in the data directory, replaced
// atomically by the subcommands and read again by the running server when
// they change:
//
//	users:   <address> TAB <argon2id hash> TAB <SCRAM-SHA-256 credentials>
//	aliases: <address> TAB <target>[,<target>...]
//
// Addresses are stored in lower case. A password is never stored, only its
// argon2id hash in the PHC string format and the SCRAM credentials derived
// from it (RFC 5802: the salted keys, from which the password cannot be
// recovered).
const (
	usersFile   = "users"
	aliasesFile = "aliases"
	lockFile    = "users.lock"
)

// argon2id parameters: OWASP's recommendation for argon2id with 19 MiB.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// errNoUser is returned for an address that is not a user.
var errNoUser = errors.New("no such user")

type user struct {
	addr  string
	hash  string
	scram sasl.ScramCredentials
}

// userDB is the parsed users and aliases files, read again when either
// file changes on disk.
type userDB struct {
	dir string

	mu      sync.Mutex
	stamp   [2]fileStamp
	users   map[string]*user
	aliases map[string][]string
}

type fileStamp struct {
	mtime time.Time
	size  int64
	ino   uint64
}

func openUserDB(dir string) (*userDB, error) {
	db := &userDB{dir: dir}
	if err := db.refresh(); err != nil {
		return nil, err
	}
	return db, nil
}

func stampOf(path string) (fileStamp, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fileStamp{}, nil
		}
		return fileStamp{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return fileStamp{mtime: time.Unix(st.Mtim.Unix()), size: st.Size, ino: st.Ino}, nil
}

// refresh reads the files again if they changed since the last read.
func (db *userDB) refresh() error {
	up := filepath.Join(db.dir, usersFile)
	ap := filepath.Join(db.dir, aliasesFile)
	us, err := stampOf(up)
	if err != nil {
		return err
	}
	as, err := stampOf(ap)
	if err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.users != nil && db.stamp == [2]fileStamp{us, as} {
		return nil
	}
	users, err := readUsers(up)
	if err != nil {
		return err
	}
	aliases, err := readAliases(ap)
	if err != nil {
		return err
	}
	db.users, db.aliases, db.stamp = users, aliases, [2]fileStamp{us, as}
	return nil
}

func readLines(path string, fn func(lineNo int, fields []string) error) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(n, strings.Split(line, "\t")); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

func readUsers(path string) (map[string]*user, error) {
	users := make(map[string]*user)
	err := readLines(path, func(_ int, f []string) error {
		if len(f) != 3 {
			return errors.New("want address, hash and SCRAM credentials separated by tabs")
		}
		cred, err := sasl.ParseScramCredentials(f[2])
		if err != nil {
			return err
		}
		users[f[0]] = &user{addr: f[0], hash: f[1], scram: cred}
		return nil
	})
	return users, err
}

func readAliases(path string) (map[string][]string, error) {
	aliases := make(map[string][]string)
	err := readLines(path, func(_ int, f []string) error {
		if len(f) != 2 {
			return errors.New("want address and targets separated by a tab")
		}
		aliases[f[0]] = strings.Split(f[1], ",")
		return nil
	})
	return aliases, err
}

// lookup returns the user with address addr (lower case).
func (db *userDB) lookup(addr string) (*user, error) {
	if err := db.refresh(); err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	u := db.users[addr]
	if u == nil {
		return nil, errNoUser
	}
	return u, nil
}

// resolve returns the users that mail for addr goes to: addr itself when
// it is a user, else the targets of its alias (followed up to a depth of
// 8, duplicates removed). An address that is neither returns errNoUser.
func (db *userDB) resolve(addr string) ([]string, error) {
	if err := db.refresh(); err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	var out []string
	var walk func(a string, depth int)
	walk = func(a string, depth int) {
		if depth > 8 {
			return
		}
		if db.users[a] != nil {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
			return
		}
		for _, t := range db.aliases[a] {
			walk(t, depth+1)
		}
	}
	walk(addr, 0)
	if len(out) == 0 {
		return nil, errNoUser
	}
	return out, nil
}

// mayUse reports whether the authenticated user identity may send as addr:
// its own address, or an alias that resolves to it.
func (db *userDB) mayUse(identity, addr string) bool {
	if identity == addr {
		return true
	}
	targets, err := db.resolve(addr)
	return err == nil && slices.Contains(targets, identity)
}

// checkPassword is the sasl.PasswordFunc of every protocol.
func (db *userDB) checkPassword(ctx context.Context, authzid, username, password string) (string, error) {
	addr := strings.ToLower(username)
	u, err := db.lookup(addr)
	if errors.Is(err, errNoUser) {
		// Spend the time of a hash anyway, so that the reply time does
		// not tell unknown users from wrong passwords.
		verifyArgon2id("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password)
		return "", sasl.ErrAuthFailed
	}
	if err != nil {
		return "", err
	}
	if !verifyArgon2id(u.hash, password) {
		return "", sasl.ErrAuthFailed
	}
	if authzid != "" && strings.ToLower(authzid) != addr {
		return "", sasl.ErrAuthFailed
	}
	return addr, nil
}

// scramLookup is the sasl.ScramLookupFunc of every protocol.
func (db *userDB) scramLookup(ctx context.Context, authzid, username string) (sasl.ScramUser, error) {
	addr := strings.ToLower(username)
	u, err := db.lookup(addr)
	if errors.Is(err, errNoUser) {
		return sasl.ScramUser{}, sasl.ErrAuthFailed
	}
	if err != nil {
		return sasl.ScramUser{}, err
	}
	if authzid != "" && strings.ToLower(authzid) != addr {
		return sasl.ScramUser{}, sasl.ErrAuthFailed
	}
	return sasl.ScramUser{Credentials: u.scram, Identity: addr}, nil
}

// authenticator returns the SASL setup shared by SMTP submission, IMAP and
// POP3. The username is the full address.
func (db *userDB) authenticator(unknownUserKey []byte) *sasl.Authenticator {
	return &sasl.Authenticator{
		Password:       db.checkPassword,
		Scram:          db.scramLookup,
		UnknownUserKey: unknownUserKey,
		RequireTLS:     true,
	}
}

// hashArgon2id returns password's argon2id hash in the PHC string format.
func hashArgon2id(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// verifyArgon2id checks password against a PHC argon2id string. Parameters
// beyond sane bounds are refused, so that a tampered file cannot make a
// login allocate gigabytes.
func verifyArgon2id(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" {
		return false
	}
	var m, t, p uint32
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return false
		}
		switch k {
		case "m":
			m = uint32(n)
		case "t":
			t = uint32(n)
		case "p":
			p = uint32(n)
		}
	}
	if m < 8 || m > 1<<20 || t < 1 || t > 16 || p < 1 || p > 16 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, uint8(p), uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// editDB runs fn on the current users and aliases under an exclusive lock
// and writes back what it changed, each file through a temporary file,
// fsync and rename, so a running server never reads half a file.
func editDB(dir string, fn func(users map[string]*user, aliases map[string][]string) error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	users, err := readUsers(filepath.Join(dir, usersFile))
	if err != nil {
		return err
	}
	aliases, err := readAliases(filepath.Join(dir, aliasesFile))
	if err != nil {
		return err
	}
	if err := fn(users, aliases); err != nil {
		return err
	}
	var ub, ab bytes.Buffer
	for _, k := range sortedKeys(users) {
		u := users[k]
		fmt.Fprintf(&ub, "%s\t%s\t%s\n", u.addr, u.hash, u.scram.String())
	}
	for _, k := range sortedKeys(aliases) {
		fmt.Fprintf(&ab, "%s\t%s\n", k, strings.Join(aliases[k], ","))
	}
	if err := writeFileAtomic(filepath.Join(dir, usersFile), ub.Bytes(), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, aliasesFile), ab.Bytes(), 0o600)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeFileAtomic replaces path with data durably.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// newUser makes the stored form of a user with password.
func newUser(addr, password string) (*user, error) {
	hash, err := hashArgon2id(password)
	if err != nil {
		return nil, err
	}
	cred, err := sasl.NewScramCredentials(password, nil, 0)
	if err != nil {
		return nil, err
	}
	return &user{addr: addr, hash: hash, scram: cred}, nil
}
