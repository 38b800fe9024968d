//! Wire shapes (JSON) of customers, scores, statements and forecasts, shared
//! by the HTTP API and the CLI's `--json` output. The engine's types are not
//! `Serialize`: this is the one place that decides the JSON, and the OpenAPI
//! document's schemas are derived from these types ([`crate::openapi`]).

use std::collections::BTreeMap;

use serde::Serialize;
use std::fmt::Write as _;

use serde_json::{Value, json};
use trustledger_engine::event::format_time;
use trustledger_engine::statement::{Delta, Statement};
use trustledger_engine::{Params, Scores, Timestamp};
use trustledger_store::ingest::Summary;
use trustledger_store::{ForecastRow, ForecastStanding, RelationshipRow};
use utoipa::ToSchema;

pub fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

/// The four trust components, each 1–10 (see docs/model.md); as
/// `confidence`, how much evidence backs each, 0–1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Components {
    /// Credibility.
    pub c: f64,
    /// Reliability.
    pub r: f64,
    /// Intimacy.
    pub i: f64,
    /// Self-orientation (higher is worse).
    pub s: f64,
}

fn components(c: &trustledger_engine::Components) -> Components {
    Components {
        c: round(c.c, 3),
        r: round(c.r, 3),
        i: round(c.i, 3),
        s: round(c.s, 3),
    }
}

/// A relationship's trust now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub customer: String,
    /// The operator who owns the relationship, if known.
    pub operator: Option<String>,
    #[serde(flatten)]
    pub scores: ScoresView,
    /// Complaints and returns opened but not resolved.
    pub open_issues: u32,
    /// Why the customer is at risk or lost: `open_issue` (a complaint or return is
    /// unresolved), `recent_withdrawals` (recent withdrawals crossed the risk threshold) or
    /// `removed` (the contact was removed); absent for other stages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_reason: Option<&'static str>,
    /// Events scored for this relationship (events of types the model does not score are
    /// kept in the ledger but not counted here).
    pub events: u32,
    pub last_event_at: String,
    /// The stored purchase forecast, once `trustledger forecast` has run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Forecast>,
    /// Why there is no forecast (on `/v1/customers/{id}` only; lists leave it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_absence: Option<ForecastAbsenceView>,
}

/// Why a customer has no forecast of their own.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastAbsenceView {
    /// The reason itself, for the pages that word it.
    #[serde(skip)]
    pub why: crate::ForecastAbsence,
    /// `no_orders` (forecasts cover customers with an order), `never_fitted` (no forecast
    /// has been fitted in the tenant: `trustledger forecast --refit`), `not_in_last_fit`
    /// (the customer's orders came in after the last fit; the next refit covers them) or,
    /// for a view taken at an earlier time (the dashboard page's `as_of`, `explain
    /// --as-of`), `fitted_after` (the forecast was fitted on purchases after that time).
    pub reason: &'static str,
    /// When the last fit was made, for `not_in_last_fit` and `fitted_after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_fit_at: Option<String>,
}

pub fn forecast_absence(why: crate::ForecastAbsence) -> ForecastAbsenceView {
    ForecastAbsenceView {
        why,
        reason: why.code(),
        last_fit_at: why.last_fit_at().map(format_time),
    }
}

pub fn customer(r: &RelationshipRow, s: &Scores) -> Customer {
    Customer {
        customer: r.customer.clone(),
        operator: r.operator.clone(),
        scores: scores(s),
        open_issues: u32::from(r.state.open_issues()),
        risk_reason: trustledger_engine::lifecycle::risk_reason(&r.state, s.stage),
        events: r.state.counts.events,
        last_event_at: format_time(r.state.last_at),
        forecast: None,
        forecast_absence: None,
    }
}

/// The customer as a JSON value (CLI).
pub fn customer_json(r: &RelationshipRow, s: &Scores) -> Value {
    to_value(&customer(r, s))
}

