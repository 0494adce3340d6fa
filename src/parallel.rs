//! Work spread over threads, results in input order: the engine plans files this way and
//! the text report computes their diffs this way.

/// How many threads to use: the CPUs this process may run on.
pub fn threads() -> usize {
    // Read once: on Linux it reads the cgroup's CPU quota from /proc and /sys.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `items.iter().map(f)` on up to `threads` threads, results in item order. Threads take
/// the next item as they finish one (files differ in cost by 1000×: a 2.7 MB CRD next to a
/// 1 KB workflow), and a panic in one is re-raised here, as it would be serially.
pub fn map<T: Sync, R: Send>(threads: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.min(items.len().max(1));
    if threads <= 1 || items.len() < 4 {
        return items.iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Drops `value` on a thread of its own: freeing every parse tree and model of a large plan
/// costs about half as much as diffing it (callgrind, the edit set), and nothing after the
/// planning needs to wait for it (at exit the thread is simply not waited for).
pub fn drop_in_background<T: Send + 'static>(value: T) {
    // If no thread can be made, the closure (and `value` with it) is dropped here.
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}
