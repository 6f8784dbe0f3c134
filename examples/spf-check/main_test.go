package main

import (
	"strings"
	"testing"

	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// TestRun runs the command against a DNS server on 127.0.0.1 and checks
// its exit status and output.
func TestRun(t *testing.T) {
	z := dnstest.NewZone().AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	srv := dnstest.NewServer(t, z)

	var out, errs strings.Builder
	passCode := run([]string{"-ip", "192.0.2.7", "-sender", "a@example.com", "-receiver", "mx.example.org", "-server", srv.Addr}, &out, &errs)
	failCode := run([]string{"-ip", "198.51.100.7", "-sender", "a@example.com", "-server", srv.Addr}, &out, &errs)
	text := out.String()
	if passCode != 0 || failCode != 1 {
		t.Errorf("exit codes %d and %d, want 0 and 1", passCode, failCode)
	}
	for _, want := range []string{
		"result:      pass\n",
		"mechanism:   ip4:192.0.2.0/24\n",
		"Received-SPF: pass (mx.example.org: domain of a@example.com designates 192.0.2.7 as permitted sender)",
		"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a@example.com\n",
		"result:      fail\n",
		"mechanism:   -all\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if errs.Len() != 0 {
		t.Errorf("stderr: %s", errs.String())
	}
	errs.Reset()
	if code := run([]string{"-ip", "not-an-ip"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "-ip") {
		t.Errorf("bad -ip: exit %d, stderr %q", code, errs.String())
	}
}
