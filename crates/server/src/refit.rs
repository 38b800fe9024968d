//! Refitting a tenant's purchase forecasts from its ledger: `trustledger forecast --refit`,
//! the demo, `POST /v1/forecasts/refit` and the dashboard's refit button all run
//! [`refit_forecasts`], which reads the purchases (and, for the default model, the trust
//! components at each of its cuts) from the store, fits off the async runtime, and saves
//! every customer's forecast in one step.
//!
//! The API and the dashboard run it through [`refit_now`]: in a task of its own (it saves
//! even if the caller goes away), one per tenant on a node ([`Running`]), its failures mapped
//! to the error table by [`refit_error`]. `post_refit` reads the API's body
//! (`refit_request`, `refit_as_of`).

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::FixedOffset as Clock;
use trustledger_engine::Params;
use trustledger_engine::Timestamp;
use trustledger_engine::event::format_time;
use trustledger_forecast::caveat::{ALIVE_HORIZON_DAYS, CaveatKind, FEW_CUSTOMERS, QUIET_DAYS};
use trustledger_store::{Caveat, Store};

use crate::clock::end_of_day;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::{AppState, Auth, NoQuery, QueryResult};

// A transactions file and the ledger take the same amounts (what a refit reads of the ledger
// an evaluation of the same purchases as a file must read too).
const _: () = assert!(
    trustledger_forecast::parse::MAX_AMOUNT == trustledger_engine::event::MAX_NUMBER,
    "the forecast's and the ledger's largest amounts differ"
);

/// The longest forecast horizon a refit takes, in days (a century).
pub const MAX_HORIZON_DAYS: u32 = 36_600;

/// The horizon a refit forecasts when none is given, in days.
pub const DEFAULT_HORIZON_DAYS: u32 = 90;

/// A refit found no purchase to fit: the tenant has no `order.placed` event up to the fit time.
#[derive(Debug, thiserror::Error)]
#[error(
    "tenant {tenant:?} has no order.placed events up to {}: nothing to forecast",
    format_time(*until)
)]
pub struct NothingToForecast {
    pub tenant: String,
    pub until: Timestamp,
}

/// A refit whose forecasts were not saved: a later one of the same tenant saved its own while
/// it ran (they read more of the ledger, so they stay).
#[derive(Debug, thiserror::Error)]
#[error(
    "another refit of tenant {0:?}, begun after this one, saved its forecasts while this one \
     ran: of two refits at once the one begun later is kept, so this refit's forecasts were not \
     saved (run it again to have them)"
)]
pub struct RefitSuperseded(pub String);

/// The day on `clock` that `at` falls on, an error naming the time where there is none.
fn day_of(at: Timestamp, clock: Clock) -> Result<chrono::NaiveDate> {
    crate::clock::day_of(at, clock).with_context(|| format!("time {at} is out of range"))
}

/// `n` things, as a count is said ([`crate::wire::count`]).
fn count_of(n: usize, one: &str, many: &str) -> String {
    crate::wire::count(n as u64, one, many)
}

/// The ledger's purchases up to a time, as forecast transactions, and how many
/// orders each currency holds.
pub struct LedgerPurchases {
    pub tx: Vec<trustledger_forecast::Transaction>,
    /// Orders per currency (`order.placed`'s `currency`, CNY where it is left out).
    pub currencies: std::collections::BTreeMap<String, usize>,
}

impl LedgerPurchases {
    /// [`currency_caveat`] of these orders.
    pub fn currency_caveat(&self) -> Option<Caveat> {
        currency_caveat(&self.currencies)
    }
    /// The currency every one of these orders is in; None with several, or none.
    pub fn one_currency(&self) -> Option<String> {
        (self.currencies.len() == 1)
            .then(|| self.currencies.keys().next().cloned())
            .flatten()
    }
}

/// Orders per currency as a warning lists them: `CNY 5, USD 1`.
pub fn orders_per_currency<C: std::fmt::Display>(
    currencies: &std::collections::BTreeMap<C, usize>,
) -> String {
    let each: Vec<String> = currencies.iter().map(|(c, n)| format!("{c} {n}")).collect();
    each.join(", ")
}

/// A caveat when `currencies` (orders per currency) holds more than one: the spend model
/// reads every amount as one currency (there are no exchange rates here), so its expected
/// spends compare only within one. Purchase counts are unaffected.
pub fn currency_caveat(currencies: &std::collections::BTreeMap<String, usize>) -> Option<Caveat> {
    (currencies.len() > 1).then(|| {
        Caveat::new(
            CaveatKind::Currencies.code(),
            format!(
                "the orders are in {} currencies (orders: {}); the expected spends read every \
                 amount as one currency, so they compare only between customers who pay in the \
                 same one (the expected purchases are unaffected)",
                currencies.len(),
                orders_per_currency(currencies)
            ),
        )
    })
}

