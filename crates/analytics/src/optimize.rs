//! Small numerical building blocks: BFGS with a line search for objectives with an analytic gradient,
//! Nelder–Mead for those without, numerical Hessians, dense symmetric solves by Cholesky, and deterministic
//! parallel sums over fixed chunks.
//!
//! Own code instead of `argmin`: the models here have three or four parameters, so a couple of hundred lines
//! of BFGS and Nelder–Mead do the job, compile in no time and keep every step deterministic.

use crate::error::{AnalyticsError, Result};

/// Outcome of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub value: f64,
    /// Nelder–Mead iterations used (over all restarts).
    pub iterations: usize,
}

/// Settings for [`nelder_mead`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NelderMeadSettings {
    /// Stop when the spread of objective values in the simplex is below this (absolute).
    pub value_tolerance: f64,
    /// ... and every vertex is within this distance (per coordinate) of the best one.
    pub point_tolerance: f64,
    /// Give up after this many iterations in total.
    pub max_iterations: usize,
    /// Size of the first simplex's steps.
    pub initial_step: f64,
}

impl Default for NelderMeadSettings {
    fn default() -> Self {
        Self { value_tolerance: 1e-11, point_tolerance: 1e-9, max_iterations: 20_000, initial_step: 0.5 }
    }
}

/// Minimises `f` from `start` with the Nelder–Mead simplex method, restarting from the best point until a
/// restart no longer improves (this guards against the simplex collapsing early).
///
/// Non-finite objective values are treated as +∞, so an objective may return NaN outside its domain.
///
/// ```
/// use guanxi_analytics::optimize::{nelder_mead, NelderMeadSettings};
/// let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
/// let m = nelder_mead(rosenbrock, &[-1.2, 1.0], &NelderMeadSettings::default()).unwrap();
/// assert!((m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6);
/// ```
pub fn nelder_mead<F>(mut f: F, start: &[f64], settings: &NelderMeadSettings) -> Result<Minimum>
where
    F: FnMut(&[f64]) -> f64,
{
    let n = start.len();
    if n == 0 {
        return Err(AnalyticsError::InvalidInput("Nelder–Mead needs at least one parameter".into()));
    }
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut best = start.to_vec();
    let mut best_value = eval(&best);
    if !best_value.is_finite() {
        return Err(AnalyticsError::InvalidInput("objective is not finite at the starting point".into()));
    }
    let mut iterations = 0;
    let mut step = settings.initial_step;
    for _restart in 0..20 {
        let (x, value, used, converged) =
            simplex_run(&mut eval, &best, step, settings, settings.max_iterations - iterations);
        iterations += used;
        let improvement = best_value - value;
        if value <= best_value {
            best = x;
            best_value = value;
        }
        if !converged {
            return Err(AnalyticsError::NotConverged { what: "Nelder–Mead", iterations });
        }
        if improvement.abs() <= settings.value_tolerance * (1.0 + best_value.abs()) {
            return Ok(Minimum { x: best, value: best_value, iterations });
        }
        step = (step * 0.5).max(1e-3);
    }
    Ok(Minimum { x: best, value: best_value, iterations })
}

