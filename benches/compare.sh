#!/usr/bin/env bash
# Runs commands side by side, interleaved (A B C A B C ...), and prints for
# each the median wall time, the median CPU time (user + system) and the
# highest peak resident memory (max RSS), with the ratio to the first one.
#
#   benches/compare.sh RUNS 'label=command' 'label=command' ...
#
# Each command runs through `bash -c` under /usr/bin/time, its output thrown
# away; the first command is the baseline. Used by benches/README.md for the
# `--jobs` and cluster-reuse figures, e.g.
#
#   benches/compare.sh 5 "j1=twice check -j 1 --no-replay corpus" "j2=twice check -j 2 --no-replay corpus"
set -euo pipefail

runs=$1
shift
labels=()
cmds=()
for spec in "$@"; do
    labels+=("${spec%%=*}")
    cmds+=("${spec#*=}")
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for ((r = 0; r < runs; r++)); do
    for i in "${!cmds[@]}"; do
        /usr/bin/time -f '%e %U %S %M' -o "$work/t" bash -c "${cmds[$i]}" >/dev/null 2>&1 || true
        cat "$work/t" >>"$work/$i"
    done
done

printf '%-12s %10s %10s %10s %10s %12s\n' what wall_s cpu_s wall/base cpu/base max_rss_MiB
base_wall=""
base_cpu=""
for i in "${!cmds[@]}"; do
    wall=$(awk '{print $1}' "$work/$i" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    cpu=$(awk '{print $2 + $3}' "$work/$i" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    rss=$(awk '{print $4}' "$work/$i" | sort -n | tail -1)
    [ -n "$base_wall" ] || { base_wall=$wall; base_cpu=$cpu; }
    awk -v l="${labels[$i]}" -v w="$wall" -v c="$cpu" -v bw="$base_wall" -v bc="$base_cpu" -v m="$rss" \
        'BEGIN { printf "%-12s %10.3f %10.3f %9.2fx %9.2fx %12.1f\n", l, w, c, (bw > 0 ? w / bw : 0), (bc > 0 ? c / bc : 0), m / 1024 }'
done