/// A customer's expected purchases (BG/NBD or the default model).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Forecast {
    /// Expected purchase days in the `horizon_days` calendar days after the day of
    /// `fitted_at` (counted on `clock`), which end at `covers_until`.
    pub expected_purchases: f64,
    /// What the BG/NBD forecasts over the same days from the purchase dates
    /// alone: equal to `expected_purchases` under the `bgnbd` model; under the
    /// `default` model, the forecast before the rest of the ledger (trust,
    /// returns, after-sales, removals) corrected it, so the two side by side
    /// say how much the ledger moved this customer's forecast. Null for a
    /// forecast stored before it was kept.
    pub baseline_purchases: Option<f64>,
    /// Probability the customer is still "alive" at `fitted_at`: the BG/NBD's (1 for a
    /// customer without a repeat purchase), lowered under the default model where the rest
    /// of the ledger lowered the customer's forecast against the BG/NBD's (removed the
    /// seller, went quiet, complained); never raised. A refit takes the lowering from the
    /// default model fitted for 90 days ahead, whatever `horizon_days` (one fitted for a
    /// week ahead learns when the next order falls due, not whether the customer is still
    /// there), so with another horizon it is not this forecast's own ratio to the BG/NBD's.
    pub p_alive: f64,
    /// Expected spend per purchase (Gamma-Gamma), when identifiable: from the customer's repeat
    /// purchases, or from the first purchase for a customer who has made no other.
    pub expected_spend: Option<f64>,
    /// The customer's purchase days the fit read (up to `fitted_at`, on `clock`). A
    /// purchase dated before the fit but imported after it is not among them. Null for a
    /// forecast stored before it was kept.
    pub purchase_days: Option<u32>,
    /// The mean spend per purchase day `expected_spend` was built from: the repeat days'
    /// (after the first), or the first day's for a customer with no other. Null as
    /// `purchase_days`.
    pub own_mean_spend: Option<f64>,
    /// The currency of `expected_spend` and `own_mean_spend` (ISO 4217): the one every
    /// order the fit read was in. Null when they were in several (a `currencies` caveat
    /// says so: the spends add their amounts as one) or for a forecast stored before it
    /// was kept.
    pub currency: Option<String>,
    /// Length of the forecast window in calendar days (`forecast --refit --horizon-days`).
    #[schema(minimum = 1, maximum = 36600)]
    pub horizon_days: u32,
    /// The time the purchases were read up to.
    pub fitted_at: String,
    /// The last second the forecast covers.
    pub covers_until: String,
    /// True when `covers_until` is before the time the customer was scored at:
    /// the forecast describes a period that is over, and a refit
    /// (`trustledger forecast --refit`) makes a current one.
    pub expired: bool,
    /// `bgnbd` or `default`.
    pub model: String,
    /// The clock its purchase days were counted on (`+08:00`); null for a
    /// forecast stored before that was kept. When it is not the tenant's clock
    /// now, a refit counts the days on the new one.
    pub clock: Option<String>,
    /// What a reader must know about the fit this forecast came from, one
    /// sentence each (in English): a model parameter at an edge of its space,
    /// as on a shop with few customers, or an optimiser that stopped early.
    /// Empty for a sound fit.
    pub caveats: Vec<String>,
    /// The kind of each of `caveats`, in the same order, so a client can say it in
    /// its own language: `bgnbd_edge`, `bgnbd_not_converged`, `few_customers`,
    /// `no_spend`, `spend_not_converged`, `spend_no_mean`, `spend_mean_undetermined`,
    /// `spend_edge`, `alive_fallback`, `quiet_ledger`, `currencies`; empty for a
    /// caveat stored before kinds were kept.
    pub caveat_codes: Vec<String>,
}