/// One Nelder–Mead run; returns (best point, value, iterations, converged).
fn simplex_run<F>(
    f: &mut F,
    start: &[f64],
    step: f64,
    settings: &NelderMeadSettings,
    budget: usize,
) -> (Vec<f64>, f64, usize, bool)
where
    F: FnMut(&[f64]) -> f64,
{
    let n = start.len();
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    points.push(start.to_vec());
    for i in 0..n {
        let mut p = start.to_vec();
        p[i] += if p[i].abs() > 1e-8 { step * p[i].abs().max(0.1) } else { step };
        points.push(p);
    }
    let mut values: Vec<f64> = points.iter().map(|p| f(p)).collect();
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut trial2 = vec![0.0; n];
    let mut order: Vec<usize> = (0..=n).collect();
    for it in 0..budget {
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        let (b, w, sw) = (order[0], order[n], order[n - 1]);
        let spread = values[w] - values[b];
        let size = points.iter().flat_map(|p| p.iter().zip(&points[b]).map(|(x, y)| (x - y).abs())).fold(0.0, f64::max);
        // A simplex shrunk to rounding level has converged even if rounding noise keeps the values apart.
        let scale = 1.0 + points[b].iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let flat = spread <= settings.value_tolerance * (1.0 + values[b].abs()) || size <= 1e-13 * scale;
        if flat && size <= settings.point_tolerance {
            return (points[b].clone(), values[b], it, true);
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for &i in &order[..n] {
            for (c, x) in centroid.iter_mut().zip(&points[i]) {
                *c += x / n as f64;
            }
        }
        // Reflection.
        for k in 0..n {
            trial[k] = centroid[k] + (centroid[k] - points[w][k]);
        }
        let fr = f(&trial);
        if fr < values[b] {
            // Expansion.
            for k in 0..n {
                trial2[k] = centroid[k] + 2.0 * (centroid[k] - points[w][k]);
            }
            let fe = f(&trial2);
            if fe < fr {
                points[w].copy_from_slice(&trial2);
                values[w] = fe;
            } else {
                points[w].copy_from_slice(&trial);
                values[w] = fr;
            }
            continue;
        }
        if fr < values[sw] {
            points[w].copy_from_slice(&trial);
            values[w] = fr;
            continue;
        }
        // Contraction (outside if the reflection helped a little, inside otherwise).
        let outside = fr < values[w];
        for k in 0..n {
            trial2[k] = if outside {
                centroid[k] + 0.5 * (trial[k] - centroid[k])
            } else {
                centroid[k] + 0.5 * (points[w][k] - centroid[k])
            };
        }
        let fc = f(&trial2);
        if fc < if outside { fr } else { values[w] } {
            points[w].copy_from_slice(&trial2);
            values[w] = fc;
            continue;
        }
        // Shrink towards the best vertex.
        let best = points[b].clone();
        for i in 0..=n {
            if i != b {
                for k in 0..n {
                    points[i][k] = best[k] + 0.5 * (points[i][k] - best[k]);
                }
                values[i] = f(&points[i]);
            }
        }
    }
    let b = (0..=n).min_by(|&i, &j| values[i].total_cmp(&values[j])).unwrap_or(0);
    (points[b].clone(), values[b], budget, false)
}

/// Settings for [`bfgs`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BfgsSettings {
    /// Converged when every gradient component is at most this times max(1, |f|): relative to the
    /// objective, because a log-likelihood over a million customers is a sum of a million terms and its
    /// gradient cannot be computed more precisely than that sum.
    pub gradient_tolerance: f64,
    /// Give up after this many iterations.
    pub max_iterations: usize,
    /// Largest change of any coordinate in the first step (later steps are scaled by the curvature learnt).
    pub first_step: f64,
}

impl Default for BfgsSettings {
    fn default() -> Self {
        Self { gradient_tolerance: 1e-10, max_iterations: 500, first_step: 1.0 }
    }
}

