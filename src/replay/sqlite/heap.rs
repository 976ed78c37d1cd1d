//! SQLite's memory ceiling without SQLite's global memory mutex.
//!
//! `sqlite3_hard_heap_limit64` needs SQLite's memory statistics, and with
//! them every `sqlite3_malloc` and `sqlite3_free` of every connection takes
//! one process-wide mutex. Two threads running SQLite at once (a second run
//! on a copy, sequences replayed side by side) then spend their time
//! handing that mutex back and forth: on an idle 2-core machine a full
//! audit of 700 migrations took 6.6 s with two threads against 4.5 s with
//! one, and 2.6 times the CPU (benches/README.md).
//!
//! So the ceiling is kept here instead: SQLite's allocations go through
//! [`METHODS`], which count the bytes in use in one atomic counter and
//! refuse an allocation (SQLite then fails the statement with "out of
//! memory", `SQLITE_NOMEM`) that would take the total past the ceiling;
//! SQLite's own statistics are off, and with them the mutex. Installed once,
//! before SQLite is initialised; if SQLite was initialised already (it
//! refuses the configuration then), the ceiling falls back to
//! `sqlite3_hard_heap_limit64`.

use rusqlite::ffi;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicI64, Ordering};

/// Bytes SQLite may hold at once.
static LIMIT: AtomicI64 = AtomicI64::new(i64::MAX);
/// Bytes SQLite holds now (what it asked for, without the headers).
static USED: AtomicI64 = AtomicI64::new(0);
/// Each block starts with its size; 16 bytes keep malloc's alignment.
const HEADER: usize = 16;

fn reserve(n: i64) -> bool {
    let before = USED.fetch_add(n, Ordering::Relaxed);
    if before.saturating_add(n) > LIMIT.load(Ordering::Relaxed) {
        USED.fetch_sub(n, Ordering::Relaxed);
        return false;
    }
    true
}

fn release(n: i64) {
    USED.fetch_sub(n, Ordering::Relaxed);
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    if n <= 0 {
        return std::ptr::null_mut();
    }
    let size = n as usize;
    if !reserve(size as i64) {
        return std::ptr::null_mut();
    }
    // SAFETY: a plain allocation; the header is written inside it.
    unsafe {
        let base = libc::malloc(size + HEADER) as *mut u8;
        if base.is_null() {
            release(size as i64);
            return std::ptr::null_mut();
        }
        (base as *mut usize).write(size);
        base.add(HEADER) as *mut c_void
    }
}

/// The size recorded in front of `p`, a block from [`x_malloc`].
unsafe fn size_of(p: *mut c_void) -> usize {
    // SAFETY: `p` came from x_malloc/x_realloc, HEADER bytes after a block
    // whose first word is its size.
    unsafe { ((p as *mut u8).sub(HEADER) as *const usize).read() }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: as in size_of; the block is given back once.
    unsafe {
        release(size_of(p) as i64);
        libc::free((p as *mut u8).sub(HEADER) as *mut c_void);
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: a new block.
        return unsafe { x_malloc(n) };
    }
    if n <= 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: `p` is a block of ours; on failure it is left as it was, as
    // realloc does.
    unsafe {
        let old = size_of(p) as i64;
        let new = n as i64;
        if new > old && !reserve(new - old) {
            return std::ptr::null_mut();
        }
        let base = (p as *mut u8).sub(HEADER) as *mut c_void;
        let moved = libc::realloc(base, n as usize + HEADER) as *mut u8;
        if moved.is_null() {
            if new > old {
                release(new - old);
            }
            return std::ptr::null_mut();
        }
        if new < old {
            release(old - new);
        }
        (moved as *mut usize).write(n as usize);
        moved.add(HEADER) as *mut c_void
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: as in size_of.
    unsafe { size_of(p) as c_int }
}

extern "C" fn x_roundup(n: c_int) -> c_int {
    n.saturating_add(7) & !7
}

extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

extern "C" fn x_shutdown(_: *mut c_void) {}

/// Caps all of SQLite in this process at `limit` bytes. Call once, before
/// the first connection is opened.
pub fn set_ceiling(limit: i64) {
    LIMIT.store(limit, Ordering::Relaxed);
    // SAFETY: process-wide SQLite settings, made before SQLite is
    // initialised (it refuses them afterwards, checked below); METHODS is
    // functions of the right signatures.
    // SQLite copies the table before sqlite3_config returns.
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    unsafe {
        let installed = ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        ) == ffi::SQLITE_OK
            && ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) == ffi::SQLITE_OK;
        if !installed {
            ffi::sqlite3_hard_heap_limit64(limit);
        }
    }
}

/// Bytes SQLite holds now, as counted here (0 when the fallback is in use).
pub fn in_use() -> i64 {
    USED.load(Ordering::Relaxed)
}
