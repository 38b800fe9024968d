//! TrustLedger's `default` model: BG/NBD as a base rate, corrected by a Poisson
//! gradient-boosted tree ensemble on scale-free transaction-pattern features and optional
//! per-customer covariates (trust components, returns, after-sales counts, ...).
//!
//! Fitting uses only purchases up to the calibration end:
//! 1. the calibration period `[start, cal_end]` is split into an inner calibration and an inner
//!    holdout with the same length ratio as calibration : holdout;
//! 2. BG/NBD is fitted once, on the whole calibration period: it is the base rate both where
//!    the correction is learned and where it is applied. For every customer cut at the inner
//!    calibration end, the booster learns a multiplicative correction of that BG/NBD's
//!    expectation for the inner horizon towards the inner-holdout count, from features that
//!    are expressed relative to the horizon (so they transfer to the outer split). The
//!    correction therefore describes where this one parametric fit goes wrong, not where a
//!    second fit on a shorter, younger period would (an earlier design fitted BG/NBD again on
//!    the inner calibration; its misfit there did not transfer: on CDNOW with 13 weeks of
//!    calibration it roughly doubled the youngest heavy buyers' forecasts). The price: the
//!    fit's four population-level parameters have seen the inner holdout, which lies inside the
//!    calibration period; the per-customer corrections are still judged out of fold. Covariates
//!    (trust components, ...) describe each customer as of the cut the row is taken at: the
//!    latest [`Covariates`] snapshot dated on or before it, never a later one;
//! 3. the booster's depth and number of trees are chosen by k-fold cross-validation (over
//!    customers) of the Poisson deviance on that inner split; the fold boosters are kept, and
//!    a forecast takes the geometric mean of their corrections (the mean of their log
//!    corrections: bagging over the folds, no refit);
//! 4. the learned correction is applied to the BG/NBD expectations for the real horizon;
//! 5. the corrected forecasts are put back on the BG/NBD scale, keeping their order: either
//!    rescaled to the BG/NBD total, or given the BG/NBD values in the booster's order
//!    ([`Calibration`]), whichever had the lower out-of-fold absolute error on the inner split.

use chrono::NaiveDate;
use serde::Serialize;

use crate::bgnbd::{BgNbdFit, BgNbdParams, fit_bgnbd};
use crate::covariates::Covariates;
use crate::error::ForecastError;
use crate::gbm::{Gbm, GbmParams, poisson_deviance};
use crate::metrics::mae;
use crate::parse::Transaction;
use crate::summary::{
    CustomerSummary, DAYS_PER_WEEK, History, check_split, day_number, histories, summarise_history,
};

/// Names of the built-in features, in order (covariates follow as `cov0`, `cov1`, ...).
pub const FEATURE_NAMES: [&str; 15] = [
    "ln_bgnbd_expectation",
    "bgnbd_p_alive",
    "frequency",
    "naive_rate_times_horizon",
    "recency_over_age",
    "age_over_horizon",
    "weeks_since_last_over_horizon",
    "ln_mean_day_spend",
    "ln_first_day_spend",
    "first_day_quantity",
    "mean_day_quantity",
    "interpurchase_cv",
    "weeks_since_last_over_mean_gap",
    "last_gap_over_mean_gap",
    "ln_mean_repeat_spend",
];

/// Hyper-parameter grid searched by cross-validation.
const DEPTHS: [usize; 2] = [2, 3];
const MAX_TREES: usize = 300;
const FOLDS: usize = 4;
const LEARNING_RATE: f64 = 0.05;
const CUT_SHIFT_DIVISOR: i32 = 6;

/// How the booster's corrected forecasts are put on the scale of the BG/NBD fitted on the whole
/// calibration period. The booster was trained at the shorter inner horizon, so its ordering of
/// customers transfers better than its scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    /// The corrected forecasts as they are.
    Raw,
    /// Rescaled so that their total equals the BG/NBD total: the booster only redistributes
    /// purchases between customers.
    Total,
    /// The BG/NBD forecasts themselves, re-assigned in the booster's order: the customer with
    /// the k-th highest corrected forecast gets the k-th highest BG/NBD forecast (customers
    /// with equal corrected forecasts share the mean of their slots). Keeps the BG/NBD total
    /// and its spread of values; the booster decides who gets which.
    Distribution,
    /// `Total` or `Distribution`, whichever has the lower mean absolute error out of fold on the
    /// inner split. Both order customers identically, so only the values differ.
    Auto,
}

