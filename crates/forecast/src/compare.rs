//! Paired comparison of two models' forecasts for the same customers, with bootstrap
//! intervals: how sure can one be that model A beats model B on a metric, given that both were
//! scored on one finite set of customers? Also bootstrap intervals for a single AUC
//! ([`auc_interval`]) and a single Spearman correlation ([`spearman_interval`]), used for the
//! trust index against outcomes.
//!
//! Customers are resampled with replacement (the same resample for both models, so the
//! comparison is paired); each metric's *advantage* of A over B (B's MAE minus A's, A's
//! Spearman, AUC and top-decile hit rate minus B's, so positive always means A is better) is
//! recomputed on every resample. The interval is the 2.5 % and 97.5 % percentiles of those
//! advantages. Deterministic for a given seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::error::ForecastError;
use crate::evaluate::CustomerForecast;
use crate::metrics;

/// Fewest customers on each side of an outcome (who did it, who did not) for a metric of it
/// (an AUC, the top-decile hit rate) to be given a bootstrap interval: with fewer, a resample
/// keeps or drops the same few, and the interval would understate the uncertainty.
pub const MIN_FOR_INTERVAL: usize = 5;

/// Fewest pairs for a Spearman correlation to be given a bootstrap interval
/// ([`spearman_interval`]): a resample of a handful of pairs is as often in perfect order as
/// the pairs themselves, and five in order gave [1.000, 1.000].
pub const MIN_FOR_SPEARMAN_INTERVAL: usize = 10;

/// The smaller side of buying again among `buys`: how many customers are on it, and what
/// they did ("bought again", or "did not buy again"), for a warning to say.
pub(crate) fn smaller_side(buys: &[bool]) -> (usize, &'static str) {
    let buyers = buys.iter().filter(|&&b| b).count();
    let others = buys.len() - buyers;
    if buyers <= others {
        (buyers, "bought again")
    } else {
        (others, "did not buy again")
    }
}

/// The four metrics compared, in report order.
pub const METRICS: [&str; 4] = ["mae", "spearman", "auc", "top_decile_hit_rate"];

/// One metric of a [`Comparison`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricComparison {
    /// Metric name (one of [`METRICS`]).
    pub metric: &'static str,
    /// The metric of model A on all customers.
    pub a: f64,
    /// The metric of model B on all customers.
    pub b: f64,
    /// A's advantage on all customers (positive: A is better).
    pub advantage: f64,
    /// 2.5 % percentile of the resampled advantages.
    pub low: f64,
    /// 97.5 % percentile of the resampled advantages.
    pub high: f64,
    /// Share of resamples (those where the metric is defined) in which A is strictly better.
    pub a_better_share: f64,
    /// Resamples where the metric is defined (a resample where nobody, or everybody, bought
    /// again has no rank statistic): those `low`, `high` and `a_better_share` rest on, when
    /// they are given.
    pub defined: usize,
}

/// Model A against model B on the same customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Customers compared.
    pub customers: usize,
    /// Bootstrap resamples drawn.
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
    /// One entry per metric, in the order of [`METRICS`].
    pub metrics: Vec<MetricComparison>,
    /// Why a metric has no interval (`low`, `high` and `a_better_share` NaN) though both
    /// models have a value: too few buyers or too few non-buyers ([`MIN_FOR_INTERVAL`]).
    pub warnings: Vec<String>,
}

/// The four metrics of predictions `pred` against actual counts `act`.
fn scores(pred: &[f64], act: &[f64], buys: &[bool]) -> [f64; 4] {
    [
        metrics::mae(pred, act),
        metrics::spearman(pred, act),
        metrics::auc(pred, buys),
        metrics::top_decile_hit_rate(pred, buys),
    ]
}

