#!/usr/bin/env bash
# Side-by-side load test of three SMTP clients against one Postfix
# smtp-sink on a free loopback port: Herald's smtp client and
# github.com/emersion/go-smtp's (both through cmd/smtpclient), and Postfix's
# own smtp-source. Each round runs the three senders one after the other,
# each sending MESSAGES messages of SIZE bytes over SESSIONS persistent
# connections (smtp-source -d). The script reports messages per second and
# client CPU microseconds per message (user+system time of the sender
# process, from /usr/bin/time), then the medians over the rounds and their
# ratios to smtp-source.
#
# Usage: bench/smtpclient.sh            (ROUNDS=5 MESSAGES=20000 SESSIONS=20 SIZE=4096)
#        bench/smtpclient.sh -gobench   (go test -bench BenchmarkSMTPClient, COUNT=5)
# Needs: go, python3, /usr/bin/time, /usr/sbin/smtp-sink, /usr/sbin/smtp-source.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-5}
MESSAGES=${MESSAGES:-20000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}

work=$(mktemp -d)
sink_pid=
cleanup() {
	if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if [ "${1:-}" = -gobench ]; then
	go test -run '^$' -bench BenchmarkSMTPClient -benchmem -count="${COUNT:-5}" .
	exit
fi
go build -o "$work/" ./cmd/smtpclient

# One smtp-sink for every sender, on a port that was free a moment ago.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
user_opt=()
if [ "$(id -u)" = 0 ]; then user_opt=(-u nobody); fi
"$SMTP_SINK" "${user_opt[@]}" "$addr" 256 &
sink_pid=$!
for _ in $(seq 200); do
	if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then break; fi
	sleep 0.05
done

results="$work/results.txt"
: >"$results"
for round in $(seq "$ROUNDS"); do
	for impl in herald gosmtp smtp-source; do
		if [ "$impl" = smtp-source ]; then
			cmd=("$SMTP_SOURCE" -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -d "$addr")
		else
			cmd=("$work/smtpclient" -impl "$impl" -addr "$addr" -n "$MESSAGES" -conns "$SESSIONS" -size "$SIZE")
		fi
		/usr/bin/time -o "$work/time" -f '%e %U %S' "${cmd[@]}" >/dev/null
		read -r elapsed user sys <"$work/time"
		python3 -c "
print('$impl', $round, '%.0f' % ($MESSAGES / $elapsed), '%.1f' % (($user + $sys) * 1e6 / $MESSAGES))" >>"$results"
		tail -1 "$results" | awk '{printf "round %s %-11s %8s msg/s %8s us CPU/msg\n", $2, $1, $3, $4}'
	done
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
impls = ("herald", "gosmtp", "smtp-source")
med = {}
for impl in impls:
    r = [x for x in rows if x[0] == impl]
    med[impl] = (statistics.median(float(x[2]) for x in r), statistics.median(float(x[3]) for x in r))
print()
print("medians over %d rounds:" % (len(rows) // len(impls)))
for impl in impls:
    rate, cpu = med[impl]
    print("  %-11s %8.0f msg/s  %7.1f us client CPU per message" % (impl, rate, cpu))
src = med["smtp-source"]
for impl in ("herald", "gosmtp"):
    print("  %s/smtp-source: throughput x%.2f, client CPU per message x%.2f"
          % (impl, med[impl][0] / src[0], med[impl][1] / src[1]))
print("  herald/go-smtp: throughput x%.2f, client CPU per message x%.2f"
      % (med["herald"][0] / med["gosmtp"][0], med["herald"][1] / med["gosmtp"][1]))
PY
