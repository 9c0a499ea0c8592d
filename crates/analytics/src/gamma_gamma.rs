//! The Gamma-Gamma model of spend per transaction (Fader, Hardie and Lee 2005, "RFM and CLV").
//!
//! A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers; fitted on the
//! repeat customers' number of repeat transactions x and mean repeat value zbar, it shrinks each customer's
//! observed mean towards the population mean in proportion to how little we have seen of them.

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, ensure_finite};
use crate::optimize::{ModelFit, fit_positive_params_with_gradient};
use crate::orders::RepeatSummary;
use crate::parallel::{accurate_sum, sum_chunks};
use crate::special::{digamma, ln_gamma};

/// Gamma-Gamma parameters (γ is in the same money unit as the mean values it was fitted on).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaParams {
    /// Shape of the per-transaction value distribution.
    pub p: f64,
    /// Shape of the distribution of the customers' scale parameters.
    pub q: f64,
    /// Scale of the distribution of the customers' scale parameters.
    pub gamma: f64,
}

/// The data reduced to what the likelihood needs: per distinct x its count, per customer x and x·zbar, and
/// the parameter-free sums Σ x ln zbar and Σ ln zbar. An evaluation with its gradient then costs one
/// logarithm and one division per customer.
struct Prepared {
    /// (x, number of customers with that x)
    by_x: Vec<(f64, f64)>,
    /// (x, x · zbar) per customer
    totals: Vec<(f64, f64)>,
    sum_x_ln_m: f64,
    sum_ln_m: f64,
}

fn prepare(rows: &[(f64, f64)]) -> Prepared {
    let mut xs: Vec<f64> = rows.iter().map(|r| r.0).collect();
    xs.sort_unstable_by(f64::total_cmp);
    let mut by_x: Vec<(f64, f64)> = Vec::new();
    for x in xs {
        match by_x.last_mut() {
            Some(last) if last.0 == x => last.1 += 1.0,
            _ => by_x.push((x, 1.0)),
        }
    }
    Prepared {
        by_x,
        totals: rows.iter().map(|&(x, m)| (x, x * m)).collect(),
        sum_x_ln_m: rows.iter().map(|&(x, m)| x * m.ln()).sum(),
        sum_ln_m: rows.iter().map(|&(_, m)| m.ln()).sum(),
    }
}

/// A fit is refused unless q is at least this many of its standard errors (CDNOW: q = 3.74 ± 0.29, about 13).
const MIN_Q_IN_STANDARD_ERRORS: f64 = 3.0;

/// Log-likelihood and its gradient with respect to (p, q, γ):
/// Σ_i ln Γ(p x_i + q) − ln Γ(p x_i) − ln Γ(q) + q ln γ + (p x_i − 1) ln m_i + p x_i ln x_i − (p x_i + q) ln(x_i m_i + γ).
///
/// The gamma functions depend on x alone and are evaluated once per distinct x; per customer there is one
/// logarithm and one division, L_i = ln(x_i m_i + γ) and its derivative, summed as Σ L, Σ x L, Σ 1/(·), Σ x/(·).
fn log_likelihood(params: &GammaGammaParams, data: &Prepared, gradient: &mut [f64; 3]) -> f64 {
    let GammaGammaParams { p, q, gamma } = *params;
    *gradient = [0.0; 3];
    if !(p > 0.0 && q > 0.0 && gamma > 0.0) {
        return f64::NEG_INFINITY;
    }
    let n = data.totals.len() as f64;
    let (mut per_x, mut dp, mut dq) = (0.0, 0.0, 0.0);
    for &(x, count) in &data.by_x {
        let (px, ln_x) = (p * x, x.ln());
        per_x += count * (ln_gamma(px + q) - ln_gamma(px) + px * ln_x);
        let psi = digamma(px + q);
        dp += count * x * (psi - digamma(px) + ln_x);
        dq += count * psi;
    }
    let [sum_l, sum_xl, sum_inv, sum_x_inv] = sum_chunks(data.totals.len(), |range| {
        accurate_sum(&data.totals[range], |&(x, total)| {
            let (l, inv) = ((total + gamma).ln(), 1.0 / (total + gamma));
            [l, x * l, inv, x * inv]
        })
    });
    *gradient = [
        dp + data.sum_x_ln_m - sum_xl,
        dq + n * (gamma.ln() - digamma(q)) - sum_l,
        n * q / gamma - p * sum_x_inv - q * sum_inv,
    ];
    per_x + n * (q * gamma.ln() - ln_gamma(q)) + p * data.sum_x_ln_m - data.sum_ln_m - p * sum_xl - q * sum_l
}