/// Design switches of the default model (the defaults are what [`DefaultModel::fit`] uses).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DefaultConfig {
    /// How the corrected forecasts are scaled (see [`Calibration`]).
    pub calibration: Calibration,
    /// Maximum number of additional, earlier inner cut points (each shifted back by a sixth of
    /// the inner horizon) stacked into the training set. A cut is used only when at least 95 %
    /// of the customers present at the main inner cut had already made their first purchase.
    pub extra_cuts: usize,
}

impl Default for DefaultConfig {
    fn default() -> Self {
        DefaultConfig {
            calibration: Calibration::Auto,
            extra_cuts: 2,
        }
    }
}

/// Cross-validation outcome and chosen hyper-parameters of a [`DefaultModel`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefaultTuning {
    /// Inner calibration end (days are inclusive).
    pub inner_calibration_end: NaiveDate,
    /// Every inner cut point the booster learned from (the main one first, then the earlier
    /// ones); covariates were looked up as of each.
    pub inner_cuts: Vec<NaiveDate>,
    /// Inner holdout length in weeks.
    pub inner_horizon_weeks: f64,
    /// Rows in the inner training set (customers present at each inner cut, summed over cuts).
    pub inner_rows: usize,
    /// Chosen booster hyper-parameters.
    pub gbm: GbmParams,
    /// Cross-validated mean Poisson deviance of the chosen booster.
    pub cv_deviance: f64,
    /// Mean Poisson deviance of plain BG/NBD on the inner split. In sample: its four parameters
    /// were fitted on the whole calibration period, which contains the inner holdout.
    pub inner_deviance_bgnbd: f64,
    /// The calibration applied to forecasts (never `Auto`: the choice it made).
    pub calibration: Calibration,
    /// Mean absolute error on the main inner split: plain BG/NBD (in sample, as for
    /// `inner_deviance_bgnbd`), and the out-of-fold corrected forecasts under `Total` and under
    /// `Distribution` (the choice between those two compares like with like).
    pub inner_mae_bgnbd: f64,
    pub inner_mae_total: f64,
    pub inner_mae_distribution: f64,
}

/// One customer's forecast from [`DefaultModel::predict_with_corrections`].
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectedForecast {
    pub customer: String,
    /// The forecast, on the BG/NBD's scale ([`Calibration`]).
    pub expected: f64,
    /// The booster's factor on the BG/NBD forecast net of the shift it gives the whole
    /// population: its raw factor (1 where its margin is not finite) times the one factor
    /// that puts the raw forecasts back on the BG/NBD's total. Under
    /// [`Calibration::Total`] that is `expected / base`; under `Distribution`, which hands
    /// out BG/NBD values by rank, `expected / base` is the rank's, not the booster's.
    pub correction: f64,
    /// The BG/NBD forecast the correction was applied to: the purchase dates alone.
    pub base: f64,
}

/// A fitted default model.
#[derive(Debug, Clone)]
pub struct DefaultModel {
    /// BG/NBD fitted on the whole calibration period: the base rate the correction was learned
    /// on (at the inner split) and is applied to.
    pub bgnbd: BgNbdFit,
    /// How the correction was tuned.
    pub tuning: DefaultTuning,
    /// Number of covariates expected per customer.
    pub covariate_dim: usize,
    /// Design switches used.
    pub config: DefaultConfig,
    /// The cross-validation fold boosters at the chosen depth; a forecast takes the geometric
    /// mean of their corrections at the chosen number of trees (the mean of their margins:
    /// bagging over the folds).
    boosters: Vec<Gbm>,
}

