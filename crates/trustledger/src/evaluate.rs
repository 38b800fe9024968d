//! `evaluate forecast` and `evaluate trust`: the commands that measure the forecasts and the
//! trust index against what customers did next. They read the data and print; the forecast
//! crate fits and scores, [`crate::trust_eval`] measures the index.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use trustledger_store::Caveat;

use anyhow::{Context, Result, bail};
use trustledger_engine::{Params, Scores, Stage, Timestamp};
use trustledger_store::Store;

use crate::commands::{
    Clock, ForecastArgs, TrustArgs, TxFormat, parse_as_of, parse_date, parse_model,
    parse_model_flag, scored_relationships,
};
use crate::render;
use trustledger_server::refit::{fit_caveats, horizon_named};

/// `evaluate forecast`'s `--model` and, with `--compare`, the model it is
/// compared against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForecastModels {
    model: trustledger_forecast::ModelKind,
    against: Option<trustledger_forecast::ModelKind>,
}

impl ForecastModels {
    /// Whether `kind` is fitted on either side.
    pub(crate) fn uses(self, kind: trustledger_forecast::ModelKind) -> bool {
        self.model == kind || self.against == Some(kind)
    }
}

/// The store's purchases for `evaluate forecast`, with the trust covariates the default model
/// takes (`None` when neither side is the default model), or why they could not be built:
/// [`evaluate_forecast`] then fails the run if the default model is the one asked for, and
/// only the comparison (the model asked for is still reported) if it is the other side.
pub(crate) struct LedgerInput {
    pub(crate) transactions: Vec<trustledger_forecast::Transaction>,
    pub(crate) covariates: Result<Option<trustledger_forecast::Covariates>>,
    /// The tenant whose ledger it is, for messages.
    pub(crate) tenant: String,
    /// Said when the orders are in several currencies (the spend model reads one).
    pub(crate) currency_caveat: Option<Caveat>,
}

/// What the forecast horizon is in `evaluate forecast`'s own flags.
const EVALUATE_HORIZON: &str = "--calibration-end to --holdout-end here";

/// A warning when at least a tenth of a file's lines repeat an earlier line exactly, as a file
/// pasted into itself does: each repeat is read as an order of its own (the purchase day counts
/// once, but its amount is added to the day's spend), and nothing else would say so. A few
/// repeats are ordinary (two identical orders on one day: 215 of CDNOW_master's 69,659 lines).
fn repeated_lines(tx: &[trustledger_forecast::Transaction], path: &Path) -> Option<String> {
    let mut seen = std::collections::HashSet::with_capacity(tx.len());
    let repeats = tx
        .iter()
        .filter(|t| {
            let key = (
                t.customer.as_str(),
                t.date,
                t.amount.to_bits(),
                t.quantity.map(f64::to_bits),
            );
            !seen.insert(key)
        })
        .count();
    (repeats > 0 && repeats * 10 >= tx.len()).then(|| {
        format!(
            "{repeats} of the {} purchases in {} repeat an earlier line exactly (customer, date, \
             amount and quantity): each is read as an order of its own, its amount added to \
             that day's spend (the day itself counts once); if the file holds copies of its \
             lines, remove them",
            tx.len(),
            path.display()
        )
    })
}