/// The forecast as shown beside scores taken at `scored_at`.
pub fn forecast(f: &ForecastRow, scored_at: Timestamp) -> Forecast {
    // (the fit is this row's own copy: its model and caveats move into the answer)
    let fit = f.fit();
    Forecast {
        expected_purchases: round(f.expected_purchases, 3),
        baseline_purchases: f.baseline_purchases.map(|b| round(b, 3)),
        p_alive: round(f.p_alive, 3),
        expected_spend: f.expected_spend.map(|s| round(s, 2)),
        purchase_days: f.purchase_days,
        own_mean_spend: f.own_mean_spend.map(|s| round(s, 2)),
        currency: fit.currency.clone(),
        horizon_days: fit.horizon_days,
        fitted_at: format_time(fit.fitted_at),
        covers_until: format_time(fit.covers_until()),
        expired: fit.standing(scored_at) == ForecastStanding::Expired,
        clock: fit
            .utc_offset_secs
            .and_then(chrono::FixedOffset::east_opt)
            .map(|c| c.to_string()),
        model: fit.model,
        caveat_codes: fit.caveats.iter().map(|c| c.code.clone()).collect(),
        caveats: fit.caveats.into_iter().map(|c| c.text).collect(),
    }
}

pub fn forecast_json(f: &ForecastRow, scored_at: Timestamp) -> Value {
    to_value(&forecast(f, scored_at))
}

/// The effect of one event (or of all) on the components and the index.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeltaView {
    pub c: f64,
    pub r: f64,
    pub i: f64,
    pub s: f64,
    /// Change of the 0–100 index.
    pub index: f64,
}

fn delta(d: &Delta) -> DeltaView {
    DeltaView {
        c: round(d.c, 4),
        r: round(d.r, 4),
        i: round(d.i, 4),
        s: round(d.s, 4),
        index: round(d.index, 4),
    }
}

/// Scores at one moment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoresView {
    pub components: Components,
    /// Confidence of each component, 0–1 (how much evidence backs it).
    pub confidence: Components,
    /// The trust equation T = (C × R × I) / S, 0.1–1000.
    pub t: f64,
    /// 25·log10(10·T), 0–100.
    pub index: f64,
    pub overall_confidence: f64,
    /// What the seller sent (messages, answers included, stories, gifts) past what the
    /// customer answered or asked, in intimacy units (decayed; a care message is 0.8): it builds no intimacy
    /// and adds to the pressure behind S, as pushes into silence. 0 when all was answered.
    pub unanswered_contact: f64,
    /// Lifecycle stage: stranger, acquaintance, customer, repeat, advocate, agent, at_risk or lost.
    pub stage: String,
}

/// Unanswered contact (and a statement line's change of it) below this is not said: what
/// rounds to nothing at one decimal.
pub const UNANSWERED_SHOWN: f64 = 0.05;

/// Scores as the API has them (rounded): what every view shows, so that a figure on one
/// page (or command) is the figure on another.
pub fn scores(s: &Scores) -> ScoresView {
    ScoresView {
        components: components(&s.components),
        confidence: components(&s.confidence),
        t: round(s.t, 4),
        index: round(s.index, 3),
        overall_confidence: round(s.overall_confidence, 3),
        unanswered_contact: round(s.unanswered_contact, 3),
        stage: s.stage.name().to_owned(),
    }
}

