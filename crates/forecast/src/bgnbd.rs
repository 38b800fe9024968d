//! The BG/NBD model of Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way".
//!
//! While alive, a customer buys as a Poisson process with rate `λ ~ Gamma(r, α)`; after each
//! purchase she dies with probability `p ~ Beta(a, b)`. The sufficient statistics are the
//! repeat frequency `x`, the recency `t_x` and the age `T` (weeks).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::error::ForecastError;
use crate::optim::{bfgs, bfgs_warm, nelder_mead, newton};
use crate::special::{digamma_step, hyp2f1, ln_rising, trigamma_step};
use crate::summary::CustomerSummary;

/// BG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbdParams {
    /// Shape of the Gamma purchase-rate heterogeneity.
    pub r: f64,
    /// Scale (rate) of the Gamma purchase-rate heterogeneity, in weeks.
    pub alpha: f64,
    /// First shape of the Beta dropout-probability heterogeneity.
    pub a: f64,
    /// Second shape of the Beta dropout-probability heterogeneity.
    pub b: f64,
}

/// A fitted BG/NBD model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BgNbdFit {
    /// Maximum-likelihood parameters.
    pub params: BgNbdParams,
    /// Total log-likelihood at `params`.
    pub log_likelihood: f64,
    /// Number of customers fitted on.
    pub customers: usize,
    /// Optimiser iterations.
    pub iterations: usize,
    /// Likelihood evaluations.
    pub evaluations: usize,
    /// Whether the optimiser met its convergence test. A fit that did not is still the best
    /// point found, but the parameters may not be the maximum: callers should say so.
    pub converged: bool,
}

/// A parameter below this or above [`EDGE_HIGH`] sits at an edge of BG/NBD's parameter space:
/// the likelihood kept rising towards 0 or ∞ and the optimiser stopped somewhere on the way.
pub const EDGE_LOW: f64 = 1e-6;
/// See [`EDGE_LOW`].
pub const EDGE_HIGH: f64 = 1e6;

impl BgNbdParams {
    /// Why this fit is degenerate, if it is: each parameter that reached an edge of the
    /// parameter space ([`EDGE_LOW`], [`EDGE_HIGH`]), with what that edge means for the
    /// customers, or, with a and b each inside, a mean chance of leaving a/(a + b) within
    /// [`EDGE_LOW`] of 0 or 1 (the same limit reached by the pair). There the likelihood is flat or still rising, so the value is not
    /// determined by the data (a 2-customer fit gives r ≈ 1e8; a young cohort a, b ≈ 1e-11), and
    /// forecasts lean on a limit of the model rather than on an estimate. `None` for an interior
    /// fit such as CDNOW's (r = 0.24, α = 4.4, a = 0.79, b = 2.4).
    pub fn degeneracy(&self) -> Option<String> {
        let low = |v: f64| v < EDGE_LOW;
        let high = |v: f64| v > EDGE_HIGH;
        let edge = |v: f64| low(v) || high(v);
        // Each Gamma / Beta pair is read together: two parameters at an edge can
        // still describe a proper limit (r, α → ∞ with r/α fixed is one rate for all).
        let named = |pairs: [(&str, f64); 2], meaning: String| {
            let shown: Vec<String> = pairs
                .iter()
                .filter(|(_, v)| edge(*v))
                .map(|(n, v)| format!("{n} = {v:.3e}"))
                .collect();
            format!("{} ({meaning})", shown.join(", "))
        };
        let mut found = Vec::new();
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        if edge(r) || edge(alpha) {
            let meaning = if high(r) {
                format!(
                    "every customer seems to buy at the same rate, {:.3} a week",
                    r / alpha
                )
            } else if low(r) {
                "purchase rates look spread without bound".to_owned()
            } else if low(alpha) {
                "purchase rates look unboundedly high".to_owned()
            } else {
                "purchase rates look like zero".to_owned()
            };
            found.push(named([("r", r), ("alpha", alpha)], meaning));
        }
        if edge(a) || edge(b) {
            let meaning = if low(a) && low(b) {
                "each customer seems either never to leave or to leave right after a purchase"
                    .to_owned()
            } else if high(a) && high(b) {
                format!(
                    "every customer seems to have the same chance, {:.3}, of leaving after a \
                     purchase",
                    a / (a + b)
                )
            } else if low(b) || high(a) {
                "customers seem to leave right after a purchase".to_owned()
            } else {
                "by the purchase dates alone, nobody seems ever to stop buying for good".to_owned()
            };
            found.push(named([("a", a), ("b", b)], meaning));
        } else {
            // Inside the space one by one, but the pair at its limit: a mean chance of
            // leaving after a purchase, a/(a + b), within EDGE_LOW of 0 or 1 (a = 2e-6 with
            // b = 8,865 is 2e-10: nobody leaves, as at a → 0).
            let leave = a / (a + b);
            let meaning = if leave < EDGE_LOW {
                Some("by the purchase dates alone, nobody seems ever to stop buying for good")
            } else if 1.0 - leave < EDGE_LOW {
                Some("customers seem to leave right after a purchase")
            } else {
                None
            };
            if let Some(meaning) = meaning {
                found.push(format!(
                    "a = {a:.3e}, b = {b:.3e} (a chance of {leave:.1e} of leaving after a \
                     purchase: {meaning})"
                ));
            }
        }
        (!found.is_empty()).then(|| found.join("; "))
    }

    fn is_valid(&self) -> bool {
        [self.r, self.alpha, self.a, self.b]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// `ln(a / (b + x − 1)) + (r + x) (ln(α + T) − ln(α + t_x))`: log-odds of being dead.
    fn log_death_odds(&self, x: f64, t_x: f64, t: f64) -> f64 {
        self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + t).ln() - (self.alpha + t_x).ln())
    }

    /// Log-likelihood of one customer with repeat frequency `x`, recency `t_x`, age `t`.
    pub fn log_likelihood_one(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        // r ln α − (r + x) ln(α + T), written as in `RfmData::ll_grad` (no huge terms cancel)
        let l1 = ln_rising(r, x) + ln_beta_step(a, b, x)
            - r * (t / alpha).ln_1p()
            - x * (alpha + t).ln();
        if x > 0.0 {
            l1 + log1p_exp(self.log_death_odds(x, t_x, t))
        } else {
            l1
        }
    }

    /// Probability that a customer with history `(x, t_x, T)` is still alive at `T`.
    /// Always 1 for `x = 0`.
    pub fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if x <= 0.0 {
            return 1.0;
        }
        1.0 / (1.0 + self.log_death_odds(x, t_x, t).exp())
    }

    /// Expected number of purchases in `(0, t]` of a customer drawn at random (unconditional).
    /// Defined for every `a, b > 0` (see [`BgNbdParams::expected_purchases`] for `a + b < 1`
    /// and `a = 1`); NaN only if the hypergeometric series does not converge.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let (r, alpha) = (self.r, self.alpha);
        if t <= 0.0 {
            return 0.0;
        }
        let a = beside_one(self.a);
        if a + self.b > ONE_CHANCE {
            return one_chance_expectation(r, alpha, a / (a + self.b), t);
        }
        // continuous in b; evaluate beside the removable singularity a + b = 1
        let b = if (a + self.b - 1.0).abs() < 1e-6 {
            self.b + 2e-6
        } else {
            self.b
        };
        let z = t / (alpha + t);
        let v = (a + b - 1.0) / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, z));
        if v.is_nan() { v } else { v.max(0.0) }
    }

    /// Conditional expected number of repeat purchases in the next `horizon` weeks of a customer
    /// with history `(x, t_x, T)` (Fader, Hardie & Lee 2005, eq. 10). Finite and non-negative
    /// for every `a, b > 0`, including fits with `a + b < 1` (a U-shaped dropout distribution,
    /// which maximum likelihood reaches on short or young cohorts): there the hypergeometric
    /// function is evaluated by its series' analytic continuation to `c < 0`.
    pub fn expected_purchases(&self, x: f64, t_x: f64, t: f64, horizon: f64) -> f64 {
        let (r, alpha, b) = (self.r, self.alpha, self.b);
        // the closed form divides by a − 1; the expectation is continuous there
        let a = beside_one(self.a);
        if horizon <= 0.0 {
            return 0.0;
        }
        // The no-dropout limit (a → 0 or b → ∞, which maximum likelihood
        // reaches on data where nobody seems to leave): the closed form
        // cancels catastrophically there, so use the NBD expectation of a
        // customer who is alive, times the chance that they are. A tiny
        // a / (a + b) does not make P(alive) near 1: with b large and a
        // moderate, a heavy buyer long silent is almost surely gone.
        let no_dropout = (r + x) / (alpha + t) * horizon;
        if a / (a + b) < 1e-9 {
            return no_dropout * self.p_alive(x, t_x, t);
        }
        // Beta(a, b) collapsed onto its mean (both shapes at an edge together, "everyone has
        // the same chance of leaving"): the closed form's limit, where its series would need
        // more than a + b terms
        if a + b > ONE_CHANCE {
            let alive = self.p_alive(x, t_x, t);
            return one_chance_expectation(r + x, alpha + t, a / (a + b), horizon) * alive;
        }
        // The expectation is continuous in b; at the removable singularity
        // a + b + x = 1 (only possible with x = 0) evaluate just beside it.
        let b = if (a + b + x - 1.0).abs() < 1e-6 {
            b + 2e-6
        } else {
            b
        };
        let z = horizon / (alpha + t + horizon);
        let c = a + b + x - 1.0;
        let lead = c / (a - 1.0);
        let p_alive = self.p_alive(x, t_x, t);
        // tail = 1 − (1−z)^(r+x) ₂F₁(r+x, b+x; c; z). For heavy buyers over long horizons
        // the series' terms overflow; Euler's transformation gives the same value as
        // 1 − (1−z)^(a−1) ₂F₁(c−r−x, a−1; c; z), whose terms stay bounded.
        let rest = (alpha + t) / (alpha + t + horizon); // 1 − z
        let direct = 1.0 - rest.powf(r + x) * hyp2f1(r + x, b + x, c, z);
        let v = lead * direct * p_alive;
        if v.is_finite() {
            return v.max(0.0);
        }
        let euler = 1.0 - rest.powf(a - 1.0) * hyp2f1(c - r - x, a - 1.0, c, z);
        let v = lead * euler * p_alive;
        if v.is_finite() {
            v.max(0.0)
        } else {
            no_dropout * p_alive
        }
    }
}

