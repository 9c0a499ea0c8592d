//! L2-regularised logistic regression on standardised features, fitted by Newton's method (IRLS), plus the
//! evaluation measures churn scoring needs: ROC AUC with ties and a reliability table with the Brier score.
//!
//! Newton/IRLS instead of a gradient method: with ten features the p × p system is tiny, and Newton reaches
//! machine precision in a few passes over the data, which is both faster and free of learning rates. On a
//! large table the first iterations run on an evenly spaced sample of rows, and the last ones reuse one
//! Hessian, so a fit over a million rows costs about one full Newton pass and two cheaper ones.

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, ensure_finite};
use crate::optimize::{cholesky, cholesky_solve};
use crate::parallel::map_chunks;
use crate::special::exp_non_positive;

/// A fitted logistic regression. Coefficients apply to standardised features `(x − mean) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// Feature means on the training data.
    pub means: Vec<f64>,
    /// Feature standard deviations (1 for constant features, whose coefficient is then 0).
    pub scales: Vec<f64>,
    /// Coefficients of the standardised features.
    pub coefficients: Vec<f64>,
    /// Intercept (not penalised).
    pub intercept: f64,
    /// Newton iterations used.
    pub iterations: usize,
}

impl LogisticModel {
    /// Standardised value of feature `j`.
    pub fn standardise(&self, j: usize, x: f64) -> f64 {
        (x - self.means[j]) / self.scales[j]
    }

    /// Probability of the positive class for one row.
    pub fn probability(&self, row: &[f64]) -> f64 {
        let eta: f64 = self.intercept
            + row.iter().enumerate().map(|(j, &x)| self.coefficients[j] * self.standardise(j, x)).sum::<f64>();
        sigmoid(eta)
    }

    /// Each feature's contribution to the log-odds: coefficient × standardised value.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        row.iter().enumerate().map(|(j, &x)| self.coefficients[j] * self.standardise(j, x)).collect()
    }
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 { 1.0 / (1.0 + (-eta).exp()) } else { eta.exp() / (1.0 + eta.exp()) }
}

/// Fits P(y = 1 | x) = σ(b + Σ β_j z_j), z standardised, minimising the negative log-likelihood plus
/// `l2 / 2 × Σ β_j²`. `rows` is row-major with `features` columns.
///
/// ```
/// use guanxi_analytics::logistic::fit_logistic;
/// let rows = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
/// let labels = [false, false, true, false, true, false, true, true];
/// let m = fit_logistic(&rows, 1, &labels, 1.0).unwrap();
/// assert!(m.coefficients[0] > 0.0);
/// assert!(m.probability(&[7.0]) > m.probability(&[0.0]));
/// ```
pub fn fit_logistic(rows: &[f64], features: usize, labels: &[bool], l2: f64) -> Result<LogisticModel> {
    ensure_finite(l2, "l2")?;
    if l2 < 0.0 {
        return Err(AnalyticsError::InvalidSetting(format!("l2 {l2} must be non-negative")));
    }
    if features == 0 || rows.len() != features * labels.len() {
        return Err(AnalyticsError::InvalidInput(format!(
            "{} values do not make {} rows of {features} features",
            rows.len(),
            labels.len()
        )));
    }
    let n = labels.len();
    if n == 0 {
        return Err(AnalyticsError::EmptyInput { what: "logistic regression" });
    }
    let positives = labels.iter().filter(|&&y| y).count();
    if positives == 0 || positives == n {
        return Err(AnalyticsError::InvalidInput("logistic regression needs both outcomes in the data".into()));
    }
    let (means, sum_squares) = feature_moments(rows, features)?;
    let constant: Vec<bool> = sum_squares.iter().map(|s| *s <= 1e-12 * n as f64).collect();
    let scales: Vec<f64> =
        sum_squares.iter().zip(&constant).map(|(s, c)| if *c { 1.0 } else { (s / n as f64).sqrt() }).collect();
    // Parameters: [intercept, β_1..β_p]; constant features are pinned at 0 by a huge penalty.
    let p = features + 1;
    let mut beta = vec![0.0; p];
    let rate = positives as f64 / n as f64;
    beta[0] = (rate / (1.0 - rate)).ln();
    let penalty: Vec<f64> = (0..p)
        .map(|j| {
            if j == 0 {
                0.0
            } else if constant[j - 1] {
                1e12
            } else {
                l2
            }
        })
        .collect();
    let inverse_scales: Vec<f64> = scales.iter().map(|s| 1.0 / s).collect();
    let mut iterations = 0;
    // On a large table, first solve on an evenly spaced sample of rows (with the penalty scaled to match): its
    // optimum is within sampling error of the full one, so the passes over all rows start where Newton's
    // method converges at once, and most of them can reuse one Hessian.
    let stride = n / SAMPLE_ROWS;
    if stride >= 4 {
        let picked: Vec<usize> = (0..n).step_by(stride).collect();
        let sample_rows: Vec<f64> =
            picked.iter().flat_map(|&i| &rows[i * features..(i + 1) * features]).copied().collect();
        let sample_labels: Vec<bool> = picked.iter().map(|&i| labels[i]).collect();
        let sample_penalty: Vec<f64> = penalty.iter().map(|v| v * picked.len() as f64 / n as f64).collect();
        let sample = Data {
            rows: &sample_rows,
            labels: &sample_labels,
            features,
            means: &means,
            inverse_scales: &inverse_scales,
            penalty: &sample_penalty,
        };
        iterations += newton(&sample, &mut beta, 1e-6)?;
    }
    let data = Data { rows, labels, features, means: &means, inverse_scales: &inverse_scales, penalty: &penalty };
    iterations += newton(&data, &mut beta, 1e-8)?;
    let mut coefficients = beta[1..].to_vec();
    for (c, k) in coefficients.iter_mut().zip(&constant) {
        if *k {
            *c = 0.0;
        }
    }
    Ok(LogisticModel { means, scales, coefficients, intercept: beta[0], iterations })
}