/// One line of a statement: an event and what it did to trust.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatementLine {
    /// The event's id.
    pub event: String,
    /// The event's type.
    #[serde(rename = "type")]
    pub type_name: String,
    pub at: String,
    /// The rule the event fell under; null for an unknown (unscored) type.
    pub rule: Option<String>,
    /// What was read from the event's text, when it decided the rule.
    pub cite: Option<String>,
    /// deposit, withdrawal or neutral.
    pub kind: String,
    pub delta: DeltaView,
    /// The lifecycle stage the event moved the customer to, when it changed it (stages as
    /// seen at `as_of`); null otherwise. A removal, say, moves the customer to `lost` (and
    /// its line carries intimacy's fall to the floor).
    pub stage: Option<String>,
    /// How the event moved the unanswered contact (`unanswered_contact`, as of `as_of`):
    /// positive for a message pushed past what the customer answered or asked (it adds no
    /// intimacy and weighs on S), negative for the customer's answer that lets earlier
    /// messages count; 0 otherwise.
    pub unanswered_change: f64,
    /// On the opening of an issue (an after-sales ticket, a not-as-described return no ticket
    /// took over) still open at `as_of` past the after-sales SLA
    /// (`reliability.aftersales_sla_days` of the model): the days it has been open then. Its
    /// line carries the reliability that withdraws; null on every other line.
    pub issue_open_days: Option<f64>,
    /// On a resolution whose `opened_at` is more than the after-sales SLA before it: the days
    /// its ticket was open. Its line carries the reliability that late resolution withdraws
    /// for good; null on every other line.
    pub resolved_late_days: Option<f64>,
    /// On the customer's first act of their own that gives intimacy, where tenure starts: the
    /// days of tenure at `as_of` that this line's change of I includes; null on every other
    /// line.
    pub tenure_days: Option<f64>,
}

/// The explanation of a score: every event's deposit or withdrawal. The
/// lines add up to `current − baseline` exactly.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatementView {
    pub customer: String,
    pub operator: Option<String>,
    pub as_of: String,
    /// The trust model's parameter version.
    pub model_version: String,
    pub current: ScoresView,
    /// The scores of a relationship with no events.
    pub baseline: ScoresView,
    pub lines: Vec<StatementLine>,
    /// Lines in the whole statement (`lines` may be cut by a limit).
    pub lines_total: usize,
    pub totals: DeltaView,
    /// Sum of the positive index effects.
    pub deposits: f64,
    /// Sum of the negative index effects.
    pub withdrawals: f64,
    /// Days the issue the after-sales SLA runs on has been open at `as_of`, when past the SLA
    /// (the line that opened it carries the same number); null otherwise.
    pub issue_open_days: Option<f64>,
}

/// Decimal places for a number of days said to be past `past` (the SLA): one below ten days,
/// so that 7.3 days open does not read as "7 days, past the 7-day SLA", none from ten on, and
/// more (up to three) where fewer would round it to `past` or below ("7.04 days", not "7.0").
pub fn day_places(days: f64, past: f64) -> usize {
    let mut places = if days < 10.0 { 1 } else { 0 };
    while places < 3 && round(days, places as i32) <= past {
        places += 1;
    }
    places
}

pub fn statement(
    customer: &str,
    operator: Option<&str>,
    st: &Statement,
    params: &Params,
    limit: usize,
) -> StatementView {
    let shown = if limit == 0 {
        st.lines.len()
    } else {
        limit.min(st.lines.len())
    };
    let (dep, wd) = deposits_withdrawals(st);
    StatementView {
        customer: customer.to_owned(),
        operator: operator.map(str::to_owned),
        as_of: format_time(st.as_of),
        model_version: params.version.clone(),
        current: scores(&st.current),
        baseline: scores(&st.baseline),
        lines: st.lines[..shown]
            .iter()
            .map(|l| StatementLine {
                event: l.event_id.clone(),
                type_name: l.type_name.clone(),
                at: format_time(l.at),
                rule: l.rule.map(str::to_owned),
                cite: l.cite.clone(),
                kind: if l.delta.index > 0.0 {
                    "deposit"
                } else if l.delta.index < 0.0 {
                    "withdrawal"
                } else {
                    "neutral"
                }
                .to_owned(),
                delta: delta(&l.delta),
                stage: l.stage.map(|s| s.name().to_owned()),
                unanswered_change: round(l.unanswered_change, 3),
                issue_open_days: l.issue_open_days.map(|d| round(d, 2)),
                resolved_late_days: l.resolved_late_days.map(|d| round(d, 2)),
                tenure_days: l.tenure_days.map(|d| round(d, 2)),
            })
            .collect(),
        lines_total: st.lines.len(),
        totals: delta(&st.totals),
        deposits: round(dep, 4),
        withdrawals: round(wd, 4),
        issue_open_days: st.issue_open_days.map(|d| round(d, 2)),
    }
}

