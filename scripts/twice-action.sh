#!/usr/bin/env bash
# The shell side of the twice GitHub Action (action.yml). It runs the same
# way on a laptop:
#
#   scripts/twice-action.sh resolve   # which twice, for which platform, where
#   scripts/twice-action.sh install   # the release binary (checksum verified),
#                                     # else cargo install; skipped when cached
#   scripts/twice-action.sh run       # twice check (+ SARIF), outputs, exit code
#
# Inputs come from environment variables, as action.yml sets them:
#   INPUT_PATHS         files or folders to check, split on blanks/newlines
#                       (quotes work as in a shell) [default: .]
#   INPUT_SINCE         `--since REF`: "auto" (default) is the pull request's
#                       base branch on pull_request events and nothing
#                       otherwise; "" or "none" checks everything; else a REF
#   INPUT_FORMAT        `--format` of the log (human, json, sarif, github, gitlab)
#   INPUT_FAIL_ON       `--fail-on` (error, warning, never)
#   INPUT_ARGS          extra `twice check` arguments, split the same way
#   INPUT_VERSION       which twice: empty is the version in the action's own
#                       Cargo.toml; X.Y.Z or vX.Y.Z a release; "source" builds
#                       the action's checkout; anything else is a git tag,
#                       branch or commit, built with cargo
#   INPUT_UPLOAD_SARIF  run: "true" also writes a SARIF report
#   INPUT_SARIF_FILE    run: where the SARIF report goes [default: twice.sarif]
# and, from the runner or for tests:
#   GITHUB_OUTPUT       file that receives the step outputs
#   GITHUB_PATH         file that receives folders to add to PATH
#   GITHUB_ACTION_PATH  the action's checkout [default: this script's repository]
#   GITHUB_EVENT_NAME, GITHUB_BASE_REF   the event, for INPUT_SINCE=auto
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE   platform and install folder
#   TWICE_ACTION_REPOSITORY  owner/name releases and sources come from
#                            [default: twice-sql/twice]
#   TWICE_ACTION_REPO_URL    full git URL of the sources (overrides the above)
#   TWICE_ACTION_RELEASE_URL base URL of the release downloads (tests use
#                            file://) [default: https://github.com/OWNER/NAME/releases/download]
#   TWICE_ACTION_INSTALL_DIR where twice goes (its bin/ is added to PATH)
#   TWICE_ACTION_TARGET      Rust target triple of the binary to download
#   TWICE_ACTION_DEFER_EXIT  "1": `run` exits 0 and leaves failing to a later
#                            step (so the SARIF upload still happens)
#   TWICE_ACTION_DRY_RUN     "1": `install` prints the cargo command instead
#                            of running it (the download still happens)
#
# Release assets (.github/workflows/release.yml makes them):
#   twice-sql-vX.Y.Z-TARGET.tar.gz (.zip on Windows) holding
#   twice-sql-vX.Y.Z-TARGET/twice[.exe], and TARGET's .sha256 beside it.
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

repository() {
    printf '%s' "${TWICE_ACTION_REPOSITORY:-twice-sql/twice}"
}

# The Rust target triple of the release binary for this runner.
target_triple() {
    if [ -n "${TWICE_ACTION_TARGET:-}" ]; then
        printf '%s' "$TWICE_ACTION_TARGET"
        return 0
    fi
    local os="${RUNNER_OS:-}" arch="${RUNNER_ARCH:-}"
    if [ -z "$os" ]; then
        case "$(uname -s)" in
        Linux) os=Linux ;;
        Darwin) os=macOS ;;
        MINGW* | MSYS* | CYGWIN*) os=Windows ;;
        *) os=$(uname -s) ;;
        esac
    fi
    if [ -z "$arch" ]; then
        case "$(uname -m)" in
        x86_64 | amd64) arch=X64 ;;
        aarch64 | arm64) arch=ARM64 ;;
        *) arch=$(uname -m) ;;
        esac
    fi
    case "$os/$arch" in
    Linux/X64) printf x86_64-unknown-linux-musl ;;
    Linux/ARM64) printf aarch64-unknown-linux-musl ;;
    macOS/X64) printf x86_64-apple-darwin ;;
    macOS/ARM64) printf aarch64-apple-darwin ;;
    Windows/X64) printf x86_64-pc-windows-msvc ;;
    *) printf 'unsupported-%s-%s' "$os" "$arch" ;;
    esac
}

# The package version in a Cargo.toml (the first `version = "..."` line).
cargo_version() {
    sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$1" | head -n 1
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    else
        die "neither sha256sum nor shasum is installed: cannot verify the download"
    fi
}

# A hash of the files cargo would build from a checkout, for cache keys.
tree_hash() {
    local dir=$1 list
    list=$(cd "$dir" && find Cargo.toml Cargo.lock src -type f 2>/dev/null | LC_ALL=C sort)
    [ -n "$list" ] || {
        printf none
        return 0
    }
    local tmp
    tmp=$(mktemp)
    (cd "$dir" && while IFS= read -r f; do
        printf '%s %s\n' "$(sha256_of "$f")" "$f"
    done <<<"$list") >"$tmp"
    sha256_of "$tmp" | cut -c 1-16
    rm -f "$tmp"
}

