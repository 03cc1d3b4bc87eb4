#!/bin/sh
# Benchmarks the docker connector against the docker CLI on the same
# containers, in the same run (connectors/docker/bench_test.go): each
# iteration does the goinfra operation and the CLI one in turns, so both see
# the same machine load. Prints the median over COUNT runs of each side's
# mean ms/op.
#   bench/docker/run.sh [COUNT] [BENCHTIME]   (default 5, 3x)
set -eu
cd "$(dirname "$0")/../.."
count=${1:-5}
benchtime=${2:-3x}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench . -benchtime "$benchtime" -count "$count" ./connectors/docker/ | tee "$out" >&2
echo
echo "medians of $count runs (ms/op):"
grep '^Benchmark' "$out" | awk '{
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 4; i < NF; i++) if ($(i+1) ~ /-ms\/op$/) { side = $(i+1); sub(/-ms\/op$/, "", side); print name, side, $i }
}' | sort -k1,1 -k2,2 -k3,3n | awk '
	{ k = $1 " " $2; v[k] = v[k] " " $3; n[k]++ }
	END {
		for (k in v) {
			split(substr(v[k], 2), a, " ")
			m = n[k]
			med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
			split(k, p, " ")
			printf "%-32s %-8s %10.1f\n", p[1], p[2], med
		}
	}' | sort