/// Every purchase in the ledger up to `as_of`, as forecast transactions.
pub async fn ledger_transactions(
    store: &dyn Store,
    tenant: &str,
    as_of: Timestamp,
    clock: Clock,
) -> Result<LedgerPurchases> {
    let mut tx = Vec::new();
    let mut currencies = std::collections::BTreeMap::new();
    trustledger_store::scan_ledger_of_type(store, tenant, "order.placed", |s| {
        if s.at > as_of {
            return Ok(());
        }
        let e = s.parse()?;
        if let trustledger_engine::EventKind::OrderPlaced { amount } = e.kind {
            // a purchase day is a day on the seller's clock
            let date = day_of(e.at, clock).context("order.placed")?;
            tx.push(trustledger_forecast::Transaction {
                customer: e.customer,
                date,
                quantity: None,
                amount,
            });
            *currencies
                .entry(order_currency(&s.id, &s.body)?)
                .or_insert(0) += 1;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    Ok(LedgerPurchases { tx, currencies })
}

/// The currency of the stored `order.placed` event `id` with this `body`
/// ([`trustledger_engine::event::order_currency`]), an error naming the event.
pub fn order_currency(id: &str, body: &str) -> Result<String, trustledger_store::StoreError> {
    // (the body was accepted as a valid order: one that does not read is a ledger this build
    // cannot read, `ledger_corrupt` to the API, not a bug of the reader)
    trustledger_engine::event::order_currency(body).map_err(|e| {
        trustledger_store::StoreError::Corrupt(format!("order.placed {id:?}: stored body: {e}"))
    })
}

/// The default forecast model's covariates for a fit on `tx` with the
/// calibration ending at `cal_end_at`: C, R, I, S, the index (/10), open
/// issues and whether the contact was removed, as of the end of each day the
/// model describes customers at (its inner cut points), and as of
/// `cal_end_at` itself. Every snapshot comes from one pass over the ledger,
/// keeping only the events at or before its time, so no row the model learns
/// from carries anything from after its own cut. With several holdout ends
/// (a refit's horizon and the one its P(alive) is read at) the one pass serves
/// every fit: each looks up the snapshots of its own cuts.
pub async fn trust_covariates(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    tx: &[trustledger_forecast::Transaction],
    cal_end_at: Timestamp,
    holdout_ends: &[chrono::NaiveDate],
    clock: Clock,
) -> Result<trustledger_forecast::Covariates> {
    let cal_end = day_of(cal_end_at, clock).context("calibration end")?;
    let mut cov = trustledger_forecast::Covariates::new();
    if tx.is_empty() {
        return Ok(cov);
    }
    let mut dates = Vec::new();
    for (k, &end) in holdout_ends.iter().enumerate() {
        match trustledger_forecast::DefaultModel::covariate_dates(tx, cal_end, end) {
            Ok(d) => dates.extend(d),
            // the first end's fit must be possible; a later one's fit says why it is not
            Err(e) if k == 0 => return Err(e.into()),
            Err(_) => {}
        }
    }
    dates.sort_unstable();
    dates.dedup();
    let times: Vec<(chrono::NaiveDate, Timestamp)> = dates
        .iter()
        .map(|&d| {
            let last = end_of_day(d, clock);
            (d, if d == cal_end { cal_end_at } else { last })
        })
        .collect();
    let untils: Vec<Timestamp> = times.iter().map(|t| t.1).collect();
    let snaps = trustledger_store::replay_relationships_at(store, tenant, params, &untils).await?;
    for ((date, at), (rows, _)) in times.into_iter().zip(snaps) {
        let table = rows
            .into_iter()
            .map(|r| {
                let s = r.state.score(at, params);
                let c = &s.components;
                let open = f64::from(r.state.open_issues());
                // the ledger says the contact was removed (and not added back)
                let removed = f64::from(u8::from(s.stage == trustledger_engine::Stage::Lost));
                (
                    r.customer,
                    vec![c.c, c.r, c.i, c.s, s.index / 10.0, open, removed],
                )
            })
            .collect();
        cov.insert(date, table);
    }
    Ok(cov)
}

/// What a forecast refit did: one line of output (its `Display`), and the caveats it stored
/// with the forecasts.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Refit {
    /// `default` or `bgnbd`.
    #[serde(serialize_with = "model_name")]
    #[schema(value_type = String, example = "default")]
    pub model: trustledger_forecast::ModelKind,
    /// Orders read (`order.placed` events up to the fit time).
    pub purchases: usize,
    /// Customers given a forecast: each who had bought by the fit time.
    pub customers: usize,
    /// Seconds the model fit took (not the reading of the ledger).
    pub seconds: f64,
    #[schema(minimum = 1, maximum = 36600)]
    pub horizon_days: u32,
    /// Expected purchases of all customers over the horizon.
    pub expected_total: f64,
    /// The time the purchases were read up to (RFC 3339, UTC): the fit's calibration end.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, example = "2026-12-07T10:00:00Z")]
    pub fitted_at: Timestamp,
    /// What a reader of the forecasts must know (stored with them; the API and pages show them).
    #[schema(value_type = Vec<Object>)]
    pub caveats: Vec<Caveat>,
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*t))
}