/// Minimises `f` from `start` by BFGS (quasi-Newton with the inverse-Hessian update) and a backtracking line
/// search on the sufficient-decrease (Armijo) condition. `f(x, gradient)` returns the objective and writes its
/// gradient; a non-finite value marks a point outside the domain, and the line search steps back from it.
///
/// Stops when the gradient is small relative to the objective (see [`BfgsSettings::gradient_tolerance`]), or
/// when a step lowers the objective only at the level of rounding (or not at all) while the gradient is
/// already within a thousand times that tolerance (the rounding floor of a large sum).
///
/// ```
/// use guanxi_analytics::optimize::{bfgs, BfgsSettings};
/// let rosenbrock = |x: &[f64], g: &mut [f64]| {
///     g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
///     g[1] = 200.0 * (x[1] - x[0] * x[0]);
///     (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
/// };
/// let m = bfgs(rosenbrock, &[-1.2, 1.0], &BfgsSettings::default()).unwrap();
/// assert!((m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6);
/// ```
pub fn bfgs<F>(mut f: F, start: &[f64], settings: &BfgsSettings) -> Result<Minimum>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = start.len();
    if n == 0 {
        return Err(AnalyticsError::InvalidInput("BFGS needs at least one parameter".into()));
    }
    let mut x = start.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput("objective is not finite at the starting point".into()));
    }
    let tolerance = |fx: f64| settings.gradient_tolerance * fx.abs().max(1.0);
    let max_abs = |v: &[f64]| v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    // Inverse-Hessian approximation, row-major; None until the first curvature pair sets its scale.
    let mut h: Option<Vec<f64>> = None;
    let (mut x_new, mut g_new, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let (mut s, mut y, mut hy) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for iteration in 0..settings.max_iterations {
        if max_abs(&g) <= tolerance(fx) {
            return Ok(Minimum { x, value: fx, iterations: iteration });
        }
        // Search direction −H g; steepest descent scaled to `first_step` until H exists, or if H lost
        // positive definiteness through rounding.
        let mut slope = 0.0;
        if let Some(h) = &h {
            for i in 0..n {
                d[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
            }
            slope = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        }
        if h.is_none() || slope >= 0.0 || !slope.is_finite() {
            h = None;
            let scale = settings.first_step / max_abs(&g);
            d.iter_mut().zip(&g).for_each(|(d, g)| *d = -scale * g);
            slope = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        }
        // Backtracking: halve the step (or jump to the minimum of the quadratic through f(0), f'(0) and
        // f(t) when that is closer) until the objective drops enough.
        let mut t = 1.0;
        let mut f_new = f64::INFINITY;
        let mut accepted = false;
        for _ in 0..40 {
            for i in 0..n {
                x_new[i] = x[i] + t * d[i];
            }
            f_new = f(&x_new, &mut g_new);
            // Strictly lower as well: at the rounding floor "no worse" would accept steps that go nowhere.
            if f_new.is_finite() && g_new.iter().all(|v| v.is_finite()) && f_new < fx && f_new <= fx + 1e-4 * t * slope
            {
                accepted = true;
                break;
            }
            let quadratic = if f_new.is_finite() { -slope * t * t / (2.0 * (f_new - fx - slope * t)) } else { 0.0 };
            t = if quadratic.is_finite() && quadratic > 0.1 * t && quadratic < 0.5 * t { quadratic } else { 0.5 * t };
        }
        if !accepted {
            // A direction from a stale curvature model may be useless: try once more along the gradient.
            if h.is_some() {
                h = None;
                continue;
            }
            // Not even along the gradient: the objective is at its rounding floor here.
            if max_abs(&g) <= 1e3 * tolerance(fx) {
                return Ok(Minimum { x, value: fx, iterations: iteration });
            }
            return Err(AnalyticsError::NotConverged { what: "BFGS line search", iterations: iteration });
        }
        for i in 0..n {
            s[i] = x_new[i] - x[i];
            y[i] = g_new[i] - g[i];
        }
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        let improvement = fx - f_new;
        fx = f_new;
        // A decrease at the level of rounding: near the minimum the sums cannot say more (scipy's L-BFGS-B
        // stops likewise); farther out the curvature model is stale, so start it afresh.
        let stalled = improvement <= 1e-14 * fx.abs().max(1.0);
        if stalled && max_abs(&g) <= 1e3 * tolerance(fx) {
            return Ok(Minimum { x, value: fx, iterations: iteration + 1 });
        }
        // A pair without positive curvature would break positive definiteness, and a step lost in rounding
        // carries no curvature information: skip the update.
        if stalled {
            h = None;
        } else if max_abs(&s) > 1e-12 * (1.0 + max_abs(&x))
            && sy > 1e-12 * s.iter().map(|v| v * v).sum::<f64>().sqrt() * y.iter().map(|v| v * v).sum::<f64>().sqrt()
        {
            let hm = h.get_or_insert_with(|| {
                // First pair: start from the scaled identity (Nocedal & Wright, eq. 6.20).
                let yy: f64 = y.iter().map(|v| v * v).sum();
                let mut m = vec![0.0; n * n];
                (0..n).for_each(|i| m[i * n + i] = sy / yy);
                m
            });
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, expanded.
            let rho = 1.0 / sy;
            for i in 0..n {
                hy[i] = (0..n).map(|j| hm[i * n + j] * y[j]).sum();
            }
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    hm[i * n + j] += (1.0 + rho * yhy) * rho * s[i] * s[j] - rho * (hy[i] * s[j] + s[i] * hy[j]);
                }
            }
        }
    }
    Err(AnalyticsError::NotConverged { what: "BFGS", iterations: settings.max_iterations })
}

