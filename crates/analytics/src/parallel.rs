//! Deterministic parallel passes over large inputs.
//!
//! A pass is cut into a *fixed* number of chunks whose boundaries depend only on the input's length; each chunk
//! is summed on its own and the chunk results are combined in chunk order. The floating-point result is then
//! the same on one core or sixteen, and from run to run, while the chunks still spread over all cores.

use std::ops::Range;

/// Chunks per pass: enough to keep a few cores busy, few enough that combining them costs nothing.
pub(crate) const CHUNKS: usize = 8;

/// Below this many items a pass runs on the calling thread (same chunks, same result): starting threads
/// and waiting for the slower one would cost more than the work, especially on a busy machine where every
/// wait can cost a scheduler time slice (the 64k-row samples of k-means and the logistic regression make
/// dozens of such short passes).
pub(crate) const PARALLEL_MIN_ITEMS: usize = 200_000;

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

/// Like [`map_chunks`], with each chunk also given its part of `items` to update in place (`work` receives
/// the chunk's first index and its items). Same fixed chunks, results in chunk order.
pub(crate) fn map_chunks_mut<S, T, F>(items: &mut [S], work: F) -> Vec<T>
where
    S: Send,
    T: Send,
    F: Fn(usize, &mut [S]) -> T + Sync,
{
    let n = items.len();
    let size = n.div_ceil(CHUNKS).max(1);
    let mut chunks: Vec<(usize, &mut [S])> = items.chunks_mut(size).enumerate().map(|(c, s)| (c * size, s)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(chunks.len());
    if n < PARALLEL_MIN_ITEMS || threads <= 1 {
        return chunks.into_iter().map(|(start, s)| work(start, s)).collect();
    }
    let count = chunks.len();
    // Deal the chunks out round-robin: thread w gets chunks w, w + threads, ...
    let mut dealt: Vec<Vec<(usize, usize, &mut [S])>> = (0..threads).map(|_| Vec::new()).collect();
    for (c, (start, s)) in chunks.drain(..).enumerate() {
        dealt[c % threads].push((c, start, s));
    }
    let mut slots: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut own = dealt.remove(0);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = dealt
            .into_iter()
            .map(|mine| {
                scope.spawn(move || mine.into_iter().map(|(c, start, s)| (c, work(start, s))).collect::<Vec<_>>())
            })
            .collect();
        for (c, start, s) in own.drain(..) {
            slots[c] = Some(work(start, s));
        }
        for h in handles {
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

/// Σ of the `K` terms `term` gives for each item, accurate to about 1e-15 relative however many items there
/// are: plain sums over blocks of 64 items, then the block sums added with Neumaier's compensation.
///
/// A likelihood over a million customers is a sum of large terms that cancel to a much smaller total; summed
/// naively, its rounding noise (1e-9 relative) would hide the tiny decreases that the last steps of a
/// maximisation are made of, and the line search would stall there.
pub(crate) fn accurate_sum<const K: usize, T>(items: &[T], mut term: impl FnMut(&T) -> [f64; K]) -> [f64; K] {
    let (mut total, mut compensation) = ([0.0; K], [0.0; K]);
    for block in items.chunks(64) {
        let mut partial = [0.0; K];
        for item in block {
            for (p, t) in partial.iter_mut().zip(term(item)) {
                *p += t;
            }
        }
        for k in 0..K {
            let sum = total[k] + partial[k];
            compensation[k] += if total[k].abs() >= partial[k].abs() {
                (total[k] - sum) + partial[k]
            } else {
                (partial[k] - sum) + total[k]
            };
            total[k] = sum;
        }
    }
    std::array::from_fn(|k| total[k] + compensation[k])
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
