# shellcheck shell=bash
# A PostgreSQL server for the `--engine postgres` tests (issue 8).
#
# Sourced by .ci/run:   source .ci/postgres.sh
#   installs PostgreSQL when its server binaries are missing (apt-get), starts
#   a throwaway cluster in a private temporary folder (Unix socket only, no
#   TCP), exports TWICE_TEST_DATABASE_URL for the tests, and stops and removes
#   the cluster when the sourcing shell exits.
# Or run a command with the server up:   bash .ci/postgres.sh cargo test --test postgres
#
# PostgreSQL refuses to run as root; as root the cluster runs as the `postgres`
# account (created when missing), as any other user it runs as that user.

twice_pg_fail() {
    echo "postgres.sh: $*" >&2
    return 1
}

twice_pg_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    fi
    # Newest Debian/Ubuntu server first.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    done
    if command -v pg_ctl >/dev/null 2>&1; then
        d="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
        if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    fi
    return 1
}

twice_pg_start() {
    local bindir dir run
    if ! bindir="$(twice_pg_bindir)"; then
        echo "postgres.sh: PostgreSQL server binaries not found; installing the postgresql package"
        if [ "$(id -u)" != 0 ]; then
            twice_pg_fail "not root: install PostgreSQL (apt-get install postgresql) and retry" || return 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || twice_pg_fail "apt-get update failed" || return 1
        apt-get install -y -qq postgresql >/dev/null || twice_pg_fail "apt-get install postgresql failed" || return 1
        bindir="$(twice_pg_bindir)" || twice_pg_fail "no initdb/pg_ctl after installing postgresql" || return 1
    fi

    dir="$(mktemp -d "${TMPDIR:-/tmp}/twice-ci-pg.XXXXXX")" || return 1
    chmod 700 "$dir"
    run=()
    if [ "$(id -u)" = 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            useradd --system --user-group --home-dir "$dir" --shell /usr/sbin/nologin postgres \
                || twice_pg_fail "cannot create the postgres account" || return 1
        fi
        chown postgres: "$dir"
        if command -v runuser >/dev/null 2>&1; then
            run=(runuser -u postgres --)
        else
            run=(su postgres -s /bin/sh -c '"$0" "$@"')
        fi
    fi

    if ! "${run[@]}" "$bindir/initdb" -D "$dir/data" -U twice --auth=trust --encoding=UTF8 \
        --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        twice_pg_fail "initdb failed" || return 1
    fi
    cat >>"$dir/data/postgresql.conf" <<EOF
# added by .ci/postgres.sh
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
EOF
    if ! "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s start; then
        cat "$dir/server.log" >&2 || true
        "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -s stop >/dev/null 2>&1 || true
        rm -rf "$dir"
        twice_pg_fail "the server did not start" || return 1
    fi

    TWICE_CI_PG_DIR="$dir"
    TWICE_CI_PG_BINDIR="$bindir"
    TWICE_CI_PG_RUN="${run[*]}"
    export TWICE_TEST_DATABASE_URL="host=$dir port=5432 user=twice dbname=postgres"
    # For the benchmark script and psql.
    export TWICE_CI_PG_BINDIR
    echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running in $dir (socket only)"
}

twice_pg_stop() {
    if [ -n "${TWICE_CI_PG_DIR:-}" ] && [ -d "$TWICE_CI_PG_DIR/data" ]; then
        # shellcheck disable=SC2086
        $TWICE_CI_PG_RUN "$TWICE_CI_PG_BINDIR/pg_ctl" -D "$TWICE_CI_PG_DIR/data" -m immediate -w -s stop \
            >/dev/null 2>&1 || true
        rm -rf "$TWICE_CI_PG_DIR"
    fi
    TWICE_CI_PG_DIR=""
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: start, export, stop when the sourcing shell exits.
    twice_pg_start
    twice_pg_prev_trap="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")"
    # shellcheck disable=SC2064
    trap "twice_pg_stop; ${twice_pg_prev_trap:-:}" EXIT
else
    set -euo pipefail
    twice_pg_start
    trap twice_pg_stop EXIT
    if [ "$#" -gt 0 ]; then
        "$@"
    else
        echo "postgres.sh: TWICE_TEST_DATABASE_URL='$TWICE_TEST_DATABASE_URL' (stopping again: no command given)"
    fi
fi