fn model_name<S: serde::Serializer>(
    kind: &trustledger_forecast::ModelKind,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

impl std::fmt::Display for Refit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refitted {} model on {} of {} in {:.2}s; expected purchases in the {} after the fit day: {:.*}",
            self.model.name(),
            count_of(self.purchases, "purchase", "purchases"),
            count_of(self.customers, "customer", "customers"),
            self.seconds,
            count_of(self.horizon_days as usize, "day", "days"),
            // (a small tenant's total is a fraction, not 0)
            if self.expected_total < 100.0 { 2 } else { 0 },
            self.expected_total
        )?;
        if self.model == trustledger_forecast::ModelKind::Default {
            // (both of its scalings keep BG/NBD's total; a user comparing the two refits
            // should not read the equal totals as the same forecasts)
            write!(
                f,
                " (BG/NBD's total: the default model moves purchases between customers, not the total)"
            )?;
        }
        Ok(())
    }
}

/// A caveat when the tenant's purchases stopped, or all but stopped, in the [`QUIET_DAYS`]
/// before the fit's day ([`trustledger_forecast::caveat::quiet_ledger`]): the models read
/// those days as days nobody bought, which is wrong if the purchases since are only missing
/// from the ledger (a file not yet imported).
fn quiet_before_fit(
    tx: &[trustledger_forecast::Transaction],
    cal_end: chrono::NaiveDate,
) -> Option<Caveat> {
    let dates: Vec<chrono::NaiveDate> = tx.iter().map(|t| t.date).collect();
    let q = trustledger_forecast::caveat::quiet_ledger(&dates, cal_end)?;
    let what = match q.usual {
        Some(usual) if q.recent > 0 => format!(
            "only {} on the fit day and the {QUIET_DAYS} days before it, against about \
             {usual:.0} in as many days before them; the forecasts read the purchases missing since {} \
             as purchases nobody made",
            count_of(q.recent, "purchase", "purchases"),
            q.last_before
        ),
        _ => format!(
            "the last purchase by the fit time is on {}, {} days before it; the forecasts read \
             those days as days nobody bought",
            q.last,
            (cal_end - q.last).num_days()
        ),
    };
    Some(Caveat::new(
        CaveatKind::QuietLedger.code(),
        format!(
            "{what}. If purchases since are missing from the ledger, import them or refit as of {} \
             (`--as-of`; `as_of` in POST /v1/forecasts/refit)",
            q.last_before
        ),
    ))
}

