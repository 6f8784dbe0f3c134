package spf

import (
	"context"
	"strings"
	"testing"
)

func TestReceivedSPF(t *testing.T) {
	r := newCheckResolver()
	tests := []struct {
		name string
		args Args
		want string
	}{
		{
			name: "pass",
			args: Args{IP: ip("192.0.2.1"), Sender: "alice@example.com", HELO: "mail.example.com", Receiver: "mx.example.org"},
			want: `Received-SPF: pass (mx.example.org: domain of alice@example.com designates 192.0.2.1 as permitted sender) receiver=mx.example.org; client-ip=192.0.2.1; envelope-from="alice@example.com"; helo=mail.example.com; identity=mailfrom; mechanism="ip4:192.0.2.0/24";`,
		},
		{
			name: "fail",
			args: Args{IP: ip("203.0.113.99"), Sender: "alice@example.com", HELO: "mail.example.com"},
			want: `Received-SPF: fail (unknown: domain of alice@example.com does not designate 203.0.113.99 as permitted sender) client-ip=203.0.113.99; envelope-from="alice@example.com"; helo=mail.example.com; identity=mailfrom; mechanism=-all;`,
		},
		{
			name: "helo none",
			args: Args{IP: ip("192.0.2.1"), HELO: "none.example.com", Identity: IdentityHELO, Receiver: "mx.example.org"},
			want: `Received-SPF: none (mx.example.org: domain of none.example.com does not designate permitted sender hosts) receiver=mx.example.org; client-ip=192.0.2.1; helo=none.example.com; identity=helo;`,
		},
		{
			name: "permerror",
			args: Args{IP: ip("192.0.2.1"), Sender: "x@two.example.com", Receiver: "mx.example.org"},
			want: `Received-SPF: permerror (mx.example.org: permanent error in processing domain of x@two.example.com) receiver=mx.example.org; client-ip=192.0.2.1; envelope-from="x@two.example.com"; identity=mailfrom; problem="more than one SPF record for two.example.com";`,
		},
		{
			name: "null sender and hostile helo",
			args: Args{IP: ip("::ffff:192.0.2.9"), HELO: "evil\r\nX-Injected: yes (a) \"q\"", Receiver: "mx.example.org"},
			want: `Received-SPF: none (mx.example.org: domain of postmaster@evil??X-Injected: yes \(a\) "q" does not designate permitted sender hosts) receiver=mx.example.org; client-ip=192.0.2.9; envelope-from=""; helo="evil??X-Injected: yes (a) \"q\""; identity=mailfrom;`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(context.Background(), r, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			got := ReceivedSPF(res, tt.args)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Error("field contains CR or LF")
			}
		})
	}
}

func TestAuthenticationResults(t *testing.T) {
	tests := []struct {
		res  Result
		want string
	}{
		{Result{Status: Pass, Sender: "alice@example.com", Domain: "example.com"}, "spf=pass smtp.mailfrom=alice@example.com"},
		{Result{Status: SoftFail, Sender: `"a b"@example.com`, Domain: "example.com"}, `spf=softfail smtp.mailfrom="\"a b\"@example.com"`},
		{Result{Status: None, Identity: IdentityHELO, Sender: "postmaster@mail.example.com", Domain: "mail.example.com"}, "spf=none smtp.helo=mail.example.com"},
		{Result{Status: TempError, Identity: IdentityHELO, Domain: "bad\nhelo"}, `spf=temperror smtp.helo="bad?helo"`},
		{Result{Status: Fail, Sender: "user@b\xffd.example"}, `spf=fail smtp.mailfrom="user@b?d.example"`},
	}
	for _, tt := range tests {
		if got := AuthenticationResults(tt.res); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}