/// Rows per chunk-sized sample for the first Newton iterations (see [`fit_logistic`]).
const SAMPLE_ROWS: usize = 65_536;

/// Means and sums of squared deviations of every feature in one pass, shifted by the first row so that large
/// offsets (dates, amounts) cost no precision; rejects non-finite values.
fn feature_moments(rows: &[f64], features: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = rows.len() / features;
    let shift = &rows[..features];
    let parts = map_chunks(n, |range| {
        let mut sums = vec![0.0; 2 * features];
        for row in rows[range.start * features..range.end * features].chunks_exact(features) {
            for j in 0..features {
                let d = row[j] - shift[j];
                sums[j] += d;
                sums[features + j] += d * d;
            }
        }
        sums
    });
    let mut sums = vec![0.0; 2 * features];
    for part in parts {
        sums.iter_mut().zip(part).for_each(|(s, v)| *s += v);
    }
    // Only a non-finite value (or one near f64::MAX) makes a sum of squares non-finite.
    if sums.iter().any(|v| !v.is_finite()) {
        let bad = rows.iter().find(|v| !v.is_finite()).copied().unwrap_or(f64::INFINITY);
        return Err(AnalyticsError::InvalidInput(format!("feature value {bad} is not finite or too large")));
    }
    let nf = n as f64;
    let means = (0..features).map(|j| shift[j] + sums[j] / nf).collect();
    let squares = (0..features).map(|j| (sums[features + j] - sums[j] * sums[j] / nf).max(0.0)).collect();
    Ok((means, squares))
}

