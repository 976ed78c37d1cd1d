fn main() -> std::process::ExitCode {
    one_malloc_arena();
    twice::cli::main()
}

/// With glibc, every thread that allocates gets a malloc arena of its own,
/// each growing to its own peak: with `--jobs 2` the static pass of 1,311
/// real files peaked at 32.0 MiB instead of 29.3 MiB with one arena shared
/// by all threads, for the same CPU time (benches/README.md, issue #18 §6).
/// Set before any thread starts; `MALLOC_ARENA_MAX` in the environment
/// still overrides it.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a malloc parameter; no other thread
        // exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
