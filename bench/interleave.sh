#!/usr/bin/env bash
# Runs Go benchmarks side by side with their peers, interleaved: the test
# binary is built once and run RUNS times with -test.count=1, so every run
# measures Herald and the other side one after the other, instead of one
# side's repetitions as a block (what go test -count does). Then it prints,
# per benchmark and metric, the median of the per-run ratios Herald ÷ other
# side with their range (ratios.py).
#
# Usage: bench/interleave.sh PATTERN [RUNS] [BENCHTIME]
#   bench/interleave.sh 'ReadHeader$' 7
#   bench/interleave.sh 'MIMEWalkCPU' 5 30x
# Extra environment: GOMAXPROCS as usual. The raw output stays in
# $OUT (default: a temporary file, printed at the end).
set -euo pipefail
cd "$(dirname "$0")"
pattern=${1:?usage: interleave.sh PATTERN [RUNS] [BENCHTIME]}
runs=${2:-5}
benchtime=${3:-1s}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${OUT:-$(mktemp --suffix=.bench)}
go test -c -o "$work/bench.test" .
: >"$out"
for run in $(seq "$runs"); do
	echo "=== run $run" >>"$out"
	"$work/bench.test" -test.run='^$' -test.bench="$pattern" -test.benchtime="$benchtime" \
		-test.benchmem -test.count=1 >>"$work/run.txt"
	cat "$work/run.txt" >>"$out"
	: >"$work/run.txt"
done
python3 ratios.py "$out"
echo "raw output: $out"
