#!/usr/bin/env bash
# Runs commands side by side, interleaved (A B C A B C ...), and prints for
# each the median wall time, the median CPU time (user + system), the median
# and the highest peak resident memory (max RSS), with the ratios of the
# medians to the first one.
#
# Wall time is taken by the shell's microsecond clock around each run
# (time(1)'s own figure counts in 10 ms steps, too coarse for runs of tens
# of milliseconds); it includes starting bash and time(1), about a
# millisecond, the same for every command: add 'none=true' to see it. CPU
# time is time(1)'s (10 ms steps).
#
#   benches/compare.sh RUNS 'label=command' 'label=command' ...
#
# Each command runs through `bash -c` under /usr/bin/time, its output thrown
# away; the first command is the baseline. Used by benches/README.md for the
# `--jobs` and cluster-reuse figures, e.g.
#
#   benches/compare.sh 5 "j1=twice check -j 1 --no-replay corpus" "j2=twice check -j 2 --no-replay corpus"
#
# Max RSS counts the executable's pages that are mapped, and how many of them
# a run maps depends on how the file sits in the page cache (written by the
# linker or by cp, read back in pieces of which size): to compare binaries,
# name them in EVICT (paths separated by spaces) and each is dropped from the
# page cache before the first run, so that all are read back the same way:
#
#   EVICT="/tmp/base/twice target/release/twice" benches/compare.sh 9 ...
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
for f in ${EVICT:-}; do
    sync "$f" # dirty pages (a binary just linked) are not dropped
    dd if="$f" iflag=nocache count=0 status=none
done

for ((r = 0; r < runs; r++)); do
    for i in "${!cmds[@]}"; do
        start=$EPOCHREALTIME
        /usr/bin/time -f '%e %U %S %M' -o "$work/t" bash -c "${cmds[$i]}" >/dev/null 2>&1 || true
        end=$EPOCHREALTIME
        # time(1) adds a "Command exited with non-zero status N" line before
        # the figures when the command fails (twice check exits 1 on
        # findings): keep the figures' line only, its wall time replaced by
        # the finer one.
        grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$work/t" |
            awk -v s="$start" -v e="$end" '{ printf "%.6f %s %s %s\n", e - s, $2, $3, $4 }' >>"$work/$i" || true
    done
done

printf '%-12s %10s %10s %10s %10s %12s %12s %10s\n' what wall_ms cpu_s wall/base cpu/base rss_med_MiB rss_max_MiB rss/base
base_wall=""
base_cpu=""
base_rss=""
for i in "${!cmds[@]}"; do
    wall=$(awk '{print $1}' "$work/$i" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    cpu=$(awk '{print $2 + $3}' "$work/$i" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    rss_med=$(awk '{print $4}' "$work/$i" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    rss=$(awk '{print $4}' "$work/$i" | sort -n | tail -1)
    [ -n "$base_wall" ] || { base_wall=$wall; base_cpu=$cpu; base_rss=$rss_med; }
    awk -v l="${labels[$i]}" -v w="$wall" -v c="$cpu" -v bw="$base_wall" -v bc="$base_cpu" \
        -v mm="$rss_med" -v m="$rss" -v bm="$base_rss" \
        'BEGIN { printf "%-12s %10.1f %10.3f %9.2fx %9.2fx %12.1f %12.1f %9.3fx\n", l, w * 1000, c, (bw > 0 ? w / bw : 0), (bc > 0 ? c / bc : 0), mm / 1024, m / 1024, (bm > 0 ? mm / bm : 0) }'
done