/// Fits Gamma-Gamma to the customers with at least one repeat purchase and a positive mean repeat value (the
/// others carry no information about spend per repeat transaction and are skipped).
///
/// When the customers' typical spends do not measurably differ (q not pinned down: it runs off to infinity or
/// stays within three standard errors of zero), the fit is refused with [`AnalyticsError::Numerical`]; the
/// model's limit is then one common mean order value for everybody.
///
/// ```
/// use guanxi_analytics::gamma_gamma::fit_gamma_gamma;
/// use guanxi_analytics::orders::{repeat_summaries, OrderHistory, TimeUnit};
/// use guanxi_analytics::synthetic::{generate, SyntheticSettings};
/// let data = generate(&SyntheticSettings { customers: 3_000, ..Default::default() });
/// let history = OrderHistory::from_transactions(&data.transactions);
/// let summaries = repeat_summaries(&history, data.settings.end, TimeUnit::Days).unwrap();
/// let fit = fit_gamma_gamma(&summaries).unwrap();
/// // Generated with p = 6, q = 3.8, gamma = 1500 (minor units).
/// assert!(fit.params.p > 3.0 && fit.params.p < 12.0);
/// ```
pub fn fit_gamma_gamma<K>(summaries: &[RepeatSummary<K>]) -> Result<ModelFit<GammaGammaParams>> {
    let mut rows = Vec::with_capacity(summaries.len());
    for s in summaries {
        ensure_finite(s.mean_repeat_value_minor, "mean repeat value")?;
        if s.frequency > 0 && s.mean_repeat_value_minor > 0.0 {
            rows.push((s.frequency as f64, s.mean_repeat_value_minor));
        }
    }
    if rows.len() < 2 {
        return Err(AnalyticsError::EmptyInput { what: "Gamma-Gamma fit (needs two customers with repeat purchases)" });
    }
    // Fit in units of the mean spend. The model is scale-equivariant (dividing every amount by c gives the same
    // p and q and γ / c, and lowers the log-likelihood by Σ ln c per customer), and in these units γ is of
    // order one whatever the currency: the optimiser's bounds that tell "runs off to infinity" from a real
    // estimate then mean the same for fen, yen or dollars. In raw minor units γ is already e^13 for a shop
    // whose orders are worth a few thousand yuan, so a q running off to infinity (no real difference between
    // customers) dragged γ only a little further and was reported as a fit with an absurd γ.
    let mean = rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64;
    ensure_finite(mean, "mean repeat value")?;
    let scaled: Vec<(f64, f64)> = rows.iter().map(|&(x, m)| (x, m / mean)).collect();
    let data = prepare(&scaled);
    // Start where the mean spend matches: E[z] = p γ / (q − 1) = 1 with p = 1, q = 2.
    let mut grad = [0.0; 3];
    let (v, se, ll, iterations) = fit_positive_params_with_gradient(
        |v, g| {
            let ll = log_likelihood(&GammaGammaParams { p: v[0], q: v[1], gamma: v[2] }, &data, &mut grad);
            for (g, d) in g.iter_mut().zip(grad) {
                *g = -d;
            }
            -ll
        },
        &[1.0, 2.0, 1.0],
    )?;
    // q measures how much customers' typical spend differs (small q: a lot). Customers who all spend alike send
    // it to infinity; a finite sample often stops it at some large value with a standard error of the same
    // size, and γ ≈ (q − 1) × mean / p follows it into the absurd. Such a q means "no measurable difference",
    // not a fitted spread: say so, and let the caller value everyone at the common mean.
    match &se {
        Some(s) if v[1] >= MIN_Q_IN_STANDARD_ERRORS * s[1] => {}
        Some(s) => {
            return Err(AnalyticsError::Numerical(format!(
                "the data do not identify the model: the spread of spend between customers is not measurable \
                 (q = {:.1} with standard error {:.1})",
                v[1], s[1]
            )));
        }
        None => {
            return Err(AnalyticsError::Numerical(
                "the data do not identify the model: the likelihood is flat at its maximum".into(),
            ));
        }
    }
    // Back to the caller's unit: the density of each mean value picks up 1 / mean.
    let ll = ll - rows.len() as f64 * mean.ln();
    Ok(ModelFit {
        params: GammaGammaParams { p: v[0], q: v[1], gamma: v[2] * mean },
        standard_errors: se.map(|s| GammaGammaParams { p: s[0], q: s[1], gamma: s[2] * mean }),
        log_likelihood: ll,
        iterations,
        customers: rows.len() as f64,
    })
}

impl GammaGammaParams {
    /// Expected value of this customer's future transactions given x repeat transactions with mean `mean_value`
    /// (zero when x = 0: then it is the population mean p γ / (q − 1)).
    ///
    /// ```
    /// use guanxi_analytics::gamma_gamma::GammaGammaParams;
    /// let p = GammaGammaParams { p: 6.25, q: 3.74, gamma: 15.44 };
    /// let population = p.expected_average_value(0, 0.0).unwrap();
    /// assert!((population - 6.25 * 15.44 / 2.74).abs() < 1e-12);
    /// // A big spender is pulled towards the population mean, less so the more we have seen of them.
    /// let once = p.expected_average_value(1, 100.0).unwrap();
    /// let often = p.expected_average_value(10, 100.0).unwrap();
    /// assert!(population < once && once < often && often < 100.0);
    /// ```
    pub fn expected_average_value(&self, x: u32, mean_value: f64) -> Result<f64> {
        ensure_finite(mean_value, "mean value")?;
        if self.q <= 1.0 {
            return Err(AnalyticsError::InvalidInput(format!(
                "Gamma-Gamma q = {} <= 1: the population mean spend is infinite",
                self.q
            )));
        }
        let x = x as f64;
        Ok(self.p * (self.gamma + x * mean_value) / (self.p * x + self.q - 1.0))
    }