pub fn statement_json(
    customer: &str,
    operator: Option<&str>,
    st: &Statement,
    params: &Params,
    limit: usize,
) -> Value {
    to_value(&statement(customer, operator, st, params, limit))
}

/// Sum of the positive and of the negative index effects.
pub fn deposits_withdrawals(st: &Statement) -> (f64, f64) {
    // Folds from +0.0: an empty float sum is -0.0, which would print as "-0".
    let total = |keep: fn(f64) -> bool| {
        st.lines
            .iter()
            .map(|l| l.delta.index)
            .filter(|d| keep(*d))
            .fold(0.0, |a, d| a + d)
    };
    (total(|d| d > 0.0), total(|d| d < 0.0))
}

/// What happened to one event of a `POST /v1/events` batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventResult {
    /// Position in the request (0-based; for NDJSON, among the lines that are not blank).
    pub index: usize,
    /// For an NDJSON body: the event's line in it (1-based, blank lines counted), as an
    /// editor numbers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The event's id: for a rejected event too, whenever the item is a JSON
    /// object whose `id` is a string (even one the contract refuses, so the
    /// sender can find it); omitted when there is none to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// accepted, duplicate (the id was already in the ledger with the same content) or
    /// rejected (an id the ledger holds for other content is rejected with `field: "id"`).
    pub status: String,
    /// The field that was wrong (rejected only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was stored but will not count as the sender may expect: an
    /// unknown type (stored, not scored) or a field the type does not have
    /// (stored, not read), as the import summary counts them. Omitted when
    /// there is nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl EventResult {
    /// The warnings of a parsed event: an unknown type, unknown fields.
    pub fn warnings_of(event: &trustledger_engine::Event) -> Vec<String> {
        let mut out = Vec::new();
        if !event.is_known() {
            out.push(format!(
                "unknown type {:?}: stored, not scored (docs/events.md lists the types)",
                event.type_name
            ));
        }
        // An unknown type's own fields are all unknown: the type says it.
        else if !event.unknown_fields.is_empty() {
            out.push(format!(
                "unknown field{} {}: stored, not read",
                if event.unknown_fields.len() == 1 {
                    ""
                } else {
                    "s"
                },
                event
                    .unknown_fields
                    .iter()
                    .map(|f| format!("{f:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let spaced = event.spaced_ids();
        if !spaced.is_empty() {
            out.push(format!(
                "{} starts or ends with a space: ids are kept as given, so \" c1 \" and \"c1\" \
                 are two different ids",
                spaced.join(", ")
            ));
        }
        out
    }
}

/// The answer to `POST /v1/events`, sent only after the batch committed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestResponse {
    pub accepted: usize,
    pub duplicate: usize,
    pub rejected: usize,
    /// One result per event, in request order.
    pub results: Vec<EventResult>,
}

/// A page of customers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerPage {
    /// The time the customers are scored at: the first page's, on every page of a listing.
    pub as_of: String,
    /// Customers matching the filters (all pages).
    pub total: usize,
    /// Customers of the listing before this page (0 on the first): this page shows
    /// customers `offset + 1` to `offset + customers.len()` of `total`.
    pub offset: usize,
    pub customers: Vec<Customer>,
    /// Pass as `cursor` for the next page (with the same filters and sort); null on the
    /// last page. The next page starts after this page's last customer and is scored at
    /// this page's `as_of`.
    pub next_cursor: Option<String>,
    /// Pass as `cursor` for the page before this one; null when that is the first page
    /// (`offset` at most the page size: leave `cursor` out) or there is none (`offset` 0).
    pub prev_cursor: Option<String>,
}

/// Scores just after one day that had events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryPoint {
    pub at: String,
    pub index: f64,
    pub c: f64,
    pub r: f64,
    pub i: f64,
    pub s: f64,
    pub stage: String,
}

pub fn history_point(at: trustledger_engine::Timestamp, s: &Scores) -> HistoryPoint {
    HistoryPoint {
        at: format_time(at),
        index: round(s.index, 2),
        c: round(s.components.c, 3),
        r: round(s.components.r, 3),
        i: round(s.components.i, 3),
        s: round(s.components.s, 3),
        stage: s.stage.name().to_owned(),
    }
}

/// Index and components over time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct History {
    pub customer: String,
    /// One point per day with events, then one for now.
    pub points: Vec<HistoryPoint>,
}