/// Fits `kind` on the tenant's purchases up to `as_of` (the default model with
/// the trust components as covariates, as of `as_of` and of each of its inner
/// cuts, which takes one replay of the ledger) and stores each customer's
/// forecast for the next `horizon_days`, replacing the previous ones.
///
/// `horizon_flag` names the horizon as the caller's user gave it (`--horizon-days`,
/// `horizon_days`), in an error the horizon brought about; `progress` hears what the refit is
/// doing, for a command's stderr or a job's status. Two refits of one tenant at once: the one
/// that began later keeps its forecasts, and the other fails with [`RefitSuperseded`].
#[allow(clippy::too_many_arguments)]
pub async fn refit_forecasts(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    as_of: i64,
    kind: trustledger_forecast::ModelKind,
    horizon_days: u32,
    clock: Clock,
    horizon_flag: &str,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Refit> {
    let model = kind.name();
    // (before the ledger is read: of two refits at once, the later reading is kept)
    let ticket = store.begin_refit(tenant).await?;
    let purchases = ledger_transactions(store, tenant, as_of, clock).await?;
    let currency_caveat = purchases.currency_caveat();
    // (the spends' currency when there is one; with several the caveat says why there is none)
    let currency = purchases.one_currency();
    let tx = purchases.tx;
    if tx.is_empty() {
        return Err(NothingToForecast {
            tenant: tenant.to_owned(),
            until: as_of,
        }
        .into());
    }
    let cal_end = day_of(as_of, clock).context("the fit time")?;
    let holdout_end = cal_end
        .checked_add_days(chrono::Days::new(u64::from(horizon_days)))
        .with_context(|| format!("{horizon_flag} {horizon_days} runs past the last date"))?;
    // The default model's P(alive) is read from its fit for ALIVE_HORIZON_DAYS ahead,
    // whatever horizon the forecast is for (see there): a second fit when they differ.
    let alive_end = cal_end
        .checked_add_days(chrono::Days::new(u64::from(ALIVE_HORIZON_DAYS)))
        .context("the fit time is too late for a forecast")?;
    let default = kind == trustledger_forecast::ModelKind::Default;
    let alive_fit = default && horizon_days != ALIVE_HORIZON_DAYS;
    // The trust components at the fit time and at the model's inner cuts (of both
    // fits, from one replay of the ledger) are the default model's covariates.
    let covariates = if default {
        let ends: &[chrono::NaiveDate] = if alive_fit {
            &[holdout_end, alive_end]
        } else {
            &[holdout_end]
        };
        Some(
            trust_covariates(store, tenant, params, &tx, as_of, ends, clock)
                .await
                .map_err(|e| horizon_named(e, horizon_flag))?,
        )
    } else {
        None
    };
    progress(&format!(
        "fitting the {model} model on {} …",
        count_of(tx.len(), "purchase", "purchases")
    ));
    let purchases = tx.len();
    // The fit is seconds of pure computation: off the async runtime, so a
    // server sharing it (the demo's dashboard) keeps answering meanwhile.
    // Loading the purchases and scoring the covariates above run on the
    // runtime; with one worker (`--workers 1`) the dashboard waits for them.
    let horizon_flag = horizon_flag.to_owned();
    let (list, seconds, caveats) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let cov = covariates.as_ref();
        let fitted = trustledger_forecast::fit(&tx, cal_end, holdout_end, kind, cov)
            .map_err(|e| horizon_named(e, &horizon_flag))?;
        let seconds = started.elapsed().as_secs_f64();
        let mut list = trustledger_forecast::forecast(&tx, cal_end, holdout_end, &fitted, cov)?;
        let mut warnings: Vec<Caveat> = fitted
            .notes()
            .into_iter()
            .map(|n| Caveat::new(n.kind.code(), n.text))
            .collect();
        if alive_fit {
            let alive = trustledger_forecast::fit(&tx, cal_end, alive_end, kind, cov)
                .and_then(|m| trustledger_forecast::forecast(&tx, cal_end, alive_end, &m, cov));
            match alive {
                Ok(alive) => {
                    for (f, a) in list.iter_mut().zip(&alive) {
                        debug_assert_eq!(f.customer, a.customer);
                        f.p_alive = a.p_alive;
                    }
                }
                // (a ledger can hold enough for this horizon's fit and not the 90 days')
                Err(e) => warnings.push(Caveat::new(
                    CaveatKind::AliveFallback.code(),
                    format!(
                        "P(alive) is read at this fit's {horizon_days}-day horizon, not at \
                         {ALIVE_HORIZON_DAYS} days: the {ALIVE_HORIZON_DAYS}-day fit failed ({e})"
                    ),
                )),
            }
        }
        warnings.extend(quiet_before_fit(&tx, cal_end));
        warnings.extend(currency_caveat);
        // (each customer who had bought by the fit gets one forecast)
        let caveats = fit_caveats(
            fitted.bgnbd().params.degeneracy().as_deref(),
            warnings,
            list.len(),
        );
        anyhow::Ok((list, seconds, caveats))
    })
    .await
    .context("the forecast fit stopped")??;
    let rows: Vec<trustledger_store::ForecastRow> = list
        .iter()
        .map(|f| trustledger_store::ForecastRow {
            customer: f.customer.clone(),
            expected_purchases: f.expected_purchases,
            baseline_purchases: Some(f.baseline_purchases),
            p_alive: f.p_alive,
            expected_spend: f.expected_average_spend,
            fitted_at: as_of,
            horizon_days,
            model: model.to_owned(),
            utc_offset_secs: Some(clock.local_minus_utc()),
            caveats: caveats.clone(),
            purchase_days: Some(f.purchase_days),
            own_mean_spend: Some(f.spend_basis),
            currency: currency.clone(),
        })
        .collect();
    if store.save_refit(tenant, &rows, Some(ticket)).await?
        == trustledger_store::RefitSave::Superseded
    {
        return Err(RefitSuperseded(tenant.to_owned()).into());
    }
    Ok(Refit {
        model: kind,
        purchases,
        customers: rows.len(),
        seconds,
        horizon_days,
        expected_total: rows.iter().map(|r| r.expected_purchases).sum(),
        fitted_at: as_of,
        caveats,
    })
}

