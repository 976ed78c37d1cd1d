#!/usr/bin/env bash
# Benchmark: `twice check --engine postgres` on a repository of many migration
# folders with twice's throwaway cluster (no --database-url): the cost of
# starting clusters. Compares, in the same run and interleaved (medians of
# RUNS, CPU time and peak memory too, see benches/compare.sh):
#
# - `base`: TWICE_BASE_BIN, an older twice (one cluster per folder), if set;
# - `j1`: TWICE_BIN with `-j 1` (one cluster for the whole run);
# - `jN`: TWICE_BIN with its default `--jobs` (the cores: sequences side by
#   side, one cluster per thread).
#
#   TWICE_BIN=target/release/twice [TWICE_BASE_BIN=...] benches/postgres_folders.sh [FOLDERS [MIGRATIONS [RUNS]]]
#
# Defaults: 40 folders of 5 migrations, 3 runs. Needs the PostgreSQL server
# binaries (initdb, postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

folders=${1:-40}
per=${2:-5}
runs=${3:-3}
twice="${TWICE_BIN:-$PWD/target/release/twice}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The migrations of benches/postgres_replay.sh: a table with a serial key and
# a foreign key to the previous one, an index, a view, a function, a column
# added later, seed rows; written idempotently.
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
            echo "CREATE OR REPLACE VIEW v$i AS SELECT id, name FROM t$i;"
        } >"$dir/$(printf '%05d' "$i")_m$i.sql"
    done
}

for ((f = 1; f <= folders; f++)); do
    gen "$per" "$work/repo/services/s$f/migrations"
done
echo "$folders folders of $per migrations"

args="--engine postgres --format json --fail-on never $work/repo"
cmds=()
if [ -n "${TWICE_BASE_BIN:-}" ]; then
    cmds+=("base=$TWICE_BASE_BIN check $args")
fi
cmds+=("j1=$twice check -j 1 $args" "jN=$twice check $args")
benches/compare.sh "$runs" "${cmds[@]}"
