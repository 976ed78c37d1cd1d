//! Links the `twice` binaries on Linux with glibc as position-dependent
//! executables (`-no-pie`).
//!
//! A position-independent executable is relocated by the dynamic loader at
//! every start: it reads about 420 KB of relocation entries and writes every
//! page of its 300 KB of relocated read-only data, which then stay resident
//! as the process's own memory. Without PIE the addresses are fixed at link
//! time; measured (benches/README.md, issue #18 §6): `twice --version` peaks
//! at 3.9 MiB instead of 5.3 MiB, the static pass of 2,000 files at 20.3 MiB
//! instead of 22.1 MiB.
//! The cost: the executable itself is not loaded at a random address (its
//! libraries, heap and stacks still are). musl builds (static-pie), macOS and
//! Windows are left as the toolchain makes them.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
