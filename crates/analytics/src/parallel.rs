//! Deterministic parallel passes over large inputs.
//!
//! A pass is cut into a *fixed* number of chunks whose boundaries depend only on the input's length; each chunk
//! is summed on its own and the chunk results are combined in chunk order. The floating-point result is then
//! the same on one core or sixteen, and from run to run, while the chunks still spread over all cores.

use std::ops::Range;

/// Chunks per pass: enough to keep a few cores busy, few enough that combining them costs nothing.
pub(crate) const CHUNKS: usize = 8;

/// Below this many items a pass runs on the calling thread (same chunks, same result): starting threads
/// would cost more than the work.
pub(crate) const PARALLEL_MIN_ITEMS: usize = 32_768;

/// Runs `work` on each of the fixed chunks of `0..n` and returns the results in chunk order.
///
/// ```ignore
/// let parts = map_chunks(10, |r| r.len());
/// assert_eq!(parts.iter().sum::<usize>(), 10);
/// ```
pub(crate) fn map_chunks<T, F>(n: usize, work: F) -> Vec<T>
where
    T: Send,
    F: Fn(Range<usize>) -> T + Sync,
{
    let size = n.div_ceil(CHUNKS).max(1);
    let ranges: Vec<Range<usize>> = (0..n).step_by(size).map(|s| s..(s + size).min(n)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(ranges.len());
    if n < PARALLEL_MIN_ITEMS || threads <= 1 {
        return ranges.into_iter().map(&work).collect();
    }
    // Thread w takes chunks w, w + threads, ...; every chunk's result goes back to its own slot.
    let mut slots: Vec<Option<T>> = (0..ranges.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let (work, ranges) = (&work, &ranges);
        let handles: Vec<_> = (1..threads)
            .map(|w| {
                s.spawn(move || {
                    (w..ranges.len()).step_by(threads).map(|c| (c, work(ranges[c].clone()))).collect::<Vec<_>>()
                })
            })
            .collect();
        for c in (0..ranges.len()).step_by(threads) {
            slots[c] = Some(work(ranges[c].clone()));
        }
        for h in handles {
            // The workers only do arithmetic on in-bounds slices; a panic there would be a bug, and it is
            // passed on rather than turned into a wrong sum.
            match h.join() {
                Ok(parts) => parts.into_iter().for_each(|(c, v)| slots[c] = Some(v)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots.into_iter().flatten().collect()
}

/// Sums the `K` accumulators that `work` returns per chunk, in chunk order.
pub(crate) fn sum_chunks<const K: usize, F>(n: usize, work: F) -> [f64; K]
where
    F: Fn(Range<usize>) -> [f64; K] + Sync,
{
    let mut total = [0.0; K];
    for part in map_chunks(n, work) {
        for (t, p) in total.iter_mut().zip(part) {
            *t += p;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_input_once_in_order() {
        for n in [0, 1, 7, 8, 9, 100_003] {
            let parts = map_chunks(n, |r| r);
            let mut next = 0;
            for r in &parts {
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, n);
        }
        let [s] = sum_chunks(100_000, |r| [r.map(|i| i as f64).sum()]);
        assert_eq!(s, 99_999.0 * 100_000.0 / 2.0);
    }
}
