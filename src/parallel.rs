//! Work spread over threads, results kept in input order.
//!
//! The static pass checks files on `--jobs` threads and replay runs
//! independent sequences side by side; both merge what the threads found in
//! the order a single thread would have produced it, so the output does not
//! depend on the number of threads (a test compares `-j 1` and `-j 4`
//! byte for byte).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The stack of each worker thread: the main thread's usual 8 MiB, since
/// work that runs on the main thread with `-j 1` runs there otherwise.
pub const WORKER_STACK: usize = 8 << 20;

/// The number of threads when none is asked for: the cores available to
/// this process (1 when that cannot be told).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f(i, item)` for every item, on up to `jobs` threads, results in the
/// order of `items`. Items are handed out one at a time, so a slow item does
/// not hold up a whole chunk. With `jobs <= 1`, or one item, everything runs
/// on the calling thread, as without this function. A thread that cannot be
/// started leaves its share to the others (the calling thread takes part).
pub fn map<T, R, F>(jobs: usize, items: &mut [T], f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(usize, &mut T) -> R + Sync,
{
    let n = items.len();
    let threads = jobs.min(n);
    if threads <= 1 {
        return items.iter_mut().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    // Each slot is taken by exactly one thread (the counter hands out every
    // index once); the mutexes are never contended.
    let slots: Vec<Mutex<(Option<&mut T>, Option<R>)>> = items
        .iter_mut()
        .map(|t| Mutex::new((Some(t), None)))
        .collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = slots.get(i) else { break };
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(item) = slot.0.take() {
            slot.1 = Some(f(i, item));
        }
    };
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for _ in 1..threads {
            let spawned = std::thread::Builder::new()
                .name("twice-worker".into())
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, work);
            match spawned {
                Ok(h) => handles.push(h),
                Err(_) => break,
            }
        }
        work();
        for h in handles {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    slots
        .into_iter()
        .map(|s| {
            let (_, r) = s.into_inner().unwrap_or_else(|p| p.into_inner());
            // Every index below `n` was handed out and its thread joined.
            r.expect("every item is mapped before the threads are joined")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order_whatever_the_threads() {
        for jobs in [0, 1, 2, 3, 8, 100] {
            let mut items: Vec<u64> = (0..50).collect();
            let out = map(jobs, &mut items, |i, x| {
                // Uneven work, so that threads finish out of order.
                std::thread::sleep(std::time::Duration::from_micros((50 - i as u64) * 20));
                *x += 1;
                (i, *x * 10)
            });
            let want: Vec<(usize, u64)> = (0..50).map(|i| (i, (i as u64 + 1) * 10)).collect();
            assert_eq!(out, want, "jobs {jobs}");
            assert_eq!(items, (1..=50).collect::<Vec<u64>>());
        }
    }

    #[test]
    fn no_items_no_threads() {
        let mut items: Vec<u8> = Vec::new();
        assert!(map(4, &mut items, |_, _| 1).is_empty());
    }
}
