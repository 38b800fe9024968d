//! Calibration / holdout evaluation of a forecasting model.
//!
//! [`fit`] and [`evaluate_fitted`] are separate so that callers can time the fit; [`evaluate`]
//! does both.

use chrono::NaiveDate;
use serde::Serialize;

use crate::bgnbd::{BgNbdFit, BgNbdParams, fit_bgnbd};
use crate::caveat::CaveatKind;
use crate::covariates::Covariates;
use crate::default_model::{DefaultModel, DefaultTuning};
use crate::error::ForecastError;
use crate::gamma_gamma::{GammaGammaFit, GammaGammaParams, fit_gamma_gamma};
use crate::metrics;
use crate::parse::Transaction;
use crate::summary::{CustomerSummary, DAYS_PER_WEEK, day_number, summarise};

/// Which model to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Plain BG/NBD (Fader, Hardie & Lee 2005).
    Bgnbd,
    /// TrustLedger's default model (BG/NBD corrected by boosted trees, see
    /// [`crate::default_model`]).
    Default,
}

impl ModelKind {
    /// The canonical name, as `--model` takes it and as stored with forecasts.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Bgnbd => "bgnbd",
            ModelKind::Default => "default",
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = ForecastError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bgnbd" | "bg/nbd" | "bg-nbd" => Ok(ModelKind::Bgnbd),
            "default" => Ok(ModelKind::Default),
            other => Err(ForecastError::InvalidInput(format!(
                "unknown model `{other}` (expected bgnbd or default)"
            ))),
        }
    }
}

/// A fitted model, ready to predict the holdout window it was fitted for: the purchase model and
/// the Gamma-Gamma spend model, each fitted once on the calibration period.
#[derive(Debug, Clone)]
pub struct FittedModel {
    /// The purchase model.
    pub purchases: PurchaseModel,
    /// The spend model, or why it could not be fitted (then no customer has an expected spend).
    pub spend: Result<GammaGammaFit, ForecastError>,
}

/// The purchase part of a [`FittedModel`].
#[derive(Debug, Clone)]
pub enum PurchaseModel {
    /// A BG/NBD fit.
    Bgnbd(BgNbdFit),
    /// A default-model fit.
    Default(Box<DefaultModel>),
}

impl FittedModel {
    /// `purchases` with the spend model fitted on the purchases on or before `cal_end`.
    pub fn new(
        transactions: &[Transaction],
        cal_end: NaiveDate,
        holdout_end: NaiveDate,
        purchases: PurchaseModel,
    ) -> Result<FittedModel, ForecastError> {
        let summ = summarise(transactions, cal_end, holdout_end)?;
        Ok(FittedModel {
            purchases,
            spend: fit_gamma_gamma(&summ),
        })
    }

    /// The kind of this model.
    pub fn kind(&self) -> ModelKind {
        match self.purchases {
            PurchaseModel::Bgnbd(_) => ModelKind::Bgnbd,
            PurchaseModel::Default(_) => ModelKind::Default,
        }
    }

    /// The BG/NBD fit (the whole model, or the default model's base rate).
    pub fn bgnbd(&self) -> &BgNbdFit {
        match &self.purchases {
            PurchaseModel::Bgnbd(f) => f,
            PurchaseModel::Default(m) => &m.bgnbd,
        }
    }

    /// The Gamma-Gamma parameters, when that model could be fitted.
    pub fn spend_params(&self) -> Option<GammaGammaParams> {
        self.spend.as_ref().ok().map(|f| f.params)
    }

    /// What a reader of this fit's forecasts must know, one sentence each: an optimiser that
    /// stopped before its convergence test, a spend model that could not be fitted or sits at
    /// an edge of its space. (A BG/NBD parameter at an edge is [`BgNbdParams::degeneracy`].)
    pub fn warnings(&self) -> Vec<String> {
        self.notes().into_iter().map(|n| n.text).collect()
    }