/// Averages over a set of relationships.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Averages {
    pub c: f64,
    pub r: f64,
    pub i: f64,
    pub s: f64,
    pub index: f64,
}

/// A running sum of scores, for averages.
#[derive(Debug, Default, Clone)]
pub struct Sums {
    pub n: usize,
    c: f64,
    r: f64,
    i: f64,
    s: f64,
    index: f64,
}

impl Sums {
    pub fn add(&mut self, s: &Scores) {
        self.n += 1;
        self.c += s.components.c;
        self.r += s.components.r;
        self.i += s.components.i;
        self.s += s.components.s;
        self.index += s.index;
    }

    pub fn averages(&self) -> Averages {
        let n = self.n.max(1) as f64;
        Averages {
            c: round(self.c / n, 3),
            r: round(self.r / n, 3),
            i: round(self.i / n, 3),
            s: round(self.s / n, 3),
            index: round(self.index / n, 2),
        }
    }
}

/// Relationships whose index falls in `[from, to)` (the last bucket includes 100).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bucket {
    pub from: u32,
    pub to: u32,
    pub count: usize,
}

/// How many relationships ever reached a lifecycle stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelStep {
    pub stage: String,
    pub reached: usize,
}

/// The tenant's trust at a glance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stats {
    pub as_of: String,
    pub relationships: usize,
    /// Ten buckets of ten index points.
    pub index_histogram: Vec<Bucket>,
    pub averages: Averages,
    /// Relationships per current lifecycle stage.
    pub stages: BTreeMap<String, usize>,
    /// The lifecycle funnel: how many relationships reached stranger → acquaintance → customer → repeat → advocate → agent.
    pub funnel: Vec<FunnelStep>,
    /// Relationships at risk or lost, by the rule of their latest withdrawal.
    pub at_risk_reasons: Vec<Reason>,
    /// Agents with an open issue (an unresolved after-sales ticket or not-as-described
    /// return): the lifecycle checks agent before at risk (docs/model.md), so they are not
    /// among `stages.at_risk` or `at_risk_reasons`.
    pub agents_with_open_issues: usize,
    /// The trust model this server scores with (`Params::version`).
    pub model_version: String,
    /// Other trust models that some of the tenant's stored scores were computed with (sorted;
    /// empty when every score is this server's). After an upgrade, or a `--model` changed,
    /// those scores stand as stored until `trustledger rescore` rebuilds them; an event added
    /// to a relationship rebuilds that one. It is the whole tenant's, also for an operator
    /// key (a rescore is the tenant's), and names models only, never customers.
    pub stale_model_versions: Vec<String>,
}

/// A reason and how many relationships it applies to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reason {
    pub reason: String,
    pub count: usize,
}

/// One operator's relationships.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorRow {
    /// Null for relationships with no operator.
    pub operator: Option<String>,
    pub relationships: usize,
    pub averages: Averages,
}

/// Per operator: relationships, average trust and components.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Operators {
    pub as_of: String,
    pub operators: Vec<OperatorRow>,
}

/// A tenant's clock (offsets from UTC, like `+08:00`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantClock {
    /// The clock the tenant's days start and end on: its own, else the
    /// server's default (`serve --utc-offset`, UTC unless set).
    pub clock: String,
    /// The tenant's own clock, or null when it has not set one.
    pub own: Option<String>,
}

/// Liveness and readiness.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// ok (healthz) or ready (readyz).
    pub status: String,
}