/// Above this `a + b`, Beta(a, b) has all but collapsed onto its mean a/(a + b) (its variance
/// is below mean · (1 − mean) / 1e5), and the expectations take their limit with one chance of
/// leaving for every customer ([`one_chance_expectation`]). Below it the hypergeometric series
/// of the closed forms settles within its budget (it needs more terms than `a + b`).
const ONE_CHANCE: f64 = 1e5;

/// The expected purchases within `horizon` of a customer alive now, when every customer leaves
/// after a purchase with the same chance `p` and buys at a rate from Gamma(`shape`, `rate`):
/// given the rate λ, (1 − e^(−λ p t)) / p; over the Gamma, (1 − (rate / (rate + p t))^shape) / p.
/// (The limit of Fader, Hardie & Lee's eq. 10 as a, b → ∞ with a/(a + b) = p, and of the
/// unconditional expectation with shape r and rate α.) Written with `exp_m1` / `ln_1p`, so a
/// small p tends to the no-dropout shape · t / rate instead of cancelling.
fn one_chance_expectation(shape: f64, rate: f64, p: f64, horizon: f64) -> f64 {
    (-(-shape * (p * horizon / rate).ln_1p()).exp_m1() / p).max(0.0)
}

/// `a`, moved just off the closed forms' removable singularity at `a = 1`.
fn beside_one(a: f64) -> f64 {
    if (a - 1.0).abs() < 1e-6 {
        1.0 + 2e-6
    } else {
        a
    }
}

/// A small, fast, deterministic hasher for integer keys (FxHash-style multiply-rotate).
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// `ln B(a, b + x) − ln B(a, b)`, as two rising factorials (exact for a large `a`).
fn ln_beta_step(a: f64, b: f64, x: f64) -> f64 {
    ln_rising(b, x) - ln_rising(a + b, x)
}

/// `ln(1 + e^d)` without overflow.
fn log1p_exp(d: f64) -> f64 {
    if d > 0.0 {
        d + (-d).exp().ln_1p()
    } else {
        d.exp().ln_1p()
    }
}

/// The longest whole repeat frequency for which [`x_constants`] sums the rising factorials'
/// terms once for all frequencies (beyond it, each frequency takes its own special functions).
const MAX_SUMMED_X: usize = 10_000;

/// What the likelihood needs of one distinct repeat frequency x, where
/// c1 = ln Γ(r + x) − ln Γ(r) + ln B(a, b + x) − ln B(a, b).
#[derive(Debug, Clone, Copy)]
struct XTerms {
    c1: f64,
    /// ln a − ln(b + x − 1), the constant of δ (−∞ for x = 0, which has no δ).
    d: f64,
    /// ∂c1/∂r, ∂c1/∂a, ∂c1/∂b.
    d_r: f64,
    d_a: f64,
    d_b: f64,
    /// ψ′ steps of r, a + b and b (the second derivatives of c1; zero without the Hessian).
    t_r: f64,
    t_ab: f64,
    t_b: f64,
    /// 1 / (b + x − 1) (0 for x = 0).
    inv_bx: f64,
}

/// [`XTerms`] per distinct x, the second derivatives only with `HESS`. Each is a difference
/// over the step x, so that a parameter far out (a = 1e305 on the way to an edge) still gives
/// the likelihood and its gradient, not cancellation noise the optimiser would follow. When
/// every x is a whole number (repeat frequencies are) and the largest is at most eight times
/// the number of distinct ones (and [`MAX_SUMMED_X`]), the steps are running sums,
/// `Σ_{k<x} ln(z + k)`, `Σ 1/(z + k)`, `−Σ 1/(z + k)²`, over the largest x once: a few logs per
/// step against a dozen `ln Γ` / `ψ` per distinct x. Otherwise (a frequency far beyond the
/// rest, or one that is not whole) [`ln_rising`], [`digamma_step`] and [`trigamma_step`] per x.
fn x_constants<const HESS: bool>(xs: &[f64], r: f64, a: f64, b: f64) -> Vec<XTerms> {
    let zs = [r, b, a + b];
    let largest = xs
        .iter()
        .try_fold(0usize, |m, &x| {
            let whole = x == x.trunc() && (0.0..=MAX_SUMMED_X as f64).contains(&x);
            whole.then(|| m.max(x as usize))
        })
        .filter(|&largest| largest <= 8 * xs.len());
    // steps[k] = [ln rising of r, b, a + b; ψ steps of r, b, a + b; ψ′ steps of r, b, a + b]
    let steps: Option<Vec<[f64; 9]>> = largest.map(|largest| {
        let mut acc = [0.0f64; 9];
        let mut steps = Vec::with_capacity(largest + 1);
        steps.push(acc);
        for k in 0..largest {
            for (i, z) in zs.iter().enumerate() {
                let zk = z + k as f64;
                let inv = 1.0 / zk;
                acc[i] += zk.ln();
                acc[3 + i] += inv;
                if HESS {
                    acc[6 + i] -= inv * inv;
                }
            }
            steps.push(acc);
        }
        steps
    });
    xs.iter()
        .map(|&x| {
            let [lr, lb, lab, dr, db, dab, tr, tb, tab] = match &steps {
                Some(steps) => steps[x as usize],
                None => {
                    let tri = |z| if HESS { trigamma_step(z, x) } else { 0.0 };
                    [
                        ln_rising(r, x),
                        ln_rising(b, x),
                        ln_rising(a + b, x),
                        digamma_step(r, x),
                        digamma_step(b, x),
                        digamma_step(a + b, x),
                        tri(r),
                        tri(b),
                        tri(a + b),
                    ]
                }
            };
            let repeat = x > 0.0;
            XTerms {
                c1: lr + lb - lab,
                d: if repeat {
                    a.ln() - (b + x - 1.0).ln()
                } else {
                    f64::NEG_INFINITY
                },
                d_r: dr,
                d_a: -dab,
                d_b: db - dab,
                t_r: tr,
                t_ab: tab,
                t_b: tb,
                inv_bx: if repeat { 1.0 / (b + x - 1.0) } else { 0.0 },
            }
        })
        .collect()
}

/// Customers compressed into distinct `(x, t_x, T)` rows with weights, for fast likelihoods.
#[derive(Debug, Clone)]
pub(crate) struct RfmData {
    xs: Vec<f64>,
    txs: Vec<f64>,
    ts: Vec<f64>,
    /// (x index, t_x index, T index, weight)
    rows: Vec<(u32, u32, u32, f64)>,
    total_weight: f64,
}

fn index_of(map: &mut FxMap<u64, u32>, vals: &mut Vec<f64>, v: f64) -> u32 {
    *map.entry(v.to_bits()).or_insert_with(|| {
        vals.push(v);
        (vals.len() - 1) as u32
    })
}

