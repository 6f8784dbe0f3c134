#!/usr/bin/env python3
"""Summarises interleaved Go benchmark runs written by interleave.sh.

Input: go test -bench output with a line '=== run N' before each run. A
benchmark named Family/side is compared with the other sides of its family:
the side called 'herald' (or starting with 'herald-') against each other side,
per metric, as the ratio herald ÷ other computed within each run. Printed: the
median of those per-run ratios, their range, and the medians of both sides.
Benchmarks without a Herald side get the median and range of each metric.
"""
import re
import statistics
import sys
from collections import defaultdict

line_re = re.compile(r'^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$')


def parse(path):
    runs = []
    for line in open(path, encoding='utf-8'):
        if line.startswith('=== run'):
            runs.append({})
            continue
        m = line_re.match(line.strip())
        if not m or not runs:
            continue
        fields = m.group(2).split()
        metrics = {fields[i + 1]: float(fields[i]) for i in range(0, len(fields) - 1, 2)}
        runs[-1][m.group(1)] = metrics
    return runs


def fmt(x):
    return f'{x:.3g}' if abs(x) < 1000 else f'{x:,.0f}'


def main():
    runs = parse(sys.argv[1])
    names = []
    for r in runs:
        for n in r:
            if n not in names:
                names.append(n)
    families = defaultdict(list)
    for n in names:
        fam, _, side = n.rpartition('/')
        families[fam or n].append((side, n))
    for fam, sides in families.items():
        herald = [n for s, n in sides if s == 'herald' or s.startswith('herald-')]
        others = [n for s, n in sides if n not in herald]
        print(f'{fam} ({len(runs)} runs)')
        if not herald or not others:
            for _, n in sides:
                for metric in runs[0].get(n, {}):
                    vals = [r[n][metric] for r in runs if n in r and metric in r[n]]
                    print(f'  {n.rpartition("/")[2] or n} {metric}: median {fmt(statistics.median(vals))}'
                          f' (range {fmt(min(vals))} to {fmt(max(vals))})')
            continue
        for h in herald:
            for o in others:
                for metric in runs[0].get(h, {}):
                    pairs = [(r[h][metric], r[o][metric]) for r in runs
                             if h in r and o in r and metric in r[h] and metric in r[o]]
                    ratios = [a / b for a, b in pairs if b]
                    if not ratios:
                        continue
                    print(f'  {h.rpartition("/")[2]} ÷ {o.rpartition("/")[2]} {metric}: '
                          f'{statistics.median(ratios):.2f}x (range {min(ratios):.2f} to {max(ratios):.2f}); '
                          f'medians {fmt(statistics.median(a for a, _ in pairs))} vs '
                          f'{fmt(statistics.median(b for _, b in pairs))}')


if __name__ == '__main__':
    main()
