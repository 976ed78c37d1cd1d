//! Links the executables with packed relative relocations (DT_RELR) where
//! that is safe: on Linux with glibc 2.36 or newer, building for the machine
//! the build runs on. A position-independent executable carries one
//! relocation per pointer in its static data (about 17,500 for twice, 420 KB
//! that the dynamic loader reads at every start); packed, they take 5 KB,
//! and the static pass peaks 0.4 to 0.8 MiB lower (benches/README.md, *Static
//! pass and its peak memory*). The executable then needs glibc 2.36 to load
//! (the linker records that), so this is left off wherever the glibc the
//! build links against is older (manylinux wheels), when cross-compiling
//! (the target's glibc is unknown here), for musl (static-pie start-up code
//! that may not read DT_RELR) and on other systems. `TWICE_NO_RELR=1` turns
//! it off.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TWICE_NO_RELR");
    if env::var_os("TWICE_NO_RELR").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os != "linux" || target_env != "gnu" {
        return;
    }
    if env::var("HOST").ok() != env::var("TARGET").ok() {
        return;
    }
    if glibc_version().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The version of the build machine's glibc, from `ldd --version` (its first
/// line ends with it: `ldd (Debian GLIBC 2.36-9+deb12u14) 2.36`).
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("ldd").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next()?;
    if !first.contains("GLIBC") && !first.contains("GNU libc") {
        return None;
    }
    let version = first.split_whitespace().last()?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}
