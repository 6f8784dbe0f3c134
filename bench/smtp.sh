#!/usr/bin/env bash
# Side-by-side load test of two discard SMTP servers: Herald's smtp package
# (cmd/smtp-herald-sink) and github.com/emersion/go-smtp
# (cmd/smtp-gosmtp-sink). Each run loads both, one after the other, with
# Postfix's smtp-source; the script reports messages per second and server
# CPU microseconds per message (utime+stime from /proc/PID/stat before and
# after the load), then the medians over the runs and their ratios.
# Then it opens IDLE_CONNS idle connections to each server and reports the
# growth of the server's resident memory per connection.
#
# Usage: bench/smtp.sh            (RUNS=9 MESSAGES=20000 IDLE_CONNS=10000)
#        bench/smtp.sh -gobench   (go test -bench BenchmarkSMTPServer, COUNT=5)
# Needs: go, python3, /usr/sbin/smtp-source. Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"

RUNS=${RUNS:-9}
MESSAGES=${MESSAGES:-20000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
IDLE_CONNS=${IDLE_CONNS:-10000}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}

# 10,000 connections need more descriptors than the usual default.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((IDLE_CONNS + 100)) ]; then
	echo "ulimit -n $(ulimit -n) is too low for IDLE_CONNS=$IDLE_CONNS" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/" ./cmd/smtp-herald-sink ./cmd/smtp-gosmtp-sink ./cmd/smtp-idle

if [ "${1:-}" = -gobench ]; then
	# In-process comparison: go test -bench, both servers in one run.
	go test -run '^$' -bench BenchmarkSMTPServer -benchmem -count="${COUNT:-5}" .
	exit
fi

ticks=$(getconf CLK_TCK)

# start_server IMPL: starts the sink, sets PID and ADDR.
start_server() {
	# A fresh file per start: the redirection happens in the child, so an
	# old file could still be read here.
	starts=$((${starts:-0} + 1))
	out="$work/$1.$starts.out"
	"$work/smtp-$1-sink" -addr 127.0.0.1:0 >"$out" 2>"$work/$1.err" &
	PID=$!
	for _ in $(seq 200); do
		if grep -q listening "$out" 2>/dev/null; then break; fi
		sleep 0.05
	done
	ADDR=$(awk '/listening/ {print $2}' "$out" 2>/dev/null)
	[ -n "$ADDR" ] || { echo "$1 did not start" >&2; cat "$work/$1.err" >&2; exit 1; }
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

results="$work/results.txt"
: >"$results"
for run in $(seq "$RUNS"); do
	# Alternate which server goes first, so that neither always runs on a
	# machine the other has just warmed or loaded.
	order="herald gosmtp"
	if [ $((run % 2)) -eq 0 ]; then order="gosmtp herald"; fi
	for impl in $order; do
		start_server "$impl"
		before=$(cpu_ticks "$PID")
		t0=$(date +%s.%N)
		"$SMTP_SOURCE" -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -d "$ADDR"
		t1=$(date +%s.%N)
		after=$(cpu_ticks "$PID")
		kill "$PID"
		wait "$PID" 2>/dev/null || true
		python3 -c "
t=$t1-$t0; cpu=($after-$before)/$ticks
print('$impl', $run, '%.0f' % ($MESSAGES/t), '%.1f' % (cpu*1e6/$MESSAGES))" >>"$results"
		tail -1 "$results" | awk '{printf "run %s %-7s %8s msg/s %8s us CPU/msg\n", $2, $1, $3, $4}'
	done
done

# Idle connections: RSS growth per connection, after the connections have
# been greeted and left alone for a moment.
idle="$work/idle.txt"
: >"$idle"
for impl in herald gosmtp; do
	start_server "$impl"
	sleep 0.5
	base=$(rss_kib "$PID")
	coproc IDLE { "$work/smtp-idle" -addr "$ADDR" -n "$IDLE_CONNS"; }
	read -r ready <&"${IDLE[0]}"
	[ "$ready" = ready ] || { echo "smtp-idle failed" >&2; exit 1; }
	sleep 2
	full=$(rss_kib "$PID")
	exec {IDLE[1]}>&-
	wait "$IDLE_PID" 2>/dev/null || true
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	echo "$impl $base $full" >>"$idle"
	awk -v n="$IDLE_CONNS" '{printf "idle %-7s RSS %d KiB -> %d KiB: %.2f KiB per connection\n", $1, $2, $3, ($3-$2)/n}' <<<"$(tail -1 "$idle")"
done

python3 - "$results" "$idle" "$IDLE_CONNS" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for impl in ("herald", "gosmtp"):
    r = [x for x in rows if x[0] == impl]
    med[impl] = (statistics.median(float(x[2]) for x in r), statistics.median(float(x[3]) for x in r))
print()
print("medians over %d runs:" % (len(rows) // 2))
for impl, (rate, cpu) in med.items():
    print("  %-7s %8.0f msg/s  %7.1f us server CPU per message" % (impl, rate, cpu))
print("  herald/go-smtp: throughput x%.2f, server CPU per message x%.2f (target <= 0.6)"
      % (med["herald"][0] / med["gosmtp"][0], med["herald"][1] / med["gosmtp"][1]))
# The ratio within each run, where both servers met the same machine state.
runs = sorted({int(x[1]) for x in rows})
ratios = sorted(
    float(next(x for x in rows if x[0] == "herald" and int(x[1]) == r)[3])
    / float(next(x for x in rows if x[0] == "gosmtp" and int(x[1]) == r)[3])
    for r in runs)
print("  per-run CPU ratios: median x%.2f, range x%.2f-x%.2f, %d of %d runs <= 0.6"
      % (statistics.median(ratios), ratios[0], ratios[-1], sum(r <= 0.6 for r in ratios), len(ratios)))
n = int(sys.argv[3])
for l in open(sys.argv[2]):
    impl, base, full = l.split()
    print("  %-7s %.2f KiB per idle connection (%d connections)" % (impl, (int(full) - int(base)) / n, n))
EOF