/// `evaluate forecast`'s `--model`, `--compare` and `--bootstrap`, checked
/// before any data is read, as are its two dates and their order (swapped
/// dates are the mistake, not where the data end).
pub(crate) fn forecast_models(args: &ForecastArgs) -> Result<ForecastModels> {
    let cal_end = parse_date("--calibration-end", &args.calibration_end)?;
    let holdout_end = parse_date("--holdout-end", &args.holdout_end)?;
    if holdout_end <= cal_end {
        bail!("--holdout-end {holdout_end} must be after --calibration-end {cal_end}");
    }
    let holdout_days = (holdout_end - cal_end).num_days();
    if holdout_days > crate::commands::MAX_HORIZON_DAYS {
        bail!(
            "--holdout-end {holdout_end} is {holdout_days} days after --calibration-end \
             {cal_end}: a holdout can be at most {} days (about a hundred years), as a refit's \
             --horizon-days",
            crate::commands::MAX_HORIZON_DAYS
        );
    }
    let model = parse_model(&args.model)?;
    let against = args
        .compare
        .as_deref()
        .map(|m| parse_model_flag("--compare", m))
        .transpose()?;
    if against == Some(model) {
        bail!(
            "--compare {}: compare against the other model, not --model itself",
            model.name()
        );
    }
    // A 95 % interval from its 2.5th and 97.5th percentiles needs resamples enough to
    // have them: with one, the "interval" was that resample, which could exclude the estimate.
    if against.is_some() && args.bootstrap < MIN_BOOTSTRAP {
        bail!(
            "--bootstrap {}: a 95 % interval needs at least {MIN_BOOTSTRAP} resamples (the default \
             is {})",
            args.bootstrap,
            BOOTSTRAP_RESAMPLES
        );
    }
    // (each resample recomputes four metrics over every customer: about a minute for the
    // most on CDNOW_master's 23,570, where more would no longer move the percentiles' digits)
    if args.bootstrap > MAX_BOOTSTRAP {
        bail!(
            "--bootstrap {}: at most {MAX_BOOTSTRAP} resamples (the default is {}; 2,000 give \
             the interval's printed digits)",
            args.bootstrap,
            BOOTSTRAP_RESAMPLES
        );
    }
    Ok(ForecastModels { model, against })
}

/// Fewest resamples `--bootstrap` takes.
const MIN_BOOTSTRAP: usize = 20;

/// Most resamples `--bootstrap` takes.
const MAX_BOOTSTRAP: usize = 100_000;

/// Prints [`fit_caveats`] as warnings.
pub(crate) fn warn_fit(caveats: &[Caveat]) {
    for c in caveats {
        eprintln!("warning: {}", c.text);
    }
}