/// Builds the feature row of one customer history cut at `cut` (inclusive) for a horizon of
/// `horizon` weeks. Returns `None` when the first purchase is after `cut`.
fn features(
    h: &History,
    cut: i32,
    horizon: f64,
    p: &BgNbdParams,
    covariates: Option<&[f64]>,
    covariate_dim: usize,
) -> Option<(Vec<f64>, f64)> {
    let days: Vec<_> = h.days.iter().take_while(|d| d.day <= cut).collect();
    let first = days.first()?;
    let x = (days.len() - 1) as f64;
    let t_age = f64::from(cut - first.day) / DAYS_PER_WEEK;
    let t_x = f64::from(days[days.len() - 1].day - first.day) / DAYS_PER_WEEK;
    let base = p.expected_purchases(x, t_x, t_age, horizon);
    let gaps: Vec<f64> = days
        .windows(2)
        .map(|w| f64::from(w[1].day - w[0].day) / DAYS_PER_WEEK)
        .collect();
    let mean_gap = if gaps.is_empty() {
        f64::NAN
    } else {
        gaps.iter().sum::<f64>() / gaps.len() as f64
    };
    let cv = if gaps.len() >= 2 {
        let var = gaps.iter().map(|g| (g - mean_gap).powi(2)).sum::<f64>() / gaps.len() as f64;
        var.sqrt() / mean_gap
    } else {
        f64::NAN
    };
    let n = days.len() as f64;
    let mean_spend = days.iter().map(|d| d.amount).sum::<f64>() / n;
    let mean_qty = days.iter().map(|d| d.quantity).sum::<f64>() / n;
    let repeat_spend = if x > 0.0 {
        (days[1..].iter().map(|d| d.amount).sum::<f64>() / x).ln_1p()
    } else {
        f64::NAN
    };
    let mut row = vec![
        base.max(1e-12).ln(),
        p.p_alive(x, t_x, t_age),
        x,
        x * horizon / t_age.max(1.0 / DAYS_PER_WEEK),
        if t_age > 0.0 { t_x / t_age } else { f64::NAN },
        t_age / horizon,
        (t_age - t_x) / horizon,
        mean_spend.ln_1p(),
        first.amount.ln_1p(),
        first.quantity,
        mean_qty,
        cv,
        if gaps.is_empty() {
            f64::NAN
        } else {
            (t_age - t_x) / mean_gap
        },
        if gaps.len() >= 2 {
            gaps[gaps.len() - 1] / mean_gap
        } else {
            f64::NAN
        },
        repeat_spend,
    ];
    match covariates {
        Some(c) => row.extend_from_slice(c),
        None => row.extend(std::iter::repeat_n(f64::NAN, covariate_dim)),
    }
    Some((row, base))
}

/// The number of covariates per customer (0 without covariates).
fn covariate_dim(cov: Option<&Covariates>) -> Result<usize, ForecastError> {
    cov.map_or(Ok(0), Covariates::dim)
}

/// The covariates of `customer` as of day number `day` (the latest snapshot on or before it).
fn lookup<'a>(cov: Option<&'a Covariates>, day: i32, customer: &str) -> Option<&'a [f64]> {
    let day = NaiveDate::from_num_days_from_ce_opt(day)?;
    cov.and_then(|c| c.lookup(day, customer))
}

/// The customer histories of the purchases on or before `cal_end` (later ones never reach a
/// fit).
fn histories_until(transactions: &[Transaction], cal_end: NaiveDate) -> Vec<History> {
    let past: Vec<Transaction> = transactions
        .iter()
        .filter(|t| t.date <= cal_end)
        .cloned()
        .collect();
    histories(&past)
}

/// Where the calibration period is cut to learn the correction (day numbers, inclusive).
struct InnerSplit {
    /// Inner holdout length in days.
    horizon_days: i32,
    /// The cut points used, the main inner cut first, then the earlier ones.
    cuts: Vec<i32>,
}

impl InnerSplit {
    /// The inner split of the calibration period of `hist` (purchases up to `c` only) for an
    /// outer holdout ending on day `holdout_end`: the same calibration : holdout length ratio,
    /// plus up to `extra_cuts` earlier cuts (each a sixth of the inner horizon earlier), used
    /// while at least 95 % of the customers present at the main cut had already joined.
    fn plan(
        hist: &[History],
        c: i32,
        holdout_end: i32,
        extra_cuts: usize,
    ) -> Result<InnerSplit, ForecastError> {
        let firsts: Vec<i32> = hist
            .iter()
            .filter_map(|h| h.days.first().map(|d| d.day))
            .collect();
        let start = firsts.iter().copied().min().ok_or_else(|| {
            ForecastError::InvalidInput("no purchase on or before the calibration end".into())
        })?;
        let cal_len = f64::from(c - start + 1);
        let hold_len = f64::from(holdout_end - c);
        let inner_h_days = (cal_len * hold_len / (cal_len + hold_len)).round() as i32;
        let inner_end = c - inner_h_days.max(1);
        if inner_end < start {
            let date = |day: i32| {
                NaiveDate::from_num_days_from_ce_opt(day)
                    .map_or_else(|| "-".into(), |d| d.to_string())
            };
            let days = c - start + 1;
            let days = if days == 1 {
                "1 day".to_owned()
            } else {
                format!("{days} days")
            };
            return Err(ForecastError::horizon_bound(ForecastError::InvalidInput(
                format!(
                    "the calibration period, {} to {} ({days}), is too short for the default \
                 model's inner split (which keeps the calibration : forecast-horizon ratio); a later \
                 calibration end, a shorter forecast horizon, or the BG/NBD model can be fitted",
                    date(start),
                    date(c),
                ),
            )));
        }
        let horizon_days = c - inner_end;
        let present = |cut: i32| firsts.iter().filter(|&&f| f <= cut).count();
        let n_main = present(inner_end);
        let mut cuts = vec![inner_end];
        for k in 1..=extra_cuts {
            let cut = inner_end - (k as i32) * horizon_days / CUT_SHIFT_DIVISOR;
            // (an inner horizon under six days shifts by less than a day: no new cut)
            if cut <= start
                || cut >= *cuts.last().expect("the main cut")
                || (present(cut) as f64) < 0.95 * n_main as f64
            {
                break;
            }
            cuts.push(cut);
        }
        Ok(InnerSplit { horizon_days, cuts })
    }
}