/// Hessian of a function from its analytic gradient by central differences (steps of `step` in every
/// coordinate), symmetrised. Twice as many gradient calls as coordinates, and far more accurate than second
/// differences of the function itself.
///
/// ```
/// use guanxi_analytics::optimize::hessian_from_gradient;
/// let grad = |x: &[f64], g: &mut [f64]| { g[0] = 2.0 * x[0] * x[1]; g[1] = x[0] * x[0] + 6.0 * x[1]; };
/// let h = hessian_from_gradient(grad, &[1.0, 2.0], 1e-5);
/// assert!((h[0][0] - 4.0).abs() < 1e-8 && (h[0][1] - 2.0).abs() < 1e-8 && (h[1][1] - 6.0).abs() < 1e-8);
/// ```
pub fn hessian_from_gradient<F>(mut gradient: F, x: &[f64], step: f64) -> Vec<Vec<f64>>
where
    F: FnMut(&[f64], &mut [f64]),
{
    let n = x.len();
    let mut p = x.to_vec();
    let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
    let mut hess = vec![vec![0.0; n]; n];
    for i in 0..n {
        p[i] = x[i] + step;
        gradient(&p, &mut gp);
        p[i] = x[i] - step;
        gradient(&p, &mut gm);
        p[i] = x[i];
        for j in 0..n {
            hess[i][j] = (gp[j] - gm[j]) / (2.0 * step);
        }
    }
    // Symmetrise: the average of the two difference estimates of each mixed derivative.
    let transposed: Vec<Vec<f64>> = (0..n).map(|j| hess.iter().map(|row| row[j]).collect()).collect();
    for (row, column) in hess.iter_mut().zip(&transposed) {
        for (h, t) in row.iter_mut().zip(column) {
            *h = 0.5 * (*h + t);
        }
    }
    hess
}

/// Hessian of `f` at `x` by central differences with relative steps (1e-4 of each coordinate).
///
/// ```
/// use guanxi_analytics::optimize::numerical_hessian;
/// let h = numerical_hessian(|x: &[f64]| x[0] * x[0] * x[1] + 3.0 * x[1] * x[1], &[1.0, 2.0]);
/// assert!((h[0][0] - 4.0).abs() < 1e-5 && (h[0][1] - 2.0).abs() < 1e-5 && (h[1][1] - 6.0).abs() < 1e-5);
/// ```
pub fn numerical_hessian<F>(mut f: F, x: &[f64]) -> Vec<Vec<f64>>
where
    F: FnMut(&[f64]) -> f64,
{
    let n = x.len();
    let h: Vec<f64> = x.iter().map(|v| 1e-4 * v.abs().max(1e-2)).collect();
    let f0 = f(x);
    let mut p = x.to_vec();
    let mut hess = vec![vec![0.0; n]; n];
    for i in 0..n {
        p[i] = x[i] + h[i];
        let fp = f(&p);
        p[i] = x[i] - h[i];
        let fm = f(&p);
        p[i] = x[i];
        hess[i][i] = (fp - 2.0 * f0 + fm) / (h[i] * h[i]);
        for j in 0..i {
            let mut corner = |si: f64, sj: f64| {
                p[i] = x[i] + si * h[i];
                p[j] = x[j] + sj * h[j];
                let v = f(&p);
                p[i] = x[i];
                p[j] = x[j];
                v
            };
            let v =
                (corner(1.0, 1.0) - corner(1.0, -1.0) - corner(-1.0, 1.0) + corner(-1.0, -1.0)) / (4.0 * h[i] * h[j]);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    hess
}

/// Cholesky factor L (lower, row-major n×n) of a symmetric positive definite matrix, or `None`.
pub(crate) fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves L Lᵀ x = b given the Cholesky factor.
pub(crate) fn cholesky_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            y[i] -= l[i * n + k] * y[k];
        }
        y[i] /= l[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            y[i] -= l[k * n + i] * y[k];
        }
        y[i] /= l[i * n + i];
    }
    y
}