/// `clock`: the seller's (`--utc-offset`), on which a transactions file's order times with an
/// offset fall on their days (UTC when not given).
pub(crate) fn evaluate_forecast(
    args: ForecastArgs,
    models: ForecastModels,
    ledger: Option<LedgerInput>,
    clock: Option<crate::commands::Clock>,
) -> Result<ExitCode> {
    use trustledger_forecast::InputFormat;
    // (forecast_models checked that they parse and come in order)
    let cal_end = parse_date("--calibration-end", &args.calibration_end)?;
    let holdout_end = parse_date("--holdout-end", &args.holdout_end)?;
    let mut source = match &args.transactions {
        Some(path) => path.display().to_string(),
        None => "the ledger's order.placed events".to_owned(),
    };
    let mut currency_caveat = None;
    let mut data_warnings = Vec::new();
    let (tx, covariates) = match (ledger, &args.transactions) {
        (Some(l), _) => {
            source = format!("tenant {:?}'s order.placed events", l.tenant);
            currency_caveat = l.currency_caveat;
            (l.transactions, l.covariates)
        }
        (None, Some(path)) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            if let Some(what) = trustledger_store::ingest::not_text(&bytes) {
                bail!(
                    "in {}: the file is {what}, not text: decompress an archive first \
                     (`gunzip`, `unzip`); save a workbook from Excel with Save As → \"CSV UTF-8\"",
                    path.display()
                );
            }
            let text = String::from_utf8(bytes).map_err(|e| {
                let at = e.utf8_error().valid_up_to();
                let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
                anyhow::anyhow!(
                    "in {}: line {line}: not UTF-8 text (byte {} of the file); save it as \
                     UTF-8 (a spreadsheet's \"CSV UTF-8\")",
                    path.display(),
                    at + 1
                )
            })?;
            let format = match args.format {
                TxFormat::Cdnow => InputFormat::CdnowMaster,
                TxFormat::CdnowSample => InputFormat::CdnowSample,
                TxFormat::Csv => InputFormat::Csv,
            };
            let tx = match format {
                InputFormat::Csv => trustledger_forecast::parse::parse_csv_on(
                    &text,
                    clock.unwrap_or(trustledger_server::UTC),
                ),
                _ => trustledger_forecast::parse_transactions(&text, format),
            }
            .with_context(|| format!("in {}", path.display()))?;
            data_warnings.extend(repeated_lines(&tx, path));
            if format == InputFormat::Csv {
                let unused = trustledger_forecast::csv_unused_columns(&text);
                if !unused.is_empty() {
                    data_warnings.push(format!(
                        "{}: column{} {} not used (the columns read are customer, date, \
                         amount, and quantity and currency where present)",
                        path.display(),
                        if unused.len() == 1 { "" } else { "s" },
                        unused
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                currency_caveat = trustledger_server::refit::currency_caveat(
                    // (a blank cell names no currency: a file has no default one)
                    &trustledger_forecast::csv_currencies(&text, "no currency given"),
                );
            }
            (tx, Ok(None))
        }
        (None, None) => unreachable!("the caller reads the ledger when no file is given"),
    };
    let Some(latest) = tx.iter().map(|t| t.date).max() else {
        bail!("no purchases to evaluate on in {source}");
    };
    // (a purchase dated after today is a mistyped date, or a clock gone wrong; a day's slack
    // for the shops ahead of UTC): where the data end is the last purchase before those
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let future = tx.iter().filter(|t| t.date > tomorrow).count();
    let last = tx
        .iter()
        .map(|t| t.date)
        .filter(|d| *d <= tomorrow)
        .max()
        .unwrap_or(latest);
    if cal_end >= last {
        bail!(
            "the last purchase in {source} is on {last}, on or before --calibration-end \
             {cal_end}: the holdout holds no recorded purchase, so there is nothing to evaluate \
             the forecasts against; give a calibration end before {last}"
        );
    }
    if future > 0 {
        data_warnings.push(format!(
            "{future} purchase{} in {source} {} dated after today, the latest on {latest}: a \
             mistyped date?",
            if future == 1 { "" } else { "s" },
            if future == 1 { "is" } else { "are" },
        ));
    }
    // Every warning about the data and the fit is in the JSON report's `warnings` as well.
    if holdout_end > last {
        data_warnings.push(format!(
            "the last purchase in {source} is on {last}, before --holdout-end \
             {holdout_end}: if the data end there, the holdout counts purchases that were \
             never recorded and the actual total falls short of the predicted one"
        ));
    }
    for w in &data_warnings {
        eprintln!("warning: {w}");
    }
    let ForecastModels {
        model: kind,
        against,
    } = models;
    let started = Instant::now();
    // Covariates that could not be built fail the default model: the run when it is the one
    // asked for, only the comparison when it is the other side (the report is still printed).
    let (covariates, covariates_failed) = match covariates {
        Ok(c) => (c, None),
        Err(e) if kind == trustledger_forecast::ModelKind::Default => {
            return Err(horizon_named(e, EVALUATE_HORIZON));
        }
        Err(e) => (None, Some(e)),
    };
    let cov = covariates.as_ref();
    let fitted = trustledger_forecast::fit(&tx, cal_end, holdout_end, kind, cov)
        .map_err(|e| horizon_named(e, EVALUATE_HORIZON))?;
    let fit_secs = started.elapsed().as_secs_f64();
    let a = trustledger_forecast::forecast(&tx, cal_end, holdout_end, &fitted, cov)?;
    let report = trustledger_forecast::report(&tx, cal_end, holdout_end, &fitted, &a)?;
    // (the report's warnings are the fit's and the metrics'; they are printed, not kept)
    // (in the order a refit gives them: the currencies among the warnings, few customers last)
    let caveats = fit_caveats(
        report.bgnbd_degenerate.as_deref(),
        report
            .warnings
            .iter()
            .map(|w| Caveat::new("", w.clone()))
            .chain(currency_caveat),
        report.customers,
    );
    warn_fit(&caveats);
    let mut failed_comparison = None;
    let comparison = match against {
        None => None,
        Some(other) => {
            eprintln!(
                "fitting the {} model and drawing {} bootstrap resamples …",
                other.name(),
                args.bootstrap
            );
            let compared = match covariates_failed {
                Some(e) => Err(format!("{:#}", horizon_named(e, EVALUATE_HORIZON))),
                None => trustledger_forecast::fit(&tx, cal_end, holdout_end, other, cov)
                    .and_then(|theirs| {
                        trustledger_forecast::forecast(&tx, cal_end, holdout_end, &theirs, cov)
                    })
                    .and_then(|b| {
                        // (drawn on a terminal only: a pipe or a log gets the line above)
                        let bar = indicatif::ProgressBar::new(args.bootstrap as u64);
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{spinner} resampling [{bar:30}] {pos}/{len} ETA {eta}",
                            )
                            .expect("valid template")
                            .progress_chars("=> "),
                        );
                        let done = |k: usize| {
                            if k.is_multiple_of(50) || k == args.bootstrap {
                                bar.set_position(k as u64);
                            }
                        };
                        let c = trustledger_forecast::compare_reporting(
                            &a,
                            &b,
                            args.bootstrap,
                            BOOTSTRAP_SEED,
                            &done,
                        );
                        bar.finish_and_clear();
                        c
                    })
                    .map_err(|e| format!("{:#}", horizon_named(e, EVALUATE_HORIZON))),
            };
            match compared {
                Ok(c) => Some((other, c)),
                // the model asked for was fitted: its report is still printed below
                Err(e) => {
                    failed_comparison = Some(format!(
                        "the comparison with the {} model could not be made: {e}; the report is \
                         the {} model's alone",
                        other.name(),
                        kind.name()
                    ));
                    None
                }
            }
        }
    };
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["fit_seconds"] = serde_json::json!(fit_secs);
        let texts = caveats.iter().map(|c| &c.text);
        v["warnings"] = serde_json::json!(data_warnings.iter().chain(texts).collect::<Vec<_>>());
        if let Some((other, c)) = &comparison {
            v["comparison"] = serde_json::to_value(c)?;
            v["comparison"]["against"] = serde_json::json!(other.name());
        }
        // (the exit code says the comparison failed; the report says why)
        if let Some(why) = &failed_comparison {
            v["comparison_error"] = serde_json::json!(why);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let p = &report.bgnbd;
        outln!(
            "model: {:?}   customers: {}   holdout: {:.1} weeks",
            report.model,
            report.customers,
            report.horizon_weeks
        );
        outln!(
            "BG/NBD: r = {}  alpha = {}  a = {}  b = {}  log-likelihood = {:.2}",
            param(p.r),
            param(p.alpha),
            param(p.a),
            param(p.b),
            report.log_likelihood
        );
        if let Some(gg) = &report.gamma_gamma {
            outln!(
                "Gamma-Gamma: p = {}  q = {}  gamma = {}",
                param(gg.p),
                param(gg.q),
                param(gg.gamma)
            );
        }
        outln!(
            "holdout repeat purchases: actual {:.0}, predicted {:.1}",
            report.actual_total,
            report.predicted_total
        );
        outln!(
            "per customer: MAE {:.4}  RMSE {:.4}  Spearman {}",
            report.mae,
            report.rmse,
            four(report.spearman)
        );
        outln!(
            "buys again: AUC {}  top-decile hit rate {:.4} (base rate {:.4}); AUC of P(alive) {}",
            four(report.auc),
            report.top_decile_hit_rate,
            report.holdout_buyer_share,
            four(report.p_alive_auc)
        );
        if let Some(sp) = &report.spend {
            let two = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
            outln!(
                "spend per purchase, holdout buyers ({}): MAE {:.2}; of them one-time buyers ({}), \
                 conditioned on their first purchase: MAE {} (the population mean: {})",
                sp.customers,
                sp.mae,
                sp.one_time_customers,
                two(sp.one_time_mae),
                two(sp.one_time_mae_population_mean)
            );
        }
        if let Some(t) = &report.default_tuning {
            outln!(
                "correction: {} of depth {} (inner cuts {}, {:.1} weeks ahead, {} rows); \
                 scale: {} (inner MAE out of fold: total {:.4}, distribution {:.4}; BG/NBD, in sample, {:.4})",
                crate::render::count(t.gbm.trees as u64, "tree", "trees"),
                t.gbm.max_depth,
                t.inner_cuts
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                t.inner_horizon_weeks,
                t.inner_rows,
                serde_json::to_value(t.calibration)?.as_str().unwrap_or("?"),
                t.inner_mae_total,
                t.inner_mae_distribution,
                t.inner_mae_bgnbd
            );
        }
        outln!("fit time: {:.1} ms", fit_secs * 1000.0);
        if let Some((other, c)) = &comparison {
            out!("{}", render_comparison(kind, *other, c));
        }
    }
    for w in comparison.iter().flat_map(|(_, c)| &c.warnings) {
        eprintln!("warning: {w}");
    }
    if let Some(why) = failed_comparison {
        eprintln!("error: {why}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// A fitted parameter to four decimals, or to five significant digits where four decimals
/// would hide it (a fit at an edge of its space: `a = 1.9370e-9`, not `a = 0.0000`).
fn param(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e7) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// A metric to four decimals, or `-` where it is undefined (NaN; the report's warnings say why).
fn four(v: f64) -> String {
    if v.is_nan() {
        "-".to_owned()
    } else {
        format!("{v:.4}")
    }
}

/// Seed of the bootstraps of `evaluate forecast --compare` and `evaluate
/// trust`: a fixed one, so their intervals can be reproduced.
pub(crate) const BOOTSTRAP_SEED: u64 = 20_261_202;

/// Resamples of those bootstraps (`--compare`'s default; `evaluate trust`'s).
pub(crate) const BOOTSTRAP_RESAMPLES: usize = 200;

/// The `--compare` table: per metric both values, `ours`' advantage and its
/// interval.
fn render_comparison(
    ours: trustledger_forecast::ModelKind,
    theirs: trustledger_forecast::ModelKind,
    c: &trustledger_forecast::Comparison,
) -> String {
    use std::fmt::Write as _;
    let (a, b) = (ours.name(), theirs.name());
    let mut out = format!(
        "\n{a} against {b}: {} customers, {} paired bootstrap resamples (seed {}); \
         advantage > 0 means {a} is better\n",
        c.customers, c.resamples, c.seed
    );
    let _ = writeln!(
        out,
        "{:<22} {:>9} {:>9} {:>10}  {:<20}  {a} better in",
        "metric", a, b, "advantage", "95 % interval"
    );
    for m in &c.metrics {
        let name = match m.metric {
            "mae" => "MAE (lower is better)",
            "spearman" => "Spearman",
            "auc" => "AUC",
            "top_decile_hit_rate" => "top-decile hit rate",
            other => other,
        };
        if m.a.is_nan() || m.b.is_nan() {
            let (x, y) = (four(m.a), four(m.b));
            let _ = writeln!(
                out,
                "{name:<22} {x:>9} {y:>9} {:>10}  undefined on this holdout",
                "-"
            );
            continue;
        }
        if m.low.is_nan() {
            let _ = writeln!(
                out,
                "{name:<22} {:>9.4} {:>9.4} {:>+10.4}  no interval (too few on one side)",
                m.a, m.b, m.advantage
            );
            continue;
        }
        // (a resample where nobody, or everybody, bought again has no rank statistic: the
        // interval rests on the others, and says how many)
        let of = if m.defined < c.resamples {
            format!(
                "the {} of {} resamples with a value",
                m.defined, c.resamples
            )
        } else {
            "resamples".to_owned()
        };
        let _ = writeln!(
            out,
            "{:<22} {:>9.4} {:>9.4} {:>+10.4}  {:<20}  {} % of {of}",
            name,
            m.a,
            m.b,
            m.advantage,
            format!("[{:+.4}, {:+.4}]", m.low, m.high),
            share_percent(m.a_better_share)
        );
    }
    out
}

/// A share of resamples in percent: whole, except that one short of all or above none keeps a
/// decimal (0.995 is 99.5 %, not a "100 %" that reads as every resample).
fn share_percent(share: f64) -> String {
    let p = share * 100.0;
    if share < 1.0 && p >= 99.95 {
        ">99.9".to_owned()
    } else if share > 0.0 && p < 0.05 {
        "<0.1".to_owned()
    } else if (p.round() == 100.0 && share < 1.0) || (p.round() == 0.0 && share > 0.0) {
        format!("{p:.1}")
    } else {
        format!("{p:.0}")
    }
}

pub(crate) async fn evaluate_trust(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    args: TrustArgs,
    clock: Clock,
) -> Result<ExitCode> {
    use crate::trust_eval::{Did, TrustValidity};
    // (its moments on the seller's clock, as the split was typed on it)
    let at = |t: Timestamp| render::time_on(t, Some(clock.local_minus_utc()));
    let split = parse_as_of(Some(&args.split), clock)?;
    let end = split + args.horizon as i64 * 86_400;
    // (two passes over the ledger: seconds on a large one, so each says what it is doing)
    eprintln!("scoring every relationship at {} …", at(split));
    let before = scored_relationships(store, tenant, params, split).await?;
    eprintln!(
        "reading what customers did in the {} after it …",
        render::days(args.horizon)
    );
    // What each customer did in (split, end]; who bought at or before the split (the ones
    // who can buy *again*); each customer's first purchase, and who referred whom (by
    // `contact.added`'s referrer or a `referral.converted`'s referred, dated up to the
    // window's end): a referrer refers someone who buys when a customer they referred makes
    // a first purchase in the window.
    let mut did: HashMap<String, Did> = HashMap::new();
    let mut bought_before: HashSet<String> = HashSet::new();
    let mut first_order: HashMap<String, Timestamp> = HashMap::new();
    let mut referrers: HashMap<String, HashSet<String>> = HashMap::new();
    // Each order in the window: its customer and currency (spending adds amounts as one).
    let mut window_orders: Vec<(String, String)> = Vec::new();
    // The ledger's first and last event times, to say when the window cannot be observed.
    let mut span: Option<(Timestamp, Timestamp)> = None;
    trustledger_store::scan_ledger(store, tenant, |s| {
        span = Some(span.map_or((s.at, s.at), |(lo, hi)| (lo.min(s.at), hi.max(s.at))));
        if s.at > end {
            return Ok(());
        }
        // (before the split only purchases and referral links count: the rest is not parsed)
        if s.at <= split
            && !matches!(
                s.type_name.as_str(),
                "order.placed" | "contact.added" | "referral.converted"
            )
        {
            return Ok(());
        }
        let e = s.parse()?;
        use trustledger_engine::EventKind as K;
        if let K::OrderPlaced { .. } = e.kind {
            let first = first_order.entry(e.customer.clone()).or_insert(e.at);
            *first = (*first).min(e.at);
            if e.at <= split {
                bought_before.insert(e.customer.clone());
            }
        }
        // (the typed event keeps no ids of other customers: they are read from the body,
        // which the parse above has just checked against the contract)
        let other = |field: &str| -> Option<String> {
            let body: serde_json::Value = serde_json::from_str(&s.body).ok()?;
            Some(body.get(field)?.as_str()?.to_owned())
        };
        let referral = match e.kind {
            K::ContactAdded => other("referrer").map(|by| (by, e.customer.clone())),
            K::ReferralConverted => other("referred").map(|whom| (e.customer.clone(), whom)),
            _ => None,
        };
        if let Some((by, whom)) = referral.filter(|(by, whom)| by != whom) {
            referrers.entry(whom).or_default().insert(by);
        }
        if e.at <= split {
            return Ok(());
        }
        let d = did.entry(e.customer.clone()).or_default();
        match e.kind {
            K::OrderPlaced { amount } => {
                d.buys = true;
                d.spent += amount;
                let currency = crate::commands::order_currency(&s.id, &s.body)?;
                window_orders.push((e.customer.clone(), currency));
            }
            K::ContactRemoved {
                by: trustledger_engine::event::RemovedBy::Customer,
            } => d.removes = true,
            K::ReviewPosted { rating: Some(4..) } => d.reviews = true,
            _ => {}
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    for (buyer, at) in &first_order {
        if *at > split {
            for by in referrers.get(buyer).into_iter().flatten() {
                did.entry(by.clone()).or_default().refers = true;
            }
        }
    }
    let Some((first, last)) = span else {
        bail!(
            "tenant {tenant:?} has no events in its ledger: nothing to evaluate{}",
            match crate::commands::known_tenants(store).await? {
                Some(known) => format!(" (the store holds: {known}; pick one with --tenant)"),
                None => String::new(),
            }
        );
    };
    for customer in bought_before {
        did.entry(customer).or_default().had_bought = true;
    }
    if last <= split {
        bail!(
            "--split {} is at or after the ledger's last event ({}): nothing after it shows what \
             customers did next; choose an earlier --split",
            at(split),
            at(last)
        );
    }
    let live: Vec<(&str, Scores)> = before
        .iter()
        .filter(|(_, s)| s.stage != Stage::Lost)
        .map(|(r, s)| (r.customer.as_str(), *s))
        .collect();
    if live.is_empty() {
        if before.is_empty() {
            bail!(
                "no relationship had begun by --split {}: the ledger's first event is at {}; \
                 choose a later --split",
                at(split),
                at(first)
            );
        }
        bail!(
            "every relationship begun by --split {} ({} of them) was lost by then: there is no \
             live relationship to score; choose another --split",
            at(split),
            before.len()
        );
    }
    let mut warnings = Vec::new();
    // A window that ends with a day (the split given as a date) is covered by a ledger whose
    // last event falls on that day on the seller's clock: a log of purchase days dates each
    // at noon, or midnight. One that ends mid-day is covered only up to its last second.
    let day = |t: Timestamp| trustledger_engine::event::local_day(t, clock.local_minus_utc());
    let covered = if day(end + 1) > day(end) {
        day(last) >= day(end)
    } else {
        last >= end
    };
    if !covered {
        warnings.push(format!(
            "the ledger's last event is at {}, before the end of the outcome window {}: if the \
             ledger ends there, what customers did after it was never recorded and the positives \
             fall short",
            at(last),
            at(end)
        ));
    }
    // (the currencies of the orders spending adds up: those of the customers who bought again)
    let live_ids: HashSet<&str> = live.iter().map(|(c, _)| *c).collect();
    let mut window_currencies: std::collections::BTreeMap<&str, usize> = Default::default();
    for (customer, currency) in &window_orders {
        if live_ids.contains(customer.as_str())
            && did
                .get(customer)
                .is_some_and(crate::trust_eval::bought_again)
        {
            *window_currencies.entry(currency).or_insert(0) += 1;
        }
    }
    if window_currencies.len() > 1 {
        warnings.push(format!(
            "the orders of the customers who bought again are in {} currencies (their orders in \
             the window: {}); spending adds their amounts as one currency (there are no exchange \
             rates here), so it compares only customers who pay in the same one",
            window_currencies.len(),
            crate::commands::orders_per_currency(&window_currencies)
        ));
    }
    let (outcomes, spending, undefined) =
        crate::trust_eval::measure(&live, &did, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED);
    warnings.extend(undefined);
    let report = TrustValidity {
        split: at(split),
        window_end: at(end),
        horizon_days: args.horizon,
        live_relationships: live.len(),
        lost_at_split: before.len() - live.len(),
        outcomes,
        spending,
        warnings,
        resamples: BOOTSTRAP_RESAMPLES,
    };
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", render::trust_validity_table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustledger_forecast::ForecastError;

    /// A share one short of all, or just above none, keeps a decimal: 0.995 is no "100 %".
    #[test]
    fn a_share_near_all_or_none_is_not_rounded_to_it() {
        assert_eq!(share_percent(1.0), "100");
        assert_eq!(share_percent(0.995), "99.5");
        assert_eq!(share_percent(0.9999), ">99.9");
        assert_eq!(share_percent(0.0001), "<0.1");
        assert_eq!(share_percent(0.61), "61");
        assert_eq!(share_percent(0.003), "0.3");
        assert_eq!(share_percent(0.0), "0");
    }

    /// An interval that rests on fewer resamples than were drawn says how many; one that rests
    /// on all of them does not.
    #[test]
    fn the_comparison_says_how_many_resamples_an_interval_rests_on() {
        let metric = |metric, defined| trustledger_forecast::MetricComparison {
            metric,
            a: 0.8,
            b: 0.7,
            advantage: 0.1,
            low: 0.05,
            high: 0.15,
            a_better_share: 1.0,
            defined,
        };
        let c = trustledger_forecast::Comparison {
            customers: 40,
            resamples: 200,
            seed: 1,
            metrics: vec![metric("mae", 200), metric("auc", 187)],
            warnings: Vec::new(),
        };
        use trustledger_forecast::ModelKind::{Bgnbd, Default};
        let text = render_comparison(Default, Bgnbd, &c);
        let line = |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap();
        assert!(line("MAE").ends_with("100 % of resamples"), "{text}");
        assert!(
            line("AUC").ends_with("100 % of the 187 of 200 resamples with a value"),
            "{text}"
        );
    }

    /// The horizon is named where the forecast crate marks an error as brought about by the
    /// horizon, found through any context a caller added, and nowhere else, whatever the
    /// text says.
    #[test]
    fn horizon_named_follows_the_mark_not_the_text() {
        let bound = ForecastError::HorizonBound(Box::new(ForecastError::Fit(
            "use a shorter forecast horizon".into(),
        )));
        let named = horizon_named(
            anyhow::Error::new(bound).context("default model"),
            "--horizon-days",
        );
        assert_eq!(
            format!("{named:#}"),
            "default model: model fit failed: use a shorter forecast horizon \
             (the forecast horizon is --horizon-days)"
        );

        let unbound = ForecastError::Fit("the forecast horizon is fine".into());
        let kept = horizon_named(unbound.clone(), "--horizon-days");
        assert_eq!(format!("{kept:#}"), unbound.to_string());
        assert_eq!(kept.downcast_ref::<ForecastError>(), Some(&unbound));
    }
}
