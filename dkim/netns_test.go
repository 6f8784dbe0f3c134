package dkim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/internal/peertest"
)

// OpenDKIM's library asks the resolver of /etc/resolv.conf, which takes no
// port, so the OpenDKIM tools cannot be pointed at a dnstest server on a
// random port. The tests run them in a private network and mount namespace
// instead (Linux, root): the test binary starts itself there as a helper,
// which brings up the loopback interface, mounts a resolv.conf naming
// 127.0.0.1 over /etc/resolv.conf, serves the zone with dnstest and relays
// port 53 to it, and then runs the tools. Nothing outside the namespaces
// changes.

const netnsEnv = "HERALD_DKIM_NETNS_HELPER"

// A netnsJob is a program the helper runs, with a file as its stdin.
type netnsJob struct {
	Args  []string
	Stdin string
}

// A netnsResult is what a job did.
type netnsResult struct {
	Code           int
	Stdout, Stderr string
}

// netnsRequest is the helper's input: the TXT records to serve and the
// jobs to run.
type netnsRequest struct {
	TXT  map[string][]string
	Jobs []netnsJob
}

// runInNetns runs jobs in a private network namespace whose resolver is a
// dnstest server for txt.
func runInNetns(t *testing.T, txt map[string][]string, jobs []netnsJob) []netnsResult {
	t.Helper()
	peertest.RequireRoot(t, "a private network namespace for OpenDKIM's resolver")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "request.json"), filepath.Join(dir, "results.json")
	b, err := json.Marshal(netnsRequest{TXT: txt, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), netnsEnv+"="+in+":"+out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS}
	if msg, err := cmd.CombinedOutput(); err != nil {
		peertest.Unavailable(t, "cannot run in a private network namespace: %v: %s", err, msg)
	}
	var res []netnsResult
	b, err = os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil || len(res) != len(jobs) {
		t.Fatalf("namespace helper: %d results for %d jobs: %v", len(res), len(jobs), err)
	}
	return res
}

// netnsHelper is the helper's main function, run by TestMain.
func netnsHelper(arg string) int {
	in, out, _ := strings.Cut(arg, ":")
	if err := netnsRun(in, out); err != nil {
		fmt.Fprintln(os.Stderr, "netns helper:", err)
		return 1
	}
	return 0
}

func netnsRun(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var req netnsRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return err
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	conf := filepath.Join(filepath.Dir(in), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n"), 0o644); err != nil {
		return err
	}
	if err := syscall.Mount(conf, "/etc/resolv.conf", "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount resolv.conf: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	zone := dnstest.NewZone()
	for name, recs := range req.TXT {
		for _, r := range recs {
			zone.AddTXT(name, r)
		}
	}
	srv, err := dnstest.Start(zone)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := relay53(srv.Addr); err != nil {
		return err
	}
	var res []netnsResult
	for _, j := range req.Jobs {
		cmd := exec.Command(j.Args[0], j.Args[1:]...)
		if j.Stdin != "" {
			f, err := os.Open(j.Stdin)
			if err != nil {
				return err
			}
			cmd.Stdin = f
			defer f.Close()
		}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
		}
		res = append(res, netnsResult{Code: code, Stdout: stdout.String(), Stderr: stderr.String()})
	}
	b, err = json.Marshal(res)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o600)
}

// loopbackUp sets the IFF_UP flag of "lo", as a new network namespace
// starts with it down.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	ifr.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	return nil
}

// relay53 forwards DNS over UDP and TCP from 127.0.0.1:53 to addr.
func relay53(addr string) error {
	pc, err := net.ListenPacket("udp", "127.0.0.1:53")
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:53")
	if err != nil {
		return err
	}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := append([]byte(nil), buf[:n]...)
			go func() {
				c, err := net.Dial("udp", addr)
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write(q); err != nil {
					return
				}
				ans := make([]byte, 65535)
				m, err := c.Read(ans)
				if err != nil {
					return
				}
				pc.WriteTo(ans[:m], from)
			}()
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return nil
}

func TestMain(m *testing.M) {
	if arg := os.Getenv(netnsEnv); arg != "" {
		os.Exit(netnsHelper(arg))
	}
	os.Exit(m.Run())
}
