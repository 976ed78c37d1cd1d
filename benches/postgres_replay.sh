#!/usr/bin/env bash
# Benchmark: `twice check --engine postgres` (static rules + replay: every
# migration applied, applied again, compared and undone) against a plain single
# apply of the same migrations with psql (one session, one transaction per
# migration, as a migration tool does), on the same server, in the same run.
#
#   benches/postgres_replay.sh [N ...]        default: 100 1000
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
    twice="$PWD/target/release/twice"
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

echo "server: $(q -d "$url" -c 'SHOW server_version')"
printf '%-6s %12s %12s %8s\n' migrations psql_s twice_s ratio
for n in "${sizes[@]}"; do
    dir="$work/corpus$n"
    gen "$n" "$dir"
    # psql: one session, each migration in its own transaction.
    driver="$work/apply$n.sql"
    : >"$driver"
    for f in "$dir"/*.sql; do
        printf 'BEGIN;\n\\i %s\nCOMMIT;\n' "$f" >>"$driver"
    done
    db="twice_bench_$$_$n"
    q -d "$url" -c "CREATE DATABASE $db"
    t0=$(now)
    if [[ "$url" == *=* ]]; then
        q -d "$url dbname=$db" -f "$driver" >/dev/null
    else
        q -d "${url%/*}/$db" -f "$driver" >/dev/null
    fi
    t1=$(now)
    q -d "$url" -c "DROP DATABASE $db"
    t2=$(now)
    "$twice" check --engine postgres --database-url "$url" --format json --fail-on never "$dir" >"$work/out$n.json"
    t3=$(now)
    awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
        'BEGIN { printf "%-10s %12.2f %12.2f %7.2fx\n", n, b - a, d - c, (d - c) / (b - a) }'
    findings=$(grep -c '"rule"' "$work/out$n.json" || true)
    echo "           ($findings findings)"
done
