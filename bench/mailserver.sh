#!/usr/bin/env bash
# Side-by-side load test of the whole mail server: examples/mailserver
# against a private Postfix on the same machine, in one run.
#
# receive: smtp-source -s SESSIONS -m MESSAGES -l SIZE sends to the MX port
#          for a local user; Herald delivers into DIR/mail/bench.test/user,
#          Postfix's virtual(8) into a Maildir. The time is until the last
#          message is in the Maildir (for Herald that is when smtp-source
#          ends: the 250 comes after the fsync; Postfix queues first and
#          delivers after).
# relay:   the same load for a remote recipient, relayed (client in the
#          relay networks) through each server's queue to Postfix's
#          smtp-sink as smarthost / relayhost; the time is until smtp-sink
#          has counted every message.
#
# Herald's inbound policy (FCrDNS, SPF, greylisting, the junk filter,
# DKIM and DMARC) is
# off, as Postfix here runs no such checks; bench/policy_test.go measures
# what it costs. Both servers fsync before their 250 replies and at
# delivery, and keep their default logging (Herald's text log, Postfix's maillog_file). Each
# server runs in its own cpuacct cgroup, so "CPU per message" is the user
# and system time of every server process (Postfix's master, smtpd,
# cleanup, qmgr, trivial-rewrite, virtual, smtp; Herald's one process);
# smtp-source and smtp-sink stay outside. Runs alternate which server goes
# first. The medians and the per-run ratios follow.
#
# Usage: bench/mailserver.sh   (RUNS=5 MESSAGES=20000 SESSIONS=20 SIZE=4096
#                               SCENARIOS="receive relay")
# Needs: root (Postfix's master, cgroups), go, python3, Postfix
# (postfix, smtp-source, smtp-sink). Listens on 127.0.0.1 only; never
# touches /etc/postfix or port 25.
set -euo pipefail
cd "$(dirname "$0")"

RUNS=${RUNS:-5}
MESSAGES=${MESSAGES:-20000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
SCENARIOS=${SCENARIOS:-receive relay}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
POSTFIX=${POSTFIX:-/usr/sbin/postfix}
CGROOT=${CGROOT:-/sys/fs/cgroup/cpuacct}

[ "$(id -u)" = 0 ] || { echo "bench/mailserver.sh needs root (Postfix's master, cgroups)" >&2; exit 1; }
[ -w "$CGROOT" ] || { echo "no writable cpuacct cgroup at $CGROOT (set CGROOT)" >&2; exit 1; }
pf_uid=$(id -u postfix)
pf_gid=$(id -g postfix)

work=$(mktemp -d /tmp/herald-mailserver-bench.XXXXXX)
chmod 755 "$work"
cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	for d in "$work"/pf.*/etc; do [ -d "$d" ] && "$POSTFIX" -c "$d" stop >/dev/null 2>&1 || true; done
	sleep 0.5
	for cg in "$CGROOT"/herald-bench.*; do
		[ -d "$cg" ] || continue
		for p in $(cat "$cg/cgroup.procs"); do kill -9 "$p" 2>/dev/null || true; done
		sleep 0.2
		rmdir "$cg" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

(cd .. && go build -o "$work/mailserver" ./examples/mailserver)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# new_cgroup NAME: makes a fresh cpuacct cgroup, sets CG.
new_cgroup() {
	CG="$CGROOT/herald-bench.$1.$$"
	[ -d "$CG" ] && rmdir "$CG"
	mkdir "$CG"
}
cg_ns() { cat "$CG/cpuacct.usage"; }

# "${in_cgroup[@]}" "$CG" CMD...: runs CMD inside the cgroup $CG. Backgrounded,
# a function would run in a subshell whose PID is not the server's, so it
# is a command: sh moves itself into the cgroup and becomes CMD.
in_cgroup=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"')

# count_new DIR: the number of messages in the Maildir DIR's new/.
count_new() { if [ -d "$1/new" ]; then find "$1/new" -maxdepth 1 -type f | wc -l; else echo 0; fi; }

# sink_count FILE: the last message counter smtp-sink -c printed.
sink_count() { tr '\r' '\n' <"$1" | awk -F'mesg=' 'NF > 1 {n = $2 + 0} END {print n + 0}'; }

# wait_for N CMD...: polls CMD until it prints N or more; fails after 10 min.
wait_for() {
	local n=$1
	shift
	for _ in $(seq 6000); do
		if [ "$("$@")" -ge "$n" ]; then return 0; fi
		sleep 0.1
	done
	echo "timed out waiting for $n from $*: $("$@")" >&2
	return 1
}

start_sink() {
	SINK_PORT=$(free_port)
	SINK_OUT="$work/sink.$1.out"
	"$SMTP_SINK" -u nobody -c "127.0.0.1:$SINK_PORT" 256 >"$SINK_OUT" 2>&1 &
	SINK_PID=$!
	for _ in $(seq 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $SINK_PORT), 1).close()" 2>/dev/null && return
		sleep 0.05
	done
	echo "smtp-sink did not start" >&2
	exit 1
}

