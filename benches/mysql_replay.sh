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
# Servers: two throwaway MariaDB servers started by the script with the
# settings of twice's own throwaway server (no log flush at commit, no
# doublewrite, no binary log, no `.frm` sync, `innodb_flush_method=nosync`),
# socket only, as the `twice-sandbox` account when run as root: one with its
# folder on a tmpfs (`/dev/shm`, where twice puts its own throwaway server
# when it can; TWICE_BENCH_TMP to choose another folder) and one on the disk
# (TWICE_BENCH_DISK_TMP, default /var/tmp). Rows, for each size:
#   client tmpfs        the `mariadb` client on the tmpfs server (the
#                       same-server baseline: ratios are to it)
#   client disk         the client on the disk server (what a migration tool
#                       applying to an ordinary server pays; second ratio)
#   defaults            twice --database-url on the tmpfs server
#   no-seed-no-int...   the same with --no-seed --no-interleave
#   own-server          twice without --database-url: its own throwaway
#                       server (in /dev/shm), start-up included
#   start-up            twice on one empty migration with its own server:
#                       what starting and removing the server costs
#   defaults-disk       twice --database-url on the disk server (only with
#                       TWICE_BENCH_TWICE_ON_DISK=1: long at 1,000)
# TWICE_BENCH_MYSQL_URL (mysql://USER:PASSWORD@HOST:PORT/DB, plus a matching
# TWICE_BENCH_MYSQL_CLIENT_ARGS for the client) replaces the tmpfs server,
# and the disk server is then not started. Builds twice in release mode
# first (or set TWICE_BIN to a twice binary to use). MariaDB syntax (`ADD
# COLUMN IF NOT EXISTS`, `CREATE INDEX IF NOT EXISTS`).
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

shm_default=/dev/shm
[ -d "$shm_default" ] && [ -w "$shm_default" ] || shm_default="${TMPDIR:-/tmp}"
work="$(mktemp -d -p "${TWICE_BENCH_TMP:-$shm_default}")"
disk="$(mktemp -d -p "${TWICE_BENCH_DISK_TMP:-/var/tmp}")"
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$work" "$disk"
}
trap cleanup EXIT

# start_server DIR: a throwaway MariaDB in DIR; sets $server_pid.
start_server() {
    local w=$1
    chmod 711 "$w"
    mkdir -p "$w/data" "$w/sock" "$w/nofiles"
    local run_as=()
    if [ "$(id -u)" = 0 ]; then
        id twice-sandbox >/dev/null 2>&1 ||
            useradd --system --user-group --no-create-home --shell /usr/sbin/nologin twice-sandbox
        chown twice-sandbox: "$w/data" "$w/sock"
        run_as=(setpriv --reuid=twice-sandbox --regid=twice-sandbox --clear-groups)
    fi
    local opts=(--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-frm=0
        --innodb-flush-method=nosync --innodb-log-file-size=16M --skip-log-bin)
    "${run_as[@]}" mariadb-install-db --no-defaults --datadir="$w/data" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        "${opts[@]}" >/dev/null
    "${run_as[@]}" mariadbd --no-defaults --datadir="$w/data" --socket="$w/sock/s.sock" \
        --skip-networking --secure-file-priv="$w/nofiles" --local-infile=0 --tmpdir="$w/sock" \
        --innodb-buffer-pool-size=64M "${opts[@]}" \
        --character-set-server=utf8mb4 --skip-name-resolve \
        >"$w/server.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 1 300); do
        [ -S "$w/sock/s.sock" ] && break
        sleep 0.1
    done
}

url="${TWICE_BENCH_MYSQL_URL:-}"
disk_pid=""
if [ -z "$url" ]; then
    start_server "$work"
    tmpfs_pid=$server_pid
    url="mysql://root@localhost/mysql?socket=$work/sock/s.sock"
    client_args=(--no-defaults -S "$work/sock/s.sock" -uroot)
    start_server "$disk"
    disk_pid=$server_pid
    disk_url="mysql://root@localhost/mysql?socket=$disk/sock/s.sock"
    disk_args=(--no-defaults -S "$disk/sock/s.sock" -uroot)