/// The import summary, as the CLI prints it (also shown by the dashboard's import page).
pub fn summary_text(s: &Summary, secs: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "imported {} file(s), {} event line(s) in {:.2}s ({:.0} lines/s)",
        s.files,
        s.lines,
        secs,
        s.lines as f64 / secs.max(1e-9)
    );
    let _ = writeln!(out, "  accepted:  {}", s.accepted);
    let _ = writeln!(
        out,
        "  duplicate: {} (ids already in the ledger, or earlier in the file, with the same content; nothing changed)",
        s.duplicate
    );
    let _ = writeln!(out, "  rejected:  {}", s.rejected);
    let _ = writeln!(
        out,
        "  unknown:   {} event(s) of unknown types, {} unknown field(s) — stored, not scored",
        s.unknown_type_events(),
        s.unknown_fields.values().sum::<u64>()
    );
    if s.templates > 0 {
        let _ = writeln!(
            out,
            "  templates: {} personal message(s) pasted to many recipients — counted as broadcasts",
            s.templates
        );
    }
    if s.ticket_openings > 0 {
        let _ = writeln!(
            out,
            "  tickets:   {} resolution(s) without opened_at given their ticket's opening from the ledger or the file — judged against the after-sales SLA",
            s.ticket_openings
        );
    }
    if s.tickets_unopened > 0 {
        let _ = writeln!(
            out,
            "  tickets:   {} resolution(s) without opened_at and no opening of their ticket before them — counted as resolved on time",
            s.tickets_unopened
        );
    }
    for (t, n) in &s.unknown_types {
        let _ = writeln!(out, "    type {t}: {n}");
    }
    for (f, n) in &s.unknown_fields {
        let _ = writeln!(out, "    field {f}: {n}");
    }
    if !s.errors.is_empty() {
        let _ = writeln!(out, "errors (first {} of {}):", s.errors.len(), s.rejected);
        for e in &s.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
    for f in &s.rolled_back_files {
        let _ = writeln!(out, "--strict: nothing was committed from {f}");
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// The import summary as JSON.
pub fn summary_json(s: &Summary, secs: f64) -> Value {
    json!({
        "files": s.files,
        "lines": s.lines,
        "accepted": s.accepted,
        "duplicate": s.duplicate,
        "rejected": s.rejected,
        "unknown_types": s.unknown_types,
        "unknown_fields": s.unknown_fields,
        "errors": s.errors.iter().map(|e| json!({"file": e.file, "line": e.line, "field": e.field, "reason": e.reason})).collect::<Vec<_>>(),
        "rolled_back_files": s.rolled_back_files,
        "warnings": s.warnings,
        "templates": s.templates,
        "ticket_openings": s.ticket_openings,
        "tickets_unopened": s.tickets_unopened,
        "seconds": round(secs, 3),
    })
}

fn to_value(v: &impl Serialize) -> Value {
    // Serializing these plain structs into a Value cannot fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The clock a forecast counted its purchase days on: its own, when it was kept, else UTC,
/// as the store counts such a fit's window (`ForecastFit::covers_until`), so the elapsed
/// days and the purchase days agree with `expired` and `covers_until`.
pub fn fit_clock(f: &Forecast) -> chrono::FixedOffset {
    f.clock
        .as_deref()
        .and_then(|c| crate::parse_offset(c).ok())
        .unwrap_or(crate::UTC)
}

/// `n` things, as a count is said: `1 customer`, `2 customers`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::day_places;

    /// A number of days said to be past the SLA never reads as the SLA itself.
    #[test]
    fn days_past_the_sla_read_past_it() {
        let said = |days: f64| format!("{days:.*}", day_places(days, 7.0));
        assert_eq!(said(7.3), "7.3");
        assert_eq!(said(7.042), "7.04");
        assert_eq!(said(7.0004), "7.000");
        assert_eq!(said(12.4), "12");
        assert_eq!(day_places(14.0, 14.0), 3);
    }
}
