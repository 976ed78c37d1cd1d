#!/usr/bin/env bash
# The shell side of the twice GitHub Action (action.yml). It runs the same
# way on a laptop:
#
#   scripts/twice-action.sh install   # cargo install twice
#   scripts/twice-action.sh run       # twice check (+ SARIF), outputs, exit code
#
# Inputs come from environment variables, as action.yml sets them:
#   INPUT_PATHS         files or folders to check, split on blanks/newlines
#                       (quotes work as in a shell) [default: .]
#   INPUT_ARGS          extra `twice check` arguments, split the same way
#   INPUT_VERSION       install: git tag, branch or commit of twice; empty
#                       installs the checkout this script belongs to
#   INPUT_UPLOAD_SARIF  run: "true" also writes a SARIF report
#   INPUT_SARIF_FILE    run: where the SARIF report goes [default: twice.sarif]
# and, from the runner or for tests:
#   GITHUB_OUTPUT       file that receives the step outputs (exit-code, sarif-file)
#   GITHUB_PATH         file that receives folders to add to PATH
#   GITHUB_ACTION_PATH  the action's checkout [default: this script's repository]
#   TWICE_ACTION_REPOSITORY  owner/name to install from with INPUT_VERSION
#   TWICE_ACTION_REPO_URL    full git URL (overrides the above)
#   TWICE_ACTION_DEFER_EXIT  "1": `run` exits 0 and leaves failing to a later
#                            step (so the SARIF upload still happens)
#   TWICE_ACTION_DRY_RUN     "1": `install` prints the cargo command only
#
# Exit codes of `run` are twice's: 0 clean, 1 findings at or above
# --fail-on, 2 twice (or this script) could not do its job.
set -euo pipefail

die() {
    echo "twice-action: error: $*" >&2
    exit 2
}

note() {
    echo "twice-action: $*" >&2
}

# Appends name=value to the step outputs.
output() {
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
    fi
}

# Splits $1 into the WORDS array like a shell would (quotes, backslashes),
# without running or expanding anything.
split_words() {
    WORDS=()
    local tmp
    tmp=$(mktemp)
    if ! printf '%s' "$1" | xargs -r printf '%s\0' >"$tmp" 2>"$tmp.err"; then
        local why
        why=$(cat "$tmp.err")
        rm -f "$tmp" "$tmp.err"
        die "cannot split \"$1\" into words: ${why:-unbalanced quotes}"
    fi
    local w
    while IFS= read -r -d '' w; do
        WORDS+=("$w")
    done <"$tmp"
    rm -f "$tmp" "$tmp.err"
}

action_path() {
    if [ -n "${GITHUB_ACTION_PATH:-}" ]; then
        printf '%s' "$GITHUB_ACTION_PATH"
    else
        (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    fi
}

cmd_install() {
    local version="${INPUT_VERSION:-}"
    local -a cmd
    if [ -z "$version" ]; then
        local src
        src=$(action_path)
        [ -f "$src/Cargo.toml" ] || die "no Cargo.toml in $src: set the version input to a tag, branch or commit of twice"
        cmd=(cargo install --locked --force --path "$src")
    else
        local url="${TWICE_ACTION_REPO_URL:-https://github.com/${TWICE_ACTION_REPOSITORY:-twice-sql/twice}}"
        local -a ref
        if [[ $version =~ ^[0-9a-fA-F]{7,40}$ ]]; then
            ref=(--rev "$version")
        elif git ls-remote --exit-code --tags "$url" "refs/tags/$version" >/dev/null 2>&1; then
            ref=(--tag "$version")
        elif git ls-remote --exit-code --heads "$url" "refs/heads/$version" >/dev/null 2>&1; then
            ref=(--branch "$version")
        else
            die "version \"$version\" is not a commit, tag or branch of $url"
        fi
        cmd=(cargo install --locked --force --git "$url" "${ref[@]}" twice)
    fi
    if [ "${TWICE_ACTION_DRY_RUN:-}" = 1 ]; then
        printf '%q ' "${cmd[@]}"
        echo
        return 0
    fi
    command -v cargo >/dev/null 2>&1 ||
        die "cargo is not installed: add a Rust toolchain step (for example dtolnay/rust-toolchain@stable) before this action"
    "${cmd[@]}"
    local bin="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
    if [ -n "${GITHUB_PATH:-}" ]; then
        echo "$bin" >>"$GITHUB_PATH"
    fi
    PATH="$bin:$PATH" twice --version
}

cmd_run() {
    command -v twice >/dev/null 2>&1 ||
        die "twice is not on PATH: run \`$0 install\` first (or set the action's install input to true)"
    split_words "${INPUT_PATHS:-.}"
    local -a paths=(.)
    if [ ${#WORDS[@]} -gt 0 ]; then
        paths=("${WORDS[@]}")
    fi
    split_words "${INPUT_ARGS:-}"
    # (`${a[@]+"${a[@]}"}` keeps empty arrays working under `set -u` in bash 3.)
    local -a args=()
    if [ ${#WORDS[@]} -gt 0 ]; then
        args=("${WORDS[@]}")
    fi

    local code=0
    echo "+ twice check ${args[*]+${args[*]}} ${paths[*]}" >&2
    twice check ${args[@]+"${args[@]}"} -- "${paths[@]}" || code=$?
    output exit-code "$code"

    if [ "${INPUT_UPLOAD_SARIF:-false}" = true ] && [ "$code" -ne 2 ]; then
        local sarif="${INPUT_SARIF_FILE:-twice.sarif}"
        case "$sarif" in
        /*) ;;
        *) sarif="$PWD/$sarif" ;;
        esac
        # The same check once more, as SARIF: drop any --format the user gave.
        local -a sarif_args=()
        local skip=0 a
        for a in ${args[@]+"${args[@]}"}; do
            if [ $skip = 1 ]; then
                skip=0
                continue
            fi
            case "$a" in
            --format) skip=1 ;;
            --format=*) ;;
            *) sarif_args+=("$a") ;;
            esac
        done
        local sarif_code=0
        twice check ${sarif_args[@]+"${sarif_args[@]}"} --format sarif -- "${paths[@]}" >"$sarif" || sarif_code=$?
        if [ "$sarif_code" -eq 2 ]; then
            note "warning: twice could not write the SARIF report (exit code 2); nothing to upload"
            rm -f "$sarif"
        else
            output sarif-file "$sarif"
            note "SARIF report: $sarif"
        fi
    fi

    if [ "$code" -ne 0 ]; then
        note "twice exited with code $code"
    fi
    if [ "${TWICE_ACTION_DEFER_EXIT:-}" = 1 ]; then
        return 0
    fi
    return "$code"
}

case "${1:-}" in
install) cmd_install ;;
run) cmd_run ;;
*)
    echo "usage: $0 install|run   (inputs in INPUT_* variables; see the top of this file)" >&2
    exit 2
    ;;
esac
