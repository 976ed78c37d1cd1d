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

/// What the threads of [`stream`] share.
struct Stream<R> {
    /// The next item to start.
    next: usize,
    /// Items handed to the consumer so far.
    taken: usize,
    /// The cost of the items started and not yet taken.
    inflight: usize,
    /// Items `taken..next`: their cost, and their result once done.
    done: std::collections::VecDeque<(usize, Option<R>)>,
    /// The consumer is done (or gone): the workers stop.
    stop: bool,
    /// A worker's panic, raised again on the consumer's thread.
    panic: Option<Box<dyn std::any::Any + Send>>,
    /// The consumer waits for the next result.
    consumer_waiting: bool,
    /// Workers waiting for room ahead. A wake-up is a system call: they are
    /// woken when half the room is free, not at every item taken.
    workers_waiting: usize,
}

/// Waits for a change of a [`stream`]'s state: a result (the consumer), or
/// room ahead (a worker).
fn wait_for_change<'a, R>(
    changed: &std::sync::Condvar,
    mut st: std::sync::MutexGuard<'a, Stream<R>>,
    consumer: bool,
) -> std::sync::MutexGuard<'a, Stream<R>> {
    if consumer {
        st.consumer_waiting = true;
    } else {
        st.workers_waiting += 1;
    }
    let mut st = changed.wait(st).unwrap_or_else(|p| p.into_inner());
    if consumer {
        st.consumer_waiting = false;
    } else {
        st.workers_waiting -= 1;
    }
    st
}

/// Releases a [`stream`]'s state, waking the threads that wait when `wake`.
fn release_state<R>(
    changed: &std::sync::Condvar,
    st: std::sync::MutexGuard<'_, Stream<R>>,
    wake: bool,
) {
    drop(st);
    if wake {
        changed.notify_all();
    }
}

/// `f(item)` for every item, on up to `jobs` threads, handed to `consume`
/// one at a time in the order of `items` while the threads work ahead. At
/// most `ahead` items, and `budget` of their `cost` (say, bytes of SQL to
/// parse), are done or started and not yet taken: a long input's results
/// never sit in memory all together (one item may always start, whatever
/// its cost). The calling thread runs `consume`, and does the item it needs
/// next itself when no thread has started it. With `jobs <= 1`, or one
/// item, everything runs on the calling thread, one item at a time.
///
/// Unlike [`map`], the caller's own work on the results (writing output,
/// following a history in order) overlaps with the threads', and the
/// threads are started once for the whole input, not for every batch.
pub fn stream<T, R, O>(
    jobs: usize,
    items: &[T],
    ahead: usize,
    budget: usize,
    cost: impl Fn(&T) -> usize + Sync,
    f: impl Fn(&T) -> R + Sync,
    consume: impl FnOnce(&mut dyn Iterator<Item = R>) -> O,
) -> O
where
    T: Sync,
    R: Send,
{
    let n = items.len();
    let threads = jobs.min(n);
    if threads <= 1 {
        return consume(&mut items.iter().map(&f));
    }
    let ahead = ahead.max(1);
    let state = Mutex::new(Stream {
        next: 0,
        taken: 0,
        inflight: 0,
        done: std::collections::VecDeque::new(),
        stop: false,
        panic: None,
        consumer_waiting: false,
        workers_waiting: 0,
    });
    let changed = std::sync::Condvar::new();
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    // After a result is filed: the consumer may wait for it.
    let filed = |st: std::sync::MutexGuard<'_, Stream<R>>| {
        let wake = st.consumer_waiting || st.stop;
        release_state(&changed, st, wake);
    };
    // After the consumer took an item: the workers wait for half the room.
    let taken = |st: std::sync::MutexGuard<'_, Stream<R>>| {
        let started = st.next - st.taken;
        let room =
            started == 0 || (started.saturating_mul(2) <= ahead && st.inflight <= budget / 2);
        let wake = st.workers_waiting > 0 && room;
        release_state(&changed, st, wake);
    };
    // Claims the next item when the bounds allow it: its index.
    let claim = |st: &mut Stream<R>| -> Option<usize> {
        let i = st.next;
        if st.stop || i >= n {
            return None;
        }
        let c = cost(&items[i]);
        let started = i - st.taken;
        if started >= ahead || (started > 0 && st.inflight.saturating_add(c) > budget) {
            return None;
        }
        st.next += 1;
        st.inflight += c;
        st.done.push_back((c, None));
        Some(i)
    };
    // Does item `i` (claimed) and files its result.
    let run = |i: usize| {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&items[i])));
        let mut st = lock();
        match r {
            Ok(r) => {
                let at = i - st.taken;
                if let Some(slot) = st.done.get_mut(at) {
                    slot.1 = Some(r);
                }
            }
            Err(panic) => {
                st.panic.get_or_insert(panic);
                st.stop = true;
            }
        }
        filed(st);
    };
    let work = || loop {
        let mut st = lock();
        let i = loop {
            if st.stop || st.next >= n {
                return;
            }
            match claim(&mut st) {
                Some(i) => break i,
                None => st = wait_for_change(&changed, st, false),
            }
        };
        drop(st);
        run(i);
    };
    /// Stops the workers when the consumer returns or unwinds.
    struct Stop<'a, R>(&'a Mutex<Stream<R>>, &'a std::sync::Condvar);
    impl<R> Drop for Stop<'_, R> {
        fn drop(&mut self) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
            self.1.notify_all();
        }
    }
    let mut next_result = || -> Option<R> {
        let mut st = lock();
        loop {
            if let Some(panic) = st.panic.take() {
                drop(st);
                std::panic::resume_unwind(panic);
            }
            if st.taken >= n {
                return None;
            }
            if st.next == st.taken {
                // Nobody started the item needed next: do it here.
                let i = st.next;
                st.next += 1;
                st.taken += 1;
                taken(st);
                return Some(f(&items[i]));
            }
            if st.done.front().is_some_and(|(_, r)| r.is_some()) {
                if let Some((c, Some(r))) = st.done.pop_front() {
                    st.taken += 1;
                    st.inflight -= c;
                    taken(st);
                    return Some(r);
                }
            }
            // The next result is on its way: help with the ones after it
            // rather than wait.
            if let Some(i) = claim(&mut st) {
                drop(st);
                run(i);
                st = lock();
                continue;
            }
            st = wait_for_change(&changed, st, true);
        }
    };
    std::thread::scope(|s| {
        let _stop = Stop(&state, &changed);
        for _ in 1..threads {
            let spawned = std::thread::Builder::new()
                .name("twice-worker".into())
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, work);
            if spawned.is_err() {
                break;
            }
        }
        consume(&mut std::iter::from_fn(&mut next_result))
    })
}

