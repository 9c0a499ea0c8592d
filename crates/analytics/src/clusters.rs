//! Customer clusters: seeded k-means++ on standardised RFM features, k chosen by silhouette, each cluster
//! described in business terms.
//!
//! Features per customer: days since the last order, ln(1 + orders) and ln(1 + total spend) (the logs stop a
//! few very large customers from owning a cluster each), standardised to mean 0 and variance 1. For each k in
//! the range, k-means++ seeding and Lloyd iterations run `restarts` times from the seed and the lowest-inertia
//! run is kept; the k with the highest mean silhouette wins. The silhouette is computed on a seeded sample of at
//! most `silhouette_sample` customers, which keeps it O(sample²) on a million customers.

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result};
use crate::orders::CustomerKey;
use crate::parallel::{map_chunks_mut, sum_chunks};
use crate::rfm::CustomerRfm;
use crate::rng::SplitMix64;

/// Settings of [`cluster_customers`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusterSettings {
    /// Smallest k tried (default 2).
    pub k_min: usize,
    /// Largest k tried (default 8).
    pub k_max: usize,
    /// Seed for seeding and sampling.
    pub seed: u64,
    /// k-means runs per k (default 3).
    pub restarts: usize,
    /// Lloyd iterations per run at most (default 100).
    pub max_iterations: usize,
    /// Customers in the silhouette sample at most (default 5,000).
    pub silhouette_sample: usize,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self { k_min: 2, k_max: 8, seed: 11, restarts: 3, max_iterations: 100, silhouette_sample: 5_000 }
    }
}

/// A k-means result over row-major points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeans {
    /// k × dims centroids, row-major.
    pub centroids: Vec<f64>,
    /// Cluster of each point.
    pub assignments: Vec<usize>,
    /// Sum of squared distances to the assigned centroids.
    pub inertia: f64,
    /// Lloyd iterations of the kept run.
    pub iterations: usize,
}

/// k-means++ seeding and Lloyd iterations, best of `restarts` runs (deterministic for a seed).
///
/// ```
/// use guanxi_analytics::clusters::kmeans;
/// let points = [0.0, 0.1, 0.2, 10.0, 10.1, 10.2];
/// let m = kmeans(&points, 1, 2, 1, 3, 50).unwrap();
/// assert_eq!(m.assignments[0], m.assignments[2]);
/// assert_ne!(m.assignments[0], m.assignments[3]);
/// ```
pub fn kmeans(
    points: &[f64],
    dims: usize,
    k: usize,
    seed: u64,
    restarts: usize,
    max_iterations: usize,
) -> Result<KMeans> {
    if dims == 0 || !points.len().is_multiple_of(dims) {
        return Err(AnalyticsError::InvalidInput("points do not divide into rows of dims".into()));
    }
    let n = points.len() / dims;
    if k == 0 || k > n {
        return Err(AnalyticsError::InvalidSetting(format!("k = {k} with {n} points")));
    }
    if let Some(v) = points.iter().find(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput(format!("point coordinate {v} is not finite")));
    }
    // Points of up to eight coordinates (the customer features have three) get code specialised for their
    // width: fixed-size arrays let the compiler unroll every distance, which is several times faster.
    match dims {
        1 => Ok(kmeans_fixed::<1>(points, k, seed, restarts, max_iterations)),
        2 => Ok(kmeans_fixed::<2>(points, k, seed, restarts, max_iterations)),
        3 => Ok(kmeans_fixed::<3>(points, k, seed, restarts, max_iterations)),
        4 => Ok(kmeans_fixed::<4>(points, k, seed, restarts, max_iterations)),
        5 => Ok(kmeans_fixed::<5>(points, k, seed, restarts, max_iterations)),
        6 => Ok(kmeans_fixed::<6>(points, k, seed, restarts, max_iterations)),
        7 => Ok(kmeans_fixed::<7>(points, k, seed, restarts, max_iterations)),
        8 => Ok(kmeans_fixed::<8>(points, k, seed, restarts, max_iterations)),
        _ => {
            let mut rng = SplitMix64::new(seed);
            let mut best: Option<KMeans> = None;
            for _ in 0..restarts.max(1) {
                let run = lloyd(points, dims, seed_plus_plus(points, dims, k, &mut rng), max_iterations);
                if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                    best = Some(run);
                }
            }
            best.ok_or(AnalyticsError::EmptyInput { what: "k-means" })
        }
    }
}