/// `f(0), f(1), …, f(jobs − 1)`, computed on up to as many threads as the machine has cores,
/// returned in job order.
fn par_map<T: Send>(jobs: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(jobs);
    if threads <= 1 {
        return (0..jobs).map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let job = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if job >= jobs {
                            break mine;
                        }
                        mine.push((job, f(job)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a booster thread panicked"))
            .collect()
    });
    done.sort_by_key(|(job, _)| *job);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Weeks between two dates.
fn weeks(from: NaiveDate, to: NaiveDate) -> f64 {
    f64::from(day_number(to) - day_number(from)) / DAYS_PER_WEEK
}

impl DefaultModel {
    /// Fits the default model on the purchases made on or before `cal_end`, for forecasting
    /// the window `(cal_end, holdout_end]`. Purchases after `cal_end` are ignored.
    pub fn fit(
        transactions: &[Transaction],
        cal_end: NaiveDate,
        holdout_end: NaiveDate,
        covariates: Option<&Covariates>,
    ) -> Result<DefaultModel, ForecastError> {
        Self::fit_with_config(
            transactions,
            cal_end,
            holdout_end,
            covariates,
            DefaultConfig::default(),
        )
    }

    /// The days whose covariates a fit and forecast for `(cal_end, holdout_end]` look up, sorted
    /// and without repeats: the inner cut points of the calibration period and `cal_end` itself. A caller
    /// whose covariates change over time (the trust components) passes a snapshot as of each
    /// of these days; a cut without a snapshot of its own uses the latest earlier one.
    pub fn covariate_dates(
        transactions: &[Transaction],
        cal_end: NaiveDate,
        holdout_end: NaiveDate,
    ) -> Result<Vec<NaiveDate>, ForecastError> {
        Self::covariate_dates_with_config(
            transactions,
            cal_end,
            holdout_end,
            DefaultConfig::default(),
        )
    }

    /// [`DefaultModel::covariate_dates`] for a fit with explicit design switches.
    pub fn covariate_dates_with_config(
        transactions: &[Transaction],
        cal_end: NaiveDate,
        holdout_end: NaiveDate,
        config: DefaultConfig,
    ) -> Result<Vec<NaiveDate>, ForecastError> {
        check_split(cal_end, holdout_end)?;
        crate::evaluate::purchases_before(transactions, cal_end)?;
        let split = InnerSplit::plan(
            &histories_until(transactions, cal_end),
            day_number(cal_end),
            day_number(holdout_end),
            config.extra_cuts,
        )?;
        let mut dates: Vec<NaiveDate> = split
            .cuts
            .iter()
            .filter_map(|&d| NaiveDate::from_num_days_from_ce_opt(d))
            .collect();
        dates.push(cal_end);
        dates.sort();
        dates.dedup();
        Ok(dates)
    }

    /// [`DefaultModel::fit`] with explicit design switches.
    pub fn fit_with_config(
        transactions: &[Transaction],
        cal_end: NaiveDate,
        holdout_end: NaiveDate,
        covariates: Option<&Covariates>,
        config: DefaultConfig,
    ) -> Result<DefaultModel, ForecastError> {
        check_split(cal_end, holdout_end)?;
        let dim = covariate_dim(covariates)?;
        let c = day_number(cal_end);
        let hist = histories_until(transactions, cal_end);
        let split = InnerSplit::plan(&hist, c, day_number(holdout_end), config.extra_cuts)?;
        let inner_h_days = split.horizon_days;
        let inner_end = split.cuts[0];
        let inner_h = f64::from(inner_h_days) / DAYS_PER_WEEK;
        let mut rows = Vec::new();
        let mut offs = Vec::new();
        let mut ys = Vec::new();
        let mut groups = Vec::new();
        // the base rate: BG/NBD on the whole calibration period (purchases up to `cal_end`)
        let cal_summ: Vec<CustomerSummary> = hist
            .iter()
            .filter_map(|h| summarise_history(h, c, c))
            .collect();
        let bgnbd = fit_bgnbd(&cal_summ)?;
        // customers at the main inner cut; their rows come first
        let mut n_main = 0usize;
        for (k, &cut) in split.cuts.iter().enumerate() {
            let win_end = cut + inner_h_days;
            let summ: Vec<CustomerSummary> = hist
                .iter()
                .filter_map(|h| summarise_history(h, cut, win_end))
                .collect();
            if k == 0 {
                n_main = summ.len();
            }
            for ((g, h), s) in hist
                .iter()
                .enumerate()
                .filter(|(_, h)| h.days[0].day <= cut)
                .zip(&summ)
            {
                // the customer as they were at this cut: covariates dated after it never reach
                // a training row
                let (row, base) = features(
                    h,
                    cut,
                    inner_h,
                    &bgnbd.params,
                    lookup(covariates, cut, &h.customer),
                    dim,
                )
                .expect("customer starts before the cut");
                rows.push(row);
                offs.push(base.max(1e-12).ln());
                ys.push(f64::from(s.holdout_frequency));
                groups.push(g % FOLDS);
            }
        }
        let n = rows.len();
        // every fold must hold customers, or its booster would have nothing to validate on
        // and the others nothing new to learn from
        let mut per_fold = [0usize; FOLDS];
        for &g in groups.iter().take(n_main) {
            per_fold[g] += 1;
        }
        if n_main < 2 * FOLDS || per_fold.contains(&0) {
            return Err(ForecastError::horizon_bound(ForecastError::Fit(format!(
                "default model: {n_main} customer{} had bought by the inner calibration end {} \
                 (per cross-validation fold: {per_fold:?}); it needs at least {} and every one \
                 of its {FOLDS} folds non-empty. The inner split keeps the calibration : \
                 forecast-horizon ratio, so its holdout ({inner_h_days} days) grows with the \
                 horizon asked for: use a shorter forecast horizon, a later calibration end, or the \
                 bgnbd model",
                if n_main == 1 { "" } else { "s" },
                NaiveDate::from_num_days_from_ce_opt(inner_end)
                    .map_or_else(|| inner_end.to_string(), |d| d.to_string()),
                2 * FOLDS
            ))));
        }
        // An inner holdout without a purchase (a ledger whose purchases stop before the
        // calibration end, say) teaches the booster only that nobody buys: every forecast
        // shrinks alike and the calibration hands back BG/NBD's, which is no correction.
        if ys[..n_main].iter().all(|&y| y == 0.0) {
            let day = |d: i32| {
                NaiveDate::from_num_days_from_ce_opt(d)
                    .map_or_else(|| d.to_string(), |d| d.to_string())
            };
            let last = hist
                .iter()
                .filter_map(|h| h.days.last().map(|d| d.day))
                .max()
                .map_or_else(|| "-".to_owned(), day);
            return Err(ForecastError::horizon_bound(ForecastError::Fit(format!(
                "default model: nobody made a repeat purchase in its inner holdout, {} to {} \
                 (the last purchase by the calibration end is on {last}), so there is no \
                 correction to learn. If the purchases after {last} are missing, end the \
                 calibration on that day; otherwise a longer forecast horizon or the bgnbd model can be \
                 fitted",
                day(inner_end + 1),
                day(c),
            ))));
        }
        // k-fold CV over customers: choose depth and number of trees by mean Poisson deviance
        let base_dev = ys
            .iter()
            .zip(&offs)
            .map(|(y, o)| poisson_deviance(*y, o.exp()))
            .sum::<f64>()
            / n as f64;
        // Every (depth, fold) booster is independent: train them on the available cores,
        // then combine in (depth, fold) order, so the result does not depend on the threads.
        let params = |depth| GbmParams {
            trees: MAX_TREES,
            max_depth: depth,
            learning_rate: LEARNING_RATE,
            ..GbmParams::default()
        };
        let trained = par_map(DEPTHS.len() * FOLDS, |job| {
            let (depth, fold) = (DEPTHS[job / FOLDS], job % FOLDS);
            let pick = |train: bool| {
                let mut r = Vec::new();
                let mut y = Vec::new();
                let mut o = Vec::new();
                for i in (0..n).filter(|&i| (groups[i] == fold) != train) {
                    r.push(rows[i].clone());
                    y.push(ys[i]);
                    o.push(offs[i]);
                }
                (r, y, o)
            };
            let (tr, ty, to) = pick(true);
            let (vr, vy, vo) = pick(false);
            let (m, c) = Gbm::train(&tr, &ty, &to, params(depth), Some((&vr, &vy, &vo)));
            (m, c, vr.len())
        });
        let mut trained = trained.into_iter();
        let mut best = (f64::INFINITY, GbmParams::default(), 0);
        let mut fold_models: Vec<Vec<Gbm>> = Vec::new();
        for (di, &depth) in DEPTHS.iter().enumerate() {
            let p = params(depth);
            let mut curve = vec![0.0; MAX_TREES];
            let mut models = Vec::with_capacity(FOLDS);
            for (m, c, n_valid) in trained.by_ref().take(FOLDS) {
                models.push(m);
                curve.truncate(c.len());
                for (acc, d) in curve.iter_mut().zip(c) {
                    *acc += d * n_valid as f64 / n as f64;
                }
            }
            fold_models.push(models);
            for (k, &d) in curve.iter().enumerate() {
                if d < best.0 {
                    best = (d, GbmParams { trees: k + 1, ..p }, di);
                }
            }
        }
        let (cv_dev, gp, best_depth) = best;
        // Out-of-fold corrected forecasts on the main inner cut (its rows come first): each
        // customer scored by the fold model that did not see it, cut at the chosen tree count
        // (every fold model has at least that many trees, as the curve was cut to the shortest).
        let inner_base: Vec<f64> = offs[..n_main].iter().map(|o| o.exp()).collect();
        let inner_raw: Vec<f64> = (0..n_main)
            .map(|i| {
                let m = &fold_models[best_depth][groups[i]];
                inner_base[i] * m.margin_of_first(&rows[i], gp.trees).exp()
            })
            .collect();
        let inner_y = &ys[..n_main];
        let inner_mae = |c| mae(&calibrate(c, &inner_base, &inner_raw), inner_y);
        let (mae_total, mae_dist) = (
            inner_mae(Calibration::Total),
            inner_mae(Calibration::Distribution),
        );
        let calibration = match config.calibration {
            Calibration::Auto if mae_dist < mae_total => Calibration::Distribution,
            Calibration::Auto => Calibration::Total,
            c => c,
        };
        Ok(DefaultModel {
            bgnbd,
            tuning: DefaultTuning {
                inner_calibration_end: NaiveDate::from_num_days_from_ce_opt(inner_end)
                    .unwrap_or(cal_end),
                inner_cuts: split
                    .cuts
                    .iter()
                    .filter_map(|&d| NaiveDate::from_num_days_from_ce_opt(d))
                    .collect(),
                inner_horizon_weeks: inner_h,
                inner_rows: n,
                gbm: gp,
                cv_deviance: cv_dev,
                inner_deviance_bgnbd: base_dev,
                calibration,
                inner_mae_bgnbd: mae(&inner_base, inner_y),
                inner_mae_total: mae_total,
                inner_mae_distribution: mae_dist,
            },
            covariate_dim: dim,
            config,
            boosters: fold_models.swap_remove(best_depth),
        })
    }

    /// Expected number of repeat purchases in `(cal_end, cal_end + horizon]` for every customer
    /// whose first purchase is on or before `cal_end`, sorted by customer identifier. Purchases
    /// after `cal_end` are ignored.
    pub fn predict(
        &self,
        transactions: &[Transaction],
        cal_end: NaiveDate,
        holdout_end: NaiveDate,
        covariates: Option<&Covariates>,
    ) -> Result<Vec<(String, f64)>, ForecastError> {
        Ok(self
            .predict_with_corrections(transactions, cal_end, holdout_end, covariates)?
            .into_iter()
            .map(|p| (p.customer, p.expected))
            .collect())
    }

    /// [`Self::predict`], with each customer's correction ([`CorrectedForecast::correction`]):
    /// what this customer's covariates say, net of what the booster says of everyone.
    pub fn predict_with_corrections(
        &self,
        transactions: &[Transaction],
        cal_end: NaiveDate,
        holdout_end: NaiveDate,
        covariates: Option<&Covariates>,
    ) -> Result<Vec<CorrectedForecast>, ForecastError> {
        check_split(cal_end, holdout_end)?;
        let dim = covariate_dim(covariates)?;
        // (none at all when the fit had some would send every row down the trees' "missing"
        // branches and change the forecasts without a word)
        if (covariates.is_some() || self.covariate_dim > 0) && dim != self.covariate_dim {
            return Err(ForecastError::InvalidInput(format!(
                "model was fitted with {} covariates, got {dim}",
                self.covariate_dim
            )));
        }
        let horizon = weeks(cal_end, holdout_end);
        let c = day_number(cal_end);
        let mut customers = Vec::new();
        let (mut bases, mut raws, mut corrections) = (Vec::new(), Vec::new(), Vec::new());
        for h in &histories(transactions) {
            if let Some((row, base)) = features(
                h,
                c,
                horizon,
                &self.bgnbd.params,
                lookup(covariates, c, &h.customer),
                self.covariate_dim,
            ) {
                let k = self.margin(&row).exp();
                raws.push(raw_forecast(base, k));
                corrections.push(if k.is_finite() { k } else { 1.0 });
                bases.push(base);
                customers.push(h.customer.clone());
            }
        }
        let values = calibrate(self.tuning.calibration, &bases, &raws);
        // (the population-wide shift the calibration takes out again)
        let shift = bases.iter().sum::<f64>() / raws.iter().sum::<f64>();
        let shift = if shift.is_finite() && shift > 0.0 {
            shift
        } else {
            1.0
        };
        Ok(customers
            .into_iter()
            .zip(values)
            .zip(corrections.into_iter().map(|k| k * shift))
            .zip(bases)
            .map(
                |(((customer, expected), correction), base)| CorrectedForecast {
                    customer,
                    expected,
                    correction,
                    base,
                },
            )
            .collect())
    }

    /// The fold boosters' mean margin (log correction) of one feature row.
    fn margin(&self, row: &[f64]) -> f64 {
        let trees = self.tuning.gbm.trees;
        self.boosters
            .iter()
            .map(|g| g.margin_of_first(row, trees))
            .sum::<f64>()
            / self.boosters.len() as f64
    }
}

/// The corrected forecast before calibration: the BG/NBD's times the correction, or the BG/NBD's
/// alone where the correction is not a finite number (as [`DefaultModel::predict_with_corrections`]
/// then records a correction of 1).
fn raw_forecast(base: f64, correction: f64) -> f64 {
    let v = base.max(1e-12) * correction;
    if v.is_finite() { v } else { base }
}

/// Puts corrected forecasts `raw` on the scale of the BG/NBD forecasts `base` of the same
/// customers (see [`Calibration`]; `Auto` is resolved at fit time and treated as `Total`).
/// Every mapping keeps the order of `raw`.
fn calibrate(c: Calibration, base: &[f64], raw: &[f64]) -> Vec<f64> {
    match c {
        Calibration::Raw => raw.to_vec(),
        Calibration::Total | Calibration::Auto => {
            let (b, r) = (base.iter().sum::<f64>(), raw.iter().sum::<f64>());
            let k = if r > 0.0 { b / r } else { 1.0 };
            raw.iter().map(|v| v * k).collect()
        }
        Calibration::Distribution => {
            let mut order: Vec<usize> = (0..raw.len()).collect();
            order.sort_by(|&i, &j| raw[i].total_cmp(&raw[j]).then(i.cmp(&j)));
            let mut sorted = base.to_vec();
            sorted.sort_by(f64::total_cmp);
            // Customers the booster cannot tell apart (equal `raw`, e.g. identical
            // histories) share the mean of their block of BG/NBD values, so equal
            // customers get equal forecasts and the total is kept.
            let mut out = vec![0.0; raw.len()];
            let mut start = 0;
            while start < order.len() {
                let mut end = start + 1;
                while end < order.len() && raw[order[end]] == raw[order[start]] {
                    end += 1;
                }
                let mean = sorted[start..end].iter().sum::<f64>() / (end - start) as f64;
                for &i in &order[start..end] {
                    out[i] = mean;
                }
                start = end;
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Calibration, DefaultModel, NaiveDate, Transaction, calibrate, par_map};
    use proptest::prelude::*;

    #[test]
    fn par_map_returns_every_job_in_order() {
        let squares = par_map(37, |j| j * j);
        assert_eq!(squares, (0..37).map(|j| j * j).collect::<Vec<_>>());
        assert!(par_map(0, |j| j).is_empty());
    }

    fn tx(customer: &str, date: &str) -> Transaction {
        Transaction {
            customer: customer.into(),
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            quantity: None,
            amount: 10.0,
        }
    }

    /// Customers `cust{i:02}` for each `i`, each buying on four days from January to March 1997.
    fn winter_buyers(which: std::ops::Range<usize>) -> Vec<Transaction> {
        which
            .flat_map(|i| {
                ["1997-01-01", "1997-01-20", "1997-02-10", "1997-03-05"]
                    .map(|d| tx(&format!("cust{i:02}"), d))
            })
            .collect()
    }

    /// Customers in the order of their ids are dealt to the folds in turn, those who join after
    /// the inner cut included: when they are the only ones of a fold, the fold is empty. That
    /// is an error naming the counts, not a booster trained on nothing (it used to panic).
    #[test]
    fn an_empty_cross_validation_fold_is_an_error_not_a_panic() {
        let mut t = Vec::new();
        for i in 0..16 {
            if i % 4 == 3 {
                t.push(tx(&format!("cust{i:02}"), "1997-03-25"));
            } else {
                t.extend(winter_buyers(i..i + 1));
            }
        }
        let cal = NaiveDate::from_ymd_opt(1997, 3, 31).unwrap();
        let hold = NaiveDate::from_ymd_opt(1997, 6, 30).unwrap();
        let err = DefaultModel::fit(&t, cal, hold, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("12 customers had bought by the inner calibration end"),
            "{err}"
        );
        assert!(err.contains("[4, 4, 4, 0]"), "{err}");
        assert!(err.contains("bgnbd"), "{err}");
    }

    /// Covariate dates asked for before the first purchase name it, as a fit does (a ledger's
    /// evaluation asks for them first).
    #[test]
    fn covariate_dates_before_the_first_purchase_name_it() {
        let t = winter_buyers(0..8);
        let first = t.iter().map(|t| t.date).min().unwrap();
        let cal = NaiveDate::from_ymd_opt(1996, 6, 30).unwrap();
        let hold = NaiveDate::from_ymd_opt(1996, 12, 31).unwrap();
        let err = DefaultModel::covariate_dates(&t, cal, hold).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid input: no purchase on or before the calibration end 1996-06-30: the \
                 first is on {first}"
            )
        );
    }

    /// Purchases that stop months before the calibration end leave the inner holdout empty:
    /// the fit says so and names the last purchase instead of handing back BG/NBD's forecasts
    /// as a correction.
    #[test]
    fn an_inner_holdout_without_a_purchase_is_an_error_naming_the_last_purchase() {
        let mut t = winter_buyers(0..40);
        let cal = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
        let week = NaiveDate::from_ymd_opt(1997, 10, 7).unwrap();
        let err = DefaultModel::fit(&t, cal, week, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nobody made a repeat purchase"), "{err}");
        assert!(err.contains("1997-03-05"), "{err}");
        // with purchases up to the calibration end, the same horizon fits
        for i in 0..40 {
            t.push(tx(
                &format!("cust{i:02}"),
                if i % 2 == 0 {
                    "1997-09-27"
                } else {
                    "1997-09-12"
                },
            ));
        }
        DefaultModel::fit(&t, cal, week, None).unwrap();
    }

    /// A larger input never gets a smaller output (inputs here are never NaN).
    fn keeps_order(raw: &[f64], out: &[f64]) -> bool {
        (0..raw.len()).all(|i| (0..raw.len()).all(|j| raw[i] >= raw[j] || out[i] <= out[j]))
    }

    proptest! {
        #[test]
        fn every_calibration_keeps_the_boosters_order(
            pairs in prop::collection::vec((0.0f64..5.0, 0.0f64..5.0), 1..60)
        ) {
            let (base, raw): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            let total: f64 = base.iter().sum();
            for c in [Calibration::Raw, Calibration::Total, Calibration::Distribution] {
                let out = calibrate(c, &base, &raw);
                prop_assert_eq!(out.len(), raw.len());
                prop_assert!(keeps_order(&raw, &out), "{:?}", c);
            }
            // Total: the BG/NBD total (when the booster predicts anything at all)
            let t = calibrate(Calibration::Total, &base, &raw);
            if raw.iter().sum::<f64>() > 0.0 {
                prop_assert!((t.iter().sum::<f64>() - total).abs() < 1e-9 * total.max(1.0));
            }
            // Distribution: BG/NBD's total; equal raw forecasts get equal values;
            // without ties, exactly BG/NBD's values handed out in the booster's order
            let d = calibrate(Calibration::Distribution, &base, &raw);
            prop_assert!((d.iter().sum::<f64>() - total).abs() < 1e-9 * total.max(1.0));
            for i in 0..raw.len() {
                for j in 0..raw.len() {
                    prop_assert!(raw[i] != raw[j] || d[i] == d[j]);
                }
            }
            let mut distinct = raw.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            if distinct.len() == raw.len() {
                let (mut d, mut sorted_base) = (d, base.clone());
                sorted_base.sort_by(f64::total_cmp);
                d.sort_by(f64::total_cmp);
                prop_assert_eq!(d, sorted_base);
            }
        }
    }

    #[test]
    fn distribution_hands_the_largest_value_to_the_highest_ranked() {
        let base = [0.1, 0.5, 2.0];
        let raw = [3.0, 0.2, 1.0];
        assert_eq!(
            calibrate(Calibration::Distribution, &base, &raw),
            vec![2.0, 0.1, 0.5]
        );
        assert_eq!(calibrate(Calibration::Raw, &base, &raw), raw.to_vec());
        // two customers the booster cannot tell apart share their slots' mean
        assert_eq!(
            calibrate(
                Calibration::Distribution,
                &[0.1, 0.5, 2.0],
                &[1.0, 1.0, 3.0]
            ),
            vec![0.3, 0.3, 2.0]
        );
    }
}