else
    tmpfs_pid=""
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

# CPU seconds (user + system) server PID has used so far; 0 when none.
server_cpu() {
    if [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ]; then
        awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
    else
        echo 0
    fi
}

# measure LABEL SERVER_PID COMMAND...: runs it under /usr/bin/time, appends
# "label wall cpu server_cpu maxrss_kib" to $work/times. Without a server
# pid (twice's own server), the server's CPU is counted in the process's
# (its children: /usr/bin/time counts waited-for children).
measure() {
    local label=$1 pid=$2
    shift 2
    local s0 s1
    s0=$(server_cpu "$pid")
    /usr/bin/time -f "%e %U %S %M" -o "$work/time1" "$@" >/dev/null || true
    s1=$(server_cpu "$pid")
    read -r wall user sys rss <"$work/time1"
    awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v a="$s0" -v b="$s1" \
        'BEGIN { printf "%s %s %.2f %.2f %s\n", l, w, u + s, b - a, r }' >>"$work/times"
}

# apply ARGS...: the client applies $driver into a database created before
# and dropped after, outside the timing.
apply() {
    local label=$1 pid=$2
    shift 2
    local db="twice_bench_$$_${n}_$r"
    "$client" "$@" -e "CREATE DATABASE $db"
    measure "$label" "$pid" "$client" "$@" "$db" <"$driver"
    "$client" "$@" -e "DROP DATABASE $db"
}

mkdir -p "$work/empty"
echo "SELECT 1;" >"$work/empty/001_nothing.sql"
echo "server: $(q -N -e 'SELECT VERSION()'); tmpfs server in $work, disk server in $disk"
printf '%-6s %-24s %8s %8s %10s %9s %12s %10s\n' n what wall_s cpu_s server_cpu maxrss_M "ratio_tmpfs" ratio_disk
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
        apply client-tmpfs "$tmpfs_pid" "${client_args[@]}"
        if [ -n "$disk_pid" ]; then
            apply client-disk "$disk_pid" "${disk_args[@]}"
        fi
        measure defaults "$tmpfs_pid" "$twice" check --engine mysql --database-url "$url" \
            --format json --fail-on never "$dir"
        measure no-seed-no-interleave "$tmpfs_pid" "$twice" check --engine mysql \
            --database-url "$url" --format json --fail-on never --no-seed --no-interleave "$dir"
        measure own-server "" "$twice" check --engine mysql --format json --fail-on never "$dir"
        measure start-up "" "$twice" check --engine mysql --format json --fail-on never \
            "$work/empty"
        if [ -n "$disk_pid" ] && [ "${TWICE_BENCH_TWICE_ON_DISK:-0}" = 1 ]; then
            measure defaults-disk "$disk_pid" "$twice" check --engine mysql \
                --database-url "$disk_url" --format json --fail-on never "$dir"
        fi
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
            base = med(w, "client-tmpfs", c["client-tmpfs"])
            dbase = c["client-disk"] ? med(w, "client-disk", c["client-disk"]) : 0
            split("client-tmpfs client-disk defaults no-seed-no-interleave own-server start-up defaults-disk", order, " ")
            for (i = 1; i <= 7; i++) {
                k = order[i]
                if (!c[k]) continue
                printf "%-6s %-24s %8.2f %8.2f %10.2f %9.1f %11.2fx", n, k, med(w, k, c[k]),
                    med(u, k, c[k]), med(sv, k, c[k]), m[k] / 1024, med(w, k, c[k]) / base
                if (dbase) printf " %9.2fx", med(w, k, c[k]) / dbase
                printf "\n"
            }
        }' "$work/times"
done