/// Newton's method from `beta` until a step (or the next one, predicted) changes no parameter by more than
/// `tolerance`; returns the passes over the data it took.
///
/// Near the optimum the Hessian hardly changes, so it is factored once and reused (the chord method) as long
/// as each step is under a quarter of the one before; a pass without the Hessian's p² products costs a
/// fraction of a full one. A step that raises the objective is halved from the previous point.
fn newton(data: &Data, beta: &mut [f64], tolerance: f64) -> Result<usize> {
    let p = beta.len();
    let mut factor: Option<Vec<f64>> = None;
    let mut step = vec![0.0; p];
    let mut previous: Option<(Vec<f64>, Option<f64>)> = None;
    let mut last_change = f64::INFINITY;
    let mut scale = 1.0;
    for pass in 1..=200 {
        // A pass with the Hessian also computes the objective; a pass that reuses one only needs the gradient
        // (and is only made while the steps shrink fast, where the objective cannot rise).
        let (value, grad, hess) = data.pass(beta, factor.is_none());
        if let (Some((prev_beta, Some(prev_value))), Some(value)) = (&previous, value)
            && value > prev_value + 1e-12 * prev_value.abs()
        {
            scale *= 0.5;
            if scale < 1e-9 {
                beta.copy_from_slice(prev_beta);
                return Ok(pass);
            }
            for j in 0..p {
                beta[j] = prev_beta[j] - scale * step[j];
            }
            factor = None;
            continue;
        }
        if let Some(h) = hess {
            factor = Some(
                cholesky(&h, p)
                    .ok_or_else(|| AnalyticsError::Numerical("logistic regression Hessian is singular".into()))?,
            );
        }
        let Some(l) = &factor else {
            return Err(AnalyticsError::Numerical("logistic regression Hessian is missing".into()));
        };
        step = cholesky_solve(l, p, &grad);
        let change = step.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
        previous = Some((beta.to_vec(), value));
        scale = 1.0;
        for j in 0..p {
            beta[j] -= step[j];
        }
        // Done when this step, or the next one as the steps are shrinking (they contract by a steady ratio
        // under a reused Hessian), is below the tolerance.
        let ratio = change / last_change;
        if change < tolerance || (last_change.is_finite() && ratio < 0.25 && change * ratio < tolerance) {
            return Ok(pass);
        }
        if ratio > 0.25 {
            factor = None;
        }
        last_change = change;
    }
    Err(AnalyticsError::NotConverged { what: "logistic regression (Newton)", iterations: 200 })
}

/// The training data with what a pass over it needs.
struct Data<'a> {
    rows: &'a [f64],
    labels: &'a [bool],
    features: usize,
    means: &'a [f64],
    inverse_scales: &'a [f64],
    penalty: &'a [f64],
}

