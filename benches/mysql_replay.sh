#!/usr/bin/env bash
# Benchmark: `twice check --engine mysql` (static rules + replay: every
# migration applied, its second run made on a copy of what it reaches,
# compared, the copy dropped) against a plain single apply of the same
# migrations with the `mariadb` (or `mysql`) client (one session, each file
# sourced in turn, as a migration tool does), on the same server, in the same
# run.
#
#   benches/mysql_replay.sh [N ...]        default: 100 1000
#
# Uses TWICE_BENCH_MYSQL_URL (mysql://USER:PASSWORD@HOST:PORT/DB, plus a
# matching TWICE_BENCH_MYSQL_CLIENT_ARGS for the client) when set, else starts
# a throwaway MariaDB server in a temporary folder (socket only), as the
# `twice-sandbox` account when run as root. Builds twice in release mode
# first (or set TWICE_BIN to a twice binary to use). MariaDB syntax
# (`ADD COLUMN IF NOT EXISTS`, `CREATE INDEX IF NOT EXISTS`).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000)

if [ -n "${TWICE_BIN:-}" ]; then
    twice="$TWICE_BIN"
else
    cargo build --release --quiet
    twice="$PWD/target/release/twice"
fi
client="$(command -v mariadb || command -v mysql)"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

url="${TWICE_BENCH_MYSQL_URL:-}"
if [ -z "$url" ]; then
    chmod 711 "$work"
    mkdir -p "$work/data" "$work/sock" "$work/nofiles"
    run_as=()
    if [ "$(id -u)" = 0 ]; then
        id twice-sandbox >/dev/null 2>&1 ||
            useradd --system --user-group --no-create-home --shell /usr/sbin/nologin twice-sandbox
        chown twice-sandbox: "$work/data" "$work/sock"
        run_as=(setpriv --reuid=twice-sandbox --regid=twice-sandbox --clear-groups)
    fi
    "${run_as[@]}" mariadb-install-db --no-defaults --datadir="$work/data" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >/dev/null
    "${run_as[@]}" mariadbd --no-defaults --datadir="$work/data" --socket="$work/sock/s.sock" \
        --skip-networking --secure-file-priv="$work/nofiles" --local-infile=0 --tmpdir="$work/sock" \
        --skip-log-bin --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 \
        --innodb-doublewrite=0 --character-set-server=utf8mb4 --skip-name-resolve \
        >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 300); do
        [ -S "$work/sock/s.sock" ] && break
        sleep 0.1
    done
    url="mysql://root@localhost/mysql?socket=$work/sock/s.sock"
    client_args=(--no-defaults -S "$work/sock/s.sock" -uroot)
else
    read -r -a client_args <<<"${TWICE_BENCH_MYSQL_CLIENT_ARGS:-}"
fi

# A migration as real MySQL folders have them: a table with an
# AUTO_INCREMENT key and a foreign key to the previous one, an index, a view,
# a function in a DELIMITER block, a column added later, seed rows. Written
# idempotently, so replay reports little and the comparison measures the
# mechanics.
gen() {
    local n=$1 dir=$2 i prev
    mkdir -p "$dir"
    for ((i = 1; i <= n; i++)); do
        prev=$((i - 1))
        {
            echo "CREATE TABLE IF NOT EXISTS t$i ("
            echo "    id INT AUTO_INCREMENT PRIMARY KEY,"
            echo "    name VARCHAR(100) NOT NULL UNIQUE,"
            if [ "$prev" -gt 0 ]; then
                echo "    parent_id INT NULL,"
                echo "    FOREIGN KEY (parent_id) REFERENCES t$prev (id),"
            fi
            echo "    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"
            echo ");"
            echo "CREATE INDEX IF NOT EXISTS t${i}_created ON t$i (created_at);"
            echo "ALTER TABLE t$i ADD COLUMN IF NOT EXISTS note TEXT;"
            echo "INSERT INTO t$i (name) SELECT 'seed-$i' FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM t$i WHERE name = 'seed-$i');"
            echo "UPDATE t$i SET note = 'seeded' WHERE name = 'seed-$i';"
            echo "CREATE OR REPLACE VIEW v$i AS SELECT id, name FROM t$i;"
            echo "DELIMITER //"
            echo "CREATE OR REPLACE FUNCTION f$i(x INT) RETURNS INT DETERMINISTIC"
            echo "BEGIN"
            echo "    RETURN x + $i;"
            echo "END //"
            echo "DELIMITER ;"
        } >"$dir/$(printf '%05d' "$i")_m$i.sql"
    done
}

q() { "$client" "${client_args[@]}" "$@"; }
now() { date +%s.%N; }

echo "server: $(q -N -e 'SELECT VERSION()')"
printf '%-10s %12s %12s %8s\n' migrations client_s twice_s ratio
for n in "${sizes[@]}"; do
    dir="$work/corpus$n"
    gen "$n" "$dir"
    # The client: one session, each migration sourced in turn.
    driver="$work/apply$n.sql"
    : >"$driver"
    for f in "$dir"/*.sql; do
        printf 'source %s\n' "$f" >>"$driver"
    done
    db="twice_bench_$$_$n"
    q -e "CREATE DATABASE $db"
    t0=$(now)
    q "$db" <"$driver" >/dev/null
    t1=$(now)
    q -e "DROP DATABASE $db"
    t2=$(now)
    "$twice" check --engine mysql --database-url "$url" --format json --fail-on never "$dir" \
        >"$work/out$n.json" || echo "           (twice exited $?: see its note above)"
    t3=$(now)
    awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
        'BEGIN { printf "%-10s %12.2f %12.2f %7.2fx\n", n, b - a, d - c, (d - c) / (b - a) }'
    findings=$(grep -c '"rule"' "$work/out$n.json" || true)
    echo "           ($findings findings)"
done