impl RfmData {
    pub(crate) fn new<I: IntoIterator<Item = (f64, f64, f64)>>(it: I) -> Self {
        let (mut xm, mut txm, mut tm) = (FxMap::default(), FxMap::default(), FxMap::default());
        let (mut xs, mut txs, mut ts) = (Vec::new(), Vec::new(), Vec::new());
        let it = it.into_iter();
        let cap = it.size_hint().0;
        let mut rows: FxMap<(u32, u32, u32), f64> =
            FxMap::with_capacity_and_hasher(cap, Default::default());
        let mut total_weight = 0.0;
        for (x, t_x, t) in it {
            let k = (
                index_of(&mut xm, &mut xs, x),
                index_of(&mut txm, &mut txs, t_x),
                index_of(&mut tm, &mut ts, t),
            );
            *rows.entry(k).or_insert(0.0) += 1.0;
            total_weight += 1.0;
        }
        // (the hasher has no random state, so this order is deterministic for a given input)
        let rows: Vec<(u32, u32, u32, f64)> = rows
            .into_iter()
            .map(|((a, b, c), w)| (a, b, c, w))
            .collect();
        RfmData {
            xs,
            txs,
            ts,
            rows,
            total_weight,
        }
    }

    /// The rows of `data`; an error names the first customer whose summary no purchase history
    /// could give (`summarise` builds none, one made by hand may), checked in the same pass.
    pub(crate) fn from_summaries(data: &[CustomerSummary]) -> Result<Self, ForecastError> {
        let mut impossible = None;
        let rows = Self::new(data.iter().map(|c| {
            let (t_x, t) = (c.recency, c.age);
            let possible = t_x.is_finite()
                && t.is_finite()
                && 0.0 <= t_x
                && t_x <= t
                && (c.frequency > 0 || t_x == 0.0);
            if !possible && impossible.is_none() {
                impossible = Some(c);
            }
            (f64::from(c.frequency), t_x, t)
        }));
        match impossible {
            None => Ok(rows),
            Some(c) => Err(ForecastError::InvalidInput(format!(
                "customer {}: frequency {}, recency {} weeks, age {} weeks; a recency lies \
                 between 0 and the age (0 without a repeat purchase)",
                c.customer, c.frequency, c.recency, c.age
            ))),
        }
    }

    /// Total log-likelihood and its gradient with respect to `(r, α, a, b)`.
    pub(crate) fn ll_grad(&self, p: &BgNbdParams, grad: &mut [f64; 4]) -> f64 {
        self.eval::<false>(p, grad, &mut [0.0; 16])
    }

    /// [`RfmData::ll_grad`], and the Hessian with respect to `(r, α, a, b)` (row-major 4 × 4).
    pub(crate) fn ll_grad_hess(
        &self,
        p: &BgNbdParams,
        grad: &mut [f64; 4],
        hess: &mut [f64; 16],
    ) -> f64 {
        self.eval::<true>(p, grad, hess)
    }

    /// One pass over the rows: the log-likelihood, its gradient and, with `HESS`, its Hessian.
    ///
    /// Per row, ll = c1(x) − r ln(1 + T/α) − x ln(α + T) + 𝟙(x > 0) ln(1 + e^δ), with
    /// δ = ln a − ln(b + x − 1) − (r + x)(ln(1 + t_x/α) − ln(1 + T/α)), the log-odds of being
    /// dead. The Hessian is the base part's plus σ(δ)(1 − σ(δ)) ∇δ ∇δᵀ + σ(δ) ∇²δ.
    fn eval<const HESS: bool>(
        &self,
        p: &BgNbdParams,
        grad: &mut [f64; 4],
        hess: &mut [f64; 16],
    ) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *p;
        let px = x_constants::<HESS>(&self.xs, r, a, b);
        // per T and per t_x: ln(α + t), 1 / (α + t) and ln(1 + t / α). The last carries
        // r ln α − (r + x) ln(α + T) as −r ln(1 + T/α) − x ln(α + T): with r and α both large
        // (every customer buying at one rate) the first form cancels two huge terms.
        // (a recency needs no ln(α + t_x): it enters through ln(1 + t_x / α) alone)
        let logs = |t: f64| (1.0 / (alpha + t), (t / alpha).ln_1p());
        let lt: Vec<(f64, (f64, f64))> = self
            .ts
            .iter()
            .map(|&t| ((alpha + t).ln(), logs(t)))
            .collect();
        let ltx: Vec<(f64, f64)> = self.txs.iter().map(|&t| logs(t)).collect();
        let mut ll = 0.0;
        let mut product = 1.0f64;
        let mut g = [0.0f64; 4];
        // Hessian accumulators: rr, rα, αα, aa, ab, bb (r and α do not meet a or b in the base
        // part; through δ they do, in `cross`)
        let mut h = [0.0f64; 6];
        // σ'-weighted sums for the outer product of ∇δ = (δ_r, δ_α, δ_a, δ_b), and Σσ:
        // see the loop for which is which
        let mut cross = [0.0f64; 10];
        let mut sigma = 0.0;
        for &(xi, txi, ti, w) in &self.rows {
            let x = self.xs[xi as usize];
            let XTerms {
                c1,
                d,
                d_r: gr,
                d_a: ga,
                d_b: gb,
                t_r,
                t_ab,
                t_b,
                inv_bx,
            } = px[xi as usize];
            let (l_t, (i_t, rel_t)) = lt[ti as usize];
            let rx = r + x;
            let l1 = c1 - r * rel_t - x * l_t;
            if HESS {
                h[0] += w * t_r;
                h[1] += w * (1.0 / alpha - i_t);
                h[2] += w * (rx * i_t * i_t - r / (alpha * alpha));
                h[3] -= w * t_ab;
                h[4] -= w * t_ab;
                h[5] += w * (t_b - t_ab);
            }
            if x > 0.0 {
                let (i_tx, rel_tx) = ltx[txi as usize];
                let delta = d - rx * (rel_tx - rel_t);
                // one exponential: e = exp(-|δ|), ln(1 + e^δ) = max(δ, 0) + ln(1 + e)
                let e = (-delta.abs()).exp();
                let inv = 1.0 / (1.0 + e);
                let w2 = if delta > 0.0 { inv } else { e * inv };
                let w1 = 1.0 - w2;
                ll += w * (l1 + delta.max(0.0));
                // ln(1 + e) with e in (0, 1]: a customer's own row multiplies into
                // `product`, whose log is taken once per many rows (each factor is at most
                // 2, so a product below 1e290 has room for one more); plain ln is exact
                // enough here (absolute error ~1e-16) and cheaper than ln_1p.
                if w == 1.0 {
                    product *= 1.0 + e;
                    if product > 1e290 {
                        ll += product.ln();
                        product = 1.0;
                    }
                } else {
                    ll += w * (1.0 + e).ln();
                }
                g[0] += w * (gr - (w1 * rel_t + w2 * rel_tx));
                g[1] += w * (r / alpha - rx * (w1 * i_t + w2 * i_tx));
                g[2] += w * (ga + w2 / a);
                g[3] += w * (gb - w2 / (b + x - 1.0));
                if HESS {
                    let di = i_tx - i_t;
                    // ∇δ = (r_t − r_tx, −(r + x) Δi, 1/a, −1/(b + x − 1)), with r_t the
                    // ln(1 + T/α) above; ∇²δ has δ_rα = −Δi, δ_αα = (r + x)(i_tx² − i_t²),
                    // δ_aa = −1/a², δ_bb = 1/(b + x − 1)². δ_a = 1/a is applied after the
                    // loop, to the sums that need it.
                    let s2 = w * w1 * w2;
                    let (d_r, d_alpha) = (rel_t - rel_tx, -rx * di);
                    let (s2r, s2a) = (s2 * d_r, s2 * d_alpha);
                    cross[0] += s2r * d_r;
                    cross[1] += s2r * d_alpha;
                    cross[2] += s2a * d_alpha;
                    cross[3] += s2r;
                    cross[4] += s2a;
                    cross[5] += s2;
                    cross[6] += s2r * inv_bx;
                    cross[7] += s2a * inv_bx;
                    let s2b = s2 * inv_bx;
                    cross[8] += s2b;
                    cross[9] += s2b * inv_bx;
                    let s = w * w2;
                    h[1] -= s * di;
                    h[2] += s * rx * (i_tx * i_tx - i_t * i_t);
                    sigma += s;
                    h[5] += s * inv_bx * inv_bx;
                }
            } else {
                ll += w * l1;
                g[0] += w * (gr - rel_t);
                g[1] += w * (r / alpha - rx * i_t);
                g[2] += w * ga;
                g[3] += w * gb;
            }
        }
        ll += product.ln();
        if HESS {
            h[3] -= sigma / (a * a);
        }
        // the upper triangle of Σ σ' ∇δ ∇δᵀ, row by row, with δ_a = 1/a and δ_b's sign
        let cross = [
            cross[0],
            cross[1],
            cross[3] / a,
            -cross[6],
            cross[2],
            cross[4] / a,
            -cross[7],
            cross[5] / (a * a),
            -cross[8] / a,
            cross[9],
        ];
        *grad = g;
        if HESS {
            let mut m = [0.0f64; 16];
            let mut k = 0;
            for i in 0..4 {
                for j in i..4 {
                    m[i * 4 + j] = cross[k];
                    m[j * 4 + i] = cross[k];
                    k += 1;
                }
            }
            for (v, (i, j)) in h
                .iter()
                .zip([(0, 0), (0, 1), (1, 1), (2, 2), (2, 3), (3, 3)])
            {
                m[i * 4 + j] += v;
                if i != j {
                    m[j * 4 + i] += v;
                }
            }
            *hess = m;
        }
        ll
    }

    pub(crate) fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Every `k`-th row (a cheap, deterministic stand-in for warm-starting the optimiser).
    fn thinned(&self, k: usize) -> RfmData {
        let rows: Vec<_> = self.rows.iter().step_by(k).copied().collect();
        RfmData {
            xs: self.xs.clone(),
            txs: self.txs.clone(),
            ts: self.ts.clone(),
            total_weight: rows.iter().map(|r| r.3).sum(),
            rows,
        }
    }
}