/// Diagonal of the inverse of a symmetric positive definite matrix, or `None` if it is not.
pub(crate) fn inverse_diagonal(a: &[Vec<f64>]) -> Option<Vec<f64>> {
    let n = a.len();
    let flat: Vec<f64> = a.iter().flatten().copied().collect();
    let l = cholesky(&flat, n)?;
    let mut diag = Vec::with_capacity(n);
    let mut e = vec![0.0; n];
    for i in 0..n {
        e.iter_mut().for_each(|v| *v = 0.0);
        e[i] = 1.0;
        diag.push(cholesky_solve(&l, n, &e)[i]);
    }
    Some(diag)
}

/// Standard errors (square roots of the inverse Hessian's diagonal) of a negative log-likelihood's minimum.
pub(crate) fn standard_errors<F>(neg_ll: F, at: &[f64]) -> Option<Vec<f64>>
where
    F: FnMut(&[f64]) -> f64,
{
    let h = numerical_hessian(neg_ll, at);
    let d = inverse_diagonal(&h)?;
    d.iter().all(|v| *v > 0.0 && v.is_finite()).then(|| d.iter().map(|v| v.sqrt()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        let x = cholesky_solve(&l, 2, &[2.0, 1.0]);
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}

/// A model fitted by maximum likelihood.
///
/// ```
/// use guanxi_analytics::optimize::ModelFit;
/// let fit = ModelFit { params: [1.0, 2.0], standard_errors: None, log_likelihood: -3.0, iterations: 10, customers: 5.0 };
/// assert_eq!(fit.params[1], 2.0);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelFit<P> {
    /// The maximum-likelihood parameters.
    pub params: P,
    /// Standard errors from the inverse of the numerical Hessian of the negative log-likelihood, on the
    /// parameters' own scale; `None` when that Hessian is not positive definite (the data do not pin the
    /// parameters down).
    pub standard_errors: Option<P>,
    /// Log-likelihood at the maximum.
    pub log_likelihood: f64,
    /// Optimiser iterations.
    pub iterations: usize,
    /// Number of customers (sum of weights) the model was fitted on.
    pub customers: f64,
}

/// Raw result of [`fit_positive_params`]: params, standard errors, log-likelihood, iterations.
pub(crate) type RawFit = (Vec<f64>, Option<Vec<f64>>, f64, usize);

/// Maximises a likelihood over strictly positive parameters: Nelder–Mead on their logarithms (no bounds to
/// handle, and the surface is rounder there), then standard errors from the Hessian in the original scale.
/// `neg_ll` takes the original (positive) parameters.
pub(crate) fn fit_positive_params<F>(mut neg_ll: F, start: &[f64]) -> Result<RawFit>
where
    F: FnMut(&[f64]) -> f64,
{
    let mut buf = vec![0.0; start.len()];
    let log_start: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let settings = NelderMeadSettings { value_tolerance: 1e-13, point_tolerance: 1e-8, ..Default::default() };
    // Beyond e^±25 a parameter is running off to zero or infinity: the data do not identify the model. A wall
    // there lets the simplex settle quickly so we can say so instead of burning the iteration budget.
    const WALL: f64 = 25.0;
    let min = nelder_mead(
        |y| {
            if y.iter().any(|v| v.abs() > WALL) {
                return f64::INFINITY;
            }
            for (b, v) in buf.iter_mut().zip(y) {
                *b = v.exp();
            }
            neg_ll(&buf)
        },
        &log_start,
        &settings,
    )?;
    if let Some(j) = min.x.iter().position(|v| v.abs() > WALL - 5.0) {
        return Err(AnalyticsError::Numerical(format!(
            "the data do not identify the model: parameter {} runs off to {}",
            j + 1,
            if min.x[j] > 0.0 { "infinity" } else { "zero" }
        )));
    }
    let params: Vec<f64> = min.x.iter().map(|v| v.exp()).collect();
    let se = standard_errors(&mut neg_ll, &params);
    Ok((params, se, -min.value, min.iterations))
}

/// Like [`fit_positive_params`] for a negative log-likelihood with an analytic gradient: BFGS on the
/// parameters' logarithms, then standard errors from the Hessian by differences of the analytic gradient.
///
/// `neg_ll(params, gradient)` takes the original (positive) parameters and writes the gradient with respect
/// to them. A run that heads for e^±10 (a parameter running off to zero or infinity, so the data may not
/// identify the model) is handed to [`fit_positive_params`], whose walls make that diagnosis.
pub(crate) fn fit_positive_params_with_gradient<F>(mut neg_ll: F, start: &[f64]) -> Result<RawFit>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = start.len();
    let mut theta = vec![0.0; n];
    // In log-parameters y = ln θ: d/dy = θ d/dθ.
    let mut in_logs = |y: &[f64], g: &mut [f64]| -> f64 {
        if y.iter().any(|v| v.abs() > 30.0) {
            return f64::INFINITY;
        }
        for (t, v) in theta.iter_mut().zip(y) {
            *t = v.exp();
        }
        let value = neg_ll(&theta, g);
        for (g, t) in g.iter_mut().zip(&theta) {
            *g *= t;
        }
        value
    };
    let log_start: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let settings = BfgsSettings { gradient_tolerance: 1e-8, ..Default::default() };
    let min = match bfgs(&mut in_logs, &log_start, &settings) {
        Ok(m) if m.x.iter().all(|v| v.abs() <= 10.0) => m,
        // Running away, or a surface too awkward for the line search: the slow, sure way decides.
        _ => {
            let mut g = vec![0.0; n];
            return fit_positive_params(|v| neg_ll(v, &mut g), start);
        }
    };
    // Polish with Newton steps on the Hessian from gradient differences (needed for the standard errors
    // anyway): from BFGS's stopping point one or two steps reach the rounding floor of the sums, so the
    // estimates do not depend on where BFGS happened to stop.
    let max_abs = |v: &[f64]| v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let hessian = hessian_from_gradient(
        |y, g| {
            in_logs(y, g);
        },
        &min.x,
        1e-5,
    );
    let (mut y, mut value) = (min.x, min.value);
    let (mut g, mut g_new) = (vec![0.0; n], vec![0.0; n]);
    in_logs(&y, &mut g);
    if let Some(l) = cholesky(&hessian.iter().flatten().copied().collect::<Vec<_>>(), n) {
        for _ in 0..3 {
            if max_abs(&g) <= 1e-13 * value.abs().max(1.0) {
                break;
            }
            let step = cholesky_solve(&l, n, &g);
            let y_new: Vec<f64> = y.iter().zip(&step).map(|(a, b)| a - b).collect();
            let v_new = in_logs(&y_new, &mut g_new);
            if !(v_new <= value && max_abs(&g_new) < max_abs(&g)) {
                break;
            }
            (y, value) = (y_new, v_new);
            std::mem::swap(&mut g, &mut g_new);
        }
    }
    if max_abs(&g) > 1e-6 * value.abs().max(1.0) {
        // BFGS stopped short of the maximum (a surface too flat for its line search): the slow, sure way.
        let mut g = vec![0.0; n];
        return fit_positive_params(|v| neg_ll(v, &mut g), start);
    }
    let params: Vec<f64> = y.iter().map(|v| v.exp()).collect();
    // At the maximum (zero gradient) the covariance of θ is diag(θ) H_y⁻¹ diag(θ).
    let se = inverse_diagonal(&hessian).and_then(|d| {
        d.iter().all(|v| *v > 0.0 && v.is_finite()).then(|| d.iter().zip(&params).map(|(v, p)| p * v.sqrt()).collect())
    });
    Ok((params, se, -value, min.iterations))
}