    /// Log-likelihood of (x, mean value) rows under these parameters (rows with x = 0 are skipped).
    ///
    /// ```
    /// use guanxi_analytics::gamma_gamma::GammaGammaParams;
    /// let p = GammaGammaParams { p: 6.25, q: 3.74, gamma: 15.44 };
    /// assert!(p.log_likelihood(&[(2, 22.35), (0, 0.0)]) < 0.0);
    /// ```
    pub fn log_likelihood(&self, rows: &[(u32, f64)]) -> f64 {
        let rows: Vec<(f64, f64)> = rows.iter().filter(|r| r.0 > 0).map(|&(x, m)| (x as f64, m)).collect();
        log_likelihood(self, &prepare(&rows), &mut [0.0; 3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// (x, mean repeat value) of `n` customers whose order values are Gamma(p, ν), with ν drawn by `nu`.
    fn customers(n: usize, p: f64, mut nu: impl FnMut(&mut SplitMix64) -> f64) -> Vec<RepeatSummary<usize>> {
        let mut rng = SplitMix64::new(7);
        (0..n)
            .map(|i| {
                let x = 1 + rng.below(6) as u32;
                let v = nu(&mut rng);
                let mean = (0..x).map(|_| rng.gamma(p, 1.0 / v)).sum::<f64>() / x as f64;
                RepeatSummary { customer: i, frequency: x, recency: 1.0, age: 2.0, mean_repeat_value_minor: mean }
            })
            .collect()
    }

    fn scaled(rows: &[RepeatSummary<usize>], c: f64) -> Vec<RepeatSummary<usize>> {
        rows.iter()
            .map(|r| RepeatSummary { mean_repeat_value_minor: r.mean_repeat_value_minor * c, ..r.clone() })
            .collect()
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let rows: Vec<(f64, f64)> = customers(500, 4.0, |rng| rng.gamma(5.0, 1.0 / 2.0))
            .iter()
            .map(|c| (c.frequency as f64, c.mean_repeat_value_minor))
            .collect();
        let data = prepare(&rows);
        for at in [[6.25, 3.74, 15.44], [0.8, 1.2, 0.3], [20.0, 9.0, 3.0]] {
            let params = |v: &[f64; 3]| GammaGammaParams { p: v[0], q: v[1], gamma: v[2] };
            let mut grad = [0.0; 3];
            log_likelihood(&params(&at), &data, &mut grad);
            for k in 0..3 {
                let h = 1e-6 * at[k];
                let (mut up, mut down) = (at, at);
                up[k] += h;
                down[k] -= h;
                let numeric = (log_likelihood(&params(&up), &data, &mut [0.0; 3])
                    - log_likelihood(&params(&down), &data, &mut [0.0; 3]))
                    / (2.0 * h);
                assert!(
                    (grad[k] - numeric).abs() <= 1e-5 * numeric.abs().max(1.0),
                    "{at:?} {k}: {grad:?} vs {numeric}"
                );
            }
        }
    }

    #[test]
    fn the_fit_does_not_depend_on_the_money_unit() {
        // p = 4, ν ~ Gamma(q = 5, rate γ = 2): mean spend p γ / (q − 1) = 2.
        let rows = customers(4_000, 4.0, |rng| rng.gamma(5.0, 1.0 / 2.0));
        let base = fit_gamma_gamma(&rows).unwrap();
        assert!((base.params.p - 4.0).abs() < 0.6 && (base.params.q - 5.0).abs() < 1.5, "{base:?}");
        // The same spending in fen of a currency worth a ten-thousandth, and in units a million times larger.
        for c in [1e4, 1e-6, 3e7] {
            let fit = fit_gamma_gamma(&scaled(&rows, c)).unwrap();
            assert!((fit.params.p / base.params.p - 1.0).abs() < 1e-6, "{c}: {fit:?}");
            assert!((fit.params.q / base.params.q - 1.0).abs() < 1e-6, "{c}: {fit:?}");
            assert!((fit.params.gamma / (base.params.gamma * c) - 1.0).abs() < 1e-6, "{c}: {fit:?}");
            let ll_shift = -(rows.len() as f64) * c.ln();
            assert!((fit.log_likelihood - (base.log_likelihood + ll_shift)).abs() < 1e-6 * base.log_likelihood.abs());
        }
    }

    #[test]
    fn customers_who_all_spend_alike_are_reported_not_fitted_in_any_unit() {
        // Every customer has the same ν: q (and with it γ) runs off to infinity. In raw minor units of a shop
        // with orders of a few thousand yuan this used to come back as a "fit" with γ in the hundreds of millions.
        let rows = customers(3_000, 3.0, |_| 3.0 / 300_000.0);
        for c in [1.0, 1e-5, 100.0] {
            let err = fit_gamma_gamma(&scaled(&rows, c)).unwrap_err();
            assert!(err.to_string().contains("do not identify"), "{c}: {err}");
        }
    }
}