/// A value made on one thread (the result of a [`stream`] item: a parsed
/// statement, a drawn block), to be freed by that thread.
///
/// glibc's malloc gives each thread an arena of its own; memory freed on
/// another thread goes back to the arena it came from under that arena's
/// lock, which the thread that owns it takes at every allocation: a stream
/// whose consumer drops what the workers made hands that lock back and
/// forth thousands of times (a futex call each). A [`Recycler`] takes the
/// values back from the consumer and lets each thread drop (or reuse) its
/// own.
pub struct Made<V> {
    by: std::thread::ThreadId,
    pub value: V,
}

impl<V> Made<V> {
    /// `value`, made on this thread.
    pub fn here(value: V) -> Made<V> {
        Made {
            by: std::thread::current().id(),
            value,
        }
    }
}

/// Values a consumer is done with, waiting for the thread that made each
/// (see [`Made`]). What is left when the recycler goes is freed there.
pub struct Recycler<V> {
    done: Mutex<Vec<Made<V>>>,
}

impl<V> Default for Recycler<V> {
    fn default() -> Self {
        Recycler {
            done: Mutex::new(Vec::new()),
        }
    }
}

impl<V> Recycler<V> {
    /// Hands back a value the consumer is done with.
    pub fn give_back(&self, made: Made<V>) {
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(made);
    }

    /// Takes the values this thread made that were handed back.
    pub fn take_own(&self) -> Vec<V> {
        let me = std::thread::current().id();
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        if !done.iter().any(|m| m.by == me) {
            return Vec::new();
        }
        let (mine, others): (Vec<Made<V>>, Vec<Made<V>>) = std::mem::take(&mut *done)
            .into_iter()
            .partition(|m| m.by == me);
        *done = others;
        drop(done);
        mine.into_iter().map(|m| m.value).collect()
    }
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
    fn a_stream_hands_results_over_in_order_and_stays_within_its_bounds() {
        use std::sync::atomic::AtomicIsize;
        for jobs in [0, 1, 2, 3, 8] {
            let items: Vec<u64> = (0..200).collect();
            // Started and not yet taken: never more than `ahead` (3), nor
            // more than a budget of 10 but for a single item; plus the one
            // the calling thread may be doing itself.
            let open = AtomicIsize::new(0);
            let most = AtomicIsize::new(0);
            let cost = |x: &u64| if x.is_multiple_of(7) { 25 } else { 2 };
            let got = stream(
                jobs,
                &items,
                3,
                10,
                cost,
                |x| {
                    let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_micros((x % 5) * 30));
                    *x * 2
                },
                |results| {
                    results
                        .inspect(|_| {
                            open.fetch_sub(1, Ordering::SeqCst);
                        })
                        .collect::<Vec<u64>>()
                },
            );
            assert_eq!(
                got,
                (0..200).map(|x| x * 2).collect::<Vec<u64>>(),
                "jobs {jobs}"
            );
            assert!(most.load(Ordering::SeqCst) <= 4, "jobs {jobs}");
        }
    }

    #[test]
    fn a_stream_can_be_left_early_and_passes_panics_on() {
        let items: Vec<u32> = (0..1000).collect();
        let first = stream(
            4,
            &items,
            8,
            usize::MAX,
            |_| 1,
            |x| x + 1,
            |r| r.take(3).sum::<u32>(),
        );
        assert_eq!(first, 6);
        let panicked = std::panic::catch_unwind(|| {
            stream(
                2,
                &items,
                8,
                usize::MAX,
                |_| 1,
                |&x| {
                    assert!(x != 500, "item 500");
                    x
                },
                |r| r.count(),
            )
        });
        assert!(panicked.is_err());
    }

    #[test]
    fn a_recycler_gives_each_thread_back_what_it_made() {
        let r: Recycler<u32> = Recycler::default();
        r.give_back(Made::here(1));
        let (first, second) = std::thread::scope(|s| {
            s.spawn(|| {
                r.give_back(Made::here(2));
                r.give_back(Made::here(3));
                let first = r.take_own();
                r.give_back(Made::here(4));
                let second = r.take_own();
                // Left for the thread that made it: not this one's.
                r.give_back(Made::here(5));
                (first, second)
            })
            .join()
            .unwrap()
        });
        assert_eq!(first, vec![2, 3]);
        assert_eq!(second, vec![4]);
        assert_eq!(r.take_own(), vec![1]);
        assert!(r.take_own().is_empty());
        assert_eq!(r.done.lock().unwrap().len(), 1);
    }

    #[test]
    fn no_items_no_threads() {
        let mut items: Vec<u8> = Vec::new();
        assert!(map(4, &mut items, |_, _| 1).is_empty());
    }
}