impl Data<'_> {
    /// Gradient and, if asked, objective and Hessian (row-major p × p) at `beta`, in one pass over the rows.
    fn pass(&self, beta: &[f64], with_hessian: bool) -> (Option<f64>, Vec<f64>, Option<Vec<f64>>) {
        let p = beta.len();
        let parts = map_chunks(self.labels.len(), |range| self.partial(beta, range.start, range.end, with_hessian));
        let (mut value, mut grad, mut hess) = (0.0, vec![0.0; p], vec![0.0; if with_hessian { p * p } else { 0 }]);
        for (v, g, h) in parts {
            value += v;
            grad.iter_mut().zip(&g).for_each(|(a, b)| *a += b);
            hess.iter_mut().zip(&h).for_each(|(a, b)| *a += b);
        }
        for a in 0..p {
            value += 0.5 * self.penalty[a] * beta[a] * beta[a];
            grad[a] += self.penalty[a] * beta[a];
            if with_hessian {
                hess[a * p + a] += self.penalty[a];
                for b in 0..a {
                    hess[b * p + a] = hess[a * p + b];
                }
            }
        }
        (with_hessian.then_some(value), grad, with_hessian.then_some(hess))
    }

    /// Unpenalised negative log-likelihood, gradient and Hessian (lower triangle filled) over rows start..end;
    /// without `with_hessian` the objective is 0 and the Hessian empty.
    ///
    /// Rows are processed in blocks transposed to column-major order, so that each gradient and Hessian entry
    /// is a dot product over contiguous memory: the compiler turns those into SIMD, which makes a pass several
    /// times faster than the textbook row-by-row outer-product update.
    fn partial(&self, beta: &[f64], start: usize, end: usize, with_hessian: bool) -> (f64, Vec<f64>, Vec<f64>) {
        const BLOCK: usize = 256;
        let p = beta.len();
        let f = self.features;
        let mut cols = vec![0.0; p * BLOCK];
        let mut eta = [0.0; BLOCK];
        let mut exp_neg = [0.0; BLOCK];
        let mut resid = [0.0; BLOCK];
        let mut weight = [0.0; BLOCK];
        let mut weighted = [0.0; BLOCK];
        let mut value = 0.0;
        let mut grad = vec![0.0; p];
        let mut hess = vec![0.0; if with_hessian { p * p } else { 0 }];
        let mut lo = start;
        while lo < end {
            let m = (end - lo).min(BLOCK);
            cols[..m].iter_mut().for_each(|v| *v = 1.0);
            let block = &self.rows[lo * f..(lo + m) * f];
            for j in 0..f {
                let (mean, inverse_scale) = (self.means[j], self.inverse_scales[j]);
                let col = &mut cols[(j + 1) * BLOCK..(j + 1) * BLOCK + m];
                for (c, row) in col.iter_mut().zip(block.chunks_exact(f)) {
                    *c = (row[j] - mean) * inverse_scale;
                }
            }
            eta[..m].iter_mut().for_each(|e| *e = 0.0);
            for (a, b) in beta.iter().enumerate() {
                for (e, z) in eta[..m].iter_mut().zip(&cols[a * BLOCK..a * BLOCK + m]) {
                    *e += b * z;
                }
            }
            // One exponential serves both the loss −log σ(±η) = max(s, 0) + ln(1 + e^−|η|) and σ(η); these
            // loops vectorise.
            for (x, e) in exp_neg[..m].iter_mut().zip(&eta[..m]) {
                *x = exp_non_positive(-e.abs());
            }
            let labels = &self.labels[lo..lo + m];
            for k in 0..m {
                let e = exp_neg[k];
                let mu = if eta[k] >= 0.0 { 1.0 } else { e } / (1.0 + e);
                resid[k] = mu - if labels[k] { 1.0 } else { 0.0 };
                weight[k] = (mu * (1.0 - mu)).max(1e-12);
            }
            if with_hessian {
                for k in 0..m {
                    let s = if labels[k] { -eta[k] } else { eta[k] };
                    value += s.max(0.0) + exp_neg[k].ln_1p();
                }
            }
            for a in 0..p {
                let za = &cols[a * BLOCK..a * BLOCK + m];
                grad[a] += dot(&resid[..m], za);
                if !with_hessian {
                    continue;
                }
                for (w, (wk, z)) in weighted[..m].iter_mut().zip(weight[..m].iter().zip(za)) {
                    *w = wk * z;
                }
                for b in 0..=a {
                    hess[a * p + b] += dot(&weighted[..m], &cols[b * BLOCK..b * BLOCK + m]);
                }
            }
            lo += m;
        }
        (value, grad, hess)
    }
}

/// Dot product with four independent accumulators (vectorisable, and a fixed summation order).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Area under the ROC curve: the probability that a random positive scores above a random negative, ties
/// counting one half (Mann–Whitney with mid-ranks).
///
/// ```
/// use guanxi_analytics::logistic::roc_auc;
/// assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap(), 0.75);
/// assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]).unwrap(), 0.5);
/// ```
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    if scores.len() != labels.len() {
        return Err(AnalyticsError::InvalidInput("scores and labels differ in length".into()));
    }
    if let Some(s) = scores.iter().find(|s| s.is_nan()) {
        return Err(AnalyticsError::InvalidInput(format!("score {s} is NaN")));
    }
    let positives = labels.iter().filter(|&&y| y).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(AnalyticsError::InvalidInput("AUC needs both outcomes".into()));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        // Mid-rank of the tied block (ranks are 1-based).
        let mid = (i + 1 + j) as f64 / 2.0;
        rank_sum += mid * order[i..j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j;
    }
    let p = positives as f64;
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// One bin of a reliability (calibration) table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of predicted probability.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Customers in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin.
    pub mean_predicted: f64,
    /// Observed positive rate in the bin.
    pub observed_rate: f64,
}

