#!/usr/bin/env bash
# Benchmark: `twice check --engine mysql` (static rules + replay: every
# migration applied, its second run made on a copy of what it reaches,
# compared; with the defaults also seeding and the write between runs)
# against a plain single apply of the same migrations with the `mariadb` (or
# `mysql`) client (one session, each file sourced in turn, as a migration
# tool does), on the same server with the same settings, in the same run.
#
#   benches/mysql_replay.sh [N ...]        default: 100 1000
#
# For each size: RUNS runs (TWICE_BENCH_RUNS, default 3) of the client apply,
# of twice with its defaults and of twice with `--no-seed --no-interleave`,
# interleaved; prints the median wall time, the median CPU time of the
# process (user + system) and of the server during it, the highest max RSS,
# and the ratio of wall times to the client's.
#
# Uses TWICE_BENCH_MYSQL_URL (mysql://USER:PASSWORD@HOST:PORT/DB, plus a
# matching TWICE_BENCH_MYSQL_CLIENT_ARGS for the client) when set, else starts
# a throwaway MariaDB server in a temporary folder (socket only), as the
# `twice-sandbox` account when run as root, with the settings of twice's own
# throwaway server (no log flush at commit, no doublewrite, no binary log, no
# `.frm` sync, `innodb_flush_method=nosync`), so both sides run on the same
# scratch-server settings. Builds twice in release mode first (or set
# TWICE_BIN to a twice binary to use). MariaDB syntax (`ADD COLUMN IF NOT
# EXISTS`, `CREATE INDEX IF NOT EXISTS`).
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

# TWICE_BENCH_TMP: where the server's folder goes (e.g. /dev/shm, to take the disk
# out of the comparison).
work="$(mktemp -d -p "${TWICE_BENCH_TMP:-${TMPDIR:-/tmp}}")"
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
        --innodb-doublewrite=0 --sync-frm=0 --innodb-flush-method=nosync \
        --character-set-server=utf8mb4 --skip-name-resolve \
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
runs="${TWICE_BENCH_RUNS:-3}"

# CPU seconds (user + system) the server has used so far; 0 when it is not
# ours (a --database-url server).
server_cpu() {
    if [ -n "$server_pid" ] && [ -r "/proc/$server_pid/stat" ]; then
        awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$server_pid/stat"
    else
        echo 0
    fi
}

# measure LABEL COMMAND...: runs it under /usr/bin/time, appends
# "label wall cpu server_cpu maxrss_kib" to $work/times.
measure() {
    local label=$1
    shift
    local s0 s1
    s0=$(server_cpu)
    /usr/bin/time -f "%e %U %S %M" -o "$work/time1" "$@" >/dev/null || true
    s1=$(server_cpu)
    read -r wall user sys rss <"$work/time1"
    awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v a="$s0" -v b="$s1" \
        'BEGIN { printf "%s %s %.2f %.2f %s\n", l, w, u + s, b - a, r }' >>"$work/times"
}

echo "server: $(q -N -e 'SELECT VERSION()')"
printf '%-6s %-28s %9s %9s %10s %9s %8s\n' n what wall_s cpu_s server_cpu maxrss_M ratio
for n in "${sizes[@]}"; do
    dir="$work/corpus$n"
    gen "$n" "$dir"
    # The client: one session, each migration sourced in turn.
    driver="$work/apply$n.sql"
    : >"$driver"
    for f in "$dir"/*.sql; do
        printf 'source %s\n' "$f" >>"$driver"
    done
    : >"$work/times"
    for ((r = 1; r <= runs; r++)); do
        db="twice_bench_$$_${n}_$r"
        q -e "CREATE DATABASE $db"
        measure client "$client" "${client_args[@]}" "$db" <"$driver"
        q -e "DROP DATABASE $db"
        measure defaults "$twice" check --engine mysql --database-url "$url" --format json \
            --fail-on never "$dir"
        measure no-seed-no-interleave "$twice" check --engine mysql --database-url "$url" \
            --format json --fail-on never --no-seed --no-interleave "$dir"
    done
    awk -v n="$n" '
        { k = $1; c[k]++; w[k, c[k]] = $2; u[k, c[k]] = $3; sv[k, c[k]] = $4
          if ($5 > m[k]) m[k] = $5 }
        function med(a, k, cnt,   i, j, t, v) {
            for (i = 1; i <= cnt; i++) v[i] = a[k, i]
            for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++)
                if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
        }
        END {
            base = med(w, "client", c["client"])
            split("client defaults no-seed-no-interleave", order, " ")
            for (i = 1; i <= 3; i++) {
                k = order[i]
                printf "%-6s %-28s %9.2f %9.2f %10.2f %9.1f %7.2fx\n", n, k, med(w, k, c[k]),
                    med(u, k, c[k]), med(sv, k, c[k]), m[k] / 1024, med(w, k, c[k]) / base
            }
        }' "$work/times"
done