    /// [`Self::warnings`], each with its kind ([`Note::kind`]).
    pub fn notes(&self) -> Vec<Note> {
        let mut out = Vec::new();
        let bg = self.bgnbd();
        // (at an edge of the space there is no maximum to converge to: the edge is the news)
        if !bg.converged && bg.params.degeneracy().is_none() {
            out.push(Note::new(
                CaveatKind::BgnbdNotConverged,
                format!(
                    "the BG/NBD optimiser stopped after {} iterations without meeting its \
                 convergence test; the parameters are the best it found, not certainly the \
                 maximum",
                    bg.iterations
                ),
            ));
        }
        match &self.spend {
            Err(e) => out.push(Note::new(
                CaveatKind::NoSpend,
                format!("no expected spend per purchase: {e}"),
            )),
            Ok(fit) => {
                if !fit.converged && fit.params.degeneracy().is_none() {
                    out.push(Note::new(
                        CaveatKind::SpendNotConverged,
                        "the Gamma-Gamma optimiser stopped without meeting its convergence \
                         test; the expected spends rest on the best parameters it found",
                    ));
                }
                // The population mean pγ/(q − 1) moves by a factor of 1 + 0.01/(q − 1) when
                // q moves by 0.01: near 1 it is not determined, whatever the fit's precision.
                let q = fit.params.q;
                if q <= 1.0 {
                    out.push(Note::new(
                        CaveatKind::SpendNoMean,
                        format!(
                        "the Gamma-Gamma fit has q = {q:.4}, at most 1, where the population mean \
                         spend per purchase p·γ/(q − 1) does not exist: spend per purchase is so \
                         spread that only customers' own purchases say what they spend"
                    ),
                    ));
                } else if q - 1.0 < NEAR_ONE {
                    let at =
                        |q| GammaGammaParams { q, ..fit.params }.expected_average_spend(0.0, 0.0);
                    if let (Some(mean), Some(nudged)) = (at(q), at(q + 0.01)) {
                        out.push(Note::new(
                            CaveatKind::SpendMeanUndetermined,
                            format!(
                            "the Gamma-Gamma fit has q = {q:.4}, close to 1, where the population \
                             mean spend per purchase p·γ/(q − 1) grows without bound: it is \
                             {mean:.2} here and would be {nudged:.2} at q = {:.4}, so it is not \
                             determined by the data (a customer's own purchases still are)",
                            q + 0.01
                        ),
                        ));
                    }
                }
                if let Some(why) = fit.params.degeneracy() {
                    out.push(Note::new(
                        CaveatKind::SpendEdge,
                        format!(
                            "the Gamma-Gamma fit reached an edge of its parameter space: {why}; \
                             the expected spends rest on a limit of the model"
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// One thing a reader of a fit's forecasts must know: its kind, whose stable code a page can
/// say in its own language, and the sentence saying it with the fit's own numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub kind: CaveatKind,
    pub text: String,
}

impl Note {
    pub fn new(kind: CaveatKind, text: impl Into<String>) -> Self {
        Note {
            kind,
            text: text.into(),
        }
    }
}

/// A Gamma-Gamma `q` within this of 1 leaves the population mean spend undetermined
/// ([`FittedModel::warnings`]).
const NEAR_ONE: f64 = 0.05;

/// Per-customer forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerForecast {
    /// Customer identifier.
    pub customer: String,
    /// Expected number of repeat purchases in the holdout window.
    pub expected_purchases: f64,
    /// What the BG/NBD expects of this customer over the same window from the purchase dates
    /// alone: `expected_purchases` itself for the BG/NBD model; for the default model the
    /// forecast before the rest of the ledger (trust, returns, removals, ...) corrected it and
    /// the corrected forecasts were put back on the BG/NBD's scale, so the two side by side say
    /// how much the ledger moved this customer's forecast.
    pub baseline_purchases: f64,
    /// Probability of being alive at the calibration end. The BG/NBD's, which is 1 for every
    /// customer without a repeat purchase (a dropout happens only after one); the default
    /// model's is the BG/NBD's times the booster's correction of this customer net of the shift
    /// it gives the whole population (under the `total` calibration, `expected_purchases /
    /// baseline_purchases`) where that is below 1: a forecast the rest of the ledger lowered
    /// (removed the seller, went quiet, complained) lowers it by as much, and one it raised
    /// raises the rate, not the survival. (Until 2026-12-06 the raw correction was used: on a
    /// ledger of orders alone it lowered P(alive) of customers whose forecast went up.)
    pub p_alive: f64,
    /// Gamma-Gamma expected mean spend per purchase (None when that model could not be fitted),
    /// [`GammaGammaParams::expected_spend`].
    pub expected_average_spend: Option<f64>,
    /// What the fit read of the customer's own purchases: purchase days up to the calibration
    /// end ([`CustomerSummary::purchase_days`]) and the mean spend per purchase day the
    /// expected spend is built from ([`CustomerSummary::spend_basis`]).
    pub purchase_days: u32,
    pub spend_basis: f64,
    /// Actual number of repeat purchase days in the holdout window.
    pub actual_purchases: u32,
}

/// The expected spend per purchase day against the mean spend per purchase day in the holdout,
/// over the customers who buy in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendReport {
    /// Holdout buyers with an expected spend.
    pub customers: usize,
    /// Mean absolute error over them.
    pub mae: f64,
    /// Of them, those without a repeat purchase in the calibration period.
    pub one_time_customers: usize,
    /// Mean absolute error over those (their spend is conditioned on the first purchase);
    /// None when there are none.
    pub one_time_mae: Option<f64>,
    /// What it would be with the population mean for them (the textbook Gamma-Gamma answer);
    /// None when there are none or the fit has no population mean (`q ≤ 1`).
    pub one_time_mae_population_mean: Option<f64>,
}

/// Fewer holdout buyers (or non-buyers) than this are said (a warning): the rank metrics rest
/// on them, and one customer more or less moves the AUC by a point or more (5 buyers gave an
/// AUC of 0.89 on a one-day holdout of CDNOW_sample).
pub const FEW_IN_HOLDOUT: usize = 30;

/// A forecast total further than this share from the holdout's is said (a warning): the model
/// assumes stationary buying rates, and a base whose buying grew or shrank is off in total.
pub const TOTAL_OFF_SHARE: f64 = 0.25;

/// Accuracy of a model on a calibration / holdout split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Model evaluated.
    pub model: ModelKind,
    /// Calibration end (inclusive).
    pub calibration_end: NaiveDate,
    /// Holdout end (inclusive).
    pub holdout_end: NaiveDate,
    /// Holdout length in weeks.
    pub horizon_weeks: f64,
    /// Customers whose first purchase is on or before the calibration end.
    pub customers: usize,
    /// BG/NBD parameters (of the model, or of the default model's base rate).
    pub bgnbd: BgNbdParams,
    /// BG/NBD log-likelihood of the calibration data.
    pub log_likelihood: f64,
    /// Why the BG/NBD fit is degenerate (a parameter at an edge of its space,
    /// [`BgNbdParams::degeneracy`]), or None for an interior fit.
    pub bgnbd_degenerate: Option<String>,
    /// Default-model tuning (None for BG/NBD).
    pub default_tuning: Option<DefaultTuning>,
    /// Gamma-Gamma parameters fitted on the calibration data (None when not identifiable).
    pub gamma_gamma: Option<GammaGammaParams>,
    /// Sum of actual holdout repeat purchases.
    pub actual_total: f64,
    /// Sum of predicted holdout repeat purchases.
    pub predicted_total: f64,
    /// Mean absolute error per customer.
    pub mae: f64,
    /// Root mean squared error per customer.
    pub rmse: f64,
    /// Spearman rank correlation between predicted and actual counts (ties averaged).
    pub spearman: f64,
    /// AUC of the prediction for "buys again in the holdout" (ties count ½).
    pub auc: f64,
    /// AUC of P(alive) at the calibration end for "buys again in the holdout" (ties count ½).
    pub p_alive_auc: f64,
    /// The expected spend per purchase against the holdout's (None without a Gamma-Gamma fit).
    pub spend: Option<SpendReport>,
    /// Share of holdout buyers among the 10 % customers with the highest prediction.
    pub top_decile_hit_rate: f64,
    /// Share of customers who bought again in the holdout (the top-decile baseline).
    pub holdout_buyer_share: f64,
    /// What a reader of these numbers must know, one sentence each ([`FittedModel::warnings`],
    /// and which metrics are undefined on this holdout and why: they are NaN, `null` in JSON).
    pub warnings: Vec<String>,
}

fn validate(cal_end: NaiveDate, holdout_end: NaiveDate) -> Result<(), ForecastError> {
    crate::summary::check_split(cal_end, holdout_end)
}

/// An error unless some purchase is on or before `cal_end`, naming the first where none is.
pub(crate) fn purchases_before(
    transactions: &[Transaction],
    cal_end: NaiveDate,
) -> Result<(), ForecastError> {
    match transactions.iter().map(|t| t.date).min() {
        None => Err(ForecastError::InvalidInput("no purchases to fit on".into())),
        Some(first) if first > cal_end => Err(ForecastError::InvalidInput(format!(
            "no purchase on or before the calibration end {cal_end}: the first is on {first}"
        ))),
        Some(_) => Ok(()),
    }
}

/// Fits `kind` on the purchases on or before `cal_end`, for the window `(cal_end, holdout_end]`.
/// Purchases after `cal_end` are never used: only when none is on or before `cal_end` does the
/// error name the date of the first. `covariates` are used by the default model
/// only, each cut point seeing the latest snapshot on or before it
/// ([`DefaultModel::covariate_dates`] lists the days it looks up).
pub fn fit(
    transactions: &[Transaction],
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
    kind: ModelKind,
    covariates: Option<&Covariates>,
) -> Result<FittedModel, ForecastError> {
    validate(cal_end, holdout_end)?;
    purchases_before(transactions, cal_end)?;
    let purchases = match kind {
        ModelKind::Bgnbd => {
            let past: Vec<Transaction> = transactions
                .iter()
                .filter(|t| t.date <= cal_end)
                .cloned()
                .collect();
            let s = summarise(&past, cal_end, holdout_end)?;
            PurchaseModel::Bgnbd(fit_bgnbd(&s)?)
        }
        ModelKind::Default => PurchaseModel::Default(Box::new(DefaultModel::fit(
            transactions,
            cal_end,
            holdout_end,
            covariates,
        )?)),
    };
    FittedModel::new(transactions, cal_end, holdout_end, purchases)
}

/// Per-customer forecasts of a fitted model (with the actual holdout counts), sorted by
/// customer identifier.
pub fn forecast(
    transactions: &[Transaction],
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
    model: &FittedModel,
    covariates: Option<&Covariates>,
) -> Result<Vec<CustomerForecast>, ForecastError> {
    let summ = summarise(transactions, cal_end, holdout_end)?;
    let horizon = f64::from(day_number(holdout_end) - day_number(cal_end)) / DAYS_PER_WEEK;
    let bg = model.bgnbd().params;
    let gg = model.spend_params();
    // (forecast, the correction P(alive) reads: 1 for the BG/NBD, and the BG/NBD's own
    // forecast: the baseline)
    let expected: Vec<(f64, f64, f64)> = match &model.purchases {
        PurchaseModel::Bgnbd(_) => summ
            .iter()
            .map(|c| {
                let e = bg.expected_purchases(f64::from(c.frequency), c.recency, c.age, horizon);
                (e, 1.0, e)
            })
            .collect(),
        PurchaseModel::Default(m) => {
            let p = m.predict_with_corrections(transactions, cal_end, holdout_end, covariates)?;
            // (the metrics pair each forecast with its customer's holdout by position)
            if p.len() != summ.len() || p.iter().zip(&summ).any(|(a, b)| a.customer != b.customer) {
                return Err(ForecastError::InvalidInput(
                    "the default model's forecasts do not list the split's customers in its \
                     order"
                        .into(),
                ));
            }
            // (P(alive) reads the correction net of the population-wide shift: under the
            // `total` calibration, a customer whose forecast was not lowered keeps the BG/NBD's)
            p.into_iter()
                .map(|p| (p.expected, p.correction, p.base))
                .collect()
        }
    };
    Ok(summ
        .iter()
        .zip(expected)
        .map(|(c, (e, correction, base))| {
            let x = f64::from(c.frequency);
            CustomerForecast {
                customer: c.customer.clone(),
                expected_purchases: e,
                baseline_purchases: base,
                p_alive: default_p_alive(bg.p_alive(x, c.recency, c.age), correction),
                expected_average_spend: gg.and_then(|g| g.expected_spend(c)),
                purchase_days: c.purchase_days(),
                spend_basis: c.spend_basis(),
                actual_purchases: c.holdout_frequency,
            }
        })
        .collect())
}

fn spend_report(
    summ: &[CustomerSummary],
    fc: &[CustomerForecast],
    gg: Option<GammaGammaParams>,
) -> Option<SpendReport> {
    let population = gg?.expected_average_spend(0.0, 0.0);
    let (mut all, mut one, mut one_pop) = (Vec::new(), Vec::new(), Vec::new());
    for (c, f) in summ.iter().zip(fc) {
        let Some(e) = f.expected_average_spend.filter(|_| c.holdout_buys) else {
            continue;
        };
        all.push((e - c.holdout_monetary).abs());
        if c.frequency == 0 {
            one.push((e - c.holdout_monetary).abs());
            if let Some(m) = population {
                one_pop.push((m - c.holdout_monetary).abs());
            }
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    Some(SpendReport {
        customers: all.len(),
        mae: mean(&all)?,
        one_time_customers: one.len(),
        one_time_mae: mean(&one),
        one_time_mae_population_mean: mean(&one_pop).filter(|_| one_pop.len() == one.len()),
    })
}

/// P(alive) of a customer whose BG/NBD P(alive) is `p_bg` and whose forecast the default
/// model puts at `correction` times the BG/NBD's ([`CustomerForecast::p_alive`]; 1 for the
/// BG/NBD): lowered where the forecast was lowered, by as much, never raised.
fn default_p_alive(p_bg: f64, correction: f64) -> f64 {
    if correction < 1.0 {
        (p_bg * correction).clamp(0.0, 1.0)
    } else {
        p_bg
    }
}

/// Evaluates an already fitted model on the holdout window `(cal_end, holdout_end]`.
pub fn evaluate_fitted(
    transactions: &[Transaction],
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
    model: &FittedModel,
    covariates: Option<&Covariates>,
) -> Result<Report, ForecastError> {
    let fc = forecast(transactions, cal_end, holdout_end, model, covariates)?;
    report(transactions, cal_end, holdout_end, model, &fc)
}

/// The [`Report`] of `model` from its forecasts `fc` (as [`forecast()`] returned them for the
/// same split), for callers that also need the forecasts themselves.
pub fn report(
    transactions: &[Transaction],
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
    model: &FittedModel,
    fc: &[CustomerForecast],
) -> Result<Report, ForecastError> {
    let summ = summarise(transactions, cal_end, holdout_end)?;
    let pred: Vec<f64> = fc.iter().map(|c| c.expected_purchases).collect();
    let act: Vec<f64> = fc.iter().map(|c| f64::from(c.actual_purchases)).collect();
    let buys: Vec<bool> = fc.iter().map(|c| c.actual_purchases > 0).collect();
    let bg = model.bgnbd();
    let gg = model.spend_params();
    let spearman = metrics::spearman(&pred, &act);
    let auc = metrics::auc(&pred, &buys);
    let p_alive_auc = metrics::auc(&fc.iter().map(|c| c.p_alive).collect::<Vec<_>>(), &buys);
    let mut warnings = model.warnings();
    let undefined: Vec<&str> = [
        ("Spearman", spearman),
        ("AUC", auc),
        ("AUC of P(alive)", p_alive_auc),
    ]
    .iter()
    .filter(|(_, v)| v.is_nan())
    .map(|(name, _)| *name)
    .collect();
    if !undefined.is_empty() {
        let buyers = buys.iter().filter(|&&b| b).count();
        let why = if buyers == 0 {
            "nobody bought again in the holdout (a longer one may hold buyers)"
        } else if buyers == buys.len() {
            "every customer bought again in the holdout (a shorter one may leave some out)"
        } else {
            "every customer has the same forecast"
        };
        warnings.push(format!("undefined: {}, as {why}", undefined.join(", ")));
    } else {
        let (fewest, did) = crate::compare::smaller_side(&buys);
        if fewest < FEW_IN_HOLDOUT {
            warnings.push(format!(
                "only {fewest} customer{} {did} in the holdout: Spearman, the AUC and the \
                 top-decile hit rate rest on so few that they say little (a longer holdout or \
                 more customers says more)",
                if fewest == 1 { "" } else { "s" }
            ));
        }
    }
    // Customers whose first purchase is after the calibration end have no history to
    // forecast from: the protocol leaves them out, and the report counts them.
    let mut first: std::collections::HashMap<&str, NaiveDate> = std::collections::HashMap::new();
    for t in transactions {
        let d = first.entry(t.customer.as_str()).or_insert(t.date);
        *d = (*d).min(t.date);
    }
    let later = first.values().filter(|&&d| d > cal_end).count();
    if later > 0 {
        warnings.push(format!(
            "{later} customer{} first bought after the calibration end ({cal_end}) and {} not \
             in this evaluation: with no purchase before it there is nothing to forecast from",
            if later == 1 { "" } else { "s" },
            if later == 1 { "is" } else { "are" }
        ));
    }
    let (act_total, pred_total) = (act.iter().sum::<f64>(), pred.iter().sum::<f64>());
    if act_total > 0.0 && ((pred_total - act_total) / act_total).abs() > TOTAL_OFF_SHARE {
        warnings.push(format!(
            "the holdout held {act_total:.0} repeat purchase{} against {pred_total:.1} forecast \
             ({:+.0} %): the model takes each customer's buying rate to stay as it was in the \
             calibration period, so where buying as a whole grew or shrank since, the total is \
             off; MAE and RMSE feel it, the rankings (Spearman, AUC, top decile) do not",
            if act_total == 1.0 { "" } else { "s" },
            100.0 * (pred_total - act_total) / act_total
        ));
    }
    if p_alive_auc < 0.5 {
        // (the default model's P(alive) is the BG/NBD's, lowered where its correction is)
        let whose = match &model.purchases {
            PurchaseModel::Bgnbd(_) => "BG/NBD gives",
            PurchaseModel::Default(_) => {
                "The default model's P(alive) is the BG/NBD's, lowered only where the rest of \
                 the data lowers the forecast; BG/NBD gives"
            }
        };
        warnings.push(format!(
            "the AUC of P(alive) is {p_alive_auc:.4}, below chance: P(alive) says who is still \
             there, not who buys soon. {} every customer without a repeat purchase \
             P(alive) = 1 and lowers it for frequent buyers long quiet, so where one-time buyers \
             seldom come back it ranks buying again worse than chance; rank by expected \
             purchases (the AUC before it) for that",
            whose
        ));
    }
    Ok(Report {
        model: model.kind(),
        calibration_end: cal_end,
        holdout_end,
        horizon_weeks: f64::from(day_number(holdout_end) - day_number(cal_end)) / DAYS_PER_WEEK,
        customers: fc.len(),
        bgnbd: bg.params,
        log_likelihood: bg.log_likelihood,
        bgnbd_degenerate: bg.params.degeneracy(),
        default_tuning: match &model.purchases {
            PurchaseModel::Default(m) => Some(m.tuning.clone()),
            PurchaseModel::Bgnbd(_) => None,
        },
        gamma_gamma: gg,
        actual_total: act_total,
        predicted_total: pred_total,
        mae: metrics::mae(&pred, &act),
        rmse: metrics::rmse(&pred, &act),
        spearman,
        auc,
        p_alive_auc,
        spend: spend_report(&summ, fc, gg),
        top_decile_hit_rate: metrics::top_decile_hit_rate(&pred, &buys),
        holdout_buyer_share: buys.iter().filter(|&&b| b).count() as f64 / buys.len() as f64,
        warnings,
    })
}

/// Fits `model` on the purchases up to `cal_end` and evaluates it on `(cal_end, holdout_end]`.
pub fn evaluate(
    transactions: &[Transaction],
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
    model: ModelKind,
) -> Result<Report, ForecastError> {
    evaluate_with_covariates(transactions, cal_end, holdout_end, model, None)
}

/// [`evaluate`] with optional per-customer covariates for the default model.
pub fn evaluate_with_covariates(
    transactions: &[Transaction],
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
    model: ModelKind,
    covariates: Option<&Covariates>,
) -> Result<Report, ForecastError> {
    let fitted = fit(transactions, cal_end, holdout_end, model, covariates)?;
    evaluate_fitted(transactions, cal_end, holdout_end, &fitted, covariates)
}

#[cfg(test)]
mod tests {
    use super::{ModelKind, PurchaseModel, default_p_alive, fit};
    use crate::parse::{Transaction, parse_date};

    fn buy(customer: &str, date: &str) -> Transaction {
        Transaction {
            customer: customer.into(),
            date: parse_date(date).unwrap(),
            quantity: Some(1.0),
            amount: 10.0,
        }
    }

    /// A spend fit with q near 1 says its population mean is not determined; CDNOW's (q = 3.7)
    /// says nothing.
    #[test]
    fn a_population_mean_spend_near_its_pole_is_named() {
        use crate::bgnbd::{BgNbdFit, BgNbdParams};
        use crate::gamma_gamma::{GammaGammaFit, GammaGammaParams};
        let model = |q| super::FittedModel {
            purchases: super::PurchaseModel::Bgnbd(BgNbdFit {
                params: BgNbdParams {
                    r: 0.24,
                    alpha: 4.4,
                    a: 0.79,
                    b: 2.4,
                },
                log_likelihood: -1.0,
                customers: 100,
                iterations: 10,
                evaluations: 10,
                converged: true,
            }),
            spend: Ok(GammaGammaFit {
                params: GammaGammaParams {
                    p: 6.25,
                    q,
                    gamma: 15.44,
                },
                log_likelihood: -1.0,
                customers: 100,
                converged: true,
            }),
        };
        assert_eq!(model(3.74).warnings(), Vec::<String>::new());
        let w = model(0.8).warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("q = 0.8000, at most 1, where the population mean"),
            "{w:?}"
        );
        let w = model(1.0029).warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("the Gamma-Gamma fit has q = 1.0029, close to 1"),
            "{w:?}"
        );
        // 6.25 · 15.44 / 0.0029 and / 0.0129
        assert!(
            w[0].contains("it is 33275.86 here and would be 7480.62 at q = 1.0129"),
            "{w:?}"
        );
    }

    /// A split the data cannot fill is named with the dates that show why.
    #[test]
    fn a_split_the_purchases_cannot_fill_names_their_dates() {
        let d = |s: &str| parse_date(s).unwrap();
        let tx: Vec<Transaction> = (0..20)
            .flat_map(|i| {
                let c = format!("c{i}");
                [buy(&c, "1997-03-01"), buy(&c, "1997-05-01")]
            })
            .collect();
        for kind in [ModelKind::Bgnbd, ModelKind::Default] {
            let err = fit(&tx, d("1997-02-01"), d("1997-06-01"), kind, None).unwrap_err();
            assert_eq!(
                err.to_string(),
                "invalid input: no purchase on or before the calibration end 1997-02-01: the \
                 first is on 1997-03-01",
                "{kind:?}"
            );
            let err = fit(&[], d("1997-02-01"), d("1997-06-01"), kind, None).unwrap_err();
            assert_eq!(err.to_string(), "invalid input: no purchases to fit on");
        }
        // one day of calibration leaves nothing to split
        let err = fit(
            &tx,
            d("1997-03-01"),
            d("1997-06-01"),
            ModelKind::Default,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: the calibration period, 1997-03-01 to 1997-03-01 (1 day), is too \
             short for the default model's inner split (which keeps the calibration : \
             forecast-horizon ratio); a later calibration end, a shorter forecast horizon, or \
             the BG/NBD model can be fitted"
        );
    }

    /// Under the default model P(alive) is the BG/NBD's where the forecast was not lowered,
    /// and lowered by the forecast's own ratio where it was, on a ledger of orders alone.
    #[test]
    fn the_default_models_p_alive_moves_only_with_its_forecast() {
        use crate::summary::summarise;
        let d = |s: &str| parse_date(s).unwrap();
        let start = d("1997-01-01");
        let mut tx = Vec::new();
        for i in 0..60u32 {
            let gap = 7 * (1 + i % 5);
            let stop = 60 + (i * 37) % 300;
            let mut day = i % 20;
            while day < stop {
                tx.push(buy(
                    &format!("c{i:02}"),
                    &(start + chrono::Days::new(u64::from(day))).to_string(),
                ));
                day += gap;
            }
        }
        let (cal, hold) = (d("1997-09-30"), d("1997-12-31"));
        let model = fit(&tx, cal, hold, ModelKind::Default, None).unwrap();
        // (under `total` the net correction is the forecast's own ratio to the baseline)
        let PurchaseModel::Default(m) = &model.purchases else {
            unreachable!("a default fit")
        };
        assert_eq!(
            m.tuning.calibration,
            crate::default_model::Calibration::Total
        );
        let bg = model.bgnbd().params;
        let fc = super::forecast(&tx, cal, hold, &model, None).unwrap();
        let summ = summarise(&tx, cal, hold).unwrap();
        let (mut kept, mut lowered) = (0, 0);
        for (f, c) in fc.iter().zip(&summ) {
            let p_bg = bg.p_alive(f64::from(c.frequency), c.recency, c.age);
            let ratio = f.expected_purchases / f.baseline_purchases;
            if ratio >= 1.0 - 1e-12 {
                assert!(
                    (f.p_alive - p_bg).abs() < 1e-9,
                    "{}: forecast not lowered",
                    f.customer
                );
                kept += 1;
            } else {
                assert!((f.p_alive - p_bg * ratio).abs() < 1e-9, "{}", f.customer);
                lowered += 1;
            }
        }
        assert!(kept > 0 && lowered > 0, "{kept} kept, {lowered} lowered");
    }

    /// The correction lowers P(alive) only where it is below 1, and never below 0.
    #[test]
    fn the_default_models_p_alive_is_the_bgnbds_lowered_by_its_correction() {
        assert_eq!(default_p_alive(0.8, 1.0), 0.8, "the BG/NBD itself");
        assert_eq!(
            default_p_alive(0.8, 3.0),
            0.8,
            "more buying is rate, not survival"
        );
        assert!((default_p_alive(1.0, 0.25) - 0.25).abs() < 1e-15);
        assert!((default_p_alive(0.8, 0.25) - 0.2).abs() < 1e-15);
        assert_eq!(default_p_alive(1.0, 0.0), 0.0);
        assert_eq!(
            default_p_alive(0.7, f64::NAN),
            0.7,
            "no correction: the BG/NBD's"
        );
    }
}