/// What a reader of a fit's forecasts must know: a BG/NBD parameter at an edge of its space
/// (`degenerate`, [`trustledger_forecast::BgNbdParams::degeneracy`]), each of the fit's
/// other warnings ([`trustledger_forecast::FittedModel::warnings`], or a report's), and a fit
/// on fewer than [`FEW_CUSTOMERS`] `customers`. A refit stores them with the forecasts, so
/// the API and the pages say them too.
pub fn fit_caveats(
    degenerate: Option<&str>,
    warnings: impl IntoIterator<Item = Caveat>,
    customers: usize,
) -> Vec<Caveat> {
    let edge = degenerate.map(|why| {
        Caveat::new(
            CaveatKind::BgnbdEdge.code(),
            format!(
                "the BG/NBD fit reached an edge of its parameter space: {why}. The data do not \
                 determine those parameters, so the forecasts rest on a limit of the model; more \
                 customers or a longer calibration period usually move the fit inside"
            ),
        )
    });
    let few = (customers < FEW_CUSTOMERS).then(|| {
        Caveat::new(
            CaveatKind::FewCustomers.code(),
            format!(
                "only {customers} customer{} bought in the calibration period; the model's \
                 parameters are poorly determined on fewer than {FEW_CUSTOMERS}, so read the \
                 forecasts as illustrative",
                if customers == 1 { "" } else { "s" }
            ),
        )
    });
    edge.into_iter().chain(warnings).chain(few).collect()
}

/// A fit's error, with the command's own name for the horizon where the forecast horizon
/// brought it about ([`ForecastError::is_horizon_bound`]; the forecast crate does not know
/// which command asked: `--horizon-days` for a refit, the dates for an evaluation); any other
/// error as it was.
///
/// [`ForecastError::is_horizon_bound`]: trustledger_forecast::ForecastError::is_horizon_bound
pub fn horizon_named(e: impl Into<anyhow::Error>, horizon: &str) -> anyhow::Error {
    let e = e.into();
    let bound = e.chain().any(|cause| {
        cause
            .downcast_ref::<trustledger_forecast::ForecastError>()
            .is_some_and(trustledger_forecast::ForecastError::is_horizon_bound)
    });
    if bound {
        HorizonNamed(format!("{e:#} (the forecast horizon is {horizon})")).into()
    } else {
        e
    }
}

/// A fit's error that the forecast horizon brought about, as [`horizon_named`] says it: one
/// sentence (the fit's own words and the horizon's name), and still a fit failure to
/// [`refit_error`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HorizonNamed(String);

/// The tenants with a refit running on this node: one at a time each, since a second would
/// only be superseded by the first's ticket or supersede it ([`RefitSuperseded`]).
#[derive(Debug, Default)]
pub struct Running(std::sync::Mutex<std::collections::HashSet<String>>);

/// A tenant's place in [`Running`], given up however the refit ends.
pub struct RunningRefit {
    running: std::sync::Arc<Running>,
    tenant: String,
}

impl Running {
    /// Marks a refit of `tenant` as running, unless one already is.
    pub fn start(self: &std::sync::Arc<Self>, tenant: &str) -> Option<RunningRefit> {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(tenant.to_owned()).then(|| RunningRefit {
            running: self.clone(),
            tenant: tenant.to_owned(),
        })
    }
}

impl Drop for RunningRefit {
    fn drop(&mut self) {
        self.running
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.tenant);
    }
}

/// Whether the fit itself failed (the forecast crate's error, or one [`horizon_named`] said),
/// through any context a caller added: the purchases do not allow the fit asked for.
pub fn is_fit_failure(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.is::<trustledger_forecast::ForecastError>() || c.is::<HorizonNamed>())
}