fn from_log(th: &[f64]) -> BgNbdParams {
    BgNbdParams {
        r: th[0].exp(),
        alpha: th[1].exp(),
        a: th[2].exp(),
        b: th[3].exp(),
    }
}

/// Total BG/NBD log-likelihood of `data` at `params` (NaN when a summary is one no purchase
/// history could give, as [`fit_bgnbd`] refuses).
pub fn log_likelihood(params: &BgNbdParams, data: &[CustomerSummary]) -> f64 {
    let mut g = [0.0; 4];
    RfmData::from_summaries(data).map_or(f64::NAN, |rows| rows.ll_grad(params, &mut g))
}

/// Fits BG/NBD by maximum likelihood over log-parameters: Newton's method with an analytic
/// gradient and Hessian for an interior maximum, BFGS (with Nelder–Mead as its fallback) where
/// Newton gives up or the fit reaches an edge of the parameter space.
pub fn fit_bgnbd(data: &[CustomerSummary]) -> Result<BgNbdFit, ForecastError> {
    fit_rfm(&RfmData::from_summaries(data)?)
}

pub(crate) fn fit_rfm(data: &RfmData) -> Result<BgNbdFit, ForecastError> {
    let n = data.total_weight();
    if n < 1.0 {
        return Err(ForecastError::Fit("BG/NBD: no customers".into()));
    }
    if data.xs.iter().all(|&x| x == 0.0) {
        return Err(ForecastError::Fit(
            "BG/NBD: no customer made a repeat purchase (a purchase on a later day than their \
             first) by the calibration end; the model is not identified (a later calibration \
             end may hold some)"
                .into(),
        ));
    }
    // Newton's method where it reaches an interior maximum (a handful of passes over the rows
    // where BFGS takes a dozen; CDNOW_master: 5 full passes and 9 thinned ones, against 8 and
    // 30), BFGS with a Nelder–Mead fallback everywhere else: an edge of the parameter space,
    // where the likelihood flattens out and the Hessian with it, is BFGS's ground, and there
    // the fit takes the same path, from the same start, as before Newton was tried (the
    // evaluations Newton spent first are counted in).
    match fit_rfm_newton(data) {
        Ok(fit) => Ok(fit),
        Err(spent) => fit_rfm_bfgs(data).map(|fit| BgNbdFit {
            evaluations: fit.evaluations + spent,
            ..fit
        }),
    }
}

/// The rows for a warm start: a thinned copy of the data (every 16th row, so cheap to fit)
/// when there are rows enough to thin and the copy still has a repeat purchase. Both
/// objectives are per-customer means, so their optima and curvatures are comparable.
fn thinned_rows(data: &RfmData) -> Option<RfmData> {
    if data.rows.len() < 4000 {
        return None;
    }
    let thin = data.thinned(16);
    // (the thinned rows still index the full value lists: look at the rows' own x)
    let identified = thin.rows.iter().any(|row| thin.xs[row.0 as usize] > 0.0);
    (identified && thin.total_weight() > 0.0).then_some(thin)
}

/// The fit by Newton's method from the thinned data's optimum (itself by Newton from the
/// origin, with BFGS where Newton gives up there) or, with too few rows to thin, from the
/// origin. `Err` with the evaluations spent when Newton gives up on the full data or heads for
/// an edge of the parameter space: a log-parameter beyond ln [`EDGE_HIGH`] or below
/// ln [`EDGE_LOW`] counts as no likelihood at all, so Newton stops there instead of walking
/// out along a flat ridge whose end would be refused anyway.
fn fit_rfm_newton(data: &RfmData) -> Result<BgNbdFit, usize> {
    let mut start = vec![0.0; 4];
    let mut spent = 0;
    if let Some(thin) = thinned_rows(data) {
        let mut warm = newton(inside_edges(&thin), &start, 1e-6, NEWTON_ITERATIONS);
        if !warm.converged {
            let evals = warm.evaluations;
            warm = bfgs(objective_for(&thin), &start, 1e-6, 200);
            warm.evaluations += evals;
        }
        spent += warm.evaluations;
        if warm.f.is_finite() {
            start = warm.x;
        }
    }
    let res = newton(inside_edges(data), &start, 1e-10, NEWTON_ITERATIONS);
    spent += res.evaluations;
    let params = from_log(&res.x);
    if !res.converged || !params.is_valid() || params.degeneracy().is_some() {
        return Err(spent);
    }
    Ok(BgNbdFit {
        params,
        log_likelihood: -res.f * data.total_weight(),
        customers: data.total_weight() as usize,
        iterations: res.iterations,
        evaluations: spent,
        converged: true,
    })
}

/// [`objective_hess_for`] inside the edges of the parameter space, +∞ beyond them (a
/// log-parameter above ln [`EDGE_HIGH`] or below ln [`EDGE_LOW`]).
fn inside_edges(data: &RfmData) -> impl Fn(&[f64], &mut [f64], &mut [f64]) -> f64 + '_ {
    let objective = objective_hess_for(data);
    let edges = EDGE_LOW.ln()..=EDGE_HIGH.ln();
    move |th: &[f64], g: &mut [f64], h: &mut [f64]| {
        if th.iter().all(|v| edges.contains(v)) {
            objective(th, g, h)
        } else {
            f64::INFINITY
        }
    }
}

/// Newton's iterations before it gives up (an interior fit takes 4 from the thinned warm start
/// on CDNOW_master, about 10 from the origin on a small shop).
const NEWTON_ITERATIONS: usize = 50;

fn fit_rfm_bfgs(data: &RfmData) -> Result<BgNbdFit, ForecastError> {
    // Warm start: BFGS on a thinned copy of the data, then BFGS on the full data from that
    // point and inverse-Hessian estimate.
    let mut start = [0.0; 4];
    let mut h0 = None;
    let mut pre_evals = 0;
    if let Some(thin) = thinned_rows(data) {
        let (r, h) = bfgs_warm(objective_for(&thin), &start, None, 1e-6, 200);
        if r.f.is_finite() {
            start.copy_from_slice(&r.x);
            h0 = Some(h);
            pre_evals = r.evaluations;
        }
    }
    fit_rfm_from(data, &start, h0.as_deref(), pre_evals)
}

/// Negative mean log-likelihood over log-parameters `th`, its gradient and, with `HESS`, its
/// Hessian (row-major 4 × 4): with θ = ln p, ∂²f/∂θᵢ∂θⱼ = −(pᵢ pⱼ Hᵢⱼ + [i = j] pᵢ gᵢ) / n.
/// +∞ (gradient and Hessian zero) where the parameters are not valid.
fn mean_objective<const HESS: bool>(
    data: &RfmData,
    th: &[f64],
    g: &mut [f64],
    h: &mut [f64],
) -> f64 {
    let n = data.total_weight();
    let p = from_log(th);
    if !p.is_valid() {
        g.fill(0.0);
        h.fill(0.0);
        return f64::INFINITY;
    }
    let (mut gp, mut hp) = ([0.0; 4], [0.0; 16]);
    let ll = if HESS {
        data.ll_grad_hess(&p, &mut gp, &mut hp)
    } else {
        data.ll_grad(&p, &mut gp)
    };
    let pv = [p.r, p.alpha, p.a, p.b];
    for i in 0..4 {
        g[i] = -gp[i] * pv[i] / n;
        if HESS {
            for j in 0..4 {
                h[i * 4 + j] = -hp[i * 4 + j] * pv[i] * pv[j] / n;
            }
            h[i * 4 + i] += g[i];
        }
    }
    if ll.is_finite() {
        -ll / n
    } else {
        f64::INFINITY
    }
}

