//! Splitting independent work (bootstrap draws, raters, a report's sections) over a few
//! threads.

/// The threads for a pass over `items` items: `threads`, or one below 20,000 items, where
/// spawning costs more than it saves.
pub(crate) fn threads_for_items(items: usize, threads: usize) -> usize {
    const PARALLEL_MIN_ITEMS: usize = 20_000;
    if items >= PARALLEL_MIN_ITEMS {
        threads.max(1)
    } else {
        1
    }
}

/// `one(&mut scratch, i)` for every `i` in `0..n`, over up to `threads` threads that each
/// take a contiguous range and make their own scratch value; results come back in index
/// order, so they do not depend on the number of threads.
pub(crate) fn map_ranges<S, T, M, F>(n: usize, threads: usize, scratch: M, one: F) -> Vec<T>
where
    T: Send,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
{
    let threads = threads.clamp(1, n.max(1));
    let chunk = n.div_ceil(threads);
    let run_range = |start: usize, end: usize| {
        let mut state = scratch();
        (start..end).map(|i| one(&mut state, i)).collect::<Vec<T>>()
    };
    if threads == 1 {
        return run_range(0, n);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (start, end) = (t * chunk, ((t + 1) * chunk).min(n));
                let run_range = &run_range;
                scope.spawn(move || run_range(start, end))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(results) => results,
                // A panic in a worker is a bug; let it surface as it would on one thread.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// `a()` and `b()`, on two threads when `threads` allows more than one.
pub(crate) fn join<A, B, FA, FB>(threads: usize, a: FA, b: FB) -> (A, B)
where
    A: Send,
    FA: FnOnce() -> A + Send,
    FB: FnOnce() -> B,
{
    if threads <= 1 {
        let a = a();
        return (a, b());
    }
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        match a.join() {
            Ok(a) => (a, b),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_on_any_number_of_threads() {
        let squares: Vec<usize> = (0..10).map(|i| i * i).collect();
        for threads in [1, 2, 3, 16] {
            assert_eq!(map_ranges(10, threads, || (), |_, i| i * i), squares);
        }
        assert!(map_ranges(0, 2, || (), |_, i| i).is_empty());
    }

    #[test]
    fn join_gives_both_results_on_one_thread_or_two() {
        for threads in [1, 2] {
            let (a, b) = join(threads, || (1..=10).sum::<i32>(), || "done".to_string());
            assert_eq!((a, b.as_str()), (55, "done"));
        }
    }
}
