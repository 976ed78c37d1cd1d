#!/usr/bin/env bash
# Benchmark: `twice check --engine postgres` (static rules + replay: every
# migration applied, applied again, compared and undone) against a plain single
# apply of the same migrations with psql (one session, one transaction per
# migration, as a migration tool does), on the same server, in the same run.
# Each size runs RUNS times (default 3), interleaved: psql, twice with its
# defaults (seeding and the write between runs on), twice --no-seed
# --no-interleave. Printed: medians of wall time, of CPU time (user + system)
# of the client (psql or twice) and of the server (the backends that served
# it, read from the postmaster's children; "-" when the server's data folder
# is not readable here), their ratios to psql, and the highest max RSS of the
# client.
#
#   benches/postgres_replay.sh [N ...]        default: 100 1000
#   RUNS=5 benches/postgres_replay.sh 100
#   SHAPE=withdraw benches/postgres_replay.sh 100 300
#
# SHAPE=withdraw adds what makes twice withdraw its synthetic rows before
# most migrations (openmeter's history does): each migration makes the
# previous migration's table `e` hold at most one row (a unique index on a
# constant: empty in a plain apply, so it runs; among synthetic rows its
# first run fails, the rows are withdrawn and it runs again) and deletes rows
# of an earlier table. A withdrawal that grows with the history shows as a
# ratio that grows with N.
#
# Uses TWICE_BENCH_DATABASE_URL or TWICE_TEST_DATABASE_URL when set (libpq
# key=value or URL form; the role needs CREATEDB), else starts a throwaway
# server with .ci/postgres.sh. Builds twice in release mode first (or set
# TWICE_BIN to a twice binary to use).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000)

url="${TWICE_BENCH_DATABASE_URL:-${TWICE_TEST_DATABASE_URL:-}}"
if [ -z "$url" ]; then
    # shellcheck source=/dev/null
    source .ci/postgres.sh
    url="$TWICE_TEST_DATABASE_URL"
