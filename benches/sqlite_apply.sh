#!/usr/bin/env bash
# The plain-apply baseline with the SQLite twice bundles (libsqlite3-sys's
# amalgamation, the version in Cargo.lock, built with its flags and -O3 as
# cargo's release profile builds it; foreign keys off by default, as in the
# `sqlite3` shell and as twice's sandbox sets them):
#
#   benches/sqlite_apply.sh build            # prints the binary's path
#   benches/sqlite_apply.sh prepare DIR OUT  # every up of DIR in order, each in BEGIN; ... COMMIT;
#   target/sqlite-apply OUT                  # the apply itself (what benches/compare.sh times)
#
# `prepare` takes the `.up.sql` files (or, without any, every `.sql` file but
# `.down.sql`) in version order, as popx and the plain layout read them.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
build)
    out="${CARGO_TARGET_DIR:-$here/target}/sqlite-apply"
    version=$(awk '/^name = "libsqlite3-sys"/ { getline; gsub(/[" ]/, "", $0); sub(/version=/, "", $0); print }' "$here/Cargo.lock")
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"libsqlite3-sys-$version"/sqlite3 | head -1)
    if [ ! -x "$out" ] || [ "$src/sqlite3.c" -nt "$out" ]; then
        cc -O3 -I"$src" \
            -DSQLITE_CORE -DSQLITE_ENABLE_API_ARMOR -DSQLITE_ENABLE_COLUMN_METADATA \
            -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS \
            -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_JSON1 -DSQLITE_ENABLE_LOAD_EXTENSION=1 \
            -DSQLITE_ENABLE_MEMORY_MANAGEMENT -DSQLITE_ENABLE_RTREE -DSQLITE_ENABLE_STAT4 \
            -DSQLITE_SOUNDEX -DSQLITE_THREADSAFE=1 -DSQLITE_USE_URI -DHAVE_USLEEP=1 -DHAVE_ISNAN \
            -D_POSIX_THREAD_SAFE_FUNCTIONS -DHAVE_LOCALTIME_R \
            -o "$out" "$here/benches/support/sqlite_apply.c" "$src/sqlite3.c" -lpthread -ldl -lm
    fi
    echo "$out"
    ;;
prepare)
    dir=$2
    out=$3
    mapfile -t ups < <(find "$dir" -name '*.up.sql' | sort)
    if [ "${#ups[@]}" -eq 0 ]; then
        mapfile -t ups < <(find "$dir" -name '*.sql' ! -name '*.down.sql' | sort -V)
    fi
    : >"$out"
    for f in "${ups[@]}"; do
        { echo "BEGIN;"; cat "$f"; echo "COMMIT;"; } >>"$out"
    done
    echo "$out: ${#ups[@]} migrations"
    ;;
*)
    echo "usage: benches/sqlite_apply.sh build | prepare DIR OUT" >&2
    exit 2
    ;;
esac