# herald SCENARIO RUN: starts examples/mailserver, sets ADDR, MAILDIR, STOP.
herald() {
	local dir="$work/herald.$1.$2" port
	mkdir -p "$dir"
	port=$(free_port)
	"$work/mailserver" -data "$dir" -domains bench.test adduser user@bench.test <<<"bench-password" >/dev/null
	local extra=()
	if [ "$1" = relay ]; then extra=(-relay-networks 127.0.0.0/8 -smarthost "127.0.0.1:$SINK_PORT"); fi
	new_cgroup "herald.$1.$2"
	"${in_cgroup[@]}" "$CG" "$work/mailserver" -data "$dir" -domains bench.test -hostname herald.bench.test \
		-smtp "127.0.0.1:$port" -submission "" -submissions "" -imap "" -imaps "" \
		-pop3 "" -pop3s "" -http "" -managesieve "" -max-connections 1000 \
		-fcrdns off -spf=false -greylist=false -junk=false -dkim=false -dmarc=false "${extra[@]}" \
		>"$dir/stdout" 2>"$dir/log" &
	SERVER_PID=$!
	ADDR="127.0.0.1:$port"
	MAILDIR="$dir/mail/bench.test/user"
	for _ in $(seq 200); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null && return
		sleep 0.05
	done
	echo "mailserver did not start" >&2
	cat "$dir/log" >&2
	exit 1
}
herald_stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# postfix SCENARIO RUN: starts a private Postfix (own config, queue and
# Maildir under $work), sets ADDR, MAILDIR.
postfix() {
	local dir="$work/pf.$1.$2" port
	PF_DIR=$dir
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data" "$dir/vmail"
	chown "$pf_uid:$pf_gid" "$dir/data" "$dir/vmail"
	port=$(free_port)
	local relay=""
	if [ "$1" = relay ]; then
		relay="mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT"
	fi
	cat >"$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.test
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
smtp_dns_support_level = disabled
smtp_tls_security_level = none
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $dir/vmail
virtual_mailbox_maps = static:user/
virtual_uid_maps = static:$pf_uid
virtual_gid_maps = static:$pf_gid
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
$relay
EOF
	cat >"$dir/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n  -  n  60    1  pickup
cleanup   unix  n  -  n  -     0  cleanup
qmgr      unix  n  -  n  300   1  qmgr
rewrite   unix  -  -  n  -     -  trivial-rewrite
bounce    unix  -  -  n  -     0  bounce
defer     unix  -  -  n  -     0  bounce
trace     unix  -  -  n  -     0  bounce
verify    unix  -  -  n  -     1  verify
flush     unix  n  -  n  1000  0  flush
showq     unix  n  -  n  -     -  showq
error     unix  -  -  n  -     -  error
retry     unix  -  -  n  -     -  error
discard   unix  -  -  n  -     -  discard
smtp      unix  -  -  n  -     -  smtp
relay     unix  -  -  n  -     -  smtp
virtual   unix  -  n  n  -     -  virtual
postlog   unix-dgram n  -  n  -  1  postlogd
EOF
	"$POSTFIX" -c "$dir/etc" check
	new_cgroup "postfix.$1.$2"
	"${in_cgroup[@]}" "$CG" "$POSTFIX" -c "$dir/etc" start >/dev/null 2>&1
	ADDR="127.0.0.1:$port"
	MAILDIR="$dir/vmail/user"
	for _ in $(seq 200); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null && return
		sleep 0.05
	done
	echo "postfix did not start" >&2
	cat "$dir/maillog" >&2
	exit 1
}
postfix_stop() { "$POSTFIX" -c "$PF_DIR/etc" stop >/dev/null 2>&1 || true; }