/// A refit's failure as the API answers it: a later refit's forecasts kept, a tenant without
/// purchases and a fit the data do not allow are the caller's to act on (409, 422); a store
/// failure is `store_unavailable` or `ledger_corrupt` as anywhere else; the rest is a bug.
pub fn refit_error(e: &anyhow::Error) -> ApiError {
    let text = format!("{e:#}");
    let code = if e.downcast_ref::<RefitSuperseded>().is_some() {
        ErrorCode::RefitSuperseded
    } else if e.downcast_ref::<NothingToForecast>().is_some() {
        ErrorCode::NothingToForecast
    } else if let Some(store) = e
        .chain()
        .find_map(|c| c.downcast_ref::<trustledger_store::StoreError>())
    {
        crate::error::store_code(store)
    } else if is_fit_failure(e) {
        ErrorCode::FitFailed
    } else {
        ErrorCode::Internal
    };
    ApiError::new(code, text)
}

/// The longest body `POST /v1/forecasts/refit` reads.
const MAX_REFIT_BODY: usize = 1024;

/// What `POST /v1/forecasts/refit` asked for: the model, the horizon and the time to fit up
/// to, each with its default when left out.
#[derive(Debug, Clone, PartialEq)]
struct RefitRequest {
    kind: trustledger_forecast::ModelKind,
    horizon_days: u32,
    /// The time to read the purchases up to, as given (read on the tenant's clock by
    /// [`refit_as_of`]); None: now.
    as_of: Option<String>,
}

fn refit_request(
    headers: &axum::http::HeaderMap,
    body: &axum::body::Bytes,
) -> Result<RefitRequest, ApiError> {
    use serde_json::{Value, json};
    let defaults = RefitRequest {
        kind: trustledger_forecast::ModelKind::Default,
        horizon_days: DEFAULT_HORIZON_DAYS,
        as_of: None,
    };
    // (a bare POST, as `curl -X POST` sends it, names no content type: the defaults)
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(defaults);
    }
    let shape = "{\"model\": \"default\", \"horizon_days\": 90, \"as_of\": \"2026-10-31\"} \
                 (each may be left out)";
    let fields = ["model", "horizon_days", "as_of"];
    let Some(fields) = crate::settings_body(headers, body, MAX_REFIT_BODY, shape, &fields)? else {
        return Ok(defaults);
    };
    let bad = |field: &str, message: String| {
        ApiError::new(ErrorCode::InvalidBody, message).with_details(json!({"field": field}))
    };
    let mut request = defaults;
    match fields.get("model") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            request.kind = s.parse().map_err(|_| {
                bad(
                    "model",
                    format!("model {s:?} is not one: use \"default\" or \"bgnbd\""),
                )
            })?;
        }
        Some(other) => {
            return Err(bad(
                "model",
                format!("model is {other}, not \"default\" or \"bgnbd\""),
            ));
        }
    }
    match fields.get("horizon_days") {
        None | Some(Value::Null) => {}
        Some(n) => {
            request.horizon_days = n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=MAX_HORIZON_DAYS).contains(n))
                .ok_or_else(|| {
                    bad(
                        "horizon_days",
                        format!("horizon_days is {n}, not a whole number of days from 1 to {MAX_HORIZON_DAYS}"),
                    )
                })?;
        }
    }
    match fields.get("as_of") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) => request.as_of = Some(t.trim().to_owned()),
        Some(other) => {
            return Err(bad(
                "as_of",
                format!("as_of is {other}, not a date (\"2026-10-31\") or an RFC 3339 time"),
            ));
        }
    }
    Ok(request)
}

/// The time a refit reads the purchases up to, from `as_of` as given: an RFC 3339 time, or a
/// date, meaning its last second on `clock`. Not after today (a fit counts the days up to its
/// time as days nobody bought: a time to come would count days not yet lived); a time later
/// today is now.
pub(crate) fn refit_as_of(text: &str, clock: Clock, now: Timestamp) -> Result<Timestamp, ApiError> {
    let bad = |message: String| {
        ApiError::new(ErrorCode::InvalidBody, message)
            .with_details(serde_json::json!({"field": "as_of"}))
    };
    let t = crate::time_or_day(text, clock)
        .map_err(|reason| bad(format!("as_of {text:?} {reason}")))?;
    let today_ends = day_of(now, clock)
        .map(|d| end_of_day(d, clock))
        .map_err(|e| bad(format!("{e:#}")))?;
    if t > today_ends {
        return Err(bad(format!(
            "as_of {text:?} is in the future (now is {}): a refit reads the purchases up to a \
             time that has passed; leave as_of out to fit as of now",
            format_time(now)
        )));
    }
    Ok(t.min(now))
}