# Decides what to install and sets, as globals:
#   KIND      release | path | git
#   VERSION   X.Y.Z (release), the git ref (git) or the checkout's version (path)
#   TARGET    Rust target triple
#   KEY       cache key (the same key always means the same binary)
#   DIR       install folder; the binary goes in DIR/bin
#   CARGO_CMD the cargo command of the fallback (or of a source build)
resolve() {
    local version="${INPUT_VERSION:-}" src url
    src=$(action_path)
    TARGET=$(target_triple)
    url="${TWICE_ACTION_REPO_URL:-https://github.com/$(repository)}"
    case "$version" in
    "")
        [ -f "$src/Cargo.toml" ] || die "no Cargo.toml in $src: set the version input to a release (for example 0.1.0)"
        VERSION=$(cargo_version "$src/Cargo.toml")
        [ -n "$VERSION" ] || die "no version in $src/Cargo.toml: set the version input to a release (for example 0.1.0)"
        KIND=release
        CARGO_CMD=(cargo install --locked --force --root DIR --path "$src")
        ;;
    source)
        [ -f "$src/Cargo.toml" ] || die "no Cargo.toml in $src: version \"source\" builds the action's own checkout"
        VERSION=$(cargo_version "$src/Cargo.toml")
        KIND=path
        CARGO_CMD=(cargo install --locked --force --root DIR --path "$src")
        ;;
    *)
        if [[ $version =~ ^v?([0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?)$ ]]; then
            VERSION=${BASH_REMATCH[1]}
            KIND=release
            CARGO_CMD=(cargo install --locked --force --root DIR twice-sql --version "=$VERSION")
        else
            local -a ref
            if [[ $version =~ ^[0-9a-fA-F]{7,40}$ ]]; then
                ref=(--rev "$version")
            elif git ls-remote --exit-code --tags "$url" "refs/tags/$version" >/dev/null 2>&1; then
                ref=(--tag "$version")
            elif git ls-remote --exit-code --heads "$url" "refs/heads/$version" >/dev/null 2>&1; then
                ref=(--branch "$version")
            else
                die "version \"$version\" is not a release (X.Y.Z), a commit, a tag or a branch of $url"
            fi
            VERSION=$version
            KIND=git
            CARGO_CMD=(cargo install --locked --force --root DIR --git "$url" "${ref[@]}" twice-sql)
        fi
        ;;
    esac
    case "$KIND" in
    release) KEY="twice-sql-v$VERSION-$TARGET" ;;
    path) KEY="twice-sql-src-$VERSION-$(tree_hash "$src")-$TARGET" ;;
    git)
        # A branch moves: key by the commit it is at now.
        local commit=$version
        if [ "${ref[0]}" != --rev ]; then
            commit=$(git ls-remote "$url" "$version" 2>/dev/null | head -n 1 | cut -f 1)
        fi
        KEY="twice-sql-git-${commit:-$version}-$TARGET"
        ;;
    esac
    KEY=${KEY//[^A-Za-z0-9._-]/_}
    DIR="${TWICE_ACTION_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-${HOME:-/tmp}/.cache}/twice-sql/$KEY}"
    local i
    for i in "${!CARGO_CMD[@]}"; do
        if [ "${CARGO_CMD[$i]}" = DIR ]; then
            CARGO_CMD[i]=$DIR
        fi
    done
}

cmd_resolve() {
    resolve
    output key "$KEY"
    output dir "$DIR"
    output target "$TARGET"
    output version "$VERSION"
    echo "twice-sql $VERSION ($KIND) for $TARGET in $DIR (cache key $KEY)"
}

# The binary installed in DIR/bin, or nothing.
installed_binary() {
    local b
    for b in "$DIR/bin/twice" "$DIR/bin/twice.exe"; do
        if [ -x "$b" ]; then
            printf '%s' "$b"
            return 0
        fi
    done
    return 1
}