/// Calibration of predicted probabilities: `bins` equal-width bins and the Brier score (mean squared error).
///
/// ```
/// use guanxi_analytics::logistic::calibration;
/// let (bins, brier) = calibration(&[0.1, 0.2, 0.9, 0.8], &[false, false, true, true], 2).unwrap();
/// assert_eq!(bins.len(), 2);
/// assert_eq!(bins[1].observed_rate, 1.0);
/// assert!((brier - 0.025).abs() < 1e-12);
/// ```
pub fn calibration(probabilities: &[f64], labels: &[bool], bins: usize) -> Result<(Vec<ReliabilityBin>, f64)> {
    if probabilities.len() != labels.len() || probabilities.is_empty() || bins == 0 {
        return Err(AnalyticsError::InvalidInput("calibration needs matching, non-empty inputs and bins".into()));
    }
    if let Some(p) = probabilities.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return Err(AnalyticsError::InvalidInput(format!("{p} is not a probability")));
    }
    let mut sums = vec![(0usize, 0.0, 0.0); bins];
    let mut brier = 0.0;
    for (&p, &y) in probabilities.iter().zip(labels) {
        let yv = if y { 1.0 } else { 0.0 };
        brier += (p - yv) * (p - yv);
        let b = ((p * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += yv;
    }
    let table = sums
        .iter()
        .enumerate()
        .map(|(b, &(count, sp, sy))| ReliabilityBin {
            lower: b as f64 / bins as f64,
            upper: (b + 1) as f64 / bins as f64,
            count,
            mean_predicted: if count > 0 { sp / count as f64 } else { 0.0 },
            observed_rate: if count > 0 { sy / count as f64 } else { 0.0 },
        })
        .collect();
    Ok((table, brier / probabilities.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn the_sampled_start_and_reused_hessian_reach_the_plain_newton_optimum() {
        // Enough rows for the sampled first stage; features on different scales and one constant.
        let (n, f) = (300_000, 4);
        let mut rng = SplitMix64::new(3);
        let mut rows = Vec::with_capacity(n * f);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let x = [rng.normal(), 50.0 + 10.0 * rng.normal(), rng.next_f64(), 7.0];
            let eta = -0.5 + 0.8 * x[0] - 0.03 * (x[1] - 50.0) + 1.5 * x[2];
            labels.push(rng.next_f64() < 1.0 / (1.0 + (-eta).exp()));
            rows.extend_from_slice(&x);
        }
        let fast = fit_logistic(&rows, f, &labels, 1.0).unwrap();
        // Plain Newton with a fresh Hessian every pass, from the intercept-only start, to a tighter tolerance.
        let (means, squares) = feature_moments(&rows, f).unwrap();
        let inverse_scales: Vec<f64> =
            squares.iter().map(|s| if *s <= 1e-12 * n as f64 { 1.0 } else { 1.0 / (s / n as f64).sqrt() }).collect();
        let penalty = [0.0, 1.0, 1.0, 1.0, 1e12];
        let data = Data {
            rows: &rows,
            labels: &labels,
            features: f,
            means: &means,
            inverse_scales: &inverse_scales,
            penalty: &penalty,
        };
        let rate = labels.iter().filter(|&&y| y).count() as f64 / n as f64;
        let mut beta = vec![(rate / (1.0 - rate)).ln(), 0.0, 0.0, 0.0, 0.0];
        for _ in 0..50 {
            let (_, grad, hess) = data.pass(&beta, true);
            let step = cholesky_solve(&cholesky(&hess.unwrap(), 5).unwrap(), 5, &grad);
            beta.iter_mut().zip(&step).for_each(|(b, s)| *b -= s);
            if step.iter().all(|s| s.abs() < 1e-12) {
                break;
            }
        }
        assert!((fast.intercept - beta[0]).abs() < 1e-7, "{fast:?} vs {beta:?}");
        for j in 0..3 {
            assert!((fast.coefficients[j] - beta[j + 1]).abs() < 1e-7, "{fast:?} vs {beta:?}");
        }
        assert_eq!(fast.coefficients[3], 0.0);
        assert!(fast.iterations < 12, "{}", fast.iterations);
    }
}