/// Refits the tenant's purchase forecasts from its ledger as of now (or `as_of`) and answers what the refit
/// did: the model (`default` unless `model` says `bgnbd`), for the next `horizon_days` (90
/// unless given), replacing every stored forecast. Admin keys only. It takes seconds on a large
/// ledger and answers when the forecasts are saved; a refit keeps running to the end if the
/// caller goes away. One refit of a tenant at a time on a node; of two on different nodes, the
/// one that began later keeps its forecasts. The same as `trustledger forecast --refit`.
#[utoipa::path(post, path = "/v1/forecasts/refit", tag = "forecasts",
    request_body(
        description = "Optional: `{\"model\": \"default\" | \"bgnbd\", \"horizon_days\": 1 … 36600, \"as_of\": \"2026-10-31\"}`; an empty body refits the default model for 90 days as of now. `as_of` (a date, its last second on the tenant's clock, or an RFC 3339 time; not in the future) reads the purchases up to then, as `forecast --refit --as-of` does.",
        content((Option<Object> = "application/json"))
    ),
    responses(
        (status = 200, description = "refitted and saved: what the refit did, with the caveats stored with the forecasts", body = Refit),
        (status = 400, description = "invalid_json, or invalid_body naming the field in `details.field`; invalid_query: this endpoint takes no parameters", body = ErrorBody),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 403, description = "not an admin key", body = ErrorBody),
        (status = 409, description = "refit_running: a refit of this tenant is running on this node; refit_superseded: a later refit's forecasts were kept", body = ErrorBody),
        (status = 413, description = "body_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: send application/json", body = ErrorBody),
        (status = 422, description = "nothing_to_forecast: no purchases yet; fit_failed: the purchases do not allow this fit", body = ErrorBody),
        (status = 503, description = "store_unavailable: the stored forecasts are unchanged; retry", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn post_refit(
    axum::extract::State(st): axum::extract::State<AppState>,
    auth: Auth,
    q: QueryResult<NoQuery>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::Json<Refit>, ApiError> {
    crate::query(q)?;
    crate::require_admin(&auth, "refit the tenant's forecasts")?;
    let body = crate::body_bytes(body)?;
    let request = refit_request(&headers, &body)?;
    let as_of = match &request.as_of {
        Some(text) => {
            let clock = st.clock_of(&auth.tenant).await?;
            Some(refit_as_of(text, clock, chrono::Utc::now().timestamp())?)
        }
        None => None,
    };
    let refit = refit_now(
        &st,
        &auth.tenant,
        request.kind,
        request.horizon_days,
        as_of,
        "horizon_days",
    )
    .await?;
    Ok(axum::Json(refit))
}

/// Refits `tenant`'s forecasts as of now on its clock, in a task of its own (so it ends, and
/// saves, even if the caller stops waiting), one at a time per tenant on this node.
pub async fn refit_now(
    st: &AppState,
    tenant: &str,
    kind: trustledger_forecast::ModelKind,
    horizon_days: u32,
    as_of: Option<Timestamp>,
    horizon_flag: &str,
) -> Result<Refit, ApiError> {
    let clock = st.clock_of(tenant).await?;
    let Some(running) = st.refits.start(tenant) else {
        return Err(ApiError::new(
            ErrorCode::RefitRunning,
            format!(
                "a refit of tenant {tenant:?} is already running on this node; its forecasts are \
                 saved when it ends"
            ),
        ));
    };
    let (store, params, tenant) = (st.store.clone(), st.params.clone(), tenant.to_owned());
    let horizon_flag = horizon_flag.to_owned();
    let task = tokio::spawn(async move {
        let _running = running;
        let as_of = as_of.unwrap_or_else(|| chrono::Utc::now().timestamp());
        refit_forecasts(
            store.as_ref(),
            &tenant,
            &params,
            as_of,
            kind,
            horizon_days,
            clock,
            &horizon_flag,
            &|_| {},
        )
        .await
    });
    match task.await {
        Ok(Ok(refit)) => Ok(refit),
        Ok(Err(e)) => Err(refit_error(&e)),
        Err(e) => Err(ApiError::new(
            ErrorCode::Internal,
            format!("the refit stopped before it finished: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{LedgerPurchases, NothingToForecast, RefitSuperseded, Running, refit_error};
    use crate::ErrorCode;
    use anyhow::Context;

    /// A refit's `as_of` date is its last second on the tenant's clock; a time later today is
    /// now, and tomorrow is refused, naming the field.
    #[test]
    fn a_refit_as_of_is_read_on_the_tenants_clock_and_not_in_the_future() {
        use trustledger_engine::event::parse_time;
        let beijing = super::Clock::east_opt(8 * 3600).unwrap();
        // 18:00 on Dec 7 in Beijing
        let now = parse_time("2026-12-07T10:00:00Z").unwrap();
        let at = |text: &str| super::refit_as_of(text, beijing, now);
        assert_eq!(
            at("2026-10-31").ok(),
            parse_time("2026-10-31T15:59:59Z").ok()
        );
        assert_eq!(
            at("2026-10-31T12:00:00Z").ok(),
            parse_time("2026-10-31T12:00:00Z").ok()
        );
        assert_eq!(at("2026-12-07").ok(), Some(now));
        assert_eq!(at("2026-12-07T23:00:00+08:00").ok(), Some(now));
        for future in ["2026-12-08", "2026-12-08T00:30:00+08:00"] {
            let e = at(future).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidBody);
            assert_eq!(e.details["field"], "as_of");
            assert!(e.message.contains("is in the future"), "{}", e.message);
        }
        for bad in ["yesterday", "2026-13-01", "1960-01-01"] {
            let e = at(bad).unwrap_err();
            assert_eq!(e.details["field"], "as_of", "{bad}");
        }
    }

    /// A tenant's second refit on a node is refused while the first runs, and taken once it
    /// ended, however it ended; other tenants are not held up.
    #[test]
    fn one_refit_of_a_tenant_at_a_time() {
        let running = std::sync::Arc::new(Running::default());
        let first = running.start("t1").expect("none running");
        assert!(running.start("t1").is_none());
        let other = running.start("t2").expect("another tenant");
        drop(first);
        assert!(running.start("t1").is_some());
        drop(other);
        let panicked = std::panic::catch_unwind(|| {
            let _held = running.start("t3").unwrap();
            panic!("the refit failed");
        });
        assert!(panicked.is_err());
        assert!(running.start("t3").is_some());
    }

    /// Each way a refit fails has its code, through the context the refit adds.
    #[test]
    fn a_refit_failure_is_answered_by_its_kind() {
        let code = |e: anyhow::Error| refit_error(&e).code;
        assert_eq!(
            code(RefitSuperseded("t".into()).into()),
            ErrorCode::RefitSuperseded
        );
        let none = NothingToForecast {
            tenant: "t".into(),
            until: 0,
        };
        assert_eq!(code(none.into()), ErrorCode::NothingToForecast);
        let down = trustledger_store::StoreError::Database("connection refused".into());
        let down = Err::<(), _>(down)
            .context("reading the purchases")
            .unwrap_err();
        assert_eq!(code(down), ErrorCode::StoreUnavailable);
        let corrupt = trustledger_store::StoreError::Corrupt("event 7".into());
        assert_eq!(code(corrupt.into()), ErrorCode::LedgerCorrupt);
        let fit = trustledger_forecast::fit(
            &[],
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            trustledger_forecast::ModelKind::Bgnbd,
            None,
        )
        .map(|_| ())
        .unwrap_err();
        assert_eq!(
            code(anyhow::Error::from(fit).context("fitting")),
            ErrorCode::FitFailed
        );
        let bound = trustledger_forecast::ForecastError::HorizonBound(Box::new(
            trustledger_forecast::ForecastError::Fit("no repeat purchase".into()),
        ));
        let named = super::horizon_named(anyhow::Error::from(bound), "horizon_days");
        assert!(
            named
                .to_string()
                .ends_with("(the forecast horizon is horizon_days)"),
            "{named}"
        );
        assert_eq!(code(named.context("refitting")), ErrorCode::FitFailed);
        assert_eq!(code(anyhow::anyhow!("a bug")), ErrorCode::Internal);
    }

    /// One currency, however many orders name it, is quiet; two are named with their orders.
    #[test]
    fn only_orders_in_several_currencies_get_a_caveat() {
        let of = |c: &[(&str, usize)]| LedgerPurchases {
            tx: Vec::new(),
            currencies: c.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
        };
        assert_eq!(of(&[]).currency_caveat(), None);
        assert_eq!(of(&[("USD", 40)]).currency_caveat(), None);
        let two = of(&[("CNY", 30), ("USD", 2)]).currency_caveat().unwrap();
        assert_eq!(two.code, "currencies");
        assert!(
            two.text
                .starts_with("the orders are in 2 currencies (orders: CNY 30, USD 2)"),
            "{two:?}"
        );
    }
}
