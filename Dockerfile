# syntax=docker/dockerfile:1
# twice in a container (issue 19). Two images from one file:
#
#   docker build -t twice .                               # default: the
#       static musl binary alone on an empty base (a few MB)
#   docker build --target twice-postgres -t twice:postgres .
#       the same binary on the official PostgreSQL image, for
#       `--engine postgres` with a throwaway local cluster
#
#   docker run --rm -v "$PWD:/work" twice check db/migrations
#   docker run --rm -v "$PWD:/work" twice:postgres check --engine postgres db/migrations
#
# See README.md ("Install") and docs/release.md.

ARG RUST_VERSION=1.95
ARG POSTGRES_VERSION=17

# --- build: a static binary (musl, the C of the bundled SQLite included) ---
FROM rust:${RUST_VERSION}-alpine AS build
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml names the benches; cargo wants their files to exist.
COPY benches ./benches
ENV RUSTFLAGS="-C target-feature=+crt-static"
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN cargo build --release --locked --bin twice \
    && ./target/release/twice --version \
    && { ! ldd ./target/release/twice 2>/dev/null | grep -q '=>'; }

# --- twice with PostgreSQL, for `--engine postgres` ---
FROM postgres:${POSTGRES_VERSION}-alpine AS twice-postgres
COPY --from=build /src/target/release/twice /usr/local/bin/twice
# initdb and the server refuse to run as root: twice starts its throwaway
# cluster as the image's postgres user (uid and gid 70 in the alpine image).
USER 70:70
WORKDIR /work
ENTRYPOINT ["twice"]
CMD ["check", "--engine", "postgres", "."]

# --- the default image: the binary alone ---
FROM scratch AS twice
COPY --from=build /src/target/release/twice /twice
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/twice"]
CMD ["check", "."]