/// [`kmeans`] for points of exactly `D` coordinates: the same seeding, the same Hamerly-bounded Lloyd
/// iterations and the same stopping rule as the general code, with the passes over the points split into
/// fixed chunks that run in parallel (per-chunk sums combined in chunk order, so the result does not depend
/// on the number of cores), and on large inputs a start from the clusters of a sample.
fn kmeans_fixed<const D: usize>(points: &[f64], k: usize, seed: u64, restarts: usize, max_iterations: usize) -> KMeans {
    let (rows, _) = points.as_chunks::<D>();
    let tolerance = 1e-4 * mean_variance(points, D);
    let mut rng = SplitMix64::new(seed);
    // On many points, seed and iterate first on an evenly spaced sample: its centroids are within sampling
    // error of the full data's, so the passes over every point only settle the last details (a few instead of
    // twenty on a million customers). The result is still a converged Lloyd run on all points.
    let stride = rows.len() / SAMPLE_POINTS;
    let sample: Vec<[f64; D]> = if stride >= 4 { rows.iter().step_by(stride).copied().collect() } else { Vec::new() };
    let mut best: Option<KMeans> = None;
    for _ in 0..restarts.max(1) {
        let run = if sample.len() >= k {
            let rough = lloyd_fixed(&sample, seed_fixed(&sample, k, &mut rng), max_iterations, tolerance);
            let (centroids, _) = rough.centroids.as_chunks::<D>();
            lloyd_fixed(rows, centroids.to_vec(), max_iterations, tolerance)
        } else {
            lloyd_fixed(rows, seed_fixed(rows, k, &mut rng), max_iterations, tolerance)
        };
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    // restarts.max(1) ran at least once.
    best.unwrap_or_else(|| KMeans { centroids: Vec::new(), assignments: Vec::new(), inertia: 0.0, iterations: 0 })
}

/// Points in the sample that large inputs are first clustered on (see [`kmeans_fixed`]).
const SAMPLE_POINTS: usize = 65_536;

fn sq_dist_fixed<const D: usize>(a: &[f64; D], b: &[f64; D]) -> f64 {
    let mut s = 0.0;
    for d in 0..D {
        s += (a[d] - b[d]) * (a[d] - b[d]);
    }
    s
}

/// k-means++ seeding, the same draws as [`seed_plus_plus`].
fn seed_fixed<const D: usize>(rows: &[[f64; D]], k: usize, rng: &mut SplitMix64) -> Vec<[f64; D]> {
    let n = rows.len();
    let mut centroids = Vec::with_capacity(k);
    centroids.push(rows[rng.below(n as u64) as usize]);
    let mut d2 = vec![f64::INFINITY; n];
    for _ in 1..=k {
        let c = centroids[centroids.len() - 1];
        map_chunks_mut(&mut d2, |start, d| {
            for (d, p) in d.iter_mut().zip(&rows[start..]) {
                *d = d.min(sq_dist_fixed(p, &c));
            }
        });
        if centroids.len() == k {
            break;
        }
        let chosen = sample_by_weight(&d2, rng);
        centroids.push(rows[chosen]);
    }
    centroids
}

/// Nearest and second-nearest centroid distances of a point: (index, d1, d2).
fn nearest_two_fixed<const D: usize>(p: &[f64; D], centroids: &[[f64; D]]) -> (u32, f64, f64) {
    let (mut best, mut d1, mut d2) = (0, f64::INFINITY, f64::INFINITY);
    for (c, centroid) in centroids.iter().enumerate() {
        let d = sq_dist_fixed(p, centroid);
        if d < d1 {
            d2 = d1;
            d1 = d;
            best = c as u32;
        } else if d < d2 {
            d2 = d;
        }
    }
    (best, d1.sqrt(), d2.sqrt())
}

/// A point's cluster with Hamerly's bounds: an upper bound on the distance to its centroid and a lower bound
/// on the distance to any other.
#[derive(Debug, Clone, Copy)]
struct Bounded {
    cluster: u32,
    upper: f64,
    lower: f64,
}

/// One chunk's cluster sums and counts (after the first pass: their changes) and whether any point changed
/// cluster.
struct ChunkSums<const D: usize> {
    sums: Vec<[f64; D]>,
    counts: Vec<usize>,
    changed: bool,
}

impl<const D: usize> ChunkSums<D> {
    fn new(k: usize) -> Self {
        Self { sums: vec![[0.0; D]; k], counts: vec![0; k], changed: false }
    }

    fn add(&mut self, c: u32, p: &[f64; D]) {
        let c = c as usize;
        self.counts[c] = self.counts[c].wrapping_add(1);
        for (s, x) in self.sums[c].iter_mut().zip(p) {
            *s += x;
        }
    }

    /// Takes a point out (counts wrap below zero within a chunk; the totals they are added to never do).
    fn remove(&mut self, c: u32, p: &[f64; D]) {
        let c = c as usize;
        self.counts[c] = self.counts[c].wrapping_sub(1);
        for (s, x) in self.sums[c].iter_mut().zip(p) {
            *s -= x;
        }
    }
}

/// [`lloyd`] on fixed-width points with parallel passes.
fn lloyd_fixed<const D: usize>(
    rows: &[[f64; D]],
    mut centroids: Vec<[f64; D]>,
    max_iterations: usize,
    tolerance: f64,
) -> KMeans {
    let k = centroids.len();
    let mut state = vec![Bounded { cluster: 0, upper: 0.0, lower: 0.0 }; rows.len()];
    let mut parts = map_chunks_mut(&mut state, |start, chunk| {
        let mut acc = ChunkSums::<D>::new(k);
        for (s, p) in chunk.iter_mut().zip(&rows[start..]) {
            let (best, d1, d2) = nearest_two_fixed(p, &centroids);
            *s = Bounded { cluster: best, upper: d1, lower: d2 };
            acc.add(best, p);
        }
        acc
    });
    let mut moved = vec![0.0; k];
    let mut half_gap = vec![0.0; k];
    let mut iterations = 0;
    // Cluster sums and counts, kept up to date with the changes of each pass.
    let mut total = ChunkSums::<D>::new(k);
    for iteration in 0..max_iterations.max(1) {
        iterations = iteration + 1;
        for part in &parts {
            for c in 0..k {
                total.counts[c] = total.counts[c].wrapping_add(part.counts[c]);
                for d in 0..D {
                    total.sums[c][d] += part.sums[c][d];
                }
            }
        }
        let mut shift = 0.0;
        for c in 0..k {
            let mut m2 = 0.0;
            // An emptied cluster keeps its centroid; it may win points back next round.
            if total.counts[c] > 0 {
                for (centre, sum) in centroids[c].iter_mut().zip(&total.sums[c]) {
                    let updated = sum / total.counts[c] as f64;
                    m2 += (updated - *centre).powi(2);
                    *centre = updated;
                }
            }
            moved[c] = m2.sqrt();
            shift += m2;
        }
        // scikit-learn's rule, as in `lloyd`.
        if shift <= tolerance {
            break;
        }
        let (max1, max1_at, max2) = two_largest_moves(&moved);
        for (c, gap) in half_gap.iter_mut().enumerate() {
            *gap = 0.5
                * (0..k)
                    .filter(|&o| o != c)
                    .map(|o| sq_dist_fixed(&centroids[c], &centroids[o]))
                    .fold(f64::INFINITY, f64::min)
                    .sqrt();
        }
        let (centroids, moved, half_gap) = (&centroids, &moved, &half_gap);
        parts = map_chunks_mut(&mut state, |start, chunk| {
            let mut acc = ChunkSums::<D>::new(k);
            for (s, p) in chunk.iter_mut().zip(&rows[start..]) {
                let a = s.cluster as usize;
                s.upper += moved[a];
                s.lower -= if a == max1_at { max2 } else { max1 };
                let bound = half_gap[a].max(s.lower);
                if s.upper > bound {
                    s.upper = sq_dist_fixed(p, &centroids[a]).sqrt();
                    if s.upper > bound {
                        let (best, d1, d2) = nearest_two_fixed(p, centroids);
                        if best as usize != a {
                            // Only a point that moves changes the sums: it leaves one and joins another.
                            acc.changed = true;
                            acc.remove(a as u32, p);
                            acc.add(best, p);
                        }
                        *s = Bounded { cluster: best, upper: d1, lower: d2 };
                    }
                }
            }
            acc
        });
        if !parts.iter().any(|p| p.changed) {
            break;
        }
    }
    // Inertia against the final centroids.
    let [inertia] = sum_chunks(rows.len(), |range| {
        [rows[range.clone()]
            .iter()
            .zip(&state[range])
            .map(|(p, s)| sq_dist_fixed(p, &centroids[s.cluster as usize]))
            .sum()]
    });
    KMeans {
        centroids: centroids.iter().flatten().copied().collect(),
        assignments: state.iter().map(|s| s.cluster as usize).collect(),
        inertia,
        iterations,
    }
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn seed_plus_plus(points: &[f64], dims: usize, k: usize, rng: &mut SplitMix64) -> Vec<f64> {
    let n = points.len() / dims;
    let mut centroids = Vec::with_capacity(k * dims);
    let first = rng.below(n as u64) as usize;
    centroids.extend_from_slice(&points[first * dims..(first + 1) * dims]);
    let mut d2: Vec<f64> = points.chunks_exact(dims).map(|p| sq_dist(p, &centroids[..dims])).collect();
    for _ in 1..k {
        let chosen = sample_by_weight(&d2, rng);
        let c = points[chosen * dims..(chosen + 1) * dims].to_vec();
        for (d, p) in d2.iter_mut().zip(points.chunks_exact(dims)) {
            *d = d.min(sq_dist(p, &c));
        }
        centroids.extend_from_slice(&c);
    }
    centroids
}

fn mean_variance(points: &[f64], dims: usize) -> f64 {
    let n = (points.len() / dims) as f64;
    (0..dims)
        .map(|d| {
            let mean = points.iter().skip(d).step_by(dims).sum::<f64>() / n;
            points.iter().skip(d).step_by(dims).map(|x| (x - mean).powi(2)).sum::<f64>() / n
        })
        .sum::<f64>()
        / dims as f64
}

/// Nearest and second-nearest centroid distances of a point: (index, d1, d2).
fn nearest_two(p: &[f64], centroids: &[f64], dims: usize) -> (usize, f64, f64) {
    let (mut best, mut d1, mut d2) = (0, f64::INFINITY, f64::INFINITY);
    for (c, centroid) in centroids.chunks_exact(dims).enumerate() {
        let d = sq_dist(p, centroid);
        if d < d1 {
            d2 = d1;
            d1 = d;
            best = c;
        } else if d < d2 {
            d2 = d;
        }
    }
    (best, d1.sqrt(), d2.sqrt())
}

/// Lloyd's k-means with Hamerly's bounds: each point keeps an upper bound on the distance to its centroid and
/// a lower bound on the distance to any other; when the bounds prove the assignment cannot change, the point's
/// distances are not computed at all. Same result as plain Lloyd, with most of the distance work skipped after
/// the first few iterations.
fn lloyd(points: &[f64], dims: usize, mut centroids: Vec<f64>, max_iterations: usize) -> KMeans {
    let n = points.len() / dims;
    let k = centroids.len() / dims;
    let tolerance = 1e-4 * mean_variance(points, dims);
    let mut assignments = vec![0usize; n];
    let mut upper = vec![0.0; n];
    let mut lower = vec![0.0; n];
    for (i, p) in points.chunks_exact(dims).enumerate() {
        let (best, d1, d2) = nearest_two(p, &centroids, dims);
        assignments[i] = best;
        upper[i] = d1;
        lower[i] = d2;
    }
    let mut sums = vec![0.0; k * dims];
    let mut counts = vec![0usize; k];
    let mut moved = vec![0.0; k];
    let mut half_gap = vec![0.0; k];
    let mut iterations = 0;
    for iteration in 0..max_iterations.max(1) {
        iterations = iteration + 1;
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        for (p, &a) in points.chunks_exact(dims).zip(&assignments) {
            counts[a] += 1;
            for (s, x) in sums[a * dims..(a + 1) * dims].iter_mut().zip(p) {
                *s += x;
            }
        }
        let mut shift = 0.0;
        for c in 0..k {
            let mut m2 = 0.0;
            // An emptied cluster keeps its centroid; it may win points back next round.
            if counts[c] > 0 {
                for d in 0..dims {
                    let updated = sums[c * dims + d] / counts[c] as f64;
                    m2 += (updated - centroids[c * dims + d]).powi(2);
                    centroids[c * dims + d] = updated;
                }
            }
            moved[c] = m2.sqrt();
            shift += m2;
        }
        // Stop once the centroids barely move (scikit-learn's rule: total squared shift below 1e-4 of the mean
        // per-feature variance); chasing the last few reassignments costs many passes and changes nothing.
        if shift <= tolerance {
            break;
        }
        let (max1, max1_at, max2) = two_largest_moves(&moved);
        for (c, gap) in half_gap.iter_mut().enumerate() {
            *gap = 0.5
                * (0..k)
                    .filter(|&o| o != c)
                    .map(|o| sq_dist(&centroids[c * dims..(c + 1) * dims], &centroids[o * dims..(o + 1) * dims]))
                    .fold(f64::INFINITY, f64::min)
                    .sqrt();
        }
        let mut changed = false;
        for (i, p) in points.chunks_exact(dims).enumerate() {
            let a = assignments[i];
            upper[i] += moved[a];
            lower[i] -= if a == max1_at { max2 } else { max1 };
            let bound = half_gap[a].max(lower[i]);
            if upper[i] <= bound {
                continue;
            }
            upper[i] = sq_dist(p, &centroids[a * dims..(a + 1) * dims]).sqrt();
            if upper[i] <= bound {
                continue;
            }
            let (best, d1, d2) = nearest_two(p, &centroids, dims);
            changed |= best != a;
            assignments[i] = best;
            upper[i] = d1;
            lower[i] = d2;
        }
        if !changed {
            break;
        }
    }
    // Inertia against the final centroids.
    let inertia = points
        .chunks_exact(dims)
        .zip(&assignments)
        .map(|(p, &a)| sq_dist(p, &centroids[a * dims..(a + 1) * dims]))
        .sum();
    KMeans { centroids, assignments, inertia, iterations }
}

/// Mean silhouette of `sample` points (indices) under `assignments`, measured within the sample.
///
/// ```
/// use guanxi_analytics::clusters::silhouette;
/// let points = [0.0, 0.1, 10.0, 10.1];
/// let s = silhouette(&points, 1, &[0, 0, 1, 1], &[0, 1, 2, 3]);
/// assert!(s > 0.98);
/// ```
pub fn silhouette(points: &[f64], dims: usize, assignments: &[usize], sample: &[usize]) -> f64 {
    let k = assignments.iter().copied().max().map_or(0, |m| m + 1);
    let mut dist_sum = vec![0.0; k];
    let mut count = vec![0usize; k];
    let mut total = 0.0;
    for &i in sample {
        dist_sum.iter_mut().for_each(|d| *d = 0.0);
        count.iter_mut().for_each(|c| *c = 0);
        let p = &points[i * dims..(i + 1) * dims];
        for &j in sample {
            if i != j {
                dist_sum[assignments[j]] += sq_dist(p, &points[j * dims..(j + 1) * dims]).sqrt();
                count[assignments[j]] += 1;
            }
        }
        let own = assignments[i];
        if count[own] == 0 {
            continue; // a singleton's silhouette is 0 by convention
        }
        let a = dist_sum[own] / count[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && count[c] > 0)
            .map(|c| dist_sum[c] / count[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    if sample.is_empty() { 0.0 } else { total / sample.len() as f64 }
}

/// A cluster in business terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterProfile {
    /// Cluster number (0-based, largest cluster first).
    pub id: usize,
    /// Customers in it.
    pub size: usize,
    /// Share of all customers.
    pub share: f64,
    /// Median total spend, minor units.
    pub median_spend_minor: i64,
    /// Median number of orders.
    pub median_orders: f64,
    /// Median days since the last order.
    pub median_recency_days: f64,
    /// e.g. "recent, frequent, high-spending customers", relative to the whole base's medians.
    pub description: String,
}

/// The clustering of a customer base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport<K> {
    /// Chosen k.
    pub k: usize,
    /// Mean silhouette of every k tried.
    pub silhouette_by_k: Vec<(usize, f64)>,
    /// Clusters, largest first.
    pub clusters: Vec<ClusterProfile>,
    /// Each customer's cluster id, in input order.
    pub assignments: Vec<(K, usize)>,
}

/// Clusters customers by their RFM measures.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::clusters::{cluster_customers, ClusterSettings};
/// use guanxi_analytics::orders::OrderHistory;
/// use guanxi_analytics::rfm::rfm_scores;
/// use guanxi_analytics::synthetic::{generate, SyntheticSettings};
/// let data = generate(&SyntheticSettings { customers: 1_000, ..Default::default() });
/// let rfm = rfm_scores(&OrderHistory::from_transactions(&data.transactions), data.settings.end).unwrap();
/// let report = cluster_customers(&rfm, &ClusterSettings { k_max: 4, ..Default::default() }).unwrap();
/// assert!((2..=4).contains(&report.k));
/// assert_eq!(report.clusters.iter().map(|c| c.size).sum::<usize>(), rfm.len());
/// ```
pub fn cluster_customers<K: CustomerKey>(
    rfm: &[CustomerRfm<K>],
    settings: &ClusterSettings,
) -> Result<ClusterReport<K>> {
    if settings.k_min < 2 || settings.k_max < settings.k_min {
        return Err(AnalyticsError::InvalidSetting(format!(
            "k range {}..={} must start at 2 or more",
            settings.k_min, settings.k_max
        )));
    }
    let n = rfm.len();
    if n <= settings.k_min {
        return Err(AnalyticsError::EmptyInput { what: "clusters (fewer customers than clusters)" });
    }
    const DIMS: usize = 3;
    let mut points: Vec<f64> = rfm
        .iter()
        .flat_map(|c| {
            [c.recency_days as f64, (c.frequency as f64).ln_1p(), (c.monetary_total_minor.max(0) as f64).ln_1p()]
        })
        .collect();
    for d in 0..DIMS {
        let mean = points.iter().skip(d).step_by(DIMS).sum::<f64>() / n as f64;
        let var = points.iter().skip(d).step_by(DIMS).map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
        points.iter_mut().skip(d).step_by(DIMS).for_each(|x| *x = (*x - mean) / sd);
    }
    let mut sample: Vec<usize> = (0..n).collect();
    if n > settings.silhouette_sample {
        SplitMix64::new(settings.seed ^ 0x5EED).shuffle(&mut sample);
        sample.truncate(settings.silhouette_sample);
        sample.sort_unstable();
    }
    let mut silhouettes = Vec::new();
    let mut best: Option<(usize, f64, KMeans)> = None;
    for k in settings.k_min..=settings.k_max.min(n - 1) {
        let fit =
            kmeans(&points, DIMS, k, settings.seed.wrapping_add(k as u64), settings.restarts, settings.max_iterations)?;
        let s = silhouette(&points, DIMS, &fit.assignments, &sample);
        silhouettes.push((k, s));
        if best.as_ref().is_none_or(|b| s > b.1) {
            best = Some((k, s, fit));
        }
    }
    let (k, _, fit) = best.ok_or(AnalyticsError::EmptyInput { what: "clusters" })?;
    // Renumber clusters by size, largest first (ties by old id), so ids are stable and meaningful.
    let mut sizes = vec![0usize; k];
    for &a in &fit.assignments {
        sizes[a] += 1;
    }
    let mut by_size: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    by_size.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut new_id = vec![0usize; k];
    for (new, &old) in by_size.iter().enumerate() {
        new_id[old] = new;
    }
    let overall = medians(rfm.iter());
    let clusters = by_size
        .iter()
        .enumerate()
        .map(|(id, &old)| {
            let members = rfm.iter().zip(&fit.assignments).filter(|(_, a)| **a == old).map(|(c, _)| c);
            let (spend, orders, recency) = medians(members);
            ClusterProfile {
                id,
                size: sizes[old],
                share: sizes[old] as f64 / n as f64,
                median_spend_minor: spend.round() as i64,
                median_orders: orders,
                median_recency_days: recency,
                description: describe((spend, orders, recency), overall),
            }
        })
        .collect();
    Ok(ClusterReport {
        k: by_size.len(),
        silhouette_by_k: silhouettes,
        clusters,
        assignments: rfm.iter().zip(&fit.assignments).map(|(c, &a)| (c.customer.clone(), new_id[a])).collect(),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
}

fn medians<'a, K: 'a>(members: impl Iterator<Item = &'a CustomerRfm<K>>) -> (f64, f64, f64) {
    let (mut s, mut o, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for c in members {
        s.push(c.monetary_total_minor as f64);
        o.push(c.frequency as f64);
        r.push(c.recency_days as f64);
    }
    (median(s), median(o), median(r))
}

fn describe(
    (spend, orders, recency): (f64, f64, f64),
    (all_spend, all_orders, all_recency): (f64, f64, f64),
) -> String {
    let recency_word = if recency <= all_recency * 0.5 {
        "recent"
    } else if recency >= all_recency * 1.5 {
        "long-lapsed"
    } else if recency > all_recency {
        "lapsing"
    } else {
        "fairly recent"
    };
    let order_word = if orders > all_orders {
        "frequent"
    } else if orders < all_orders {
        "infrequent"
    } else {
        "typical-frequency"
    };
    let spend_word = if spend >= all_spend * 2.0 {
        "high-spending"
    } else if spend <= all_spend * 0.5 {
        "low-spending"
    } else {
        "mid-spending"
    };
    format!("{recency_word}, {order_word}, {spend_word} customers")
}

/// The largest centroid move, whose centroid it was, and the second largest: a point's lower bound to the
/// other centroids drops by the largest move of any centroid but its own.
fn two_largest_moves(moved: &[f64]) -> (f64, usize, f64) {
    let (mut max1, mut max1_at, mut max2) = (0.0, 0, 0.0);
    for (c, &m) in moved.iter().enumerate() {
        if m > max1 {
            max2 = max1;
            max1 = m;
            max1_at = c;
        } else if m > max2 {
            max2 = m;
        }
    }
    (max1, max1_at, max2)
}

/// k-means++'s next seed: a point drawn with probability proportional to its squared distance to the nearest
/// seed so far (`d2`); any point when all of them coincide with a seed.
fn sample_by_weight(d2: &[f64], rng: &mut SplitMix64) -> usize {
    let n = d2.len();
    let total: f64 = d2.iter().sum();
    if total <= 0.0 {
        return rng.below(n as u64) as usize;
    }
    let mut u = rng.next_f64() * total;
    for (i, d) in d2.iter().enumerate() {
        if u < *d {
            return i;
        }
        u -= d;
    }
    n - 1
}