/// A's advantage over B per metric (positive: A is better).
fn advantage(a: &[f64; 4], b: &[f64; 4]) -> [f64; 4] {
    [b[0] - a[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]
}

/// Draws bootstrap resamples of `n` rows: each call to [`Resampler::next`] refills the row
/// indices, and [`Resampler::gather`] copies a column in that order.
struct Resampler {
    rng: ChaCha8Rng,
    idx: Vec<usize>,
}

impl Resampler {
    fn new(n: usize, seed: u64) -> Self {
        Resampler {
            rng: ChaCha8Rng::seed_from_u64(seed),
            idx: vec![0; n],
        }
    }

    fn next(&mut self) {
        let n = self.idx.len();
        for i in &mut self.idx {
            *i = self.rng.random_range(0..n);
        }
    }

    fn gather<T: Copy>(&self, column: &[T], out: &mut [T]) {
        for (o, &i) in out.iter_mut().zip(&self.idx) {
            *o = column[i];
        }
    }
}

/// The 2.5 % and 97.5 % percentiles (linear interpolation) of the resampled values, and the
/// share of them above zero, leaving out resamples where the value is undefined (NaN: one
/// class only). `None` when every value is undefined.
fn summarise(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut s: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let pos = q * (s.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
    };
    let above = s.iter().filter(|&&v| v > 0.0).count() as f64 / s.len() as f64;
    Some((quantile(0.025), quantile(0.975), above))
}

/// Compares forecasts `a` and `b` of the same customers (as [`crate::forecast()`] returns
/// them: same customers, same order, same actual counts) with `resamples` paired bootstrap
/// resamples drawn from `seed`.
pub fn compare(
    a: &[CustomerForecast],
    b: &[CustomerForecast],
    resamples: usize,
    seed: u64,
) -> Result<Comparison, ForecastError> {
    compare_reporting(a, b, resamples, seed, &|_| {})
}

/// [`compare`], calling `done` with the number of resamples drawn so far after each one (a
/// command line's progress bar: 100,000 resamples of CDNOW_master take minutes).
pub fn compare_reporting(
    a: &[CustomerForecast],
    b: &[CustomerForecast],
    resamples: usize,
    seed: u64,
    done: &dyn Fn(usize),
) -> Result<Comparison, ForecastError> {
    if a.len() != b.len() {
        return Err(ForecastError::InvalidInput(format!(
            "cannot compare forecasts of {} and {} customers",
            a.len(),
            b.len()
        )));
    }
    if let Some((x, y)) = a
        .iter()
        .zip(b)
        .find(|(x, y)| x.customer != y.customer || x.actual_purchases != y.actual_purchases)
    {
        return Err(ForecastError::InvalidInput(format!(
            "forecasts are not of the same customers: `{}` against `{}`",
            x.customer, y.customer
        )));
    }
    if a.is_empty() {
        return Err(ForecastError::InvalidInput(
            "no customers to compare".into(),
        ));
    }
    let pa: Vec<f64> = a.iter().map(|c| c.expected_purchases).collect();
    let pb: Vec<f64> = b.iter().map(|c| c.expected_purchases).collect();
    let act: Vec<f64> = a.iter().map(|c| f64::from(c.actual_purchases)).collect();
    let buys: Vec<bool> = a.iter().map(|c| c.actual_purchases > 0).collect();
    let (full_a, full_b) = (scores(&pa, &act, &buys), scores(&pb, &act, &buys));
    let n = a.len();
    let mut draw = Resampler::new(n, seed);
    let mut samples: [Vec<f64>; 4] = Default::default();
    let (mut ra, mut rb, mut ract, mut rbuys) =
        (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![false; n]);
    for k in 0..resamples {
        done(k);
        draw.next();
        draw.gather(&pa, &mut ra);
        draw.gather(&pb, &mut rb);
        draw.gather(&act, &mut ract);
        draw.gather(&buys, &mut rbuys);
        let adv = advantage(&scores(&ra, &ract, &rbuys), &scores(&rb, &ract, &rbuys));
        for (s, v) in samples.iter_mut().zip(adv) {
            s.push(v);
        }
    }
    done(resamples);
    let full = advantage(&full_a, &full_b);
    // AUC and the top decile score buying again, and Spearman ranks the counts, nearly all
    // ties but for the buyers; with a handful on either side their resampled values say how
    // the many others vary, not how sure the comparison is
    let (fewest, did) = smaller_side(&buys);
    let mut warnings = Vec::new();
    if fewest < MIN_FOR_INTERVAL && !(full_a[2].is_nan() || full_b[2].is_nan()) {
        warnings.push(format!(
            "no interval for Spearman, the AUC or the top-decile hit rate: only {fewest} \
             customer{} {did} \
             in the holdout, and a bootstrap of fewer than {MIN_FOR_INTERVAL} keeps or drops \
             the same few, so it would understate the uncertainty (a longer holdout or more \
             customers gives one)",
            if fewest == 1 { "" } else { "s" },
        ));
    }
    let metrics = METRICS
        .iter()
        .enumerate()
        .map(|(j, &metric)| {
            let by_buyers = matches!(metric, "spearman" | "auc" | "top_decile_hit_rate");
            let defined = samples[j].iter().filter(|v| !v.is_nan()).count();
            let (low, high, a_better_share) = summarise(&samples[j])
                .filter(|_| !by_buyers || fewest >= MIN_FOR_INTERVAL)
                .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
            MetricComparison {
                metric,
                a: full_a[j],
                b: full_b[j],
                advantage: full[j],
                low,
                high,
                a_better_share,
                defined,
            }
        })
        .collect();
    Ok(Comparison {
        customers: n,
        resamples,
        seed,
        metrics,
        warnings,
    })
}

/// A 95 % bootstrap interval (2.5 % and 97.5 % percentiles over `resamples` resamples, drawn
/// from `seed`) of the AUC of `score` for `label`. The bootstrap is stratified: each resample
/// draws the positives from the positives and the negatives from the negatives, keeping both
/// counts, so every one of the `resamples` has an AUC (a plain resample of rows has none when
/// it misses the rare class, and the ones left would all happen to hold it). `None` when one
/// class is empty (no AUC to bound) or no row is given.
pub fn auc_interval(
    score: &[f64],
    label: &[bool],
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    summarise(&stratified_aucs(score, label, resamples, seed)?).map(|(low, high, _)| (low, high))
}

/// A 95 % bootstrap interval (2.5 % and 97.5 % percentiles over `resamples` resamples of the
/// pairs, drawn from `seed`) of the Spearman correlation of `x` with `y`. A resample in which
/// either side is constant has no correlation and is left out. `None` when fewer than
/// [`MIN_FOR_SPEARMAN_INTERVAL`] pairs are given, or when no resample has a correlation.
pub fn spearman_interval(x: &[f64], y: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    let n = x.len().min(y.len());
    if n < MIN_FOR_SPEARMAN_INTERVAL {
        return None;
    }
    let mut draw = Resampler::new(n, seed);
    let (mut rx, mut ry) = (vec![0.0; n], vec![0.0; n]);
    let rhos: Vec<f64> = (0..resamples)
        .map(|_| {
            draw.next();
            draw.gather(&x[..n], &mut rx);
            draw.gather(&y[..n], &mut ry);
            metrics::spearman(&rx, &ry)
        })
        .collect();
    summarise(&rhos).map(|(low, high, _)| (low, high))
}

/// The AUC of each of `resamples` stratified resamples ([`auc_interval`]).
fn stratified_aucs(score: &[f64], label: &[bool], resamples: usize, seed: u64) -> Option<Vec<f64>> {
    let n = score.len().min(label.len());
    let (pos, neg): (Vec<f64>, Vec<f64>) = {
        let (p, q): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| label[i]);
        (
            p.iter().map(|&i| score[i]).collect(),
            q.iter().map(|&i| score[i]).collect(),
        )
    };
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut draw_pos = Resampler::new(pos.len(), seed);
    let mut draw_neg = Resampler::new(neg.len(), seed ^ 0x9E37_79B9_7F4A_7C15);
    let labels: Vec<bool> = (0..n).map(|i| i < pos.len()).collect();
    let mut rs = vec![0.0; n];
    let aucs = (0..resamples)
        .map(|_| {
            draw_pos.next();
            draw_neg.next();
            let (rp, rn) = rs.split_at_mut(pos.len());
            draw_pos.gather(&pos, rp);
            draw_neg.gather(&neg, rn);
            metrics::auc(&rs, &labels)
        })
        .collect();
    Some(aucs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fc(customer: usize, expected: f64, actual: u32) -> CustomerForecast {
        CustomerForecast {
            customer: format!("c{customer:04}"),
            expected_purchases: expected,
            baseline_purchases: expected,
            p_alive: 1.0,
            expected_average_spend: None,
            purchase_days: 1,
            spend_basis: 0.0,
            actual_purchases: actual,
        }
    }

    /// Actual counts 0..5 repeating; A predicts them exactly, B predicts noise.
    fn pair(n: usize) -> (Vec<CustomerForecast>, Vec<CustomerForecast>) {
        let act = |i: usize| (i % 5) as u32;
        let a = (0..n).map(|i| fc(i, f64::from(act(i)), act(i))).collect();
        let b = (0..n)
            .map(|i| fc(i, ((i * 7919) % 13) as f64 / 4.0, act(i)))
            .collect();
        (a, b)
    }

    #[test]
    fn a_clearly_better_model_wins_every_resample_and_the_interval_excludes_zero() {
        let (a, b) = pair(500);
        let c = compare(&a, &b, 200, 7).unwrap();
        assert_eq!(c.metrics.len(), 4);
        for m in &c.metrics {
            assert!(m.advantage > 0.0, "{m:?}");
            assert!(m.low > 0.0 && m.low <= m.high, "{m:?}");
            assert_eq!(m.a_better_share, 1.0, "{m:?}");
        }
        // the same seed gives the same result; swapping the models flips the signs
        assert_eq!(c, compare(&a, &b, 200, 7).unwrap());
        let r = compare(&b, &a, 200, 7).unwrap();
        for (m, n) in c.metrics.iter().zip(&r.metrics) {
            assert!((m.advantage + n.advantage).abs() < 1e-12);
            assert!((m.low + n.high).abs() < 1e-12 && (m.high + n.low).abs() < 1e-12);
            assert_eq!(n.a_better_share, 0.0);
        }
    }

    /// Progress is reported from none drawn to all, in order, and changes nothing.
    #[test]
    fn progress_is_reported_in_order_and_changes_nothing() {
        let (a, b) = pair(100);
        let seen = std::cell::RefCell::new(Vec::new());
        let c = compare_reporting(&a, &b, 30, 7, &|k| seen.borrow_mut().push(k)).unwrap();
        assert_eq!(*seen.borrow(), (0..=30).collect::<Vec<_>>());
        assert_eq!(c, compare(&a, &b, 30, 7).unwrap());
    }

    /// Five buyers among forty: some resamples draw none, and have no rank statistic; the
    /// intervals say how many resamples they rest on. With four, none has an interval.
    #[test]
    fn intervals_say_how_many_resamples_they_rest_on() {
        let make = |buyers: usize| -> (Vec<CustomerForecast>, Vec<CustomerForecast>) {
            let act = |i: usize| u32::from(i < buyers);
            let a = (0..40).map(|i| fc(i, f64::from(act(i)), act(i))).collect();
            let b = (0..40).map(|i| fc(i, (i % 3) as f64, act(i))).collect();
            (a, b)
        };
        let (a, b) = make(5);
        let c = compare(&a, &b, 2000, 11).unwrap();
        let by = |name: &str| c.metrics.iter().find(|m| m.metric == name).unwrap();
        assert_eq!(by("mae").defined, 2000);
        for name in ["spearman", "auc"] {
            let m = by(name);
            assert!(m.defined < 2000 && m.defined > 1900, "{m:?}");
        }
        let (a, b) = make(4);
        let c = compare(&a, &b, 200, 11).unwrap();
        for m in &c.metrics {
            assert_eq!(m.low.is_nan(), m.metric != "mae", "{m:?}");
            // (withheld, not undefined: most resamples hold one of the four buyers)
            assert!(m.defined > 150, "{m:?}");
        }
        assert!(
            c.warnings[0].starts_with("no interval for Spearman, the AUC"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn identical_models_have_no_advantage() {
        let (a, _) = pair(100);
        let c = compare(&a, &a, 50, 1).unwrap();
        for m in &c.metrics {
            assert_eq!(
                (m.advantage, m.low, m.high, m.a_better_share),
                (0.0, 0.0, 0.0, 0.0)
            );
        }
    }

    /// One referral among a hundred customers: a resample of all rows misses it about
    /// 37 % of the time and has no AUC; each stratified resample keeps it, so every one of
    /// the resamples counts and the interval rests on as many as it says.
    #[test]
    fn every_stratified_resample_has_both_classes() {
        let score: Vec<f64> = (0..100).map(f64::from).collect();
        let label: Vec<bool> = (0..100).map(|i| i == 70).collect();
        let aucs = stratified_aucs(&score, &label, 200, 5).unwrap();
        assert_eq!(aucs.len(), 200);
        assert!(aucs.iter().all(|a| (0.0..=1.0).contains(a)), "{aucs:?}");
        // the one positive always outranks the same ~70 % of the negatives, give or take
        // which negatives were drawn
        let (lo, hi) = auc_interval(&score, &label, 200, 5).unwrap();
        assert!(
            lo > 0.55 && hi < 0.85 && lo < 0.707 && 0.707 < hi,
            "{lo}..{hi}"
        );
    }

    #[test]
    fn the_auc_interval_contains_the_auc_and_narrows_with_more_rows() {
        let make = |n: usize| -> (Vec<f64>, Vec<bool>) {
            // a noisy but real signal: label is true when score plus a fixed wobble is high
            (0..n)
                .map(|i| {
                    let s = (i % 100) as f64;
                    (s, s + ((i * 37) % 61) as f64 > 80.0)
                })
                .unzip()
        };
        let (s, l) = make(400);
        let auc = metrics::auc(&s, &l);
        let (lo, hi) = auc_interval(&s, &l, 200, 3).unwrap();
        assert!(lo < auc && auc < hi && lo > 0.5, "{lo} {auc} {hi}");
        let (s4, l4) = make(4000);
        let (lo4, hi4) = auc_interval(&s4, &l4, 200, 3).unwrap();
        assert!(hi4 - lo4 < hi - lo, "{lo4}..{hi4} vs {lo}..{hi}");
        assert_eq!(auc_interval(&s, &l, 200, 3), Some((lo, hi)), "seeded");
        // one class only: no interval
        assert_eq!(auc_interval(&s, &vec![true; s.len()], 50, 1), None);
        assert_eq!(auc_interval(&[], &[], 50, 1), None);
    }

    #[test]
    fn the_spearman_interval_holds_the_correlation_and_needs_ten_pairs() {
        // a noisy increasing relation, and the same with y reversed
        let x: Vec<f64> = (0..300).map(|i| (i % 100) as f64).collect();
        let y: Vec<f64> = (0..300).map(|i| (i % 100 + (i * 37) % 61) as f64).collect();
        let rho = metrics::spearman(&x, &y);
        let (lo, hi) = spearman_interval(&x, &y, 200, 3).unwrap();
        assert!(lo < rho && rho < hi && lo > 0.0, "{lo} {rho} {hi}");
        assert_eq!(spearman_interval(&x, &y, 200, 3), Some((lo, hi)), "seeded");
        let down: Vec<f64> = y.iter().map(|v| -v).collect();
        let (dlo, dhi) = spearman_interval(&x, &down, 200, 3).unwrap();
        assert!(dhi < 0.0 && (dlo + hi).abs() < 1e-12, "{dlo} {dhi}");
        // nine pairs: none, ten: one; a constant side: no resample has a correlation
        assert_eq!(spearman_interval(&x[..9], &y[..9], 200, 3), None);
        assert!(spearman_interval(&x[..10], &y[..10], 200, 3).is_some());
        assert_eq!(spearman_interval(&x, &vec![1.0; x.len()], 200, 3), None);
    }

    #[test]
    fn forecasts_of_different_customers_are_an_error() {
        let (a, b) = pair(10);
        let e = compare(&a, &b[..9], 10, 1).unwrap_err().to_string();
        assert!(e.contains("10 and 9 customers"), "{e}");
        let mut other = b.clone();
        other[3].customer = "zz".into();
        let e = compare(&a, &other, 10, 1).unwrap_err().to_string();
        assert!(e.contains("`c0003` against `zz`"), "{e}");
    }
}
