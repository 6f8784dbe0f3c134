#!/usr/bin/env bash
# Before and after, in one run: Herald at an earlier revision against the
# working tree, on the same machine, interleaved.
#
# 1. SMTP: bench/cmd/smtp-herald-sink built at REV and now, loaded one
#    after the other with Postfix's smtp-source (RUNS rounds, alternating
#    which goes first): messages per second and server CPU microseconds per
#    message; then the resident memory per idle connection with
#    IDLE_CONNS connections each.
# 2. Go benchmarks matching PATTERN (default the IMAP and POP3 ones): the
#    bench test binary built at REV and now, run one after the other RUNS
#    times with -test.count=1. The earlier binary's Herald results are
#    renamed from .../herald to .../before, so ratios.py prints
#    "herald ÷ before" (now ÷ then) next to the peers.
#
# AFTER_SINK_FLAGS are passed to the working tree's sink only, for what the
# earlier revision did not do (-received=false: it wrote no Received:
# field). GO_BENCH=0 skips part 2.
#
# Usage: bench/beforeafter.sh REV [PATTERN]
#   bench/beforeafter.sh a930309^1          (the tree before the shared lifecycle)
# Environment: RUNS=5 MESSAGES=20000 SESSIONS=20 SIZE=4096 IDLE_CONNS=10000
#   BENCHTIME=1x. Needs what bench/smtp.sh and the Go benchmarks need.
set -euo pipefail
cd "$(dirname "$0")"
rev=${1:?usage: beforeafter.sh REV [PATTERN]}
pattern=${2:-IMAPFetch|IMAPMaildir|POP3Retr}
RUNS=${RUNS:-5}
MESSAGES=${MESSAGES:-20000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
IDLE_CONNS=${IDLE_CONNS:-10000}
BENCHTIME=${BENCHTIME:-1x}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((IDLE_CONNS + 100)) ]; then
	echo "ulimit -n $(ulimit -n) is too low for IDLE_CONNS=$IDLE_CONNS" >&2
	exit 1
fi

work=$(mktemp -d)
cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	git worktree remove --force "$work/tree" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
git worktree add --detach -q "$work/tree" "$rev"
echo "before: $(git -C "$work/tree" log -1 --format='%h %s' | cut -c1-100)"
echo "after:  the working tree at $(git log -1 --format=%h)$(git diff --quiet HEAD -- .. || echo ' with changes')"

(cd "$work/tree/bench" && go build -o "$work/before-sink" ./cmd/smtp-herald-sink && go test -c -o "$work/before.test" .)
go build -o "$work/after-sink" ./cmd/smtp-herald-sink
go build -o "$work/" ./cmd/smtp-idle
go test -c -o "$work/after.test" .

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

start_sink() {
	starts=$((${starts:-0} + 1))
	out="$work/$1.$starts.out"
	local flags=()
	if [ "$1" = after ]; then read -r -a flags <<<"${AFTER_SINK_FLAGS:-}"; fi
	"$work/$1-sink" -addr 127.0.0.1:0 "${flags[@]}" >"$out" 2>"$work/$1.err" &
	PID=$!
	for _ in $(seq 200); do
		if grep -q listening "$out" 2>/dev/null; then break; fi
		sleep 0.05
	done
	ADDR=$(awk '/listening/ {print $2}' "$out" 2>/dev/null)
	[ -n "$ADDR" ] || { echo "$1 sink did not start" >&2; cat "$work/$1.err" >&2; exit 1; }
}

results="$work/smtp.txt"
: >"$results"
for run in $(seq "$RUNS"); do
	order="before after"
	if [ $((run % 2)) -eq 0 ]; then order="after before"; fi
	for side in $order; do
		start_sink "$side"
		b=$(cpu_ticks "$PID")
		t0=$(date +%s.%N)
		"$SMTP_SOURCE" -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -d "$ADDR"
		t1=$(date +%s.%N)
		a=$(cpu_ticks "$PID")
		kill "$PID"
		wait "$PID" 2>/dev/null || true
		python3 -c "print('$side', $run, '%.0f' % ($MESSAGES/($t1-$t0)), '%.1f' % (($a-$b)/$ticks*1e6/$MESSAGES))" >>"$results"
		tail -1 "$results" | awk '{printf "smtp run %s %-6s %8s msg/s %8s us CPU/msg\n", $2, $1, $3, $4}'
	done
done
for side in before after; do
	start_sink "$side"
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
	echo "idle $side $base $full" >>"$results"
done
python3 - "$results" "$IDLE_CONNS" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
runs = [r for r in rows if r[0] != "idle"]
med = {s: (statistics.median(float(r[2]) for r in runs if r[0] == s),
           statistics.median(float(r[3]) for r in runs if r[0] == s)) for s in ("before", "after")}
cpu = sorted(float(next(r for r in runs if r[0] == "after" and r[1] == k)[3]) /
             float(next(r for r in runs if r[0] == "before" and r[1] == k)[3]) for k in {r[1] for r in runs})
idle = {r[1]: (int(r[3]) - int(r[2])) / n for r in rows if r[0] == "idle"}
print()
print("smtp, medians over %d runs: before %.0f msg/s %.1f us CPU/msg; after %.0f msg/s %.1f us CPU/msg"
      % (len(runs) // 2, *med["before"], *med["after"]))
print("  after/before: throughput x%.2f, CPU per message x%.2f (per-run x%.2f-x%.2f)"
      % (med["after"][0] / med["before"][0], med["after"][1] / med["before"][1], cpu[0], cpu[-1]))
print("  idle: before %.2f KiB, after %.2f KiB per connection (%d connections)" % (idle["before"], idle["after"], n))
EOF

if [ "${GO_BENCH:-1}" = 0 ]; then exit 0; fi
out="$work/go.bench"
: >"$out"
for run in $(seq "$RUNS"); do
	echo "=== run $run" >>"$out"
	order="before after"
	if [ $((run % 2)) -eq 0 ]; then order="after before"; fi
	for side in $order; do
		# Each binary runs in its own bench directory, where its testdata is.
		dir=.
		[ "$side" = before ] && dir="$work/tree/bench"
		(cd "$dir" && "$work/$side.test" -test.run='^$' -test.bench="$pattern" -test.benchtime="$BENCHTIME" \
			-test.benchmem -test.count=1) >"$work/run.txt"
		if [ "$side" = before ]; then
			# Only Herald's results, renamed to the "before" side.
			grep -E '^Benchmark\S*/herald(-[0-9]+)?\s' "$work/run.txt" |
				sed -E 's#/herald(-[0-9]+)?(\s)#/before\1\2#' >>"$out" || true
		else
			grep '^Benchmark' "$work/run.txt" >>"$out" || true
		fi
	done
done
echo
python3 ratios.py "$out"
