#!/usr/bin/env bash
# Issue 19: the Python wheel, end to end. Builds the twice-sql wheel with
# maturin (python/pyproject.toml), installs it into a fresh virtualenv and
# runs what a user would run from it:
#   twice --version                        -> "twice <Cargo.toml's version>"
#   twice check fixtures/examples/shop     -> exit 1, the README's findings,
#                                             byte for byte what the test
#                                             build of twice prints
# then installs the `twice-py` pre-commit hook (language: python, the shim
# root pyproject.toml + the wheel as its additional dependency) with
# pre-commit itself and runs it on a clean and a dirty file.
#
# Called by .ci/run after the tests (it compares with the twice they built).
# maturin, setuptools and pre-commit come from PyPI.
#   TWICE_WHEEL_PROFILE   cargo profile of the wheel [default: release, the
#                         profile the published wheels are built with]
#   TWICE_WHEEL_KEEP      folder to copy the wheel to (e.g. dist)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "wheel.sh: FAILED: $*" >&2
    exit 1
}

profile=${TWICE_WHEEL_PROFILE:-release}
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
target_dir=${CARGO_TARGET_DIR:-target}
reference="$target_dir/debug/twice"
[ -x "$reference" ] || fail "no test build of twice at $reference: run cargo test (or cargo build) first"

work=$(mktemp -d "${TMPDIR:-/tmp}/twice-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A build with --profile dev would write over target/debug/twice: keep the
# reference aside first.
cp "$reference" "$work/reference-twice"

echo "-- maturin (PyPI)"
python3 -m venv "$work/tools"
"$work/tools/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.5,<2' pre-commit
"$work/tools/bin/maturin" --version

echo "-- build the wheel (cargo profile $profile)"
start=$(date +%s)
# (maturin reads pyproject.toml from the folder it runs in.)
(cd python && "$work/tools/bin/maturin" build --profile "$profile" --out "$work/dist")
end=$(date +%s)
wheels=("$work"/dist/twice_sql-"$version"-*.whl)
[ ${#wheels[@]} = 1 ] && [ -f "${wheels[0]}" ] || fail "expected one twice_sql-$version wheel in $work/dist, found: $(ls "$work/dist")"
wheel=${wheels[0]}
echo "wheel: $(basename "$wheel"), $(wc -c <"$wheel") bytes, built in $((end - start)) s"
if [ -n "${TWICE_WHEEL_KEEP:-}" ]; then
    mkdir -p "$TWICE_WHEEL_KEEP"
    cp "$wheel" "$TWICE_WHEEL_KEEP/"
fi

echo "-- install it into a fresh virtualenv (no index: the wheel needs nothing else)"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index "$wheel"
twice="$work/venv/bin/twice"
[ -x "$twice" ] || fail "the wheel installed no $twice"

got=$("$twice" --version)
[ "$got" = "twice $version" ] || fail "twice --version printed \"$got\", expected \"twice $version\""
echo "twice --version: $got"
# The package's name as a command, for `pipx run twice-sql` / `uvx twice-sql`.
got=$("$work/venv/bin/twice-sql" --version)
[ "$got" = "twice $version" ] || fail "twice-sql --version printed \"$got\", expected \"twice $version\""

# The README's first command, run from the wheel (without GitHub Actions'
# annotations, whatever runs this script).
code=0
env -u GITHUB_ACTIONS NO_COLOR=1 "$twice" check fixtures/examples/shop >"$work/wheel.out" 2>"$work/wheel.err" || code=$?
[ "$code" = 1 ] || fail "twice check fixtures/examples/shop exited $code, expected 1 (findings): $(cat "$work/wheel.err")"
ref_code=0
env -u GITHUB_ACTIONS NO_COLOR=1 "$work/reference-twice" check fixtures/examples/shop >"$work/ref.out" 2>"$work/ref.err" || ref_code=$?
[ "$ref_code" = 1 ] || fail "the test build exited $ref_code on fixtures/examples/shop"
diff -u "$work/ref.out" "$work/wheel.out" >&2 || fail "the wheel's twice prints something else than the test build on fixtures/examples/shop"
grep -q "^error\[create-without-if-not-exists\]: CREATE TABLE customers runs only once" "$work/wheel.out" ||
    fail "no create-without-if-not-exists finding on customers (the README's example)"
summary=$(grep '^twice: checked 4 files, ' "$work/wheel.out") || fail "no summary line for the 4 files of the example"
echo "twice check fixtures/examples/shop: exit 1; $summary"

code=0
"$twice" check --no-replay fixtures/action/clean >/dev/null 2>&1 || code=$?
[ "$code" = 0 ] || fail "twice check on fixtures/action/clean exited $code, expected 0"

echo "-- the twice-py pre-commit hook, installed from the wheel"
# Offline and deterministic: the wheel and setuptools (for the shim) from a
# local folder instead of PyPI.
mkdir -p "$work/links"
cp "$wheel" "$work/links/"
"$work/tools/bin/python" -m pip download -q --disable-pip-version-check -d "$work/links" 'setuptools>=61' wheel
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/links" PRE_COMMIT_HOME="$work/pre-commit"
code=0
"$work/tools/bin/pre-commit" try-repo . twice-py --files fixtures/action/clean/001_select.sql >"$work/pc.out" 2>&1 || code=$?
[ "$code" = 0 ] || fail "pre-commit twice-py on a clean file exited $code: $(cat "$work/pc.out")"
code=0
"$work/tools/bin/pre-commit" try-repo . twice-py --files fixtures/action/dirty/001_stale.sql >"$work/pc.out" 2>&1 || code=$?
[ "$code" = 1 ] || fail "pre-commit twice-py on a dirty file exited $code, expected 1: $(cat "$work/pc.out")"
grep -q unused-suppression "$work/pc.out" || fail "pre-commit twice-py did not print the finding: $(cat "$work/pc.out")"
echo "pre-commit twice-py: clean file passes, dirty file fails with its finding"
echo "wheel: OK"