results="$work/results.txt"
: >"$results"
for scenario in $SCENARIOS; do
	for run in $(seq "$RUNS"); do
		order="herald postfix"
		if [ $((run % 2)) -eq 0 ]; then order="postfix herald"; fi
		for impl in $order; do
			if [ "$scenario" = relay ]; then start_sink "$impl.$run"; fi
			"$impl" "$scenario" "$run"
			rcpt=user@bench.test
			if [ "$scenario" = relay ]; then rcpt=user@remote.bench.test; fi
			before=$(cg_ns)
			t0=$(date +%s.%N)
			"$SMTP_SOURCE" -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" \
				-f sender@source.bench.test -t "$rcpt" "$ADDR"
			if [ "$scenario" = receive ]; then
				wait_for "$MESSAGES" count_new "$MAILDIR"
			else
				wait_for "$MESSAGES" sink_count "$SINK_OUT"
			fi
			t1=$(date +%s.%N)
			after=$(cg_ns)
			"${impl}_stop"
			if [ "$scenario" = relay ]; then kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; fi
			python3 -c "
t=$t1-$t0; cpu=($after-$before)/1e9
print('$scenario', '$impl', $run, '%.0f' % ($MESSAGES/t), '%.1f' % (cpu*1e6/$MESSAGES))" >>"$results"
			tail -1 "$results" | awk '{printf "%-7s run %s %-7s %7s msg/s %8s us CPU/msg\n", $1, $3, $2, $4, $5}'
			rmdir "$CG" 2>/dev/null || true
		done
	done
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for scenario in dict.fromkeys(r[0] for r in rows):
    rs = [r for r in rows if r[0] == scenario]
    med = {}
    for impl in ("herald", "postfix"):
        x = [r for r in rs if r[1] == impl]
        med[impl] = (statistics.median(float(r[3]) for r in x), statistics.median(float(r[4]) for r in x))
    print()
    print("%s, medians over %d runs:" % (scenario, len(rs) // 2))
    for impl, (rate, cpu) in med.items():
        print("  %-7s %7.0f msg/s  %8.1f us server CPU per message" % (impl, rate, cpu))
    runs = sorted({r[2] for r in rs})
    def per_run(col):
        return sorted(float(next(r for r in rs if r[1] == "herald" and r[2] == n)[col])
                      / float(next(r for r in rs if r[1] == "postfix" and r[2] == n)[col]) for n in runs)
    rate, cpu = per_run(3), per_run(4)
    print("  herald/postfix: throughput x%.2f (target >= 2), CPU per message x%.2f (target <= 0.33)"
          % (med["herald"][0] / med["postfix"][0], med["herald"][1] / med["postfix"][1]))
    print("  per-run ratios: throughput median x%.2f (x%.2f-x%.2f), CPU median x%.2f (x%.2f-x%.2f)"
          % (statistics.median(rate), rate[0], rate[-1], statistics.median(cpu), cpu[0], cpu[-1]))
EOF