/// [`mean_objective`] with its Hessian, for Newton.
fn objective_hess_for(data: &RfmData) -> impl Fn(&[f64], &mut [f64], &mut [f64]) -> f64 + '_ {
    move |th: &[f64], g: &mut [f64], h: &mut [f64]| mean_objective::<true>(data, th, g, h)
}

/// [`mean_objective`] with its gradient alone, for BFGS.
fn objective_for(data: &RfmData) -> impl Fn(&[f64], &mut [f64]) -> f64 + '_ {
    move |th: &[f64], g: &mut [f64]| mean_objective::<false>(data, th, g, &mut [])
}

fn fit_rfm_from(
    data: &RfmData,
    start: &[f64],
    h0: Option<&[f64]>,
    pre_evals: usize,
) -> Result<BgNbdFit, ForecastError> {
    let n = data.total_weight();
    let objective = objective_for(data);
    let (mut res, _) = bfgs_warm(&objective, start, h0, 1e-10, 500);
    res.evaluations += pre_evals;
    if !res.converged {
        let nm = nelder_mead(
            |th| objective(th, &mut [0.0; 4]),
            &res.x,
            0.5,
            1e-14,
            1e-10,
            20_000,
        );
        let evals = res.evaluations + nm.evaluations;
        res = bfgs(&objective, &nm.x, 1e-10, 500);
        res.evaluations += evals;
        if !res.f.is_finite() || nm.f < res.f {
            res.x = nm.x;
            res.f = nm.f;
            res.converged = nm.converged;
        }
    }
    let params = from_log(&res.x);
    if !params.is_valid() || !res.f.is_finite() {
        return Err(ForecastError::Fit(
            "BG/NBD: optimiser did not reach a finite likelihood".into(),
        ));
    }
    Ok(BgNbdFit {
        params,
        log_likelihood: -res.f * n,
        customers: n as usize,
        iterations: res.iterations,
        evaluations: res.evaluations,
        converged: res.converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::{ln_beta, ln_gamma};

    const P: BgNbdParams = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn an_interior_fit_is_not_degenerate_and_an_edge_is_named() {
        assert_eq!(P.degeneracy(), None);
        let young = BgNbdParams {
            a: 1e-11,
            b: 2e-11,
            ..P
        };
        assert_eq!(
            young.degeneracy().unwrap(),
            "a = 1.000e-11, b = 2.000e-11 (each customer seems either never to leave or to \
             leave right after a purchase)"
        );
        // r and alpha at infinity together: one rate for everybody, r / alpha
        let one_rate = BgNbdParams {
            r: 1.5e8,
            alpha: 1e9,
            ..P
        };
        assert_eq!(
            one_rate.degeneracy().unwrap(),
            "r = 1.500e8, alpha = 1.000e9 (every customer seems to buy at the same rate, \
             0.150 a week)"
        );
        let leavers = BgNbdParams {
            alpha: 2e7,
            a: 3e7,
            b: 1e-9,
            ..P
        };
        assert_eq!(
            leavers.degeneracy().unwrap(),
            "alpha = 2.000e7 (purchase rates look like zero); \
             a = 3.000e7, b = 1.000e-9 (customers seem to leave right after a purchase)"
        );
        let stayers = BgNbdParams { b: 4e6, ..P };
        assert_eq!(
            stayers.degeneracy().unwrap(),
            "b = 4.000e6 (by the purchase dates alone, nobody seems ever to stop buying for good)"
        );
        let same_chance = BgNbdParams {
            a: 2e6,
            b: 6e6,
            ..P
        };
        assert!(same_chance.degeneracy().unwrap().ends_with(
            "(every customer seems to have the same chance, 0.250, of leaving after a purchase)"
        ));
        // the bounds themselves are inside
        let bounds = BgNbdParams {
            r: EDGE_LOW,
            alpha: EDGE_HIGH,
            a: EDGE_LOW,
            b: 0.5,
        };
        assert_eq!(bounds.degeneracy(), None);
        // each inside, the pair at its limit (a demo ledger's fit at 2026-05-31)
        let never_leave = BgNbdParams {
            a: 2.09e-6,
            b: 8865.07,
            ..P
        };
        assert_eq!(
            never_leave.degeneracy().unwrap(),
            "a = 2.090e-6, b = 8.865e3 (a chance of 2.4e-10 of leaving after a purchase: \
             by the purchase dates alone, nobody seems ever to stop buying for good)"
        );
        let all_leave = BgNbdParams {
            a: 8865.07,
            b: 2.09e-6,
            ..P
        };
        assert!(
            all_leave
                .degeneracy()
                .unwrap()
                .ends_with("customers seem to leave right after a purchase)")
        );
        let both_edges = BgNbdParams {
            a: EDGE_LOW,
            b: EDGE_HIGH,
            ..P
        };
        assert!(
            both_edges.degeneracy().unwrap().ends_with(
                "by the purchase dates alone, nobody seems ever to stop buying for good)"
            )
        );
    }

    fn sample_rows() -> Vec<(f64, f64, f64)> {
        vec![
            (0.0, 0.0, 38.86),
            (2.0, 30.43, 38.86),
            (1.0, 1.71, 38.86),
            (0.0, 0.0, 30.0),
            (7.0, 29.43, 35.0),
            (3.0, 5.0, 33.0),
            (1.0, 1.71, 38.86),
        ]
    }

    #[test]
    fn ll_one_matches_closed_form() {
        // x = 0: L = (α/(α+T))^r · B(a, b)/B(a, b) ... = (α/(α+T))^r
        let t: f64 = 20.0;
        let exact = P.r * (P.alpha / (P.alpha + t)).ln();
        assert!((P.log_likelihood_one(0.0, 0.0, t) - exact).abs() < 1e-12);
        // x > 0 against the paper's product form
        let (x, tx, tt) = (2.0f64, 10.0f64, 30.0f64);
        let (r, al, a, b) = (P.r, P.alpha, P.a, P.b);
        let common = (ln_gamma(r + x) - ln_gamma(r) + r * al.ln()).exp();
        let l = common
            * ((ln_beta(a, b + x) - ln_beta(a, b)).exp() / (al + tt).powf(r + x)
                + (ln_beta(a + 1.0, b + x - 1.0) - ln_beta(a, b)).exp() / (al + tx).powf(r + x));
        assert!((P.log_likelihood_one(x, tx, tt) - l.ln()).abs() < 1e-10);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = RfmData::new(sample_rows());
        let mut g = [0.0; 4];
        let ll = data.ll_grad(&P, &mut g);
        let direct: f64 = sample_rows()
            .iter()
            .map(|&(x, tx, t)| P.log_likelihood_one(x, tx, t))
            .sum();
        assert!((ll - direct).abs() < 1e-9);
        for i in 0..4 {
            let h = 1e-6;
            let mut pp = [P.r, P.alpha, P.a, P.b];
            let mut pm = pp;
            pp[i] += h;
            pm[i] -= h;
            let mk = |v: [f64; 4]| BgNbdParams {
                r: v[0],
                alpha: v[1],
                a: v[2],
                b: v[3],
            };
            let mut tmp = [0.0; 4];
            let num =
                (data.ll_grad(&mk(pp), &mut tmp) - data.ll_grad(&mk(pm), &mut tmp)) / (2.0 * h);
            assert!(
                (num - g[i]).abs() < 1e-5 * (1.0 + num.abs()),
                "param {i}: {num} vs {}",
                g[i]
            );
        }
    }

    /// The running sums and the per-x special functions give the same terms: whole
    /// frequencies take the sums; one frequency that is not whole (2.5), or one far beyond the
    /// rest (10,001), sends every x to the special functions.
    #[test]
    fn running_sums_and_special_functions_agree() {
        let whole = [0.0, 1.0, 2.0, 3.0, 7.0, 36.0];
        for (r, a, b) in [(0.24, 0.79, 2.43), (3.5, 1e-4, 40.0), (0.05, 2.0, 0.3)] {
            let summed = x_constants::<true>(&whole, r, a, b);
            for odd in [2.5, 10_001.0] {
                let mut xs = whole.to_vec();
                xs.push(odd);
                let each = x_constants::<true>(&xs, r, a, b);
                for (s, e) in summed.iter().zip(&each) {
                    let pairs = [
                        (s.c1, e.c1),
                        (s.d_r, e.d_r),
                        (s.d_a, e.d_a),
                        (s.d_b, e.d_b),
                        (s.t_r, e.t_r),
                        (s.t_ab, e.t_ab),
                        (s.t_b, e.t_b),
                    ];
                    for (k, (u, v)) in pairs.into_iter().enumerate() {
                        assert!((u - v).abs() <= 1e-9 * (1.0 + v.abs()), "{k}: {u} vs {v}");
                    }
                    assert_eq!((s.d, s.inv_bx), (e.d, e.inv_bx));
                }
            }
        }
    }

    /// The gradient and the Hessian on the special functions' path too (a frequency that is
    /// not whole, as `RfmData::new` takes any).
    #[test]
    fn derivatives_hold_where_frequencies_are_not_whole() {
        let mut rows = sample_rows();
        rows.push((2.5, 20.0, 38.86));
        let data = RfmData::new(rows);
        assert_eq!(
            hessian_mismatch(&data, [P.r, P.alpha, P.a, P.b], 1e-5),
            None
        );
    }

    /// Where Beta(a, b) has collapsed (a + b beyond [`ONE_CHANCE`]) the expectations are the
    /// one-chance limit, and that limit is what the closed forms give when a + b is large but
    /// still within their series' reach: at a + b = 5e4 the two agree to the limit's error
    /// (of order x / (a + b)), and across the switch the expectations do not jump. Before,
    /// a fit at a = 1.2e12, b = 6.1e12 (one chance of 0.168 for everybody) gave the series
    /// no chance to settle, and the no-dropout fallback doubled the forecast.
    #[test]
    fn collapsed_dropout_takes_the_closed_forms_limit() {
        let p = 0.168;
        let at = |total: f64| BgNbdParams {
            r: 0.6,
            alpha: 5.0,
            a: p * total,
            b: (1.0 - p) * total,
        };
        let histories = [
            (0.0, 0.0, 30.0),
            (1.0, 3.0, 30.0),
            (6.0, 25.0, 40.0),
            (20.0, 51.0, 52.0),
        ];
        for horizon in [4.0, 26.0, 300.0] {
            let (series, limit) = (at(5e4), at(1e12));
            for &(x, t_x, t) in &histories {
                let exact = series.expected_purchases(x, t_x, t, horizon);
                let collapsed = limit.expected_purchases(x, t_x, t, horizon);
                assert!(exact.is_finite() && exact > 0.0, "{exact}");
                assert!(
                    (collapsed / exact - 1.0).abs() < 2e-3,
                    "x={x} h={horizon}: {collapsed} vs {exact}"
                );
                // no more than a customer who certainly stays and buys at the same rate
                let stays = (0.6 + x) / (5.0 + t) * horizon;
                assert!(collapsed < stays, "{collapsed} vs {stays}");
                let (below, above) = (at(0.999 * ONE_CHANCE), at(1.001 * ONE_CHANCE));
                let (u, v) = (
                    below.expected_purchases(x, t_x, t, horizon),
                    above.expected_purchases(x, t_x, t, horizon),
                );
                assert!((u / v - 1.0).abs() < 1e-3, "across the switch: {u} vs {v}");
            }
            let (exact, collapsed) = (
                series.expected_purchases_new(horizon),
                limit.expected_purchases_new(horizon),
            );
            assert!(
                (collapsed / exact - 1.0).abs() < 1e-3,
                "{collapsed} vs {exact}"
            );
        }
        // a chance of leaving near 0 tends to the no-dropout expectation, not to cancellation
        let stayers = BgNbdParams {
            a: 1e-3,
            b: 1e9,
            ..at(1.0)
        };
        let v = stayers.expected_purchases_new(10.0);
        assert!((v / (0.6 / 5.0 * 10.0) - 1.0).abs() < 1e-6, "{v}");
    }

    /// The first Hessian entry at `p` that differs from the central difference of the gradient
    /// (steps of 1e-6 · p) by more than `rel` × (1 + its size + the gradient's over p).
    fn hessian_mismatch(data: &RfmData, p: [f64; 4], rel: f64) -> Option<String> {
        let mk = |v: [f64; 4]| BgNbdParams {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        };
        let (mut g, mut hs) = ([0.0; 4], [0.0; 16]);
        data.ll_grad_hess(&mk(p), &mut g, &mut hs);
        for j in 0..4 {
            let h = 1e-6 * p[j];
            let (mut pp, mut pm) = (p, p);
            pp[j] += h;
            pm[j] -= h;
            let (mut gp, mut gm) = ([0.0; 4], [0.0; 4]);
            data.ll_grad(&mk(pp), &mut gp);
            data.ll_grad(&mk(pm), &mut gm);
            for i in 0..4 {
                let num = (gp[i] - gm[i]) / (2.0 * h);
                let scale = 1.0 + num.abs() + (g[i] / p[j]).abs();
                if (num - hs[i * 4 + j]).abs() >= rel * scale {
                    return Some(format!("entry ({i}, {j}): {num} vs {}", hs[i * 4 + j]));
                }
            }
        }
        None
    }

    /// The Hessian is the gradient's derivative, entry by entry, and the pass that computes it
    /// gives the same likelihood and gradient, to the last bit, as the one that does not.
    #[test]
    fn hessian_matches_finite_differences_of_the_gradient() {
        let data = RfmData::new(sample_rows());
        let (mut g, mut hs) = ([0.0; 4], [0.0; 16]);
        let ll = data.ll_grad_hess(&P, &mut g, &mut hs);
        let mut g_plain = [0.0; 4];
        assert_eq!(ll, data.ll_grad(&P, &mut g_plain));
        assert_eq!(g, g_plain);
        assert_eq!(
            hessian_mismatch(&data, [P.r, P.alpha, P.a, P.b], 1e-5),
            None
        );
    }

    mod newton_properties {
        use super::*;
        use proptest::prelude::*;

        /// Customers as (x, t_x, T) in whole days / 7, as summaries give them.
        fn customers() -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
            let one = (0u32..12, 0.0f64..1.0, 7u32..365).prop_map(|(x, frac, days)| {
                let t = f64::from(days) / 7.0;
                let tx = if x == 0 {
                    0.0
                } else {
                    (frac * f64::from(days)).round() / 7.0
                };
                (f64::from(x), tx, t)
            });
            proptest::collection::vec(one, 8..300)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Whichever path the fit takes, it is never worse than BFGS's alone, and the
            /// log-likelihood it reports is the one at its parameters.
            #[test]
            fn the_fit_is_never_worse_than_bfgs(rows in customers()) {
                let data = RfmData::new(rows.iter().copied());
                let Ok(fit) = fit_rfm(&data) else {
                    // refused only where nobody made a repeat purchase
                    prop_assert!(rows.iter().all(|r| r.0 == 0.0));
                    return Ok(());
                };
                let bfgs = fit_rfm_bfgs(&data).unwrap();
                let tol = 1e-7 * bfgs.log_likelihood.abs().max(1.0);
                prop_assert!(fit.log_likelihood >= bfgs.log_likelihood - tol, "{fit:?} {bfgs:?}");
                let mut g = [0.0; 4];
                let at = data.ll_grad(&fit.params, &mut g);
                prop_assert!((at - fit.log_likelihood).abs() <= tol, "{at} {fit:?}");
            }

            /// The Hessian is the gradient's derivative wherever the parameters are.
            #[test]
            fn the_hessian_is_the_gradients_derivative(
                rows in customers(),
                r in 0.05f64..5.0, alpha in 0.5f64..50.0, a in 0.05f64..5.0, b in 0.2f64..10.0,
            ) {
                let data = RfmData::new(rows.iter().copied());
                let mismatch = hessian_mismatch(&data, [r, alpha, a, b], 1e-4);
                prop_assert!(mismatch.is_none(), "{mismatch:?}");
            }
        }
    }

    /// A summary made by hand that no purchase history could give is named, not fitted into
    /// an optimiser failure.
    #[test]
    fn an_impossible_summary_is_named() {
        let summary = |customer: &str, frequency, recency, age| CustomerSummary {
            customer: customer.into(),
            frequency,
            recency,
            age,
            monetary: 0.0,
            first_spend: 10.0,
            holdout_frequency: 0,
            holdout_buys: false,
            holdout_monetary: 0.0,
        };
        let good = summary("ok", 2, 10.0, 30.0);
        for (bad, why) in [
            (summary("c9", 2, -1.0, 30.0), "recency -1 weeks"),
            (
                summary("c9", 2, 31.0, 30.0),
                "recency 31 weeks, age 30 weeks",
            ),
            (summary("c9", 0, 3.0, 30.0), "frequency 0, recency 3 weeks"),
            (summary("c9", 1, f64::NAN, 30.0), "recency NaN weeks"),
        ] {
            let e = fit_bgnbd(&[good.clone(), bad]).unwrap_err().to_string();
            assert!(e.contains("customer c9") && e.contains(why), "{e}");
        }
    }

    /// Customers drawn from BG/NBD itself are fitted back to the parameters they were drawn
    /// from: 40,000 customers of one-year cohorts, each buying as a Poisson process at a rate
    /// from Gamma(r, α) and leaving after each purchase with a chance from Beta(a, b), ages
    /// and recencies in whole days as summaries give them (so the thinned warm start runs).
    /// The fit's likelihood is at least the generating parameters' (it is the maximum), and
    /// each parameter is within its sampling error of the truth.
    #[test]
    fn the_fit_recovers_the_parameters_customers_were_drawn_from() {
        use rand::{Rng, SeedableRng};
        use rand_distr::{Beta, Distribution, Exp, Gamma};
        let truth = BgNbdParams {
            r: 0.6,
            alpha: 5.0,
            a: 0.8,
            b: 2.5,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_206);
        let rates = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap();
        let leave = Beta::new(truth.a, truth.b).unwrap();
        let rows: Vec<(f64, f64, f64)> = (0..40_000)
            .map(|_| {
                let (lambda, p) = (rates.sample(&mut rng), leave.sample(&mut rng));
                let age_days = rng.random_range(7u32..=365);
                let age = f64::from(age_days) / 7.0;
                let (mut t, mut x, mut last) = (0.0f64, 0u32, 0.0f64);
                let gaps = Exp::new(lambda).unwrap();
                loop {
                    // the next purchase, in weeks; the customer may leave after each one
                    t += gaps.sample(&mut rng);
                    if t > age {
                        break;
                    }
                    x += 1;
                    last = t;
                    if rng.random::<f64>() < p {
                        break;
                    }
                }
                let recency = (last * 7.0).floor().min(f64::from(age_days)) / 7.0;
                (f64::from(x), if x == 0 { 0.0 } else { recency }, age)
            })
            .collect();
        let data = RfmData::new(rows.iter().copied());
        assert!(thinned_rows(&data).is_some(), "{} rows", data.rows.len());
        let fit = fit_rfm(&data).unwrap();
        let mut g = [0.0; 4];
        assert!(
            fit.log_likelihood >= data.ll_grad(&truth, &mut g),
            "{fit:?}"
        );
        for (name, got, want, within) in [
            ("r", fit.params.r, truth.r, 0.1),
            ("alpha", fit.params.alpha, truth.alpha, 0.15),
            ("a", fit.params.a, truth.a, 0.25),
            ("b", fit.params.b, truth.b, 0.3),
        ] {
            assert!(
                (got / want - 1.0).abs() < within,
                "{name}: {got} vs {want} ({fit:?})"
            );
        }
    }

    /// Newton's path and BFGS's reach the same maximum on CDNOW_master's standard split (with
    /// the thinned warm start), and Newton needs fewer evaluations.
    #[test]
    fn newton_and_bfgs_reach_the_same_fit() {
        use crate::{InputFormat, parse, parse_transactions, summarise};
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/cdnow/CDNOW_master.txt"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let tx = parse_transactions(&text, InputFormat::CdnowMaster).unwrap();
        let d = |s| parse::parse_date(s).unwrap();
        let s = summarise(&tx, d("1997-09-30"), d("1998-06-30")).unwrap();
        let data = RfmData::from_summaries(&s).unwrap();
        assert!(thinned_rows(&data).is_some());
        let newton = fit_rfm_newton(&data).expect("an interior fit");
        assert_eq!(
            (newton.iterations, newton.evaluations),
            (4, 14),
            "{newton:?}"
        );
        let bfgs = fit_rfm_bfgs(&data).unwrap();
        for (a, b) in [
            (newton.params.r, bfgs.params.r),
            (newton.params.alpha, bfgs.params.alpha),
            (newton.params.a, bfgs.params.a),
            (newton.params.b, bfgs.params.b),
        ] {
            // (BFGS may stop once the objective stops changing with the gradient at 1e-5;
            // Newton goes on to 1e-10, so the two agree to about 1e-7, not to the last digit)
            assert!((a / b - 1.0).abs() < 1e-6, "{newton:?} {bfgs:?}");
        }
        assert!((newton.log_likelihood - bfgs.log_likelihood).abs() < 1e-6);
        assert!(newton.evaluations < bfgs.evaluations, "{newton:?} {bfgs:?}");
        assert_eq!(fit_rfm(&data).unwrap(), newton);
    }

    /// Far out towards an edge (a = 1e300, r = 1e9) the likelihood and its gradient over the
    /// log-parameters are still what the optimiser needs: the gradient matches finite
    /// differences of the likelihood, and the likelihood moves smoothly. Before the likelihood
    /// was written as differences over the step x, `ln B(a, b + x) − ln B(a, b)` cancelled to
    /// noise there and the log-gradient in a kept pointing outwards: on the demo ledger
    /// counted at −05:00 the fit ran to a = 2.6e305, α = 1.6e-142 with a log-likelihood of
    /// +4.4 million.
    #[test]
    fn far_from_the_data_the_likelihood_and_its_gradient_stay_exact() {
        let data = RfmData::new(sample_rows());
        let objective = objective_for(&data);
        for far in [
            [0.243f64, 4.414, 1e300, 2.426],
            [0.243, 4.414, 1e12, 2.426],
            [1e9, 4e9, 0.793, 2.426],
            [0.0017, 1e-142, 2.56e305, 0.0014],
        ] {
            let th: Vec<f64> = far.iter().map(|v| v.ln()).collect();
            let mut g = [0.0; 4];
            let f = objective(&th, &mut g);
            assert!(f.is_finite(), "{far:?}");
            for i in 0..4 {
                let h = 1e-4;
                let (mut up, mut down) = (th.clone(), th.clone());
                up[i] += h;
                down[i] -= h;
                let mut tmp = [0.0; 4];
                let num = (objective(&up, &mut tmp) - objective(&down, &mut tmp)) / (2.0 * h);
                assert!(
                    (num - g[i]).abs() < 1e-5 * (1.0 + num.abs()),
                    "{far:?}, log-param {i}: {num} by differences vs {} analytic",
                    g[i]
                );
            }
        }
        // a = 1e300: a customer with repeat purchases is all but impossible (each purchase
        // ends the relationship), so the mean log-likelihood is very negative, not positive
        let th: Vec<f64> = [0.243f64, 4.414, 1e300, 2.426]
            .iter()
            .map(|v| v.ln())
            .collect();
        assert!(objective(&th, &mut [0.0; 4]) > 100.0);
    }

    #[test]
    fn expectation_x0_equals_unconditional_shifted() {
        // E[Y(t)|x=0, T=0] is the unconditional expectation.
        let e0 = P.expected_purchases(0.0, 0.0, 0.0, 39.0);
        let e1 = P.expected_purchases_new(39.0);
        assert!((e0 - e1).abs() < 1e-10, "{e0} {e1}");
        assert!(e0 > 0.0);
        // monotone in the horizon and in the frequency for recent buyers
        assert!(
            P.expected_purchases(3.0, 30.0, 31.0, 10.0)
                < P.expected_purchases(3.0, 30.0, 31.0, 20.0)
        );
        assert!(
            P.expected_purchases(2.0, 30.0, 31.0, 10.0)
                < P.expected_purchases(5.0, 30.0, 31.0, 10.0)
        );
        assert_eq!(P.p_alive(0.0, 0.0, 10.0), 1.0);
        assert!(P.p_alive(3.0, 2.0, 38.0) < P.p_alive(3.0, 37.0, 38.0));
    }

    #[test]
    fn expectation_matches_simulation_free_identity() {
        // Known value from lifetimes' docs style check: compare against a series evaluated
        // independently by numerical integration over t of the purchase intensity is heavy;
        // instead check the x=0 unconditional curve's derivative at 0: dE/dt(0) = r/α.
        let h = 1e-6;
        let d = P.expected_purchases_new(h) / h;
        assert!((d - P.r / P.alpha).abs() < 1e-4, "{d}");
    }
}

#[cfg(test)]
mod no_dropout_limit {
    use super::BgNbdParams;

    #[test]
    fn expectations_stay_finite_and_positive_when_nobody_drops_out() {
        // The fit on the synthetic demo tenant lands here: a → 0, b → ∞.
        let p = BgNbdParams {
            r: 0.78,
            alpha: 14.7,
            a: 1e-12,
            b: 1e150,
        };
        let e = p.expected_purchases(3.0, 20.0, 30.0, 13.0);
        let nbd = (0.78 + 3.0) / (14.7 + 30.0) * 13.0;
        assert!((e - nbd).abs() < 1e-9, "{e} vs {nbd}");
        // Close to the limit, the closed form agrees with it.
        let near = BgNbdParams {
            r: 0.78,
            alpha: 14.7,
            a: 1e-3,
            b: 1e4,
        };
        let e = near.expected_purchases(3.0, 20.0, 30.0, 13.0);
        assert!((e - nbd).abs() / nbd < 0.01, "{e} vs {nbd}");
    }

    /// A tiny a / (a + b) with a moderate a is the no-dropout shortcut's domain, but a heavy
    /// buyer silent for 55 weeks is then almost surely gone: the shortcut keeps P(alive), so
    /// the expectation is continuous where the shortcut takes over from the closed form (it
    /// used to jump from about 3e-14 to 14 purchases across b = 1e6).
    #[test]
    fn the_shortcut_keeps_the_chance_that_the_customer_is_alive() {
        let at = |b: f64| BgNbdParams {
            r: 0.78,
            alpha: 14.7,
            a: 1e-3,
            b,
        };
        let (inside, outside) = (at(1.01e6), at(0.99e6));
        // (a / (a + b) is under 1e-9 at b = 1.01e6 and over it at 0.99e6)
        let heavy_silent = |p: &BgNbdParams| p.expected_purchases(40.0, 5.0, 60.0, 26.0);
        assert!(inside.p_alive(40.0, 5.0, 60.0) < 1e-12);
        assert!(heavy_silent(&inside) < 1e-10, "{}", heavy_silent(&inside));
        let ratio = heavy_silent(&inside) / heavy_silent(&outside);
        assert!((0.9..1.1).contains(&ratio), "{ratio}");
        // and for a customer who is plainly alive, both sides agree with each other
        let steady = |p: &BgNbdParams| p.expected_purchases(10.0, 58.0, 60.0, 26.0);
        let ratio = steady(&inside) / steady(&outside);
        assert!((ratio - 1.0).abs() < 1e-3, "{ratio}");
    }
}

#[cfg(test)]
mod u_shaped_dropout {
    use super::BgNbdParams;
    use crate::special::ln_beta;

    /// E[Y(h) | x, t_x, T] by quadrature of its definition: P(alive) times the mean over the
    /// posterior p ~ Beta(a, b + x) of (1/p)(1 - ((α+T)/(α+T+p·h))^(r+x)) (the λ-posterior
    /// Gamma(r + x, α + T) integrated out). Each half of (0, 1) is mapped so that the Beta
    /// density's end singularity disappears: p = u^(1/a) near 0, 1 - p = w^(1/b') near 1.
    fn by_quadrature(p: &BgNbdParams, x: f64, t_x: f64, t: f64, h: f64) -> f64 {
        let (a, b1) = (p.a, p.b + x);
        // 1 - (s/(s+qh))^(r+x), written to stay exact for tiny q
        let g = |q: f64| -(-(p.r + x) * (q * h / (p.alpha + t)).ln_1p()).exp_m1() / q;
        let n = 400_000;
        let mut acc = 0.0;
        // (0, 1/2]: p = u^(1/a), p^(a-1) dp = du / a
        let top = 0.5f64.powf(a);
        for i in 0..n {
            let u = top * (f64::from(i) + 0.5) / f64::from(n);
            let q = u.powf(1.0 / a);
            acc += g(q) * (1.0 - q).powf(b1 - 1.0) / a * top / f64::from(n);
        }
        // [1/2, 1): 1 - p = w^(1/b'), (1-p)^(b'-1) dp = dw / b'
        let top = 0.5f64.powf(b1);
        for i in 0..n {
            let w = top * (f64::from(i) + 0.5) / f64::from(n);
            let q = 1.0 - w.powf(1.0 / b1);
            acc += g(q) * q.powf(a - 1.0) / b1 * top / f64::from(n);
        }
        acc / ln_beta(a, b1).exp() * p.p_alive(x, t_x, t)
    }

    #[test]
    fn expectation_is_finite_and_exact_when_a_plus_b_is_below_one() {
        // The inner fit of a 16-week CDNOW calibration lands near a, b → 0; before the
        // continuation this returned NaN for every customer without a repeat purchase.
        for p in [
            BgNbdParams {
                r: 0.33,
                alpha: 6.3,
                a: 0.3,
                b: 0.4,
            },
            BgNbdParams {
                r: 0.33,
                alpha: 6.3,
                a: 0.05,
                b: 0.2,
            },
            BgNbdParams {
                r: 1.2,
                alpha: 3.0,
                a: 0.6,
                b: 0.39999,
            },
        ] {
            for (x, t_x, t, h) in [
                (0.0, 0.0, 10.0, 16.0),
                (0.0, 0.0, 2.0, 30.0),
                (2.0, 8.0, 12.0, 16.0),
            ] {
                let e = p.expected_purchases(x, t_x, t, h);
                let q = by_quadrature(&p, x, t_x, t, h);
                assert!(e.is_finite() && e > 0.0, "{p:?} x={x}: {e}");
                assert!(
                    (e - q).abs() < 1e-5 * q.max(1.0),
                    "{p:?} x={x} T={t} h={h}: {e} vs {q}"
                );
            }
        }
    }

    #[test]
    fn expectation_of_a_heavy_buyer_over_a_long_horizon_is_exact() {
        // r + x = 300 over 3,000 weeks: the direct series' terms overflow (it used to fall
        // back to the no-dropout expectation, which ignores that she may leave)
        let p = BgNbdParams {
            r: 0.2516,
            alpha: 4.7889,
            a: 0.7234,
            b: 2.1611,
        };
        let (x, t_x, t, h) = (300.0, 58.0, 60.0, 3000.0);
        let z = h / (p.alpha + t + h);
        let direct = crate::special::hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1.0, z);
        assert!(!direct.is_finite(), "the case must need the transformation");
        let e = p.expected_purchases(x, t_x, t, h);
        let q = by_quadrature(&p, x, t_x, t, h);
        let no_dropout = (p.r + x) / (p.alpha + t) * h * p.p_alive(x, t_x, t);
        assert!((e - q).abs() < 1e-5 * q, "{e} vs quadrature {q}");
        assert!(e < 0.5 * no_dropout, "{e} against no dropout {no_dropout}");
        // and where both forms converge they agree
        let (x, h) = (3.0, 40.0);
        let z = h / (p.alpha + t + h);
        let c = p.a + p.b + x - 1.0;
        let d = (1.0 - z).powf(p.r + x) * crate::special::hyp2f1(p.r + x, p.b + x, c, z);
        let eu = (1.0 - z).powf(p.a - 1.0) * crate::special::hyp2f1(c - p.r - x, p.a - 1.0, c, z);
        assert!((d - eu).abs() < 1e-12, "{d} vs {eu}");
    }

    #[test]
    fn expectation_is_continuous_across_a_equal_one() {
        let at = |a: f64| BgNbdParams {
            r: 0.5,
            alpha: 5.0,
            a,
            b: 2.0,
        };
        for (x, t_x) in [(0.0, 0.0), (3.0, 6.0)] {
            let (below, on, above) = (
                at(1.0 - 1e-4).expected_purchases(x, t_x, 8.0, 12.0),
                at(1.0).expected_purchases(x, t_x, 8.0, 12.0),
                at(1.0 + 1e-4).expected_purchases(x, t_x, 8.0, 12.0),
            );
            assert!(on.is_finite(), "x={x}");
            assert!(
                (below - on).abs() < 1e-3 && (above - on).abs() < 1e-3,
                "x={x}: {below} {on} {above}"
            );
            let q = by_quadrature(&at(1.0), x, t_x, 8.0, 12.0);
            assert!((on - q).abs() < 1e-4 * q.max(1.0), "x={x}: {on} vs {q}");
        }
        let new = at(1.0).expected_purchases_new(12.0);
        assert!(
            new.is_finite() && (new - at(1.0 + 1e-4).expected_purchases_new(12.0)).abs() < 1e-3
        );
    }

    #[test]
    fn expectation_is_continuous_across_a_plus_b_equal_one() {
        let at = |b: f64| {
            BgNbdParams {
                r: 0.5,
                alpha: 5.0,
                a: 0.4,
                b,
            }
            .expected_purchases(0.0, 0.0, 8.0, 12.0)
        };
        let (below, on, above) = (at(0.6 - 1e-4), at(0.6), at(0.6 + 1e-4));
        assert!(on.is_finite());
        assert!(
            (below - on).abs() < 1e-4 && (above - on).abs() < 1e-4,
            "{below} {on} {above}"
        );
    }

    #[test]
    fn degenerate_fit_from_a_young_cohort_gives_finite_expectations() {
        // a, b ≈ 1e-11: the fit of CDNOW_master calibrated to 1997-04-23.
        let p = BgNbdParams {
            r: 0.3288,
            alpha: 6.3164,
            a: 4.2e-12,
            b: 1.45e-11,
        };
        for x in [0.0, 1.0, 3.0] {
            let e = p.expected_purchases(x, x, 14.0, 16.3);
            assert!(e.is_finite() && e >= 0.0, "x={x}: {e}");
        }
        // x = 0: with a, b → 0 a share a/(a+b) of customers leave at their next purchase, the
        // rest never do; the expectation lies between one purchase's worth and no dropout.
        let e0 = p.expected_purchases(0.0, 0.0, 14.0, 16.3);
        let nbd = p.r / (p.alpha + 14.0) * 16.3;
        assert!(e0 < nbd && e0 > 0.5 * nbd, "{e0} vs {nbd}");
    }
}