fi
psql_bin="$(command -v psql || echo "${TWICE_CI_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql")"

if [ -n "${TWICE_BIN:-}" ]; then
    twice="$TWICE_BIN"
else
    cargo build --release --quiet
    twice="${CARGO_TARGET_DIR:-$PWD/target}/release/twice"
fi

work="$(mktemp -d)"
# Keeps the server's own cleanup (set when .ci/postgres.sh was sourced).
trap 'rm -rf "$work"; if declare -F twice_pg_stop >/dev/null; then twice_pg_stop; fi' EXIT

# A migration as real folders have them: a table with a serial key and a
# foreign key to the previous one, an index, a view, a function, a column
# added later, seed rows. Written idempotently, so replay reports little and
# the comparison measures the mechanics.
gen() {
    local n=$1 dir=$2 i prev
    mkdir -p "$dir"
    for ((i = 1; i <= n; i++)); do
        prev=$((i - 1))
        {
            echo "CREATE TABLE IF NOT EXISTS t$i ("
            echo "    id serial PRIMARY KEY,"
            echo "    name text NOT NULL UNIQUE,"
            if [ "$prev" -gt 0 ]; then echo "    parent_id integer REFERENCES t$prev (id),"; fi
            echo "    created_at timestamptz NOT NULL DEFAULT now()"
            echo ");"
            echo "CREATE INDEX IF NOT EXISTS t${i}_created ON t$i (created_at);"
            echo "ALTER TABLE t$i ADD COLUMN IF NOT EXISTS note text;"
            echo "INSERT INTO t$i (name) SELECT 'seed-$i' WHERE NOT EXISTS (SELECT 1 FROM t$i WHERE name = 'seed-$i');"
            echo "UPDATE t$i SET note = 'seeded' WHERE name = 'seed-$i';"
            echo "CREATE OR REPLACE VIEW v$i AS SELECT id, name FROM t$i;"
            if [ "${SHAPE:-}" = withdraw ]; then
                echo "CREATE TABLE IF NOT EXISTS e$i (id serial PRIMARY KEY, label text NOT NULL);"
                if [ "$prev" -gt 0 ]; then
                    echo "CREATE UNIQUE INDEX IF NOT EXISTS e${prev}_one ON e$prev ((true));"
                fi
                if [ "$i" -gt 2 ]; then
                    echo "DELETE FROM t$((i - 2)) WHERE name <> 'seed-$((i - 2))';"
                fi
            fi
            echo "CREATE OR REPLACE FUNCTION f$i(x integer) RETURNS integer LANGUAGE plpgsql AS \$\$"
            echo "BEGIN"
            echo "    RETURN x + $i;"
            echo "END;"
            echo "\$\$;"
        } >"$dir/$(printf '%05d' "$i")_m$i.sql"
    done
}

q() { "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
runs="${RUNS:-3}"

# The server's CPU time: the postmaster's reaped children (backends that
# ended) plus its live children (checkpointer, writers), in clock ticks.
datadir="${TWICE_CI_PG_DIR:+$TWICE_CI_PG_DIR/data}"
[ -n "$datadir" ] || datadir="$(q -d "$url" -c 'SHOW data_directory' 2>/dev/null || true)"
pm_pid=""
if [ -n "$datadir" ] && [ -r "$datadir/postmaster.pid" ]; then
    pm_pid="$(head -1 "$datadir/postmaster.pid")"
fi
tck="$(getconf CLK_TCK)"
server_ticks() {
    [ -n "$pm_pid" ] || { echo -1; return; }
    local t c
    t=$(awk '{print $16 + $17}' "/proc/$pm_pid/stat")
    for c in $(cat "/proc/$pm_pid/task/$pm_pid/children" 2>/dev/null); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# Runs "$@" under /usr/bin/time; appends "wall client_cpu server_cpu rss_kib".
measure() {
    local out=$1 s0 s1 t0 t1
    shift
    s0=$(server_ticks)
    t0=$(now)
    /usr/bin/time -f '%U %S %M' -o "$work/time" "$@" >"$work/stdout"
    t1=$(now)
    # Backends end just after their client: let the postmaster reap them.
    sleep 0.3
    s1=$(server_ticks)
    awk -v a="$t0" -v b="$t1" -v s0="$s0" -v s1="$s1" -v hz="$tck" \
        '{ printf "%.3f %.3f %s %d\n", b - a, $1 + $2, (s0 < 0 ? "-" : sprintf("%.2f", (s1 - s0) / hz)), $3 }' \
        "$work/time" >>"$out"
}

median() {
    sort -n | awk '{a[NR] = $1} END { if (NR == 0 || a[1] == "-") print "-"; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

echo "server: $(q -d "$url" -c 'SHOW server_version'), twice: $("$twice" --version), $runs runs per size${SHAPE:+, shape $SHAPE}"
printf '%-6s %-22s %8s %8s %8s %9s %9s %9s\n' size what wall_s cpu_s srv_s wall/psql cpu+srv MiB
for n in "${sizes[@]}"; do
    dir="$work/corpus$n"
    gen "$n" "$dir"
    # psql: one session, each migration in its own transaction.
    driver="$work/apply$n.sql"
    : >"$driver"
    for f in "$dir"/*.sql; do
        printf 'BEGIN;\n\\i %s\nCOMMIT;\n' "$f" >>"$driver"
    done
    rm -f "$work/psql$n" "$work/psqldb$n" "$work/def$n" "$work/bare$n"
    for ((r = 0; r < runs; r++)); do
        db="twice_bench_$$_$n"
        c0=$(now)
        q -d "$url" -c "CREATE DATABASE $db"
        c1=$(now)
        if [[ "$url" == *=* ]]; then
            measure "$work/psql$n" "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "$url dbname=$db" -f "$driver"
        else
            measure "$work/psql$n" "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "${url%/*}/$db" -f "$driver"
        fi
        d0=$(now)
        q -d "$url" -c "DROP DATABASE $db"
        d1=$(now)
        # psql's apply with the database created and dropped around it, as
        # twice does with its scratch database.
        awk -v c="$(tail -1 "$work/psql$n" | awk '{print $1}')" -v a="$c0" -v b="$c1" -v x="$d0" -v y="$d1" \
            'BEGIN { printf "%.3f\n", c + (b - a) + (y - x) }' >>"$work/psqldb$n"
        measure "$work/def$n" "$twice" check --engine postgres --database-url "$url" --format json --fail-on never "$dir"
        cp "$work/stdout" "$work/out$n.json"
        measure "$work/bare$n" "$twice" check --engine postgres --database-url "$url" --format json --fail-on never \
            --no-seed --no-interleave "$dir"
    done
    pw=$(awk '{print $1}' "$work/psql$n" | median)
    pc=$(awk '{print $2 + ($3 == "-" ? 0 : $3)}' "$work/psql$n" | median)
    for what in psql def bare; do
        f="$work/$what$n"
        case $what in
            psql) label="psql apply" ;;
            def) label="twice (defaults)" ;;
            bare) label="twice --no-seed/-inter." ;;
        esac
        awk -v n="$n" -v l="$label" -v w="$(awk '{print $1}' "$f" | median)" \
            -v c="$(awk '{print $2}' "$f" | median)" -v s="$(awk '{print $3}' "$f" | median)" \
            -v cs="$(awk '{print $2 + ($3 == "-" ? 0 : $3)}' "$f" | median)" \
            -v m="$(awk '{print $4}' "$f" | sort -n | tail -1)" -v pw="$pw" -v pc="$pc" \
            'BEGIN { printf "%-6s %-22s %8.2f %8.2f %8s %8.2fx %8.2fx %9.1f\n", n, l, w, c, s, w / pw, cs / pc, m / 1024 }'
    done
    pdb=$(median <"$work/psqldb$n")
    awk -v n="$n" -v p="$pdb" -v w="$(awk '{print $1}' "$work/def$n" | median)" \
        -v b="$(awk '{print $1}' "$work/bare$n" | median)" \
        'BEGIN { printf "%-6s %-22s %8.2f %35s\n", n, "psql + create/drop db", p, sprintf("twice/this: %.2fx, %.2fx bare", w / p, b / p) }'
    findings=$(grep -c '"rule"' "$work/out$n.json" || true)
    echo "       ($findings findings with the defaults)"
done