# Downloads and verifies the release archive into DIR/bin. Returns 1 (with a
# note) when there is no such release asset; dies on a bad checksum.
download_release() {
    local ext=tar.gz
    case "$TARGET" in
    *windows*) ext=zip ;;
    esac
    local name="twice-sql-v$VERSION-$TARGET"
    local base="${TWICE_ACTION_RELEASE_URL:-https://github.com/$(repository)/releases/download}"
    local url="$base/v$VERSION/$name.$ext"
    command -v curl >/dev/null 2>&1 || {
        note "curl is not installed: cannot download $url"
        return 1
    }
    local tmp
    tmp=$(mktemp -d)
    if ! curl -fsSL --retry 3 --retry-delay 2 -o "$tmp/$name.$ext" "$url" 2>"$tmp/err"; then
        note "no release binary at $url ($(tr '\n' ' ' <"$tmp/err" | sed 's/ *$//'))"
        rm -rf "$tmp"
        return 1
    fi
    if ! curl -fsSL --retry 3 --retry-delay 2 -o "$tmp/$name.$ext.sha256" "$url.sha256" 2>"$tmp/err"; then
        rm -rf "$tmp"
        die "the release has $name.$ext but no $name.$ext.sha256 beside it: not installing a binary that cannot be verified"
    fi
    local want got
    want=$(tr -d '\r' <"$tmp/$name.$ext.sha256" | awk 'NR == 1 { print tolower($1) }')
    got=$(sha256_of "$tmp/$name.$ext")
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        rm -rf "$tmp"
        die "checksum mismatch for $url: expected ${want:-nothing}, got $got; not installing it"
    fi
    note "verified $name.$ext (sha256 $got)"
    mkdir -p "$tmp/x"
    case "$ext" in
    zip)
        if command -v unzip >/dev/null 2>&1; then
            unzip -q "$tmp/$name.$ext" -d "$tmp/x"
        elif command -v 7z >/dev/null 2>&1; then
            7z x -bd -o"$tmp/x" "$tmp/$name.$ext" >/dev/null
        else
            rm -rf "$tmp"
            die "neither unzip nor 7z is installed: cannot unpack $name.$ext"
        fi
        ;;
    *) tar -xzf "$tmp/$name.$ext" -C "$tmp/x" ;;
    esac
    local bin
    bin=$(find "$tmp/x" -type f \( -name twice -o -name twice.exe \) | head -n 1)
    if [ -z "$bin" ]; then
        rm -rf "$tmp"
        die "$name.$ext holds no twice binary"
    fi
    mkdir -p "$DIR/bin"
    cp "$bin" "$DIR/bin/"
    chmod +x "$DIR/bin/$(basename "$bin")"
    rm -rf "$tmp"
    return 0
}

cmd_install() {
    resolve
    output dir "$DIR"
    local how
    if installed_binary >/dev/null; then
        how="cached in $DIR"
    else
        if [ "$KIND" = release ] && download_release; then
            how="release v$VERSION for $TARGET"
        else
            if [ "$KIND" = release ]; then
                note "building twice-sql $VERSION with cargo instead (the result is cached under key $KEY)"
            fi
            if [ "${TWICE_ACTION_DRY_RUN:-}" = 1 ]; then
                printf '%q ' "${CARGO_CMD[@]}"
                echo
                return 0
            fi
            command -v cargo >/dev/null 2>&1 ||
                die "no release binary of twice-sql $VERSION for $TARGET, and cargo is not installed to build it: add a Rust toolchain step (for example dtolnay/rust-toolchain@stable) before this action, or set the version input to a released version"
            "${CARGO_CMD[@]}"
            how="built with cargo"
        fi
    fi
    local bin
    bin=$(installed_binary) || die "no twice binary in $DIR/bin after installing"
    if [ -n "${GITHUB_PATH:-}" ]; then
        echo "$DIR/bin" >>"$GITHUB_PATH"
    fi
    note "twice: $how"
    "$bin" --version
}

# The --since REF for INPUT_SINCE, or nothing. For "auto" on a pull request
# this is the base branch, fetched (one commit deep) when the checkout does
# not have it.
since_ref() {
    local since="${INPUT_SINCE-auto}"
    case "$since" in
    "" | none | false) return 0 ;;
    auto) ;;
    *)
        printf '%s' "$since"
        return 0
        ;;
    esac
    case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target) ;;
    *) return 0 ;;
    esac
    local base="${GITHUB_BASE_REF:-}"
    [ -n "$base" ] || return 0
    local base_ref="origin/$base"
    if ! git rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null 2>&1; then
        if ! git fetch --quiet --no-tags --depth=1 origin "+refs/heads/$base:refs/remotes/origin/$base" >&2 ||
            ! git rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null 2>&1; then
            note "warning: cannot fetch the base branch $base: checking every migration (set the since input to a ref, or \"none\")"
            return 0
        fi
    fi
    printf '%s' "$base_ref"
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

    local since
    since=$(since_ref)
    if [ -n "$since" ]; then
        args=(--since "$since" ${args[@]+"${args[@]}"})
    fi
    if [ -n "${INPUT_FAIL_ON:-}" ]; then
        args=(--fail-on "$INPUT_FAIL_ON" ${args[@]+"${args[@]}"})
    fi
    local -a log_args=()
    if [ -n "${INPUT_FORMAT:-}" ]; then
        log_args=(--format "$INPUT_FORMAT")
    fi

    local code=0
    echo "+ twice check ${log_args[*]+${log_args[*]} }${args[*]+${args[*]}} ${paths[*]}" >&2
    twice check ${log_args[@]+"${log_args[@]}"} ${args[@]+"${args[@]}"} -- "${paths[@]}" || code=$?
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
resolve) cmd_resolve ;;
install) cmd_install ;;
run) cmd_run ;;
*)
    echo "usage: $0 resolve|install|run   (inputs in INPUT_* variables; see the top of this file)" >&2
    exit 2
    ;;
esac
